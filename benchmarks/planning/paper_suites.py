"""The papers' own benchmarks as suites, runnable as they are on a GPU cluster.

* ``cyclegan_horse2zebra``: horse -> zebra at 256x256; the CycleGAN ResNet-9blocks ngf 64 teacher
  (the authors' published checkpoint); students ResNet-9blocks at ngf 16 and 32 and the mobile
  (depthwise-separable) ResNet at ngf 16 (GAN Compression, OMGD, CRD, DCD, ReKo); FID against
  train+test zebras (GAN Compression's protocol).
* ``pix2pix_edges2shoes``: edges -> shoes at 256x256; the pix2pix U-Net-256 ngf 64 teacher (published
  checkpoint); U-Net students at ngf 16 and 32 (DMAD's family); FID against the 200 val photos.
* ``pix2pix_cityscapes``: Cityscapes labels -> photo at 256x256; GAN Compression's ResNet-9blocks
  ngf 64 teacher (published checkpoint); the three ResNet students; mIoU of DRN-D-105.

Every suite lists ``methods=("*",)``: every registered image-to-image method, resolved when the
grid is expanded, so methods added later (SRPKD, ReKo, CRD...) join without editing this file.
The teacher is loaded, not trained; ``--set teacher.checkpoint=null`` trains it instead with the
teacher schedule below.

Methods whose papers train their students differently get their own ``method_schedules`` there:
DCD (edges2shoes: 100 + 100 epochs at batch 4; on horse2zebra the suite's 100 + 100 epochs count its online
teacher's epochs, as CRD's and OMGD's: 200 teacher and 800 student epochs with ``n_dis`` 4, its
``scripts/cycle_gan/horse2zebra/distill.sh``), OMGD (``scripts/{resnet,unet}_pix2pix/*/distill.sh``: edges2shoes
100 + 100 epochs at batch 4, Cityscapes 300 + 450 at batch 1 for its ResNet students) and CAT's kernel alignment
(``cat_ka``: batch 80, which KA needs; 500 + 500 epochs horse2zebra, 500 + 750 Cityscapes). DCD's edges2shoes
student was a mobile ResNet; here it is the suite's U-Net students.

Schedules are the papers' epochs turned into steps (``epochs_to_steps``): one epoch is
``ceil(N / batch)`` steps, with N the training-set size of the official release: for unpaired
CycleGAN sets ``max(|trainA|, |trainB|)`` (CycleGAN's ``UnalignedDataset.__len__``), for pix2pix
sets the number of training pairs. ``decay_from`` is the fraction of steps at constant learning
rate before the linear decay to zero (``n_epochs / (n_epochs + n_epochs_decay)``).

* CycleGAN teacher and students: 100 + 100 epochs, batch 1 (CycleGAN; GAN Compression's
  ``scripts/cycle_gan/horse2zebra/distill.sh``: ``--nepochs 100 --nepochs_decay 100``).
* edges2shoes: 15 epochs at batch 4 (pix2pix paper, appendix), split as pix2pix's default shape:
  8 epochs at constant learning rate, then 7 of linear decay (our choice: the paper gives no split).
* Cityscapes: 100 + 150 epochs, batch 1 (GAN Compression ``scripts/pix2pix/cityscapes/train_full.sh``).

CRD (TheKernelZ/CRD) trains its own teacher inside its job. On horse2zebra the 100 + 100-epoch schedule
counts its teacher's epochs, as its ``trainer.py`` does (200 teacher and 800 student epochs); on
edges2shoes the suite sets its public script's 100 + 100 epochs (``crd.epochs``/``crd.epochs_decay``)
instead of the suite's 15. Its online teacher is the suite's ``resnet_9blocks`` ngf 64, not the
``mobile_resnet_9blocks`` ngf 64 of its public horse2zebra script: every method of a suite is measured
against one teacher (the MACs and parameter ratios, the teacher row of the leaderboard), and CRD's paper
states its compression against the 56.8G-MACs ResNet. ``--set crd.teacher_arch=mobile_resnet_generator``
trains the script's teacher instead.

cGAN-KD (Ding et al., arXiv 2104.03164; public code UBCDingXin/cGAN-KD), classification and regression:

* ``cgan_kd_cifar100``: CIFAR-100 with RepDistiller's teacher -> student pairs of the paper's Table 3
  that our networks cover, one part per teacher (a suite has one teacher): ResNet-110 -> ResNet-20,
  VGG-13 -> VGG-8 and MobileNetV2 (x0.5), WRN-40-2 -> WRN-40-1 and WRN-16-2, ResNet-32x4 -> ResNet-8x4.
  Teachers and NOKD: RepDistiller's schedule, 240 epochs at batch 64, SGD lr 0.05 (0.01 for a MobileNetV2
  student, as RepDistiller), x0.1 at epochs 150/180/210 (the schedule's default milestones). Fake sets
  (``make_fake_datasets/scripts/run.sh``): 5,000 kept per class, filtered by a DenseNet-121 trained on the
  real data (RepDistiller's recipe), so the parts share them: one at rho 0.9 with labels replaced
  (``cgan_kd``), one at rho 0.8 without (``cgan_kd+vanilla_kd``, ``run_distill_fake.sh``); the ratio model
  200 epochs at batch 256. cGAN-KD students (``run_vanilla_fake.sh``, ``run_distill_fake.sh``): fine-tuned
  from NOKD on the real set + 100,000 fakes (1,000 per class) for 240 epochs over real + fake at batch 128,
  lr 0.01, x0.1 at 150/180/210 (the method's defaults).
* ``cgan_kd_utkface``: UTKFace ages 1-60 at 64x64, ResNet-20 and MobileNetV2 students (Table 7). NOKD
  (``UTKFace/scripts/run_cnn.sh``): 350 epochs at batch 128, lr 0.01, x0.1 at 150/250; the fake set
  (``run_gene_data.sh``): 2,000 per label at the 60 ages, filtered at rho 0.7 by a VGG-11 trained with
  that recipe, labels replaced, burn-in 100; students (``run_cnn_fake.sh``): fine-tuned for 240 epochs
  over real + fake at batch 128, lr 0.01, x0.1 at 150/180/210, on the real set + 1,000 fakes per age
  (its ``NFAKE_PER_LABEL``, which ``opts.py`` does not define; we read it as 60,000 fakes in all).

Where these differ from the paper (our choices, each a ``--set`` away): the cGAN is our SNGAN-sized
class-conditional GAN / CcGAN (the paper uses BigGAN for CIFAR, a SAGAN CcGAN for UTKFace) trained for
``gan_steps`` 40,000; cDR-RS reads the filtering network's features (the paper trains a separate
ResNet-34 / sparse autoencoder on the real data); the UTKFace teacher (WRN-40-2) is ours, as the
regression experiments distil from no teacher but the filtering network; it is trained with the
code's UTKFace CNN recipe.
"""
from __future__ import annotations

import math
from typing import Any

from kd_gan_bench.benchmarks.planning.suite_base import Suite, register_suite
from kd_gan_bench.datasets.official_counts import CITYSCAPES, CYCLEGAN, PIX2PIX

#: UTKFace's aligned-and-cropped faces aged 1 to 60 (the range CcGAN and cGAN-KD use), about.
UTKFACE_AGES_1_60 = 14760

ALL_METHODS = ("*",)
RESNET_TEACHER = {"arch": "resnet_generator", "ngf": 64, "n_blocks": 9}
UNET_TEACHER = {"arch": "unet_generator", "ngf": 64, "num_downs": 8}
RESNET_STUDENTS = ({"arch": "resnet_generator", "ngf": 16, "n_blocks": 9},
                   {"arch": "resnet_generator", "ngf": 32, "n_blocks": 9},
                   {"arch": "mobile_resnet_generator", "ngf": 16, "n_blocks": 9})
UNET_STUDENTS = ({"arch": "unet_generator", "ngf": 16, "num_downs": 8},
                 {"arch": "unet_generator", "ngf": 32, "num_downs": 8})
EVALUATION = {"n_samples": 6}
#: OMGD's ResNet settings (scripts/*/distill.sh): its wide teacher is the mobile ResNet-9 at ngf 64, trained
#: online (its edges2shoes U-Net settings are omgd's defaults; cityscapes adds n_share 4, n_dis 3, no CD)
OMGD_RESNET = {"teacher_arch": ["mobile_resnet_generator"]}


def epochs_to_steps(epochs: int, n_train: int, batch_size: int) -> int:
    """Training steps of ``epochs`` passes over ``n_train`` examples at ``batch_size``."""
    return epochs * math.ceil(n_train / batch_size)


def paper_schedule(n_epochs: int, n_epochs_decay: int, n_train: int, batch_size: int) -> dict[str, Any]:
    """A harness schedule for CycleGAN/pix2pix-style ``--n_epochs`` + ``--n_epochs_decay``."""
    steps = epochs_to_steps(n_epochs + n_epochs_decay, n_train, batch_size)
    return {"steps": steps, "batch_size": batch_size, "decay_from": n_epochs / (n_epochs + n_epochs_decay),
            "log_every": 500, "checkpoint_every": max(1000, steps // 50)}


_H2Z = CYCLEGAN["horse2zebra"]
_H2Z_SCHEDULE = paper_schedule(100, 100, max(_H2Z["trainA"], _H2Z["trainB"]), 1)
#: CAT: batch 80, 500 + 500 epochs (scripts/cycle_gan/horse2zebra/train_inception_student_2p6B.sh). DCD, CRD and
#: OMGD run the suite's 100 + 100, which their default ``steps_count="teacher"`` reads as teacher epochs (x n_dis 4
#: student epochs: 200 and 800), as their scripts' ``--nepochs 100 --nepochs_decay 100 --n_dis 4``
_H2Z_METHOD_SCHEDULES = {"cat_ka": paper_schedule(500, 500, max(_H2Z["trainA"], _H2Z["trainB"]), 80)}
register_suite(Suite(
    name="cyclegan_horse2zebra",
    description="horse2zebra 256px as in GAN Compression/OMGD/CRD: published CycleGAN ResNet-9 ngf64 teacher; ResNet "
                "ngf16/32 and mobile ngf16 students; every image-to-image method; FID vs train+test zebras.",
    tasks=({"name": "horse2zebra"},),
    teacher={**RESNET_TEACHER, "checkpoint": "cyclegan/horse2zebra"},
    students=RESNET_STUDENTS,
    methods=ALL_METHODS,
    hparams={"omgd": OMGD_RESNET},
    teacher_schedule=_H2Z_SCHEDULE,
    student_schedule=_H2Z_SCHEDULE,
    evaluation=EVALUATION,
    method_schedules=_H2Z_METHOD_SCHEDULES,
))

_E2S_SCHEDULE = paper_schedule(8, 7, PIX2PIX["edges2shoes"]["train"], 4)
register_suite(Suite(
    name="pix2pix_edges2shoes",
    description="edges2shoes 256px as in pix2pix/DMAD: published pix2pix U-Net-256 ngf64 teacher; U-Net ngf16/32 "
                "students; every image-to-image method; FID vs the 200 val photos.",
    tasks=({"name": "edges2shoes"},),
    teacher={**UNET_TEACHER, "checkpoint": "pix2pix/edges2shoes"},
    students=UNET_STUDENTS,
    methods=ALL_METHODS,
    hparams={"crd": {"epochs": [100], "epochs_decay": [100]}},  # CRD's public edges2shoes script
    teacher_schedule=_E2S_SCHEDULE,
    student_schedule=_E2S_SCHEDULE,
    evaluation=EVALUATION,
    # DCD's and OMGD's edges2shoes scripts: 100 + 100 epochs at batch 4 (scripts/*_pix2pix/edges2shoes/distill.sh)
    method_schedules={m: paper_schedule(100, 100, PIX2PIX["edges2shoes"]["train"], 4) for m in ("dcd", "omgd")},
))

_CITY_SCHEDULE = paper_schedule(100, 150, CITYSCAPES["train"], 1)
register_suite(Suite(
    name="pix2pix_cityscapes",
    description="Cityscapes labels->photo 256px as in GAN Compression: published ResNet-9 ngf64 teacher; ResNet "
                "ngf16/32 and mobile ngf16 students; every image-to-image method; mIoU of DRN-D-105.",
    tasks=({"name": "cityscapes"},),
    teacher={**RESNET_TEACHER, "checkpoint": "gan_compression/cityscapes"},
    students=RESNET_STUDENTS,
    methods=ALL_METHODS,
    hparams={"omgd": {**OMGD_RESNET, "n_share": [4], "n_dis": [3], "lambda_cd": [0.0]}},
    teacher_schedule=_CITY_SCHEDULE,
    student_schedule=_CITY_SCHEDULE,
    evaluation=EVALUATION,
    # CAT: batch 80, 500 + 750 epochs (scripts/pix2pix/cityscapes/train_inception_student_5p6B.sh); OMGD: 300 + 450
    # epochs, batch 1 (its ResNet students; scripts/resnet_pix2pix/cityscapes/distill.sh)
    method_schedules={"cat_ka": paper_schedule(500, 750, CITYSCAPES["train"], 80),
                      "omgd": paper_schedule(300, 450, CITYSCAPES["train"], 1)},
))


def _cgan_kd_suite(name: str, description: str, task: dict[str, Any], n_train: int, teacher: str,
                   students: tuple[str, ...], schedule: dict[str, Any], student_lr: float, fake_set: dict[str, Any],
                   cgan_kd: dict[str, list]) -> Suite:
    """A cGAN-KD suite: ``schedule`` for the teacher and NOKD (``student_lr`` for the students), the fake-set
    settings, and the hyperparameters of both cGAN-KD methods."""
    schedule = {**schedule, "log_every": 500, "checkpoint_every": 5000}
    dre_steps = epochs_to_steps(200, n_train, 256)  # the ratio model's 200 epochs at batch 256, in steps (estimates)
    return Suite(name=name, description=description, tasks=(task,), teacher={"arch": teacher},
                 students=tuple({"arch": s} for s in students), methods=ALL_METHODS,
                 teacher_schedule=schedule, student_schedule={**schedule, "lr": student_lr},
                 hparams={"cgan_kd": cgan_kd, "cgan_kd+vanilla_kd": cgan_kd}, evaluation=EVALUATION,
                 fake_set={"gan_steps": 40000, "fid_samples": 10000, "log_every": 500, "checkpoint_every": 5000,
                           "dre_steps": dre_steps, **fake_set},
                 resources={"teacher": {"time_min": 720}, "artifact": {"time_min": 1440}, "student": {"time_min": 720}})


_CIFAR_TRAIN = 50000
_CIFAR_SCHEDULE = {"steps": epochs_to_steps(240, _CIFAR_TRAIN, 64), "batch_size": 64, "lr": 0.05}
_CIFAR_FAKE_SET = {"n_per_label": 5000, "rs_batch_size": 600}  # SAMP_NFAKE_PER_CLASS, SAMP_BS of run.sh
_CIFAR100_PAIRS = (("resnet110", ("resnet20",), 0.05), ("vgg13", ("vgg8",), 0.05), ("vgg13", ("mobilenetv2",), 0.01),
                   ("wrn_40_2", ("wrn_40_1", "wrn_16_2"), 0.05), ("resnet32x4", ("resnet8x4",), 0.05))
for _teacher, _students, _lr in _CIFAR100_PAIRS:
    register_suite(_cgan_kd_suite(
        f"cgan_kd_cifar100_{_teacher}_{'_'.join(_students)}",
        f"CIFAR-100 as in cGAN-KD Table 3: {_teacher} teacher, {', '.join(_students)} student(s), every "
        f"classification method, top-1 accuracy.", {"name": "cifar100"}, _CIFAR_TRAIN, _teacher, _students,
        _CIFAR_SCHEDULE, _lr, _CIFAR_FAKE_SET, {"epochs": [240]}))
register_suite(Suite(
    name="cgan_kd_cifar100",
    description="CIFAR-100 as in cGAN-KD Table 3: RepDistiller's teacher -> student pairs, one part per pair.",
    parts=tuple(f"cgan_kd_cifar100_{t}_{'_'.join(s)}" for t, s, _ in _CIFAR100_PAIRS),
))
# UTKFace's aligned-and-cropped faces aged 1-60: about 80% of ~23.7k images for training
_UTK_TRAIN = int(0.8 * UTKFACE_AGES_1_60)
register_suite(_cgan_kd_suite(
    "cgan_kd_utkface", "UTKFace ages at 64x64 as in cGAN-KD Table 7: WRN-40-2 teacher (ours), ResNet-20 and "
    "MobileNetV2 students, every regression method, MAE in years.", {"name": "utkface"}, _UTK_TRAIN,
    "wrn_40_2", ("resnet20", "mobilenetv2"),
    {"steps": epochs_to_steps(350, _UTK_TRAIN, 128), "batch_size": 128, "lr": 0.01,
     "milestones": [150 / 350, 250 / 350]}, 0.01, {"max_label_points": 60, "n_per_label": 2000, "rs_burn_in": 100},
    {"epochs": [240], "milestones": [[0.625, 0.75, 0.875]], "n_fake": [60 * 1000]}))

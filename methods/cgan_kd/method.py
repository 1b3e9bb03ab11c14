"""``cgan_kd`` and ``cgan_kd+vanilla_kd``: students trained on real + processed cGAN-generated data.

Ding et al., "Distilling and Transferring Knowledge via cGAN-generated Samples for Image
Classification and Regression" (arXiv 2104.03164), public code UBCDingXin/cGAN-KD. The fake set
(``kd_gan_bench.methods.cgan_kd.pipeline.build_fake_set``: filtering network, cGAN, cDR-RS subsampling, filtering, label
replacement) is made once per task in its own phase; these methods train the student on the real
training split plus a subset of that set. ``cgan_kd`` learns from the (replaced) labels alone;
``cgan_kd+vanilla_kd`` adds Hinton KD from the teacher on every batch, real or fake (the paper
combines cGAN-KD with KD, CRD and other losses the same way).

================= ========================================== ================================= ===================
component         public code (file)                         ours                              why
================= ========================================== ================================= ===================
conditional GAN   BigGAN, G_ema at 38k iterations            SNGAN-sized class-conditional     documented choice:
                  (CIFAR-100/BigGAN); CcGAN SAGAN            GAN / CcGAN (``cgan``,            one GPU day per
                  (UTKFace/train_ccgan.py)                   ``gan_*`` keys)                   suite run
cDR-RS features   ResNet-34, 350 epochs (make_fake_datasets/ the filtering network's           saves a third
                  scripts/run.sh); UTKFace: sparse AE        penultimate features              network (all are
                                                                                               real-data only)
cDR-RS training   MLP5, 200 epochs at batch 256, Adam 1e-4,  same (``dre_epochs``,             --
                  x0.1 at epochs 80, 150 (train_cdre.py,     ``dre_batch_size``,
                  scripts/run.sh; UTKFace/opts.py)           ``dre_milestones``)
filtering network DenseNet-121 (CIFAR-100, one fake set for  same, trained on the real data in --
                  every pair; scripts/run.sh), VGG-11        the fake-set phase (``filter_net``
                  (UTKFace/scripts/run_gene_data.sh)         None; "teacher": the pair's)
filtering         rho 0.9 (CIFAR-100) / 0.7 (UTKFace),       same (``filter_rho``,             --
                  labels adjusted (scripts/run.sh,           ``replace_labels``)
                  UTKFace/scripts/run_gene_data.sh)
cGAN-KD + KD set  rho 0.8, labels not adjusted                same, its own fake-set job        --
                  (RepDistiller/scripts/distill/             (``fake_filter_rho``,
                  run_distill_fake.sh)                       ``fake_replace_labels``)
student init      the NOKD student (``--finetune``)          ``init="nokd"``                   --
fake subset       NFAKE 100,000: n // C per class            ``n_fake`` 100,000, the same      --
                  (RepDistiller/dataset/cifar100.py);        split (``fake_subset``)
                  uniform on UTKFace (baseline_cnn.py)
batches           real + fake concatenated and shuffled,     uniform draws from the union,     same expected mix
                  batch 128 (scripts/*/run_*_fake.sh)        ``batch_size`` 128                (1/3 real, CIFAR)
epochs            240 over real + fake, x0.1 at 150/180/210  ``epochs`` over real + fake      None: the suite's
                  (train_teacher.py, train_student.py,       (``epochs_over``),                epoch count
                  UTKFace/scripts/run_cnn_fake.sh)           ``milestones``
fine-tuning lr    0.01 in every setting (run_*_fake.sh,      ``lr`` 0.01                       --
                  UTKFace/scripts/run_cnn_fake.sh)
================= ========================================== ================================= ===================

Where the code's numbers depend on the dataset, the paper suites (``benchmarks/planning/paper_suites.py``)
set them; the built-in default suites choose cheaper values explicitly (``benchmarks/planning/suites.py``).
``lr``, ``batch_size``, ``milestones`` set to None take the suite's student schedule's; with
``epochs_over="real"`` the run has the suite schedule's steps (the previous behaviour of this harness).
Not reproduced: the CIFAR-100 loader normalises the inputs by the channel mean/std of real + fake images;
every network here reads images mapped to [-1, 1].
"""
from __future__ import annotations

from dataclasses import asdict
from typing import Any, Mapping

from kd_gan_bench.methods.cgan_kd.spec import CGAN_KD, CGAN_KD_VANILLA_KD, INITS
from kd_gan_bench.methods.core.labelled_method import LabelledMethod
from kd_gan_bench.methods.core.labelled_training import SGDSchedule
from kd_gan_bench.methods.core.schedule_math import fine_tuning_values
from kd_gan_bench.methods.vanilla_kd.method import VanillaKD


def fine_tuning_schedule(hp: Mapping[str, Any], schedule: SGDSchedule, n_real: int, n_fake: int) -> SGDSchedule:
    """The suite's ``schedule`` with cGAN-KD's learning rate, batch size, milestones and length
    (:func:`kd_gan_bench.methods.core.schedule_math.fine_tuning_values`, which the training plan calls too)."""
    return SGDSchedule.from_mapping({**asdict(schedule), **fine_tuning_values(hp, asdict(schedule), n_real, n_fake)})


class CganKD(LabelledMethod, spec=CGAN_KD):
    uses_fake_set = True

    def needs_student_init(self, hp: Mapping[str, Any]) -> bool:
        if hp["init"] not in INITS:
            raise ValueError(f"{self.name}: init must be one of {INITS}, got {hp['init']!r}")
        return hp["init"] == "nokd"

    def n_fake(self, hp: Mapping[str, Any]) -> int | None:
        if hp["n_fake"] is not None and int(hp["n_fake"]) < 1:
            raise ValueError(f"{self.name}: n_fake must be >= 1 or None (the whole fake set), got {hp['n_fake']}")
        return None if hp["n_fake"] is None else int(hp["n_fake"])

    def run_schedule(self, hp: Mapping[str, Any], schedule: SGDSchedule, n_real: int, n_fake: int) -> SGDSchedule:
        return fine_tuning_schedule(hp, schedule, n_real, n_fake)


class CganKDVanillaKD(CganKD, VanillaKD, spec=CGAN_KD_VANILLA_KD):
    """cGAN-KD + KD: its fake set is filtered at ``fake_filter_rho`` without label replacement
    (``fake_replace_labels``), as the public code's; None for either takes the suite's fake-set setting (one fake
    set shared with ``cgan_kd``)."""


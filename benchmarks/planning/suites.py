"""Suites: named grids over tasks x teacher x student networks x methods x seeds x hyperparameters.

A suite is data. ``hparams`` maps a method to lists of values (a Cartesian grid, in the style of
benchopt's ``parameters``); ``zipped`` names groups of keys that advance together instead.
``recipe`` holds settings shared by the teacher and every student (the discriminator's width,
GAN mode...), so a comparison never differs in them by accident. ``resources`` holds the suite's
cluster requests per phase (``{"teacher": {"time_min": 240}, "student": {"time_min": 60}}``,
see :mod:`kd_gan_bench.benchmarks.planning.cluster_config`); they are not part of any job's identity.

A suite's tasks are of one family (image-to-image, classification or regression): networks,
schedules and methods differ between families. ``parts`` makes a composite suite, the union of
other suites (the ``default`` suite covers every family this way); ``--set`` overrides apply to each
part they make sense for. Classification/regression suites use ``SGDSchedule`` keys for their
schedules and ``fake_set`` for cGAN-KD's fake-set phase (``kd_gan_bench.methods.cgan_kd.pipeline.FAKESET_DEFAULTS``).
"""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.benchmarks.planning.suite_base import (EVALUATION_DEFAULTS, SUITES, Suite, register_suite,  # noqa: F401  (their old home)
                                   suite_resources)

_TINY_RESNET = {"arch": "resnet_generator", "n_blocks": 3}
#: The default image-to-image students' widths: a compression curve of three sizes against the ngf 16 teacher,
#: measured with kd_gan_bench.benchmarks.metrics.complexity at 32x32 (MACs ratio teacher / student; params ratio): ngf 8 3.5x
#: (3.9x), ngf 4 10.9x (15.1x), ngf 2 30.5x (56.4x). About 3x apart, so they sit evenly on the figure's log axis.
DEFAULT_I2I_STUDENT_NGF = (8, 4, 2)
I2I_METHODS = ("scratch", "output_kd", "feature_kd", "srpkd", "reko", "crd", "omgd", "dcd", "cat_ka")
LABELLED_METHODS = ("nokd", "vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd")

#: The perceptual (VGG16 style/feature) terms of CRD, DCD and OMGD are off in the default run: VGG16's ImageNet
#: weights are on no package index, so a fresh clone offline but for the index has only the seeded random VGG16,
#: whose features carry nothing the papers meant, and its passes were 40-60% of those methods' step time here.
#: Each is a ``--set`` away (``crd.lambda_style=null`` restores the code's weight); the paper suites keep them.
_NO_VGG = {"lambda_style": [0.0], "lambda_feature": [0.0]}

register_suite(Suite(
    name="default_i2i",
    description="Built-in paired task (synthetic_edges2shapes, colours tied to the shape's kind) at 32x32: one ResNet "
                "teacher (ngf 16, 400 steps) vs every method's students at ngf 8, 4 and 2 (3.5x, 10.9x, 30.5x "
                "fewer MACs; 100 steps), 3 seeds; headline shape mIoU (colour-class mIoU beside it) against the exact ground truth, FID on "
                "the 32 test images beside it; VGG terms off (no ImageNet VGG16 offline). The unpaired built-in task is not in it: its "
                "CycleGAN teacher does not learn stripes within the ten-minute budget (after 300 steps its FID is no "
                "better than returning the input), and its students cost two to three times the paired ones.",
    tasks=({"name": "synthetic_edges2shapes", "size": 32, "n_test": 32, "colours": "by_shape"},),
    teacher={**_TINY_RESNET, "ngf": 16},
    students=tuple({**_TINY_RESNET, "ngf": ngf} for ngf in DEFAULT_I2I_STUDENT_NGF),
    methods=I2I_METHODS,
    # The online-teacher methods' code schedule (4 student steps per teacher step) would not fit the
    # ten-minute budget: the suite's steps are the student's. OMGD: its teachers' D at the suite's width
    # (code: ndf 128); its wide teacher only (the deep one would make its job 1.5x crd's, over the
    # ten-minute budget; the paper suites train both). feature_kd and cat_ka: their student D at the suite's width
    # too (code: ndf 128, which made a cat_ka job 12x a scratch one's training at 32 px: 57 vs 4.4 CPU s), so they
    # start from the teacher's D as the code does. DCD: its D at the suite's width (code: ndf 128; 106 CPU s of
    # training per ngf 8 job, 24x scratch's)
    hparams={"crd": {"steps_count": ["student"], **_NO_VGG},
             "dcd": {"ndf": [16], "steps_count": ["student"], **_NO_VGG},
             "omgd": {"ndf": [16], "deep_teacher": ["none"], "steps_count": ["student"], **_NO_VGG},
             "feature_kd": {"ndf": [16]}, "cat_ka": {"ndf": [16]}},
    recipe={"ndf": 16},
    teacher_schedule={"steps": 400, "batch_size": 4, "log_every": 50},
    student_schedule={"steps": 100, "batch_size": 4, "log_every": 50},
    resources={"teacher": {"time_min": 60}, "student": {"time_min": 30}},
))

_SMALL_CIFAR_RESNET = {"arch": "cifar_resnet", "depth": 8}
#: The default labelled students' widths against the 16-16-32-64 teacher, MACs ratios at 32x32 measured as above:
#: half the width 3.9x, a quarter 14.4x.
DEFAULT_LABELLED_STUDENT_WIDTHS = ([8, 8, 16, 32], [4, 4, 8, 16])
_DEFAULT_FAKE_SET = {"gan_steps": 100, "gan_batch_size": 32, "gan_d_steps": 1, "gan_ch": 8, "gan_dim_z": 32,
                     "gan_dim_embed": 32, "dre_steps": 50, "dre_batch_size": 64, "dre_hidden": [128, 64],
                     "dre_dim_embed": 32, "rs_burn_in": 100, "rs_batch_size": 100, "filter_burn_in": 30,
                     "n_per_label": 30, "max_label_points": 10, "fid_samples": 0, "log_every": 50,
                     "filter_net": "teacher"}
#: cGAN-KD in the ten-minute default run, cheaper than the public code's settings (kd_gan_bench.methods.cgan_kd.method)
#: on purpose: the teacher filters (no DenseNet-121 / VGG-11 trained in the fake-set phase, above), the
#: students keep the suite's batch size and its number of steps (epochs counted on the real set, not over
#: real + fake), and cgan_kd+vanilla_kd shares cgan_kd's fake set instead of making its own at rho 0.8
#: without relabelling (a second fake-set phase per task). The lr is the code's fine-tuning 0.01. The fake set's
#: own FID (``fid_samples``, a diagnostic of the cGAN, no leaderboard number) is not computed: with real
#: InceptionV3 it scored about 1,600 images per task, more than all the task's students cost together.
_DEFAULT_CGAN_KD = {"batch_size": [None], "epochs_over": ["real"]}
_DEFAULT_CGAN_HPARAMS = {"cgan_kd": _DEFAULT_CGAN_KD,
                         "cgan_kd+vanilla_kd": {**_DEFAULT_CGAN_KD, "fake_filter_rho": [None],
                                                "fake_replace_labels": [None]}}


def _labelled_suite(name: str, family: str, task: Mapping[str, Any], lr: float) -> Suite:
    return Suite(
        name=name,
        description=f"Built-in {family} task at 32x32 (cGAN-KD's family): CIFAR-ResNet-8 teacher (16-64 wide) vs "
                    f"nokd / vanilla_kd / cgan_kd / cgan_kd+vanilla_kd students at half and a quarter of the width.",
        tasks=(task,),
        teacher={**_SMALL_CIFAR_RESNET, "widths": [16, 16, 32, 64]},
        students=tuple({**_SMALL_CIFAR_RESNET, "widths": w} for w in DEFAULT_LABELLED_STUDENT_WIDTHS),
        methods=LABELLED_METHODS,
        hparams=_DEFAULT_CGAN_HPARAMS,
        teacher_schedule={"steps": 300, "batch_size": 32, "lr": lr, "log_every": 50},
        student_schedule={"steps": 150, "batch_size": 32, "lr": lr, "log_every": 50},
        fake_set=_DEFAULT_FAKE_SET,
        resources={"teacher": {"time_min": 30}, "artifact": {"time_min": 60}, "student": {"time_min": 30}},
    )


# CcGAN-KD trains its regression students with lr 0.01 (classification: RepDistiller's 0.05)
register_suite(_labelled_suite("default_classification", "classification",
                               {"name": "synthetic_shapes10", "n_train": 1000, "n_test": 500}, 0.05))
register_suite(_labelled_suite("default_regression", "regression",
                               {"name": "synthetic_rotation", "n_train": 1000, "n_test": 500}, 0.01))

register_suite(Suite(
    name="default",
    description="What `grid` runs with no arguments: default_i2i + default_classification + default_regression, "
                "3 seeds of every student at every size (134 jobs), real InceptionV3 FID, offline but for the "
                "package index; about 17 minutes of 2 CPU cores at today's per-job cost (projected from CPU time, "
                "see benchmarks/planning/suites.py).",
    parts=("default_i2i", "default_classification", "default_regression"),
))
# Its cost, measured (2-core development machine shared with other work, so CPU time, not wall time): the grid
# with i2i students at 150 steps, labelled students at 200 and fake sets of 200 + 100 steps took 1,100 CPU-s
# (user + sys of the whole `grid`, 56 jobs): job bodies 888 (records' timings.cpu_s: i2i students 15.6 s each,
# FID on 32 images about 5 s of it; labelled students 9.2; fake sets 88 each; teachers 21-29), 212 outside them
# (interpreter and imports of each job, the grid, the report). The schedules above were then cut (i2i students
# 100 steps, labelled 150, fake sets 100 + 50), which projects to about 900 CPU-s: about 7.5 minutes on a quiet
# 2-core machine running two jobs at once, plus set-up from a fresh clone (pip, InceptionV3 weights: ~1 min).
# Three i2i student sizes and two labelled ones then made it 134 jobs (81 i2i students, 48 labelled); at the same
# per-job costs (i2i students ~12 CPU-s on average over ngf 8/4/2, labelled ~7, about 3.8 s per job outside its
# body) that projects to about 2,000 CPU-s: about 17 minutes on 2 quiet cores. The dry run's built-in-table
# estimate says 1.1 device-hours of training against 0.6 for the 56 jobs (x1.8: about 14 minutes). Cutting the
# per-job fixed cost (worker processes) is what brings it back within ten minutes, not fewer training steps.

register_suite(Suite(
    name="smoke_i2i",
    description="Tiny and fast (32x32, a few steps): checks that every part of the image-to-image pipeline runs.",
    tasks=({"name": "synthetic_edges2shapes", "size": 32, "n_train": 32, "n_test": 8},
           {"name": "synthetic_plain2striped", "size": 32, "n_train": 32, "n_test": 8}),
    teacher={"arch": "resnet_generator", "ngf": 8, "n_blocks": 2},
    students=({"arch": "resnet_generator", "ngf": 4, "n_blocks": 2},),
    methods=I2I_METHODS,
    seeds=(0,),
    recipe={"ndf": 8, "d_layers": 2},
    teacher_schedule={"steps": 4, "batch_size": 2, "log_every": 2},
    student_schedule={"steps": 4, "batch_size": 2, "log_every": 2},
    evaluation={"n_samples": 3, "latency_warmup": 1, "latency_repeats": 3},
    resources={"teacher": {"time_min": 10}, "student": {"time_min": 10}},
))

_SMOKE_FAKE_SET = {"gan_steps": 2, "gan_batch_size": 16, "gan_ch": 4, "gan_dim_z": 8, "gan_dim_embed": 8,
                   "dre_steps": 2, "dre_batch_size": 16, "dre_hidden": [16], "dre_dim_embed": 8, "rs_burn_in": 10,
                   "rs_batch_size": 10, "filter_burn_in": 5, "n_per_label": 2, "max_label_points": 5,
                   "max_proposals_factor": 50, "fid_samples": 20, "log_every": 2, "filter_net": "teacher"}


def _smoke_labelled(name: str, task: str) -> Suite:
    return Suite(
        name=name,
        description=f"Tiny and fast (16x16 {task}, a few steps): checks that every stage of cGAN-KD runs.",
        tasks=({"name": task, "size": 16, "n_train": 100, "n_test": 20},),
        teacher={**_SMALL_CIFAR_RESNET, "widths": [8, 8, 16, 16]},
        students=({**_SMALL_CIFAR_RESNET, "widths": [8, 8, 8, 16]},),
        methods=LABELLED_METHODS,
        seeds=(0,),
        teacher_schedule={"steps": 4, "batch_size": 16, "log_every": 2},
        student_schedule={"steps": 4, "batch_size": 16, "log_every": 2},
        fake_set=_SMOKE_FAKE_SET,
        evaluation={"n_samples": 3, "latency_warmup": 1, "latency_repeats": 3},
        resources={"teacher": {"time_min": 10}, "artifact": {"time_min": 10}, "student": {"time_min": 10}},
    )


register_suite(_smoke_labelled("smoke_classification", "synthetic_shapes10"))
register_suite(_smoke_labelled("smoke_regression", "synthetic_rotation"))

register_suite(Suite(
    name="smoke",
    description="Tiny and fast: smoke_i2i + smoke_classification + smoke_regression, every part of the pipeline.",
    parts=("smoke_i2i", "smoke_classification", "smoke_regression"),
))

from kd_gan_bench.benchmarks.planning import paper_suites  # noqa: E402,F401  (registers the papers' suites)

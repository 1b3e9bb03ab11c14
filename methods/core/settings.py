"""The hyperparameters several methods share, with the public code's defaults and their declared types, torch-free:
a method's declaration (``methods/<method>/spec.py``) composes its defaults and hyperparameter declarations
(``hparams_declared``) from these, and the code that runs them (the student loop, GAN Compression's student, the online teacher, the labelled loop) reads
the same names from here.
"""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.core.schedule_math import D_STEPS
from kd_gan_bench.methods.networks.network_spec import INITS
from kd_gan_bench.benchmarks.core.registry import HParam

#: A loss weight whose ``None`` means the paper's value for the kind of task.
WEIGHT = HParam("float", optional=True, low=0.0)
INIT = HParam("str", choices=INITS)
DROPOUT = HParam("float", low=0.0, high=0.999)
GAN_MODE = HParam("str", optional=True, choices=("lsgan", "vanilla", "hinge"))
NDF = HParam("int", optional=True, low=1)

#: The student loop of the pretrained-teacher methods (:mod:`kd_gan_bench.methods.core.distill`): GAN weight, where the
#: student's discriminator starts, how fresh networks are initialised and when the discriminator steps.
LOOP_DEFAULTS: Mapping[str, Any] = {"lambda_gan": 1.0, "d_init": "teacher", "init": "normal", "d_step": "after_g"}
LOOP_HPARAMS: Mapping[str, HParam] = {"lambda_gan": HParam("float", low=0.0),
                                    "d_init": HParam("str", choices=("teacher", "scratch")),
                                    "lambda_recon": WEIGHT, "init": INIT, "d_step": HParam("str", choices=D_STEPS)}

#: GAN Compression's student set-up (:mod:`kd_gan_bench.methods.core.gan_compression`), shared by feature_kd and cat_ka.
STUDENT_DEFAULTS: Mapping[str, Any] = {"student_init": "auto", "gan_mode": None, "ndf": None}
GC_STUDENT_HPARAMS: Mapping[str, HParam] = {**LOOP_HPARAMS,
                                          "student_init": HParam("str", choices=("auto", "teacher", "scratch")),
                                          "gan_mode": GAN_MODE, "ndf": NDF}

#: The online-teacher schedule hyperparameters, with the public code's defaults; CRD, OMGD and DCD share them
#: (CRD's and DCD's code took OMGD's ``cycleganbest`` alternation; :mod:`kd_gan_bench.methods.core.online_teacher`).
SCHEDULE_DEFAULTS: Mapping[str, Any] = {"n_dis": None, "steps_count": "teacher", "epochs": None, "epochs_decay": None,
                                        "window_epochs": 10.0, "teacher_select": "best", "select_images": 32}
#: The networks' settings CRD, OMGD and DCD share, with the public code's defaults: the dropout rates of the
#: student and the online teacher(s) (``student_dropout_rate``/``teacher_dropout_rate`` 0) and the initialisation
#: of every network they build (``init_net`` N(0, 0.02): ``normal``; ``pytorch`` keeps PyTorch's default).
ONLINE_NETWORK_DEFAULTS: Mapping[str, Any] = {"student_dropout": 0.0, "teacher_dropout": 0.0, "init": "normal"}
ONLINE_HPARAMS: Mapping[str, HParam] = {
    "n_dis": HParam("int", optional=True, low=1), "steps_count": HParam("str", choices=("teacher", "student")),
    "epochs": HParam("int", optional=True, low=0), "epochs_decay": HParam("int", optional=True, low=0),
    "window_epochs": HParam("float", low=0.0), "teacher_select": HParam("str", choices=("best", "latest")),
    "select_images": HParam("int", low=1), "vgg_weights": HParam("str", optional=True),
    "teacher_arch": HParam("str", optional=True), "student_dropout": DROPOUT, "teacher_dropout": DROPOUT, "init": INIT,
    **{k: WEIGHT for k in ("lambda_style", "lambda_feature", "lambda_gan", "lambda_dcd")}}

#: The classification/regression methods' settings (:mod:`kd_gan_bench.methods.core.labelled_method`).
LABELLED_DEFAULTS: Mapping[str, Any] = {
    "reg_loss": "mse",   # regression: "mse" (CcGAN-KD) or "l1", on labels normalised to [0, 1]
    "augment": None,     # None: the task's augmentation; else "crop_flip", "flip" or "none"
}
LABELLED_HPARAMS: Mapping[str, HParam] = {"reg_loss": HParam("str", choices=("mse", "l1")),
                                        "augment": HParam("str", optional=True, choices=("crop_flip", "flip", "none"))}

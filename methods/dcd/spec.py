"""``dcd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.dcd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_checks import online_teacher_weights
from kd_gan_bench.methods.core.settings import GAN_MODE, NDF, ONLINE_NETWORK_DEFAULTS, ONLINE_HPARAMS, SCHEDULE_DEFAULTS
from kd_gan_bench.methods.dcd.plan import dcd_plan
from kd_gan_bench.benchmarks.core.registry import HParam

SPEC = MethodSpec(
    name="dcd", families=("i2i",), teacher_mode="online",
    summary="Discriminator-cooperated distillation: connector maps judged by the online teacher D, VGG "
            "style/feature.",
    citation="Hu et al., Discriminator-Cooperated Feature Map Distillation for GAN Compression, CVPR 2023",
    defaults={"lambda_dcd": None, "lambda_style": None, "lambda_feature": None, "lambda_gan": None,
              "teacher_connector": None, "gan_on": "teacher_output", "gan_mode": None, "ndf": None, "d_norm": None,
              **SCHEDULE_DEFAULTS, "vgg_weights": None, **ONLINE_NETWORK_DEFAULTS},
    hparams_declared={**ONLINE_HPARAMS, "gan_on": HParam("str", choices=("teacher_output", "student")), "gan_mode": GAN_MODE,
            "ndf": NDF, "d_norm": HParam("str", optional=True, choices=("batch", "instance"))},
    weights=online_teacher_weights, plan=dcd_plan)

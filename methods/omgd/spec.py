"""``omgd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.omgd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_checks import online_teacher_weights
from kd_gan_bench.methods.core.settings import NDF, ONLINE_NETWORK_DEFAULTS, ONLINE_HPARAMS, SCHEDULE_DEFAULTS, WEIGHT
from kd_gan_bench.methods.omgd.checks import check
from kd_gan_bench.methods.omgd.plan import omgd_plan
from kd_gan_bench.benchmarks.core.registry import HParam

SPEC = MethodSpec(
    name="omgd", families=("i2i",), teacher_mode="online",
    summary="Online multi-granularity distillation: wide + deep online teachers, SSIM/style/feature/TV + channel KD.",
    citation="Ren et al., Online Multi-Granularity Distillation for GAN Compression, ICCV 2021",
    defaults={"lambda_ssim": 10.0, "lambda_style": 1e4, "lambda_feature": 10.0, "lambda_tv": 1e-5, "lambda_cd": None,
              "ssim_padding": "zeros", "deep_teacher": "auto", "deep_teacher_ngf": None, "teacher_arch": None,
              "lambda_gan": 1.0, "lambda_recon": 100.0, "ndf": 128, "n_share": None,
              "d_norm": None, **SCHEDULE_DEFAULTS, "vgg_weights": None, **ONLINE_NETWORK_DEFAULTS},
    hparams_declared={**ONLINE_HPARAMS, "lambda_cd": WEIGHT, "ssim_padding": HParam("str", choices=("zeros", "reflect")),
            "n_share": HParam("int", optional=True, low=0, high=5), "deep_teacher_ngf": NDF,
            "d_norm": HParam("str", optional=True)},
    check=check, weights=online_teacher_weights, plan=omgd_plan)

"""``crd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.crd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_checks import online_teacher_weights
from kd_gan_bench.methods.core.settings import ONLINE_NETWORK_DEFAULTS, ONLINE_HPARAMS, SCHEDULE_DEFAULTS, WEIGHT
from kd_gan_bench.methods.crd.checks import check
from kd_gan_bench.methods.crd.plan import crd_plan
from kd_gan_bench.benchmarks.core.registry import HParam

SPEC = MethodSpec(
    name="crd", families=("i2i",), teacher_mode="online",
    summary="Content relationship distillation: RKD on row/column/patch slices of outputs, VGG style/feature, "
            "online teacher D.",
    citation="You et al., Exploring Content Relationships for Distilling Efficient GANs, arXiv 2212.11091",
    defaults={"lambda_row": None, "lambda_column": None, "lambda_patch": None,
              "rkd_distance": 1.0, "rkd_angle": 2.0, "patch_size": None,
              "lambda_style": None, "lambda_feature": None, "lambda_gan": None,
              **SCHEDULE_DEFAULTS, "teacher_arch": None,
              "vgg_input": "unit", "vgg_weights": None, **ONLINE_NETWORK_DEFAULTS},
    hparams_declared={**ONLINE_HPARAMS, **{k: WEIGHT for k in ("lambda_row", "lambda_column", "lambda_patch")},
            "patch_size": HParam("int", optional=True, low=1), "vgg_input": HParam("str", choices=("unit", "imagenet"))},
    check=check, weights=online_teacher_weights, plan=crd_plan)

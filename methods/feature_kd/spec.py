"""``feature_kd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.feature_kd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import GC_STUDENT_HPARAMS, LOOP_DEFAULTS, STUDENT_DEFAULTS, WEIGHT
from kd_gan_bench.methods.feature_kd.checks import check
from kd_gan_bench.methods.feature_kd.plan import feature_kd_plan

SPEC = MethodSpec(
    name="feature_kd", families=("i2i",), teacher_mode="pretrained",
    summary="GAN Compression feature distillation: 1x1-adapted student features, MSE to teacher's, plus output L1.",
    citation="Li et al., GAN Compression: Efficient Architectures for Interactive Conditional GANs, CVPR 2020",
    defaults={**LOOP_DEFAULTS, "lambda_recon": None, "lambda_distill": None, **STUDENT_DEFAULTS},
    hparams_declared={**GC_STUDENT_HPARAMS, "lambda_distill": WEIGHT}, check=check, plan=feature_kd_plan)

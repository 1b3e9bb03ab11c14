"""``output_kd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.output_kd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import LOOP_DEFAULTS, LOOP_HPARAMS
from kd_gan_bench.methods.output_kd.plan import output_kd_plan

SPEC = MethodSpec(
    name="output_kd", families=("i2i",), teacher_mode="pretrained",
    summary="Output distillation: lambda_recon x L1(student(x), teacher(x)) + GAN loss.",
    citation="Output-level KD baseline, as in GAN Compression (Li et al., CVPR 2020) without the feature term",
    defaults={**LOOP_DEFAULTS, "lambda_recon": None}, hparams_declared=LOOP_HPARAMS, plan=output_kd_plan)

"""``cat_ka``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.cat_ka.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.cat_ka.checks import check
from kd_gan_bench.methods.cat_ka.plan import cat_ka_plan
from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import GC_STUDENT_HPARAMS, LOOP_DEFAULTS, STUDENT_DEFAULTS
from kd_gan_bench.benchmarks.core.registry import HParam

SPEC = MethodSpec(
    name="cat_ka", families=("i2i",), teacher_mode="pretrained",
    summary="CAT's distillation: GAN + output L1 - lambda_ka x sum of kernel alignments at CAT's layers (batch > 1).",
    citation="Jin et al., Teachers Do More Than Teach: Compressing Image-to-Image Models, CVPR 2021 "
             "(kernel-alignment distillation only, no architecture search)",
    defaults={**LOOP_DEFAULTS, "lambda_ka": None, "lambda_recon": None, "recon_target": None, "layers": None,
              "ka_groups": 4, **STUDENT_DEFAULTS, "d_step": "before_g"},  # batch_size >= 2: its check
    hparams_declared={**GC_STUDENT_HPARAMS, "ka_groups": HParam("int", low=1)}, check=check, plan=cat_ka_plan)

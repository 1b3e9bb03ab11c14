"""``reko``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.reko.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import LOOP_DEFAULTS, LOOP_HPARAMS
from kd_gan_bench.benchmarks.core.registry import HParam
from kd_gan_bench.methods.reko.checks import check
from kd_gan_bench.methods.reko.plan import reko_plan

SPEC = MethodSpec(
    name="reko", families=("i2i",), teacher_mode="pretrained",
    summary="Region-aware KD: teacher-attention top-K regions, patch-wise InfoNCE through a projection head, plus "
            "output L1.",
    citation="Zhang et al., Region-aware Knowledge Distillation for Efficient Image-to-Image Translation, arXiv "
             "2205.12451 (attention and contrastive construction reconstructed from the abstract)",
    defaults={**LOOP_DEFAULTS, "lambda_recon": None, "lambda_nce": 1.0, "layer": "auto", "attention": "l2",
              "num_patches": 64, "tau": 0.07},
    hparams_declared={**LOOP_HPARAMS, "attention": HParam("str", choices=("l2", "l1"))}, check=check, plan=reko_plan)

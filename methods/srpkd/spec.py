"""``srpkd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.srpkd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import LOOP_DEFAULTS, LOOP_HPARAMS
from kd_gan_bench.methods.srpkd.checks import check
from kd_gan_bench.methods.srpkd.plan import srpkd_plan

SPEC = MethodSpec(
    name="srpkd", families=("i2i",), teacher_mode="pretrained",
    summary="Semantic relation preserving KD: output L1 + MSE between student and teacher position-relation "
            "matrices.",
    citation="Li, Jiang, Aarabi, Semantic Relation Preserving Knowledge Distillation for Image-to-Image Translation, "
             "ECCV 2020 workshops, arXiv 2104.15082 (relation matrix reconstructed from the abstract)",
    defaults={**LOOP_DEFAULTS, "lambda_recon": None, "lambda_relation": 10.0, "layer": "auto", "max_side": 32},
    hparams_declared=LOOP_HPARAMS, check=check, plan=srpkd_plan)

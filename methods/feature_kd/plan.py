"""``feature_kd``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import feature_kd_distill_weight, recon_weight
from kd_gan_bench.methods.core.plan_specs import JobFacts, gan_compression_student_plan, init_of


def feature_kd_plan(facts: JobFacts) -> dict[str, Any]:
    hp = facts.hparams
    adaptor = {"adaptor": {"arch": "conv1x1 per distilled layer", "dropout": 0.0, "init": init_of(hp)}}
    return gan_compression_student_plan(facts, {"lambda_recon": recon_weight(hp, facts.paired),
                                            "lambda_distill": feature_kd_distill_weight(hp, facts.paired)}, adaptor)

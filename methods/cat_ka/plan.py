"""``cat_ka``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import cat_ka_weights
from kd_gan_bench.methods.core.plan_checks import ka_groups
from kd_gan_bench.methods.core.plan_specs import JobFacts, gan_compression_student_plan


def cat_ka_plan(facts: JobFacts) -> dict[str, Any]:
    hp = facts.hparams
    weights = cat_ka_weights(hp, facts.paired)
    target = hp["recon_target"] or ("ground_truth" if facts.paired else "teacher")
    groups = ka_groups(hp["ka_groups"], facts.schedule["batch_size"])
    return gan_compression_student_plan(facts, {"lambda_recon": weights["recon"], "recon_target": target,
                                            "lambda_ka": weights["ka"], "ka_groups": groups})

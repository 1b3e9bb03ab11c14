"""``reko``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import recon_weight
from kd_gan_bench.methods.core.plan_specs import DEFAULT_INIT, JobFacts, loop_plan


def reko_plan(facts: JobFacts) -> dict[str, Any]:
    hp = facts.hparams
    head = {"projection": {"arch": "mlp projection head", "dropout": 0.0, "init": DEFAULT_INIT}}
    return loop_plan(facts, {"lambda_recon": recon_weight(hp, facts.paired), "lambda_nce": hp["lambda_nce"],
                              "tau": hp["tau"], "num_patches": hp["num_patches"]}, aux=head)

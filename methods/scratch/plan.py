"""``scratch``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.plan_specs import JobFacts, recipe_plan


def scratch_plan(facts: JobFacts) -> dict[str, Any]:
    """``scratch``: the student trained alone with the teacher's recipe."""
    return recipe_plan(facts, facts.student or {}, "student", "discriminator")

"""``crd``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import crd_weights
from kd_gan_bench.methods.core.plan_checks import online_teacher_spec
from kd_gan_bench.methods.core.plan_specs import (VGG_UNIT, JobFacts, adam_training, init_of, network, online_interleave,
                                     online_plan_schedule, online_teacher_roles, student_spec)
from kd_gan_bench.methods.core.recipe_settings import resolve_recipe


def crd_plan(facts: JobFacts) -> dict[str, Any]:
    hp, paired = facts.hparams, facts.paired
    plan, per_epoch = online_plan_schedule(facts, "crd")
    recipe = resolve_recipe(facts.recipe, paired)
    trains, networks = online_teacher_roles(facts, online_teacher_spec(hp, facts.teacher), plan, per_epoch, recipe)
    weights = crd_weights(hp, paired)
    return {"trains": {"student": adam_training(plan.student_steps, facts.schedule, per_epoch, plan.decay_from),
                       **trains},
            "networks": {"student": network(student_spec(facts), init_of(hp)), **networks},
            "losses": {"gan_mode": recipe["gan_mode"], **{f"lambda_{k}": v for k, v in weights.items()},
                       "rkd_distance": hp["rkd_distance"], "rkd_angle": hp["rkd_angle"],
                       "vgg_input": VGG_UNIT if hp["vgg_input"] == "unit" else "imagenet mean/std"},
            "interleave": online_interleave(facts, plan)}

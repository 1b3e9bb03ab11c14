"""``dcd``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import dcd_recipe, dcd_weights
from kd_gan_bench.methods.core.plan_checks import online_teacher_spec
from kd_gan_bench.methods.core.plan_specs import (NORMAL_INIT, VGG_UNIT, JobFacts, adam_training, init_of, network,
                                     online_interleave, online_plan_schedule, online_teacher_roles, student_spec)
from kd_gan_bench.methods.core.recipe_settings import resolve_recipe


def dcd_plan(facts: JobFacts) -> dict[str, Any]:
    hp, paired = facts.hparams, facts.paired
    plan, per_epoch = online_plan_schedule(facts, "dcd")
    recipe = dcd_recipe(hp, resolve_recipe(facts.recipe, paired), paired)
    trains, networks = online_teacher_roles(facts, online_teacher_spec(hp, facts.teacher), plan, per_epoch, recipe)
    student_train = adam_training(plan.student_steps, facts.schedule, per_epoch, plan.decay_from)
    connector_mode = hp["teacher_connector"] or ("trained" if paired else "frozen")
    connector = {"arch": "conv1x1 + batchnorm + relu per layer", "dropout": 0.0, "init": NORMAL_INIT}
    trained = {"connector": student_train}
    if connector_mode == "trained":
        trained["teacher_connector"] = student_train
    return {"trains": {"student": student_train, **trained, **trains},
            "networks": {"student": network(student_spec(facts), init_of(hp)),
                         "connector": connector,
                         "teacher_connector": {**connector, "trained": connector_mode == "trained"}, **networks},
            "losses": {"gan_mode": recipe["gan_mode"], **{f"lambda_{k}": v for k, v in dcd_weights(hp, paired).items()},
                       "teacher_connector": connector_mode, "gan_on": hp["gan_on"], "vgg_input": VGG_UNIT},
            "interleave": online_interleave(facts, plan)}

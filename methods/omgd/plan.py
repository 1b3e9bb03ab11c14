"""``omgd``'s training plan, torch-free (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.loss_weights import omgd_weights
from kd_gan_bench.methods.core.plan_checks import network_architecture, omgd_teacher_specs
from kd_gan_bench.methods.core.plan_specs import (NORMAL_INIT, VGG_UNIT, JobFacts, adam_training, init_of, network,
                                     online_interleave, online_plan_schedule, online_teacher_roles, student_spec)
from kd_gan_bench.methods.core.recipe_settings import resolve_recipe


def omgd_plan(facts: JobFacts) -> dict[str, Any]:
    hp, paired = facts.hparams, facts.paired
    student = facts.student or {}
    architecture = network_architecture(student, "student")
    plan, per_epoch = online_plan_schedule(facts, "omgd")
    weights = omgd_weights(hp, paired, architecture)
    student_train = adam_training(plan.student_steps, facts.schedule, per_epoch, plan.decay_from)
    specs = omgd_teacher_specs(hp, facts.teacher, student, paired, architecture)
    if paired:
        teacher_train = adam_training(plan.teacher_steps, facts.schedule, per_epoch, plan.decay_from)
        networks = {role: network(spec, init_of(hp)) for role, spec in zip(("teacher_wide", "teacher_deep"), specs)}
        n_share = int(hp["n_share"] if hp["n_share"] is not None else (5 if architecture == "unet" else 3))
        d_norm = hp["d_norm"] or specs[0].get("norm", "batch" if architecture == "unet" else "instance")
        networks["teacher_discriminator"] = network({"arch": "shared_patchgan_discriminator", "ndf": hp["ndf"],
                                                     "n_share": n_share, "n_heads": len(networks), "norm": d_norm},
                                                    init_of(hp))
        trains = {role: teacher_train for role in networks}
        gan = {"gan_mode": "hinge", "teacher_lambda_gan": hp["lambda_gan"], "teacher_lambda_recon": hp["lambda_recon"]}
    else:
        recipe = resolve_recipe(facts.recipe, paired)
        trains, networks = online_teacher_roles(facts, specs[0], plan, per_epoch, recipe)
        gan = {"gan_mode": recipe["gan_mode"]}
    aux = {}
    if weights["cd"]:
        aux = {"adaptor": {"arch": "conv1x1 per distilled layer", "dropout": 0.0, "init": NORMAL_INIT}}
    return {"trains": {"student": student_train, **{k: student_train for k in aux}, **trains},
            "networks": {"student": network(student_spec(facts), init_of(hp)), **aux, **networks},
            "losses": {**gan, **{f"lambda_{k}": v for k, v in weights.items()}, "ssim_padding": hp["ssim_padding"],
                       "vgg_input": VGG_UNIT},
            "interleave": online_interleave(facts, plan)}

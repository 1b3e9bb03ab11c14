"""``crd``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import (VGG_INPUTS, StudentPlan, check_buildable, check_schedule_hparams,
                                      online_teacher_spec, resolve_patch_size)


def check(plan: StudentPlan) -> None:
    """CRD: the patch grid fits the images, the schedule settings are valid, and ``teacher_arch`` builds."""
    hp = plan.hparams
    resolve_patch_size(hp["patch_size"], plan.size)
    check_schedule_hparams(hp)
    if hp["vgg_input"] not in VGG_INPUTS:
        raise ValueError(f"crd vgg_input must be one of {VGG_INPUTS}, got {hp['vgg_input']!r}")
    try:
        check_buildable(online_teacher_spec(hp, plan.teacher))
    except (KeyError, ValueError) as exc:
        raise ValueError(f"crd teacher_arch={hp['teacher_arch']!r}: {exc}") from None

"""``omgd``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import (DEEP_TEACHER_CHOICES, SSIM_PADDINGS, StudentPlan, check_schedule_hparams,
                                      network_architecture)


def check(plan: StudentPlan) -> None:
    """OMGD: teacher and student of one generator architecture, and valid settings."""
    architecture = network_architecture(plan.student, "student")
    if network_architecture(plan.teacher, "teacher") != architecture:
        raise ValueError(f"omgd needs teacher and student of one architecture (ResNet or U-Net) for its channel "
                         f"distillation; got teacher {plan.teacher['arch']!r}, student {plan.student['arch']!r}")
    hp = plan.hparams
    if hp["ssim_padding"] not in SSIM_PADDINGS:
        raise ValueError(f"omgd ssim_padding must be one of {SSIM_PADDINGS}, got {hp['ssim_padding']!r}")
    if hp["deep_teacher"] not in DEEP_TEACHER_CHOICES:
        raise ValueError(f"omgd deep_teacher must be one of {DEEP_TEACHER_CHOICES}, got {hp['deep_teacher']!r}")
    check_schedule_hparams(hp, "omgd")
    if hp["n_share"] is not None and not 0 <= int(hp["n_share"]) <= 5:
        raise ValueError(f"omgd n_share must be 0..5 (shared blocks of the 5-block PatchGAN) or null for the "
                         f"code's value (3 ResNet, 5 U-Net), got {hp['n_share']!r}")

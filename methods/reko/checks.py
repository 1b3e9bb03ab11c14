"""``reko``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import StudentPlan, check_spatial_layer


def check(plan: StudentPlan) -> None:
    """ReKo: InfoNCE needs a positive and a negative position, at the same grid in student and teacher."""
    shapes = check_spatial_layer("reko", plan, 2)
    if shapes["student"][-2:] != shapes["teacher"][-2:]:
        raise ValueError(f"method 'reko' pairs student and teacher features position by position, but its layer "
                         f"is {tuple(shapes['student'][-2:])} in the student and {tuple(shapes['teacher'][-2:])} "
                         f"in the teacher at {plan.size}x{plan.size}: use networks of one architecture and depth")

"""``srpkd``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import StudentPlan, check_spatial_layer


def check(plan: StudentPlan) -> None:
    """SRPKD: a relation between positions needs two of them (one gives the constant [[1]])."""
    check_spatial_layer("srpkd", plan, 2)

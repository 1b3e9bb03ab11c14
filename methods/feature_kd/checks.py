"""``feature_kd``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import StudentPlan, gan_compression_student


def check(plan: StudentPlan) -> None:
    """feature_kd: its student settings (:func:`gan_compression_student`)."""
    gan_compression_student(plan, "feature_kd")

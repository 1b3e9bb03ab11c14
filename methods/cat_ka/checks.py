"""``cat_ka``'s planning check, torch-free: run by the grid on every student job it expands and again when the
method trains (:mod:`kd_gan_bench.methods.core.plan_checks`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.plan_checks import StudentPlan, gan_compression_student, ka_groups


def check(plan: StudentPlan) -> None:
    """CAT: its student settings, valid ``ka_groups``, and a batch of >= 2 (kernel alignment is identically 1 at 1)."""
    gan_compression_student(plan, "cat_ka")
    ka_groups(plan.hparams["ka_groups"], 2)
    batch = plan.schedule.get("batch_size")
    if batch is not None and int(batch) < 2:
        raise ValueError(f"method 'cat_ka' needs batch_size >= 2: kernel alignment compares the samples of a "
                         f"batch with each other and is identically 1 (no gradient) at batch_size {batch}. Set "
                         f"e.g. `--set student_schedule.batch_size=4` (CAT trains at 80), or run a suite whose "
                         f"student batch is larger")

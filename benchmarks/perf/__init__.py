"""Performance measurements: of the harness itself (``slurm_submit``: submitting a 1,000-job grid) and
of the methods' training steps (``method_step_times``: what each distillation method adds to a step)."""

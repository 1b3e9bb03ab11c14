"""From a suite to jobs: suites, ``--set`` overrides, grid expansion, what to run, estimates, training plans and SLURM requests; torch-free."""

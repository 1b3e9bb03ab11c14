"""Running jobs: the launcher loop, local workers, SLURM arrays and their ledger, the job runner, claims and the outcome bookkeeping."""

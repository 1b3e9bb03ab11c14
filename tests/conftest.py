"""Session fixture for tests marked ``slurm``: a real SLURM cluster on this machine.

``slurm_cluster`` runs ``tests/slurm/start_cluster.sh`` (idempotent: a no-op when the controller
answers and the node is usable). Where SLURM cannot be started the SLURM tests skip with the
reason, except in CI (``CI=true``), where they must run and therefore fail instead.
"""
from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from benchmarks import slurm

START_CLUSTER = Path(__file__).resolve().parent / "slurm" / "start_cluster.sh"


@pytest.fixture(scope="session")
def slurm_cluster() -> None:
    """Start (or find) the one-node cluster; skip or, in CI, fail when that is impossible."""
    try:
        result = subprocess.run(["bash", str(START_CLUSTER)], capture_output=True, text=True, timeout=900)
        detail = f"{START_CLUSTER.name} exited {result.returncode}: {result.stderr.strip()[-1500:]}"
    except (OSError, subprocess.SubprocessError) as exc:
        detail = f"{START_CLUSTER.name} could not run: {exc}"
    ok, why = slurm.available()
    if ok:
        return
    reason = f"SLURM cannot be started here ({why}); {detail}"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI=true and SLURM tests must run: {reason}", pytrace=False)
    pytest.skip(reason)

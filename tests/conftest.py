"""Shared fixtures.

``slurm_cluster`` (session scope, for tests marked ``slurm``: a real SLURM cluster on this machine)
runs ``tests/slurm/start_cluster.sh`` (idempotent: a no-op when the controller answers and the node
is usable). Where SLURM cannot be started the SLURM tests skip with the reason, except in CI
(``CI=true``), where they must run and therefore fail instead. At the end of the session it stops the daemons the
script started (``tests/slurm_daemons.py``), unless the cluster then has jobs queued or running; a cluster it found
running it leaves alone.

Every test, and every CLI subprocess it starts, sees an empty torch hub cache (``TORCH_HOME`` points at a
fresh temporary folder), so weights a user or an earlier ``grid`` left in ``~/.cache/torch`` (the converted
InceptionV3, VGG16) cannot change what the tests compute; tests that need weights make their own.

``empty_hub`` hides any VGG16 weights this machine has, so that code building
:class:`kd_gan_bench.methods.core.perceptual.VGG16Features` gets its seeded random fallback wherever the tests run.
"""
from __future__ import annotations

import os
import subprocess
import tempfile
import warnings
from pathlib import Path
from typing import Iterator

import pytest
import slurm_daemons
import torch

from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.methods.core import loud_warning, perceptual

START_CLUSTER = Path(__file__).resolve().parent / "slurm" / "start_cluster.sh"
os.environ.setdefault("KDGAN_NO_DOWNLOAD", "1")  # no test (nor grid it starts) downloads weights unless it asks
os.environ["TORCH_HOME"] = tempfile.mkdtemp(prefix="kdgan-tests-torch-home-")  # this machine's hub cache stays unseen


@pytest.fixture(scope="session")
def slurm_cluster() -> Iterator[None]:
    """Start (or find) the one-node cluster; skip or, in CI, fail when that is impossible. Stops, at the end of the
    session, the daemons it started."""
    started: list[str] = []
    try:
        result = subprocess.run(["bash", str(START_CLUSTER)], capture_output=True, text=True, timeout=900)
        started = slurm_daemons.started_daemons(result.stdout)
        detail = f"{START_CLUSTER.name} exited {result.returncode}: {result.stderr.strip()[-1500:]}"
    except (OSError, subprocess.SubprocessError) as exc:
        detail = f"{START_CLUSTER.name} could not run: {exc}"
    ok, why = slurm.available()
    if ok:
        yield
        if started and slurm_daemons.cluster_busy():
            warnings.warn(f"left the SLURM daemons this session started running ({', '.join(started)}): the cluster "
                          f"has jobs queued or running")
        elif started:
            for problem in slurm_daemons.stop_daemons(started):
                warnings.warn(f"stopping the SLURM cluster this session started: {problem}")
        return
    slurm_daemons.stop_daemons(started)  # whatever came up of a cluster that did not
    reason = f"SLURM cannot be started here ({why}); {detail}"
    if os.environ.get("CI", "").lower() in ("true", "1"):
        pytest.fail(f"CI=true and SLURM tests must run: {reason}", pytrace=False)
    pytest.skip(reason)


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch.hub pointed at an empty TORCH_HOME, no $KDGAN_VGG_WEIGHTS, the warning re-armed."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.delenv(perceptual.WEIGHTS_ENV, raising=False)
    monkeypatch.setattr(loud_warning, "WARNED", set())
    return tmp_path / "torch_home"

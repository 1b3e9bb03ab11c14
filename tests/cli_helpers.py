"""Running the CLI in a subprocess from tests, and reading the records it leaves."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent


def cli(*args: str, check: bool = True, timeout: float = 600, **env_vars: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(REPO), **env_vars}
    proc = subprocess.run([sys.executable, "-m", "kd_gan_bench.benchmarks.run", *args], cwd=REPO, env=env, capture_output=True,
                          text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError(f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}")
    return proc


def pythonpath(*folders: Path) -> str:
    """A PYTHONPATH of this checkout and ``folders``: what a CLI subprocess needs to import a plugin module that no
    distribution installs (``cli(..., "--plugin", "my_module", PYTHONPATH=pythonpath(folder))``)."""
    return os.pathsep.join(str(f) for f in (REPO, *folders))


def records(results: Path) -> dict[str, dict]:
    return {p.parent.name: json.loads(p.read_text()) for p in (results / "jobs").glob("*/record.json")}


#: ``grid`` arguments whose teacher passes planning and fails when it starts training (a validation split larger
#: than the training set: the planner does not know the data's size), for tests of failed teachers' students.
TEACHER_FAILS_WHEN_TRAINING = ("--set", "teacher_schedule.select=best_val", "--set", "teacher_schedule.val_size=100000")
#: What the failed teacher's record says.
TEACHER_FAILURE = "leaves nothing"

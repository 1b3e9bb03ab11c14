"""Stopping the daemons of the test session's one-node SLURM cluster that the session itself started.

``tests/slurm/start_cluster.sh`` prints ``started DAEMON`` for every daemon it starts (nothing when it found the
cluster up); :func:`started_daemons` reads those lines and :func:`stop_daemons` stops those daemons at the end of
the session, by the pid files they write (never by name), SLURM's first so that no job is left half run.
A cluster the session found running is left alone, and so is one that still has jobs queued or running
(another session, or a person, is using it).
"""
from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path
from typing import Iterable, Mapping

#: Where each daemon the cluster may run writes its pid, in the order they are stopped.
PID_FILES = {"slurmd": "/run/slurmd.pid", "slurmctld": "/run/slurmctld.pid", "slurmdbd": "/run/slurmdbd.pid",
             "mariadbd": "/run/mysqld/mysqld.pid", "munged": "/run/munge/munged.pid"}


def started_daemons(script_stdout: str) -> list[str]:
    """The daemons ``start_cluster.sh`` reported starting (``started NAME`` lines), in stopping order."""
    named = {line.split()[1] for line in script_stdout.splitlines()
             if line.startswith("started ") and len(line.split()) == 2}
    return [name for name in PID_FILES if name in named]


def cluster_busy() -> bool:
    """Whether the cluster has jobs queued or running (False when ``squeue`` cannot say)."""
    try:
        out = subprocess.run(["squeue", "--noheader", "--format=%i"], capture_output=True, text=True, timeout=30)
    except (OSError, subprocess.SubprocessError):
        return False
    return out.returncode == 0 and bool(out.stdout.strip())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a zombie child of this process (a test's own) has ended
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except (OSError, IndexError):
        return True


def stop_daemons(names: Iterable[str], pid_files: Mapping[str, str] = PID_FILES, timeout_s: float = 30) -> list[str]:
    """SIGTERM each named daemon through its pid file and wait for it to end; returns what could not be done."""
    problems = []
    for name in names:
        try:
            pid = int(Path(pid_files[name]).read_text().split()[0])
        except (OSError, ValueError, IndexError, KeyError) as exc:
            problems.append(f"{name}: no pid to stop ({exc})")
            continue
        try:
            os.kill(pid, signal.SIGTERM)
        except ProcessLookupError:
            continue
        deadline = time.monotonic() + timeout_s
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.2)
        if _alive(pid):
            problems.append(f"{name} (pid {pid}) still runs {timeout_s:.0f} s after SIGTERM")
    return problems

"""Where a job ran: library versions, git commit, host, device; and device selection."""
from __future__ import annotations

import os
import platform
import socket
import subprocess
import sys
from functools import lru_cache
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import torch

REPO_ROOT = Path(__file__).resolve().parents[2]  # the checkout (benchmarks/core/ is two folders down)
PACKAGES = ("torch", "torchvision", "torch-fidelity", "submitit", "pandas", "numpy")


def choose_device(requested: str = "auto") -> torch.device:
    """``auto``: CUDA when available, else CPU. Asking for CUDA where there is none is an error."""
    import torch  # imported here: listing and planning a grid never need it

    if requested == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    device = torch.device(requested)
    if device.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"--device {requested}: CUDA is not available on {socket.gethostname()}; "
                         f"use --device cpu or auto")
    if device.type == "cuda" and device.index is not None and device.index >= torch.cuda.device_count():
        raise ValueError(f"--device {requested}: {socket.gethostname()} has {torch.cuda.device_count()} CUDA "
                         f"device(s), numbered from 0; use --device cuda (the first) or auto")
    return device


@lru_cache(maxsize=1)
def git_state() -> dict[str, Any]:
    def git(*args: str) -> str:
        return subprocess.run(["git", *args], cwd=REPO_ROOT, capture_output=True, text=True, timeout=10).stdout.strip()

    try:
        return {"git_commit": git("rev-parse", "HEAD") or None, "git_dirty": bool(git("status", "--porcelain"))}
    except (OSError, subprocess.SubprocessError):
        return {"git_commit": None, "git_dirty": None}


def environment(device: torch.device) -> dict[str, Any]:
    """The versions, host and device a job ran with, for its record."""
    import torch

    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return {
        "python": sys.version.split()[0],
        "versions": versions,
        **git_state(),
        "host": socket.gethostname(),
        "platform": platform.platform(),
        "device": str(device),
        "device_name": torch.cuda.get_device_name(device) if device.type == "cuda" else platform.processor() or "cpu",
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "slurm_job_id": os.environ.get("SLURM_JOB_ID"),
    }

"""The result store: one JSON record per job under ``<root>/jobs/<job_id>/record.json``.

Records are written atomically (a temporary file in the same folder, fsync, ``os.replace``), so
a job killed mid-write leaves the previous record or none, never half a file. A job's folder
also holds its log, checkpoints and sample images. Only a record with ``status == "done"``
counts as done; failed, blocked and timed-out jobs are recorded as such (which of them the next
grid reruns: :func:`benchmarks.plan.plan_jobs`). A record that cannot be parsed is reported (path
and reason) and treated as missing. Every record names the grid run that produced it (``run``),
so a scheduler-side check can tell a job's fresh record from one left by an earlier run, and how to make it
again (``rerun_command``, ``config_hash``, ``git_commit``: :mod:`benchmarks.provenance`, stamped when written).
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

from benchmarks.provenance import record_provenance

DONE = "done"
STATUSES = ("done", "failed", "blocked", "timed_out", "missing", "queued", "running")
#: Final statuses a record can carry.
RECORD_STATUSES = ("done", "failed", "blocked", "timed_out")


class StoreError(RuntimeError):
    """The results directory cannot be used; the message says why and how to fix it."""


@dataclass(frozen=True)
class CorruptRecord:
    path: Path
    reason: str

    def __str__(self) -> str:
        return (f"corrupt record {self.path}: {self.reason}. The job counts as missing; rerun the grid to "
                f"replace it (or delete the file).")


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def atomic_torch_save(obj: Any, path: Path) -> None:
    """``torch.save`` through a temporary file and ``os.replace``."""
    import torch  # only jobs save tensors; listing and planning never import torch

    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.close(fd)
    try:
        torch.save(obj, tmp)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def torch_load(path: Path) -> Any:
    """A file the harness wrote with :func:`atomic_torch_save` (state dicts, training states, artifacts),
    read back on the CPU with ``weights_only=True``: tensors, numbers, strings and containers only, so a
    tampered file in a results folder cannot run code when a job reads it."""
    import torch

    return torch.load(path, map_location="cpu", weights_only=True)


def outcome_record(config: dict[str, Any], status: str, error: str | None, run: str,
                   **extra: Any) -> dict[str, Any]:
    """A record for a job that produced no results (blocked, timed out, lost): same shape as a run's."""
    if status not in RECORD_STATUSES:
        raise ValueError(f"status {status!r} is not one of {RECORD_STATUSES}")
    return {"job_id": config["job_id"], "status": status, "config": config, "error": error, "traceback": None,
            "metrics": {}, "timings": {}, "run": run, **extra}


class ResultStore:
    """Job folders and records under ``root``."""

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).absolute()

    @property
    def jobs_dir(self) -> Path:
        return self.root / "jobs"

    def job_dir(self, job_id: str) -> Path:
        return self.jobs_dir / job_id

    def record_path(self, job_id: str) -> Path:
        return self.job_dir(job_id) / "record.json"

    def ensure_writable(self) -> None:
        """Create the store or raise ``StoreError`` saying why it cannot be written."""
        try:
            self.jobs_dir.mkdir(parents=True, exist_ok=True)
            probe = self.jobs_dir / f".write-probe-{os.getpid()}"
            probe.write_text("ok")
            probe.unlink()
        except OSError as exc:
            raise StoreError(f"results directory {self.root} is not writable ({exc.strerror or exc}). "
                             f"Choose another with --results PATH (or KDGAN_RESULTS), or fix its permissions.") from None

    def write_record(self, record: dict[str, Any]) -> Path:
        """Write ``record`` atomically, stamped with its provenance (how to rerun it into this store)."""
        record = {**record, **record_provenance(record["config"], self.root)}
        path = self.record_path(record["job_id"])
        atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode())
        return path

    def read_record(self, job_id: str) -> dict[str, Any] | CorruptRecord | None:
        return self._read(self.record_path(job_id))

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | CorruptRecord | None:
        try:
            text = path.read_text()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return CorruptRecord(path, f"unreadable ({exc})")
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            return CorruptRecord(path, f"invalid JSON ({exc})")
        if not isinstance(record, dict) or not {"job_id", "status", "config"} <= set(record):
            return CorruptRecord(path, "not a job record (needs job_id, status, config)")
        return record

    def is_done(self, job_id: str) -> bool:
        record = self.read_record(job_id)
        return isinstance(record, dict) and record["status"] == DONE

    def status_of(self, job_id: str) -> tuple[str, str | None]:
        """The job's recorded status and error: ``missing`` without a record, ``corrupt`` for an unreadable one."""
        record = self.read_record(job_id)
        if isinstance(record, dict):
            return record["status"], record.get("error")
        return ("missing", None) if record is None else ("corrupt", record.reason)

    def records(self) -> Iterator[dict[str, Any] | CorruptRecord]:
        if not self.jobs_dir.is_dir():
            return
        for path in sorted(self.jobs_dir.glob("*/record.json")):
            record = self._read(path)
            if record is not None:
                yield record

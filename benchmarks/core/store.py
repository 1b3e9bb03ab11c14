"""The result store: one JSON record per job under ``<root>/jobs/<job_id>/record.json``.

Records are written atomically (a temporary file in the same folder, fsync, ``os.replace``), so
a job killed mid-write leaves the previous record or none, never half a file. Every file the harness writes gets the
mode an ordinary ``open`` would give it under the process's umask (``0666 & ~umask``; ``mkstemp`` alone gives
``0600``), so that on a lab's shared results path the other members' ``status``, ``report`` and grids can read it. A
job's folder
also holds its log, checkpoints and sample images. Only a record with ``status == "done"``
counts as done; failed, blocked and timed-out jobs are recorded as such (which of them the next
grid reruns: :func:`kd_gan_bench.benchmarks.planning.plan.plan_jobs`). A record that cannot be parsed, or that is not the record of
the job whose folder holds it (its folder name, ``job_id`` and the recomputed id of its stored config must agree,
:func:`kd_gan_bench.benchmarks.core.config.config_hash`), or whose status is not one of :data:`RECORD_STATUSES`, is reported
(path and reason) and treated as missing: a record copied into another job's folder is not counted twice.
Every record names the grid run that produced it (``run``),
so a scheduler-side check can tell a job's fresh record from one left by an earlier run, and how to make it
again (``rerun_command``, ``config_hash``, ``git_commit``, ``plan``: :mod:`kd_gan_bench.benchmarks.records.provenance`), which the
launcher computes once per job and hands to whoever writes its record: the store knows nothing of suites or plans.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator, Mapping

from kd_gan_bench.benchmarks.core.config import JobConfig, config_hash

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


def current_umask() -> int:
    """The process's umask, read without changing it where Linux says it (``/proc/self/status``); elsewhere set and
    restored at once."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError, IndexError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def file_mode() -> int:
    """The mode ``open`` gives a new file under the current umask (``0666 & ~umask``)."""
    return 0o666 & ~current_umask()


def _temporary(path: Path) -> tuple[int, str]:
    """A temporary file beside ``path`` (same folder, so ``os.replace`` is atomic), with the umask's mode."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    os.fchmod(fd, file_mode())
    return fd, tmp


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and ``os.replace``: readers see the old file or the new."""
    fd, tmp = _temporary(path)
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

    fd, tmp = _temporary(path)
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


#: Fields of a record and the JSON types they may hold (None: the field may be absent or null).
RECORD_FIELDS: dict[str, tuple[type, ...]] = {
    "error": (str,), "traceback": (str,), "run": (str,), "metrics": (dict,), "artifacts": (dict,),
    "timings": (dict,), "history": (dict,), "plan": (dict,), "rerun_command": (str,), "config_hash": (str,),
    "git_commit": (str,),
}


def record_problem(record: Any, folder: str) -> str | None:
    """Why ``record`` (parsed JSON from ``jobs/<folder>/record.json``) is not a record of that job, or None.

    A record belongs to the job whose folder holds it: the folder name, its ``job_id`` and the id recomputed from
    its stored config (:func:`kd_gan_bench.benchmarks.core.config.config_hash`) must agree, so a record copied into another job's
    folder, or one whose config was edited, is corrupt; its status must be one of :data:`RECORD_STATUSES`; the fields
    the report reads must have their types (:data:`RECORD_FIELDS`), and its output files (the field ``artifacts``)
    be names of files in the job's folder."""
    if not isinstance(record, dict) or not {"job_id", "status", "config"} <= set(record):
        return "not a job record (needs job_id, status, config)"
    status, job_id = record["status"], record["job_id"]
    if status not in RECORD_STATUSES:
        return f"unknown status {str(status)[:40]!r} (a record's status is one of {', '.join(RECORD_STATUSES)})"
    if job_id != folder:
        return f"the record of job {str(job_id)[:40]!r} in the folder of job {folder} (a copy?)"
    try:
        config = JobConfig.from_dict(record["config"])
        digest = config_hash(config)
    except Exception as exc:  # any JSON can stand in a config: it is data, and what fails to build is corrupt
        return f"its config is not a job config this code reads ({type(exc).__name__}: {str(exc)[:200]})"
    if config.job_id != folder or record["config"].get("job_id", folder) != folder:
        return f"its config hashes to job {config.job_id}, not {folder} (edited, or written by other code)"
    if record.get("config_hash") not in (None, digest):
        return f"its config_hash {str(record['config_hash'])[:70]!r} is not its config's ({digest})"
    for key, types in RECORD_FIELDS.items():
        if record.get(key) is not None and not isinstance(record[key], types):
            return f"its {key} is a {type(record[key]).__name__}, not a {' or '.join(t.__name__ for t in types)}"
    files = record.get("artifacts") or {}  # the record's name for the job's output files
    if not all(isinstance(v, str) and v and Path(v).name == v for v in files.values()):
        return "its output files (its artifacts field) are not file names in the job's folder"
    return None


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

    def write_record(self, record: dict[str, Any], provenance: Mapping[str, Any] | None = None) -> Path:
        """Write ``record`` atomically, stamped with ``provenance`` (how to make it again: what
        :func:`kd_gan_bench.benchmarks.records.provenance.record_provenance` computed for the job when the launcher planned it)."""
        record = {**record, **(provenance or {})}
        path = self.record_path(record["job_id"])
        atomic_write_bytes(path, (json.dumps(record, indent=2, sort_keys=True, default=str) + "\n").encode())
        return path

    def read_record(self, job_id: str) -> dict[str, Any] | CorruptRecord | None:
        return self._read(self.record_path(job_id))

    @staticmethod
    def _read(path: Path) -> dict[str, Any] | CorruptRecord | None:
        try:
            data = path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            return CorruptRecord(path, f"unreadable ({exc})")
        try:
            record = json.loads(data)
        except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, or nested past the parser's depth
            return CorruptRecord(path, f"invalid JSON ({type(exc).__name__}: {str(exc)[:200]})")
        problem = record_problem(record, path.parent.name)
        return CorruptRecord(path, problem) if problem else record

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

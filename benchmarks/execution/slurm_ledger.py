"""What a SLURM submission leaves behind: ``runs/<run>/slurm_jobs.json`` (the ledger), read by ``status``
and by the next ``grid`` so nothing needs the submitting process afterwards.

The ledger is data in a folder others can write (README, "Trust boundary"): an entry is used only when its run
is the folder it sits in and every path it names (logs, submitit's result pickle) resolves, symlinks followed,
inside that run folder (:func:`inside_run`); other entries are skipped with a warning."""
from __future__ import annotations

import json
import sys
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any, Iterator, Sequence

import submitit

from kd_gan_bench.benchmarks.planning.cluster_config import SlurmResources
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_write_bytes

LEDGER = "slurm_jobs.json"


class SlurmError(RuntimeError):
    """SLURM could not be used (not installed, controller down, sbatch refused a request)."""


def chunked(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    """Consecutive slices of at most ``size`` items."""
    for start in range(0, len(items), size):
        yield items[start:start + size]


# ---------------------------------------------------------------------------------------------- ledger


@dataclass(frozen=True)
class Submission:
    """One job as submitted: where SLURM knows it and where its logs are."""

    job_id: str
    run: str
    slurm_id: str             # "<array id>_<index>", or "<job id>" for a one-job chunk
    phase: str
    teacher_id: str | None
    dependency: str | None
    stdout: str
    stderr: str
    result: str               # submitit's result pickle: ("success", record) or ("error", traceback)


class Ledger:
    """``runs/<run>/slurm_jobs.json``: the arrays and jobs one grid run submitted, rewritten after every sbatch."""

    def __init__(self, run_dir: Path) -> None:
        self.path = run_dir / LEDGER
        self.run = run_dir.name
        self.arrays: list[dict[str, Any]] = []
        self.jobs: dict[str, Submission] = {}

    def add(self, configs: Sequence[JobConfig], jobs: Sequence[submitit.Job], resources: SlurmResources,
            dependency: str | None) -> None:
        array_id = jobs[0].job_id.split("_")[0]
        self.arrays.append({"array_id": array_id, "phase": configs[0].phase, "size": len(jobs),
                            "dependency": dependency, "resources": asdict(resources),
                            "submission_file": str(jobs[0].paths.submission_file),
                            "jobs": [c.job_id for c in configs]})
        for config, job in zip(configs, jobs):
            self.jobs[config.job_id] = Submission(
                job_id=config.job_id, run=self.run, slurm_id=job.job_id, phase=config.phase,
                teacher_id=config.teacher_id, dependency=dependency, stdout=str(job.paths.stdout),
                stderr=str(job.paths.stderr), result=str(job.paths.result_pickle))
        self.save()

    def save(self) -> None:
        data = {"run": self.run, "arrays": self.arrays, "jobs": {k: asdict(v) for k, v in self.jobs.items()}}
        atomic_write_bytes(self.path, json.dumps(data, indent=1).encode())


def latest_submissions(store: ResultStore) -> dict[str, Submission]:
    """The newest SLURM submission of every job, over all grid runs of the store."""
    latest: dict[str, Submission] = {}
    for path in sorted((store.root / "runs").glob(f"*/{LEDGER}")):  # run folders sort by time
        try:
            jobs = json.loads(path.read_text())["jobs"]
            subs = {job_id: Submission(**entry) for job_id, entry in jobs.items()}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            continue  # being written or damaged: those jobs still show through their records
        for job_id, sub in subs.items():
            outside = [p for p in (sub.stdout, sub.stderr, sub.result) if not inside_run(path.parent, p)]
            if sub.run != path.parent.name or outside:
                print(f"warning: {path}: entry {job_id!r} ignored: it names run {sub.run!r} or paths outside its "
                      f"run folder {path.parent} ({', '.join(map(repr, outside))}); only the harness writes ledgers",
                      file=sys.stderr)
                continue
            latest[job_id] = sub
    return latest


def inside_run(run_dir: Path, path: str) -> bool:
    """Whether ``path`` (symlinks resolved) lies inside ``run_dir`` (resolved): the only place a run's logs and
    submitit's files are read from."""
    try:
        return Path(path).resolve().is_relative_to(Path(run_dir).resolve())
    except (OSError, RuntimeError, ValueError):  # a symlink loop, a NUL byte
        return False


def fresh(record: Any, run: str) -> bool:
    """Whether a record was written by the submission of ``run`` or a later grid run (run names sort by time)."""
    return isinstance(record, dict) and str(record.get("run") or "") >= run

"""Run a grid's jobs through submitit, teachers before the students that need them.

* ``debug``: submitit's ``DebugExecutor``, in this process, one job at a time (pdb-friendly).
* ``local``: submitit's ``LocalExecutor``, one subprocess per job. It has no queue of its own
  and starts every submitted job at once, so this module keeps at most ``max_parallel`` jobs
  running (default: one per CPU core) and splits the cores' torch threads between them.
* ``slurm``: job arrays on a SLURM cluster, see :mod:`benchmarks.slurm`; ``auto`` picks it when
  a SLURM controller answers, else ``local``.

Which jobs run is decided by :func:`benchmarks.plan.plan_jobs` for every executor. Locally,
scheduling is dependency-driven: a student that needs a pretrained teacher starts when its
teacher's record says done; when the teacher failed, the student is recorded as ``blocked`` by
it and not run. Jobs without a teacher dependency (teachers, the scratch baseline) start first.
The record in the store is the source of truth: a job whose process died without writing one
(killed, out of memory) is recorded as failed with submitit's error. Ctrl-C cancels the jobs
in flight; finished records stay and the next run resumes with what is missing.
"""
from __future__ import annotations

import json
import os
import sys
import time
from dataclasses import asdict
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable

import submitit
from tqdm import tqdm

from benchmarks import slurm
from benchmarks.cluster_config import ClusterConfig
from benchmarks.config import JobConfig
from benchmarks.environment import REPO_ROOT
from benchmarks.plan import blocked_record, dependencies_ready, plan_jobs
from benchmarks.runner import JobRunner, RunOptions
from benchmarks.store import ResultStore, atomic_write_bytes, outcome_record

EXECUTORS = ("debug", "local", "slurm", "auto")
POLL_S = 0.25


def new_run_dir(store: ResultStore, suite: str) -> Path:
    """A fresh folder for one grid invocation: its manifest and submitit's job files."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    run_dir = store.root / "runs" / f"{stamp}-{suite}"
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_dir


def write_manifest(run_dir: Path, jobs: Iterable[JobConfig], extra: dict[str, Any]) -> None:
    """The jobs a grid run expects, so ``status``/``report`` can show the missing ones."""
    manifest = {"jobs": {j.job_id: j.to_dict() for j in jobs}, **extra}
    atomic_write_bytes(run_dir / "manifest.json", json.dumps(manifest, indent=1, sort_keys=True).encode())


def make_executor(kind: str, folder: Path, timeout_min: int = 24 * 60) -> submitit.Executor:
    if kind == "debug":
        return submitit.DebugExecutor(folder=folder)
    if kind == "local":
        executor = submitit.LocalExecutor(folder=folder)
        executor.update_parameters(timeout_min=timeout_min)
        return executor
    raise ValueError(f"unknown executor {kind!r}; valid: {', '.join(EXECUTORS)}")


def _lost_record(config: JobConfig, job: submitit.Job, run: str) -> dict[str, Any]:
    try:
        exc = job.exception()
        detail = f"{type(exc).__name__}: {exc}" if exc is not None else "the job ended without writing a record"
    except Exception as err:  # submitit could not even read the job's result files
        detail = f"{type(err).__name__}: {err}"
    return outcome_record(config.to_dict(), "failed", f"job process died ({detail})"[:2000], run)


def default_parallelism() -> int:
    return max(1, os.cpu_count() or 1)


def resolve_executor(kind: str) -> tuple[str, str]:
    """``auto`` -> ``slurm`` when a SLURM controller answers, else ``local``; with the reason."""
    if kind != "auto":
        return kind, f"--executor {kind}"
    ok, why = slurm.available()
    return ("slurm" if ok else "local"), f"--executor auto: {why}"


#: Thread-count variables of the BLAS/OpenMP runtimes numpy and torch load in a job's process.
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def run_grid(jobs: list[JobConfig], options: RunOptions, *, executor: str = "local", run_dir: Path,
             max_parallel: int | None = None, force: bool = False, retry_failed: bool = False,
             progress: bool = True, cluster: ClusterConfig | None = None, wait: bool = True) -> dict[str, str]:
    """Run what :func:`plan_jobs` selects; return ``{job_id: status}`` for every job of the grid.

    ``slurm`` submits job arrays (``cluster``: their resource requests) and, with ``wait``, follows
    them to the end; without it, the statuses are ``queued``/``running`` as submitted."""
    paths = [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]
    if str(REPO_ROOT) not in paths:  # jobs (subprocesses, SLURM tasks) import the harness from this checkout
        os.environ["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT), *paths])
    if executor == "slurm":
        return slurm.run_grid(jobs, options, run_dir=run_dir, cluster=cluster or ClusterConfig(), force=force,
                              retry_failed=retry_failed, wait=wait, progress=progress)
    store = ResultStore(options.results_root)
    if executor == "debug":
        max_parallel = 1
    max_parallel = max_parallel or default_parallelism()
    if not options.threads:
        options = RunOptions(**{**asdict(options), "threads": max(1, (os.cpu_count() or 1) // max_parallel)})
    for var in BLAS_THREAD_VARS:  # job subprocesses: numpy's BLAS (FID's eigvals) must not oversubscribe the cores
        os.environ.setdefault(var, str(options.threads))
    submitter = make_executor(executor, run_dir / "submitit")

    try:  # jobs an earlier --executor slurm submission still runs must not run twice
        in_flight = slurm.describe_in_flight(slurm.jobs_in_flight(store))
    except slurm.SlurmError as exc:
        print(f"warning: cannot ask SLURM about jobs submitted earlier ({exc}); any still queued there "
              f"may run twice", file=sys.stderr)
        in_flight = {}
    plan = plan_jobs(jobs, store, force=force, retry_failed=retry_failed, in_flight=in_flight)
    outcome: dict[str, str] = {job_id: f"skipped ({why})" for job_id, why in plan.skipped.items()}
    pending = list(plan.run)
    pending_ids = {j.job_id for j in pending}
    running: dict[str, tuple[JobConfig, submitit.Job]] = {}
    bar = tqdm(total=len(jobs), initial=len(plan.skipped), desc="grid", unit="job", disable=not progress)
    counts = {"done": 0, "failed": 0, "blocked": 0}

    def finish(config: JobConfig, status: str) -> None:
        outcome[config.job_id] = status
        counts[status if status in counts else "failed"] += 1
        bar.update(1)
        bar.set_postfix(**counts, running=len(running))

    def dependency_state(config: JobConfig) -> tuple[bool, str | None, str, str | None] | None:
        """None while a dependency is still to come; else :func:`dependencies_ready`'s answer."""
        if any(dep in pending_ids and dep not in outcome for dep in config.dependencies):
            return None
        return dependencies_ready(config, store)

    try:
        while pending or running:
            for config in list(pending):
                if len(running) >= max_parallel:
                    break
                state = dependency_state(config)
                if state is None:
                    continue
                pending.remove(config)
                ready, *blocker = state
                if not ready:
                    store.write_record(blocked_record(config, *blocker, options.run_id))
                    finish(config, "blocked")
                    continue
                job = submitter.submit(JobRunner(config.to_dict(), options))
                running[config.job_id] = (config, job)
                if executor == "debug":
                    job.result()
            for job_id, (config, job) in list(running.items()):
                if job.done():
                    del running[job_id]
                    record = store.read_record(job_id)
                    if not isinstance(record, dict) or record.get("run") != options.run_id:  # none, or an old one
                        record = _lost_record(config, job, options.run_id)
                        store.write_record(record)
                    finish(config, record["status"])
            if running:
                time.sleep(POLL_S)
    except KeyboardInterrupt:
        for _config, job in running.values():
            job.cancel(check=False)
        bar.close()
        raise
    bar.close()
    return outcome

"""One launcher loop for every executor: plan, run through a backend, keep the outcome.

:func:`run_grid` does the same three things whatever runs the jobs:

1. asks the backend which jobs an earlier submission still runs, and plans the grid with
   :func:`kd_gan_bench.benchmarks.planning.plan.plan_jobs` (the one rule for what runs);
2. hands the jobs to run to the backend;
3. keeps the outcome (:class:`kd_gan_bench.benchmarks.execution.outcome.GridRun`: the status of every job of the grid, the progress bar, the
   records of jobs that never ran because a job they depend on is not done, and of jobs whose
   process died without writing one, :func:`kd_gan_bench.benchmarks.planning.plan.lost_record`; never over a record another grid's
   runner wrote since this grid planned, nor while such a runner holds the job, :mod:`kd_gan_bench.benchmarks.execution.claims`).

Backends:

* ``debug``: submitit's ``DebugExecutor``, in this process, one job at a time (pdb-friendly);
* ``local``: at most ``max_parallel`` long-lived worker processes (default: one per CPU core), each running many
  jobs in turn, importing torch and building the FID network once (:mod:`kd_gan_bench.benchmarks.execution.workers`); the cores' torch
  threads are split between them and each job's stdout/stderr go to ``<run folder>/logs/<job id>.log``. A job
  starts when the jobs it depends on are done; when one of them failed it is recorded ``blocked`` and not run; a
  worker that dies fails its job only (``job process died``) and is replaced. Ctrl-C stops the workers, cancelling
  the jobs in flight; finished records stay and the next run resumes with what is missing. It never
  asks SLURM: jobs an earlier SLURM submission left without a record are read from its ledger and
  left alone (``status`` settles them);
* ``slurm``: job arrays in dependency waves, requeue on time limits and the ledger, see
  :class:`kd_gan_bench.benchmarks.execution.slurm.SlurmBackend`; ``auto`` picks it when a SLURM controller answers.

The record in the store is the source of truth for every backend.
"""
from __future__ import annotations

import json
import os
import time
from dataclasses import asdict, replace
from datetime import datetime
from pathlib import Path
from typing import Any, Iterable, Protocol

from kd_gan_bench.benchmarks.execution import claims, slurm
from kd_gan_bench.benchmarks.planning.cluster_config import ClusterConfig
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.execution.outcome import GridRun
from kd_gan_bench.benchmarks.planning.plan import plan_jobs
from kd_gan_bench.benchmarks.records.provenance import write_provenance
from kd_gan_bench.benchmarks.execution.runner import JobRunner, RunOptions, adopted
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_write_bytes
from kd_gan_bench.benchmarks.execution.workers import WorkerPool

EXECUTORS = ("debug", "local", "slurm", "auto")
POLL_S = 0.25
#: Thread-count variables of the BLAS/OpenMP runtimes numpy and torch load in a job's process.
BLAS_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def new_run_dir(store: ResultStore, suite: str) -> Path:
    """A fresh folder for one grid invocation: its manifest and submitit's job files."""
    stamp = datetime.now().strftime("%Y%m%d-%H%M%S-%f")
    run_dir = store.root / "runs" / f"{stamp}-{suite}"
    run_dir.mkdir(parents=True, exist_ok=False)
    return run_dir


def write_manifest(run_dir: Path, jobs: Iterable[JobConfig], extra: dict[str, Any]) -> None:
    """The jobs a grid run expects, so ``status``/``report`` can show the missing ones."""
    manifest = {"jobs": {j.job_id: j.to_dict() for j in jobs}, **extra}
    atomic_write_bytes(run_dir / "manifest.json", json.dumps(manifest, sort_keys=True).encode())


def folder_clock(folder: Path) -> int:
    """Now, by the clock of the file system holding ``folder`` (its mtime, set to now): what record mtimes compare
    with, whichever host wrote them."""
    os.utime(folder)
    return folder.stat().st_mtime_ns


def default_parallelism() -> int:
    return max(1, os.cpu_count() or 1)


def resolve_executor(kind: str) -> tuple[str, str]:
    """``auto`` -> ``slurm`` when a SLURM controller answers, else ``local``; with the reason."""
    if kind != "auto":
        return kind, f"--executor {kind}"
    ok, why = slurm.available()
    return ("slurm" if ok else "local"), f"--executor auto: {why}"


class Backend(Protocol):
    """What runs a grid's jobs (debug, local, slurm)."""

    def in_flight(self, store: ResultStore) -> dict[str, str]:
        """Jobs an earlier submission still runs (job id -> where): planned as skipped, never run twice."""

    def run(self, run: list[JobConfig], grid: GridRun) -> None:
        """Run (or submit) ``run``, telling ``grid`` how every job ended."""


class LocalBackend:
    """Jobs in long-lived local worker processes (or in this process for ``debug``), dependency-driven."""

    def __init__(self, kind: str, options: RunOptions, run_dir: Path, max_parallel: int | None) -> None:
        import submitit

        self.debug = kind == "debug"
        self.max_parallel = 1 if self.debug else (max_parallel or default_parallelism())
        if not options.threads:
            options = RunOptions(**{**asdict(options), "threads": max(1, (os.cpu_count() or 1) // self.max_parallel)})
        for var in BLAS_THREAD_VARS:  # job subprocesses: numpy's BLAS (FID's eigvals) must not oversubscribe the cores
            os.environ.setdefault(var, str(options.threads))
        self.options = options
        self.owner = claims.Owner.me(options.run_id)
        self.executor = submitit.DebugExecutor(folder=run_dir / "submitit") if self.debug else None
        self.pool = None if self.debug else WorkerPool(self.max_parallel, run_dir / "logs")

    def in_flight(self, store: ResultStore) -> dict[str, str]:
        """Jobs of earlier SLURM submissions without a record from that submission, from the ledgers (no SLURM
        query: ``status`` asks SLURM and settles them)."""
        return {job_id: f"queued or running as SLURM job {sub.slurm_id}, by its ledger"
                for job_id, sub in slurm.latest_submissions(store).items()
                if not slurm.fresh(store.read_record(job_id), sub.run)}

    def run(self, run: list[JobConfig], grid: GridRun) -> None:
        pending, pending_ids = list(run), {j.job_id for j in run}
        running: dict[str, tuple[JobConfig, Any]] = {}
        elsewhere: dict[str, JobConfig] = {}  # jobs whose process died while another grid's runner held them
        try:
            while pending or running or elsewhere:
                self._start_ready(pending, pending_ids, running, grid)
                for job_id, (config, job) in list(running.items()):
                    if job.done():
                        del running[job_id]
                        status = self._status(config, job, grid)
                        if status is None:
                            elsewhere[job_id] = config
                        else:
                            grid.finish(job_id, status, running=len(running))
                for job_id, config in list(elsewhere.items()):
                    status = self._settled_elsewhere(config, grid, "its runner here died while waiting for it")
                    if status is not None:
                        del elsewhere[job_id]
                        grid.finish(job_id, status, running=len(running))
                if running or elsewhere:
                    time.sleep(POLL_S)
        finally:  # normal end, Ctrl-C or an error: no worker outlives the grid (finished records stay)
            if self.pool is not None:
                self.pool.shutdown()

    def _start_ready(self, pending: list[JobConfig], pending_ids: set[str], running: dict, grid: GridRun) -> None:
        """Start the pending jobs whose dependencies are over, up to ``max_parallel`` running."""
        for config in list(pending):
            if len(running) >= self.max_parallel:
                return
            if any(dep in pending_ids and dep not in grid.outcome for dep in config.dependencies):
                continue  # a dependency of this grid has not finished yet
            pending.remove(config)
            if grid.block_if_waiting(config):
                continue
            runner = JobRunner(config.to_dict(), self.options, grid.provenance.get(config.job_id))
            if self.debug:
                job = self.executor.submit(runner)
                job.result()
            else:
                job = self.pool.submit(runner, config.job_id)
            running[config.job_id] = (config, job)

    def _status(self, config: JobConfig, job: Any, grid: GridRun) -> str | None:
        """The job's outcome: its record's status (its own, or the one of another grid's runner it waited for);
        a record it never wrote (its process died) is written now, unless another grid's runner has the job
        (None: wait for that one, :meth:`_settled_elsewhere`)."""
        record = grid.store.read_record(config.job_id)
        if isinstance(record, dict) and record.get("run") == self.options.run_id:
            return record["status"]
        try:
            exc = job.exception()
            if exc is None:  # the runner took another grid's record as the outcome (kd_gan_bench.benchmarks.execution.runner.adopted)
                return job.result()["status"]
            detail = f"{type(exc).__name__}: {exc}"
        except Exception as err:  # the job's result could not be had
            detail = f"{type(err).__name__}: {err}"
        return self._settled_elsewhere(config, grid, f"job process died ({detail})")

    def _settled_elsewhere(self, config: JobConfig, grid: GridRun, what: str) -> str | None:
        """For a job whose process here ended without its outcome: the status of the record another grid's runner
        wrote since this grid planned; None while such a runner still holds the job; else ``what`` recorded."""
        other = adopted(grid.store, config.job_id, self.options, set())
        if other is not None:
            return other["status"]
        if claims.live_owner(grid.store.job_dir(config.job_id), self.owner) is not None:
            return None
        return grid.settle(config, what)


def make_backend(executor: str, options: RunOptions, run_dir: Path, *, max_parallel: int | None = None,
                 cluster: ClusterConfig | None = None, wait: bool = True) -> Backend:
    if executor == "slurm":
        return slurm.SlurmBackend(options, run_dir, cluster or ClusterConfig(), wait=wait)
    if executor in ("debug", "local"):
        return LocalBackend(executor, options, run_dir, max_parallel)
    raise ValueError(f"unknown executor {executor!r}; valid: {', '.join(EXECUTORS)}")


def run_grid(jobs: list[JobConfig], options: RunOptions, *, executor: str = "local", run_dir: Path,
             max_parallel: int | None = None, force: bool = False, retry_failed: bool = False,
             progress: bool = True, cluster: ClusterConfig | None = None, wait: bool = True) -> dict[str, str]:
    """Plan the grid, run what :func:`plan_jobs` selects through the executor's backend, and return
    ``{job_id: status}`` for every job of the grid (``slurm`` without ``wait``: ``queued``/``running``
    for what was submitted)."""
    options = replace(options, planned_at_ns=folder_clock(run_dir))  # before any record is read
    backend = make_backend(executor, options, run_dir, max_parallel=max_parallel, cluster=cluster, wait=wait)
    store = ResultStore(options.results_root)
    plan = plan_jobs(jobs, store, force=force, retry_failed=retry_failed, in_flight=backend.in_flight(store))
    provenance = write_provenance(run_dir, plan.run, store.root)
    grid = GridRun(jobs, plan, store, options.run_id, progress=progress and not (executor == "slurm" and not wait),
                   provenance=provenance)
    try:
        backend.run(plan.run, grid)
    finally:
        grid.close()
    return grid.outcome

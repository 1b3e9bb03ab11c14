"""Run one job: load data, hand it to the family's job body (train, evaluate), write the record.

``run_job`` never raises for an ordinary failure: the exception becomes a ``failed`` record with
the error text and traceback, so one failing job never stops the grid and never leaves a half
result. A job whose teacher or input job is not done is recorded ``blocked`` without training.
The bodies (``kd_gan_bench.benchmarks.families.i2i_jobs``, ``kd_gan_bench.benchmarks.families.labelled_jobs``) do the family's work. The job's
folder holds ``job.log`` (a human-readable log, appended across restarts), ``record.json``, the
trained network or artifact, the sample strips the report shows and, while unfinished, ``state.pt``.

``JobRunner`` is the picklable callable every executor (debug, local, SLURM) runs. Under SLURM it
also handles time limits and preemption (see its docstring) and exits non-zero when the record is
not ``done``, because SLURM's ``afterok`` dependencies read the exit code.
"""
from __future__ import annotations

import itertools
import json
import logging
import os
import signal
import subprocess
import time
import traceback
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator, Mapping

import submitit

from kd_gan_bench.benchmarks.execution import claims
from kd_gan_bench.benchmarks.planning import plugins
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.core.environment import choose_device, environment
from kd_gan_bench.benchmarks.families.families import FAMILIES, load_object
from kd_gan_bench.benchmarks.families.job_options import FileCheckpointer, RunOptions
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.planning.plan import blocked_record, dependencies_ready
from kd_gan_bench.benchmarks.core.store import DONE, ResultStore, atomic_write_bytes, outcome_record
from kd_gan_bench.methods import ARTIFACTS


#: Counts the jobs this process has run (a local worker runs many, :mod:`kd_gan_bench.benchmarks.execution.workers`).
_PROCESS_JOBS = itertools.count()
#: The kinds of metric spec (``kd_gan_bench.benchmarks.metrics.METRICS``) the job log's "done" line shows.
SUMMARY_KINDS = ("quality", "cost")


def summary_metrics(config: JobConfig, metrics: dict[str, Any]) -> dict[str, Any]:
    """The values of ``metrics`` the job log's "done" line shows: those of its quality and cost metric specs, and
    for an artifact job the columns its artifact's report table shows (``Artifact.table``)."""
    table = (ARTIFACTS.info(config.method).table or {}) if config.phase == "artifact" else {}
    shown = {column[0] for column in table.get("columns", ())}
    return {k: v for k, v in metrics.items()
            if k in shown or (k in METRICS and METRICS.get(k).kind in SUMMARY_KINDS)}


@contextmanager
def job_logger(log_path: Path) -> Iterator[logging.Logger]:
    """A logger writing to the job's ``job.log`` (appending across restarts) and to stderr."""
    logger = logging.getLogger(f"kdgan.job.{log_path.parent.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.FileHandler(log_path), logging.StreamHandler()]
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    try:
        yield logger
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _run_body(config: JobConfig, options: RunOptions, store: ResultStore, folder: Path, checkpointer: FileCheckpointer,
              log: logging.Logger, timings: dict[str, float], record: dict[str, Any]) -> None:
    """Set up the job's device and data, run its family's body, and fill ``record`` with its outcome;
    ``timings["cpu_s"]`` is the CPU time (all threads, user + system) the body took, which projects a grid's
    wall time on another machine better than wall time on a shared one does. ``process_cpu_before_s`` is the CPU
    time this process spent before the body (its start and imports; in a local worker, also the jobs it ran before,
    ``process_jobs_before``): what ``benchmarks/perf/job_fixed_cost.py`` reads as the process's fixed cost."""
    cpu = time.process_time()
    timings["process_cpu_before_s"], timings["process_jobs_before"] = cpu, next(_PROCESS_JOBS)
    import torch

    from kd_gan_bench.benchmarks.families.job_context import JobContext
    from kd_gan_bench.datasets import load_task

    if options.threads:
        torch.set_num_threads(options.threads)
    device = choose_device(options.device)
    record["environment"] = environment(device)
    log.info("job %s: %s %s on %s (%s)", config.job_id, config.phase, config.method, config.task, device)
    log.info("config: %s", config.to_dict())
    t = time.perf_counter()
    data = load_task(config.task, **config.task_args)
    timings["data_s"] = time.perf_counter() - t
    family = FAMILIES.get(config.family)
    if not isinstance(data, load_object(family.data)):
        raise TypeError(f"task {config.task!r} loaded {type(data).__name__}, but its family {family.name!r} runs on "
                        f"{family.data}: register the task under the family whose data its loader returns")
    body = load_object(family.job)
    result = body(JobContext(config, options, store, folder, device, checkpointer, log.info, data, timings))
    record["metrics"] = {"checkpoint": "last", **result.metrics}  # which weights were scored (a body may select others)
    record["artifacts"].update(result.files)  # the record keeps its older name for the output files
    record["history"] = result.history
    record.update(result.extras)
    timings["cpu_s"] = time.process_time() - cpu
    record.update(status=DONE, error=None, traceback=None)
    log.info("done: %s", summary_metrics(config, result.metrics))


def run_job(config: JobConfig, options: RunOptions, checkpointer: FileCheckpointer | None = None,
            provenance: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """Train and evaluate one job, write its record (stamped with ``provenance``, what the launcher computed for the
    job: :func:`kd_gan_bench.benchmarks.records.provenance.record_provenance`), and return it (``status`` says how it went).

    The job is claimed first (:mod:`kd_gan_bench.benchmarks.execution.claims`): while another live runner holds it, this one waits, and
    when that runner's record (or one written by another grid since this grid planned, :func:`adopted`) is there,
    that record is the outcome, returned without running the job again."""
    from kd_gan_bench.methods.core.training import PreemptedError

    store = ResultStore(options.results_root)
    folder = store.job_dir(config.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    checkpointer = checkpointer or FileCheckpointer(folder / "state.pt")
    timings: dict[str, float] = {}
    record: dict[str, Any] = {"job_id": config.job_id, "config": config.to_dict(), "started_at": _now(),
                              "artifacts": {"log": "job.log"}, "run": options.run_id}
    with job_logger(folder / "job.log") as log:
        held, waited = claims.claim(folder, claims.Owner.me(options.run_id), log.info)
        with held:
            other = adopted(store, config.job_id, options, waited)
            if other is not None:
                log.info("%s in grid run %s meanwhile: its record is this job's outcome", other["status"], other["run"])
                checkpointer.finish()
                return _own(store, other, options)
            ready, blocker, blocker_status, blocker_error = dependencies_ready(config, store)
            if not ready:
                record = blocked_record(config, blocker, blocker_status, blocker_error, options.run_id)
                log.error("blocked: %s", record["error"])
                checkpointer.finish()
                store.write_record(record, provenance)
                return record
            log.info("start: job %s in grid run %s", config.job_id, options.run_id)
            t_start = time.perf_counter()
            try:
                _run_body(config, options, store, folder, checkpointer, log, timings, record)
            except PreemptedError as exc:
                log.info("preempted (%s): resumable training state in %s", exc, checkpointer.path)
                raise
            except Exception as exc:  # every other failure becomes a failed record, never a crash of the grid
                record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
                log.error("failed: %s\n%s", record["error"], record["traceback"])
            timings["total_s"] = time.perf_counter() - t_start
            record["timings"] = timings
            record["finished_at"] = _now()
            checkpointer.finish()
            store.write_record(record, provenance)
            if record["status"] == DONE:
                checkpointer.path.unlink(missing_ok=True)
    return record


def adopted(store: ResultStore, job_id: str, options: RunOptions, waited: set[str]) -> dict[str, Any] | None:
    """The record another grid run wrote for this job that is this run's outcome: one by a runner this one waited
    for, or one written after this grid planned (``options.planned_at_ns``, by the folder's clock), as a grid that
    had planned a moment later would have found it. A ``blocked`` record is never taken: whether this job's
    dependencies are done is for this run to see."""
    record = store.read_record(job_id)
    if not isinstance(record, dict) or record.get("run") == options.run_id or record["status"] == "blocked":
        return None
    if record.get("run") in waited:
        return record
    try:
        written = store.record_path(job_id).stat().st_mtime_ns
    except OSError:
        return None
    return record if options.planned_at_ns and written >= options.planned_at_ns else None


def _own(store: ResultStore, record: dict[str, Any], options: RunOptions) -> dict[str, Any]:
    """Under SLURM, stamp an adopted record with this run when it names an earlier one (its content unchanged, the
    writer's run kept in ``adopted_from``): the scheduler-side check reads a record older than its submission as
    one the job never wrote (``kd_gan_bench.benchmarks.execution.slurm_ledger.fresh``) and would record the job lost."""
    if under_slurm() and str(record.get("run") or "") < options.run_id:
        record = {**record, "run": options.run_id, "adopted_from": record.get("run")}
        store.write_record(record)
    return record


#: Exit status of a job that requeued itself (what submitit's own handler uses: ``sys.exit(-1)``).
REQUEUE_EXIT = 255


class JobFailedError(RuntimeError):
    """Raised by ``JobRunner`` under SLURM after a non-done record is written: a non-zero exit."""


def under_slurm() -> bool:
    """True inside a job started by submitit's sbatch script (it exports ``SUBMITIT_EXECUTOR=slurm``)."""
    return os.environ.get("SUBMITIT_EXECUTOR") == "slurm"


@contextmanager
def stop_on_signal(checkpointer: FileCheckpointer) -> Iterator[None]:
    """Route submitit's pre-timeout/preemption signal (``SIGUSR2`` unless ``SUBMITIT_PREEMPT_SIGNAL``
    says otherwise; sbatch ``--signal=USR2@<signal_delay_s>``) to ``checkpointer.request_stop``.

    submitit's own handler would call ``checkpoint()`` and requeue from inside the signal handler,
    i.e. in the middle of an optimiser step; this one lets the loop save a consistent state first.
    submitit's handler is restored afterwards."""
    signum = getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG)
    previous = signal.signal(signum, lambda _signum, _frame: checkpointer.request_stop())
    try:
        yield
    finally:
        signal.signal(signum, previous)


class JobRunner(submitit.helpers.Checkpointable):
    """The picklable callable submitted to submitit: ``JobRunner(config_dict, options, provenance)()``.

    Under SLURM, when the time limit nears (or the job is preempted), SLURM sends ``SIGUSR2``;
    the job saves its training state (networks, optimisers, schedulers, step, RNG states) at the
    next step boundary and requeues itself with ``scontrol requeue``, exiting without a result
    (as submitit does), so SLURM starts it again and ``run_steps`` resumes from the saved step.
    A job folder's ``requeues.json`` counts the requeues of the current grid run; past
    ``options.max_requeues`` the job is recorded ``timed_out`` (its state kept: ``--retry-failed``
    resumes it). Being ``Checkpointable`` covers a signal that lands after submitit loaded the job
    but before ``__call__`` installed its handler: submitit's handler then requeues the job itself
    (counting against its own ``max_num_timeout``, set to the same budget) and it restarts from its
    last save. (Before submitit has loaded the job nothing handles the signal and it kills the
    process; ``signal_delay_s`` must leave the job time to start, see ``kd_gan_bench.benchmarks.execution.slurm``.)
    """

    #: what the job's records are stamped with (None in a runner pickled before it was passed)
    provenance: Mapping[str, Any] | None = None

    def __init__(self, config: dict[str, Any], options: RunOptions, provenance: Mapping[str, Any] | None = None) -> None:
        self.config, self.options, self.provenance = config, options, provenance

    def __call__(self) -> dict[str, Any]:
        from kd_gan_bench.methods.core.training import PreemptedError

        plugins.load(self.options.plugins, installed=False)  # the launch's plugins, before any registry is read
        config = JobConfig.from_dict(self.config)
        if not under_slurm():
            return run_job(config, self.options, provenance=self.provenance)
        checkpointer = FileCheckpointer(ResultStore(self.options.results_root).job_dir(config.job_id) / "state.pt")
        try:
            with stop_on_signal(checkpointer):
                record = run_job(config, self.options, checkpointer, self.provenance)
        except PreemptedError as exc:
            record = self._requeue_or_time_out(config, str(exc))
        if record["status"] != DONE:
            raise JobFailedError(f"job {config.job_id} is {record['status']}: {record.get('error')}")
        return record

    def _requeue_or_time_out(self, config: JobConfig, reason: str) -> dict[str, Any]:
        """Requeue this SLURM job (and exit), or write the ``timed_out`` record when the budget is spent."""
        store = ResultStore(self.options.results_root)
        folder = store.job_dir(config.job_id)
        counter = folder / "requeues.json"
        try:
            saved = json.loads(counter.read_text())
            count = saved["count"] if saved.get("run") == self.options.run_id else 0
        except (OSError, ValueError, KeyError):
            count = 0
        slurm_id = submitit.JobEnvironment().job_id
        with job_logger(folder / "job.log") as log:
            if count < self.options.max_requeues:
                atomic_write_bytes(counter, json.dumps({"run": self.options.run_id, "count": count + 1}).encode())
                try:
                    subprocess.run(["scontrol", "requeue", slurm_id], check=True, capture_output=True, text=True,
                                   timeout=60)
                except (OSError, subprocess.SubprocessError) as exc:
                    detail = getattr(exc, "stderr", None) or exc
                    error = f"stopped ({reason}) and `scontrol requeue {slurm_id}` failed: {detail}".strip()
                else:
                    log.info("requeued SLURM job %s (%d/%d requeues): %s", slurm_id, count + 1,
                             self.options.max_requeues, reason)
                    raise SystemExit(REQUEUE_EXIT)  # like submitit: no result file, SLURM runs the job again
            else:
                error = (f"stopped by the time limit or preemption after {count} requeue(s) (max_requeues="
                         f"{self.options.max_requeues}); training state kept in {folder / 'state.pt'}: rerun "
                         f"with --retry-failed (and a longer --time-min) to resume")
            log.error("timed out: %s", error)
        record = outcome_record(config.to_dict(), "timed_out", error, self.options.run_id, requeues=count,
                                finished_at=_now())
        store.write_record(record, self.provenance)
        return record

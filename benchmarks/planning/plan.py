"""Which of a grid's jobs a run starts: the one rule every executor (debug, local, SLURM) follows.

* no record, or a corrupt one: run;
* ``blocked``: run again (its teacher or input job may succeed this time; if not, it is blocked again
  at once);
* ``failed`` / ``timed_out``: run only with ``retry_failed`` (failures are usually deterministic;
  a timed-out job resumes from the training state it saved);
* ``done``: skipped unless ``force``;
* queued or running on the cluster (an earlier ``--no-wait`` submission): never submitted twice,
  not even with ``force`` (two copies would write the same job folder).

A planned job can still be taken by another grid sharing the folder before it starts: its runner claims it first
(:mod:`kd_gan_bench.benchmarks.execution.claims`), waits while another grid's runner holds it, and takes as its outcome a record that runner
wrote, or one another grid wrote after this grid planned (:func:`kd_gan_bench.benchmarks.execution.runner.adopted`): the job runs once.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Container, Iterable, Mapping

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.core.store import DONE, ResultStore, outcome_record

RETRY_STATUSES = ("failed", "timed_out")


@dataclass
class Plan:
    """The jobs to start, in grid order (teachers first), and why every other job is left alone."""

    run: list[JobConfig] = field(default_factory=list)
    skipped: dict[str, str] = field(default_factory=dict)


def plan_jobs(jobs: Iterable[JobConfig], store: ResultStore, *, force: bool = False, retry_failed: bool = False,
              in_flight: Mapping[str, str] | None = None) -> Plan:
    """Split ``jobs`` into those to start and those to skip (``in_flight``: job id -> its cluster state)."""
    plan = Plan()
    for job in jobs:
        status, _ = store.status_of(job.job_id)
        if in_flight and job.job_id in in_flight:
            plan.skipped[job.job_id] = f"{in_flight[job.job_id]} (submitted earlier)"
        elif force or status in ("missing", "corrupt", "blocked") or (retry_failed and status in RETRY_STATUSES):
            plan.run.append(job)
        elif status in RETRY_STATUSES:
            plan.skipped[job.job_id] = f"{status} (rerun with --retry-failed)"
        else:
            plan.skipped[job.job_id] = status
    return plan


def blocked_record(config: JobConfig, blocker: str, blocker_status: str, blocker_error: str | None,
                   run: str) -> dict[str, Any]:
    """The record of a job that did not run because a job it depends on (``blocker``) is not done."""
    role = "teacher job" if blocker == config.teacher_id else "input job"
    reason = f"{role} {blocker} {blocker_status}" + (f": {blocker_error}" if blocker_error else "")
    return outcome_record(config.to_dict(), "blocked", reason, run, blocked_by=blocker)


def lost_record(config: JobConfig, store: ResultStore, run: str, what: str, status: str = "failed",
                **extra: Any) -> dict[str, Any]:
    """The record of a job that ended without writing one (its process died, SLURM cancelled or killed it):
    ``blocked`` when a job it depends on ended not done (the reason it was cancelled), else ``status``
    (``failed``, or ``timed_out`` for a time limit) with ``what`` happened. Every executor settles such
    jobs with it."""
    ready, blocker, blocker_status, blocker_error = dependencies_ready(config, store)
    if not ready and blocker_status != "missing":
        return blocked_record(config, blocker, blocker_status, blocker_error, run)
    return outcome_record(config.to_dict(), status, what[:4000], run, **extra)


def dependencies_ready(config: JobConfig, store: ResultStore, skip: Container[str] = ()
                       ) -> tuple[bool, str | None, str, str | None]:
    """Whether a job may start: ``(ready, first dependency not done, its status, its error)``; the
    dependencies in ``skip`` (still queued or running on the cluster) are not looked at."""
    for job_id in (d for d in config.dependencies if d not in skip):
        status, error = store.status_of(job_id)
        if status != DONE:
            return False, job_id, status, error
    return True, None, DONE, None

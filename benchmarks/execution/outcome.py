"""The outcome bookkeeping of one grid invocation, shared by every backend (debug, local, SLURM)."""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Container, Mapping, Sequence

from tqdm import tqdm

from kd_gan_bench.benchmarks.execution import claims
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.planning.plan import Plan, blocked_record, dependencies_ready, lost_record
from kd_gan_bench.benchmarks.core.store import ResultStore


@dataclass
class GridRun:
    """The outcome of one grid invocation, kept the same way by every backend: ``{job id: status}``."""

    jobs: Sequence[JobConfig]
    plan: Plan
    store: ResultStore
    run_id: str
    progress: bool = True
    outcome: dict[str, str] = field(default_factory=dict)
    #: job id -> the provenance its records carry (:func:`kd_gan_bench.benchmarks.records.provenance.record_provenance`, by the launcher)
    provenance: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.outcome.update({job_id: f"skipped ({why})" for job_id, why in self.plan.skipped.items()})
        self.counts = {"done": 0, "failed": 0, "blocked": 0}
        self.bar = tqdm(total=len(self.jobs), initial=len(self.outcome), desc="grid", unit="job",
                        disable=not self.progress)

    def finish(self, job_id: str, status: str, **postfix: int) -> None:
        """A job is over (or, for a backend that does not wait, handed over) with ``status``."""
        self.outcome[job_id] = status
        self.counts[status if status in self.counts else "failed"] += 1
        self.bar.update(1)
        self.bar.set_postfix(**self.counts, **postfix)

    def block_if_waiting(self, config: JobConfig, skip: Container[str] = ()) -> bool:
        """Record ``config`` ``blocked`` when a job it depends on (outside ``skip``) is not done; say so. The record
        is written under the job's claim (:mod:`kd_gan_bench.benchmarks.execution.claims`), and not at all while another grid's runner
        holds the job (that runner's record will say how it went)."""
        ready, *blocker = dependencies_ready(config, self.store, skip=skip)
        if not ready:
            held = claims.try_claim(self.store.job_dir(config.job_id), claims.Owner.me(self.run_id))
            if isinstance(held, claims.Claim):
                with held:
                    self.store.write_record(blocked_record(config, *blocker, self.run_id),
                                            self.provenance.get(config.job_id))
            self.finish(config.job_id, "blocked")
        return not ready

    def settle(self, config: JobConfig, what: str, status: str = "failed", **extra: Any) -> str:
        """Record a job that ended without writing its record (:func:`kd_gan_bench.benchmarks.planning.plan.lost_record`)."""
        record = lost_record(config, self.store, self.run_id, what, status, **extra)
        self.store.write_record(record, self.provenance.get(config.job_id))
        return record["status"]

    def close(self) -> None:
        self.bar.close()

"""Which jobs a ``grid --jobs`` or a ``rerun`` runs: the wanted jobs of an expansion, or a job as its record (or
a grid manifest) stored it, each with the jobs it depends on that are not done."""
from __future__ import annotations

from typing import Any, Callable, Iterable, Sequence

from kd_gan_bench.benchmarks.core.config import JobConfig, check_job_id


def only_jobs(jobs: Sequence[JobConfig], wanted: Iterable[str], is_done: Callable[[str], bool]) -> list[JobConfig]:
    """The ``wanted`` jobs of an expansion and, transitively, the jobs they depend on that are not done
    (``is_done(job_id)``), in the expansion's order; an id the expansion lacks is a ``ValueError``."""
    by_id = {job.job_id: job for job in jobs}
    wanted = list(dict.fromkeys(wanted))
    unknown = [job_id for job_id in wanted if job_id not in by_id]
    if unknown:
        raise ValueError(f"--jobs {' '.join(unknown)}: not among the {len(jobs)} jobs this suite, its filters and "
                         f"--set items expand to (`grid ... --dry-run` lists them; `status --all` lists a store's)")
    keep, stack = set(wanted), list(wanted)
    while stack:
        for dep in by_id[stack.pop()].dependencies:
            if dep in by_id and dep not in keep and not is_done(dep):
                keep.add(dep)
                stack.append(dep)
    return [job for job in jobs if job.job_id in keep]


class UnknownJobError(ValueError):
    """A job id with neither a record nor a manifest entry in the store."""


def stored_jobs(store: Any, job_id: str) -> list[JobConfig]:
    """The job ``job_id`` as its record (else the newest grid manifest naming it) stored it, preceded by the
    jobs it depends on, transitively, that are not done; an unknown id, or a stored config whose id this code
    computes differently, is a ``ValueError`` saying what to do."""
    from kd_gan_bench.benchmarks.records.collect import expected_jobs  # pandas: only `rerun` reads manifests this way

    manifest = expected_jobs(store)

    def config_of(wanted: str, needed_by: str | None) -> JobConfig:
        check_job_id(wanted, f"job {needed_by}'s dependency" if needed_by else "job id")  # never a path
        record = store.read_record(wanted)
        data = record["config"] if isinstance(record, dict) else manifest.get(wanted)
        if data is None:
            where = f"job {needed_by} depends on {wanted}, which" if needed_by else f"job id {wanted!r}"
            raise UnknownJobError(f"{where} has no record or grid manifest in {store.root}: `python -m "
                                  f"kd_gan_bench.benchmarks.run status --all --results {store.root}` lists the job ids")
        config = JobConfig.from_dict(data)
        if config.job_id != wanted:
            raise ValueError(f"the stored config of job {wanted} now has id {config.job_id} (what defines a job "
                             f"changed since it ran): rerun it with its grid command instead")
        return config

    ordered: dict[str, JobConfig] = {}

    def visit(config: JobConfig) -> None:  # dependencies first
        for dep in config.dependencies:
            if dep not in ordered and not store.is_done(dep):
                visit(config_of(dep, config.job_id))
        ordered[config.job_id] = config

    visit(config_of(job_id, None))
    return list(ordered.values())

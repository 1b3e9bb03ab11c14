"""Run a grid on a SLURM cluster as submitit job arrays, and follow it from any later process.

Submission (:func:`submit`):

* jobs with equal resource requests (:mod:`kd_gan_bench.benchmarks.planning.cluster_config`) go out as one job array
  (submitit ``submit_array``: one ``sbatch`` call), cut into chunks of at most ``MaxArraySize``
  tasks (read from ``scontrol show config``); ``--array=...%N`` caps how many run at once;
* a student that needs a pretrained teacher depends on that teacher's own array task,
  ``--dependency=afterok:<array id>_<index>``. SLURM applies one dependency to a whole array, so
  students are grouped per teacher (one array per teacher and request): a failed teacher then
  stops only its own students, and students start as soon as their own teacher is done rather
  than after the slowest one. ``--kill-on-invalid-dep=yes`` makes SLURM cancel the students of a
  failed teacher (a teacher whose record is not done exits non-zero, see ``JobRunner``) instead
  of leaving them pending forever; :func:`reconcile` then records them ``blocked`` by it;
* the same holds for every dependency a job has (cGAN-KD: the fake-set artifact depends on its
  teacher; a cGAN-KD student on the teacher, the fake set and the NOKD student it fine-tunes):
  jobs are submitted in waves (:func:`dependency_waves`), each depending on the array tasks it
  waits for (``afterok:<a>_<i>:<b>_<j>``);
* a dependency already done adds nothing; one that failed and is not being rerun makes the job
  ``blocked`` at once.

What was submitted is written to ``<results>/runs/<run>/slurm_jobs.json`` (the ledger: per job its
SLURM id, dependency and log files; per array its id, size, request and sbatch script), next to
submitit's folder with the scripts and logs, so nothing needs the submitting process afterwards.

Following the jobs afterwards is :mod:`kd_gan_bench.benchmarks.execution.slurm_follow`; the ledger is :mod:`kd_gan_bench.benchmarks.execution.slurm_ledger`.
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
from dataclasses import asdict, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Container, Iterable, Mapping, Sequence

import submitit
from submitit.core.utils import FailedJobError

from kd_gan_bench.benchmarks.planning.cluster_config import ClusterConfig, SlurmResources
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.execution.outcome import GridRun
from kd_gan_bench.benchmarks.execution.runner import JobRunner, RunOptions
# the ledger and the following are their own modules; `slurm.X` keeps naming them for the CLI and the tests
from kd_gan_bench.benchmarks.execution.slurm_follow import LiveState, describe_in_flight, follow, jobs_in_flight, reconcile  # noqa: F401
from kd_gan_bench.benchmarks.execution.slurm_ledger import LEDGER, Ledger, SlurmError, chunked, fresh, latest_submissions  # noqa: F401
from kd_gan_bench.benchmarks.core.store import ResultStore

DEFAULT_MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize
#: slurmctld checks time limits every PERIODIC_TIMEOUT (30 s) and signals a job at the first check
#: where ``now + signal_delay + 30 s >= end``: the signal comes 0-30 s earlier than asked.
SLURM_CHECK_S = 30
STARTUP_S = 60  # a job needs its imports done before it can catch the signal


def available() -> tuple[bool, str]:
    """Whether a SLURM controller answers here, and why (or why not)."""
    for tool in ("sbatch", "srun", "squeue", "scontrol"):
        if shutil.which(tool) is None:
            return False, f"{tool} is not on PATH"
    try:
        out = subprocess.run(["scontrol", "ping"], capture_output=True, text=True, timeout=20)
    except (OSError, subprocess.SubprocessError) as exc:
        return False, f"`scontrol ping` failed ({exc})"
    if "is UP" not in out.stdout:
        return False, f"the SLURM controller does not answer (`scontrol ping`: {(out.stdout + out.stderr).strip()})"
    return True, "the SLURM controller answers"


@lru_cache(maxsize=1)
def max_array_size() -> int:
    """The cluster's ``MaxArraySize`` (tasks per array; indices 0..MaxArraySize-1)."""
    try:
        text = subprocess.run(["scontrol", "show", "config"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return DEFAULT_MAX_ARRAY_SIZE
    match = re.search(r"^MaxArraySize\s*=\s*(\d+)", text, re.MULTILINE)
    return int(match.group(1)) if match else DEFAULT_MAX_ARRAY_SIZE


# ------------------------------------------------------------------------------------------ submission


def _job_name(config: JobConfig) -> str:
    return f"kdgan-{config.suite or 'grid'}-{config.phase}"


def _submit_array(folder: Path, configs: Sequence[JobConfig], resources: SlurmResources, dependency: str | None,
                  options: RunOptions, provenance: Mapping[str, Mapping[str, Any]]) -> list[submitit.Job]:
    """One ``sbatch`` call: ``configs`` as one array (a plain job when there is one) with ``resources``."""
    executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=resources.max_requeues)
    parameters = resources.submitit_parameters()
    parameters["job_name"] = _job_name(configs[0])
    if dependency:
        parameters["dependency"] = dependency
        parameters["additional_parameters"]["kill-on-invalid-dep"] = "yes"
    executor.update_parameters(**parameters)
    job_options = replace(options, threads=resources.cpus, max_requeues=resources.max_requeues)
    try:
        return executor.submit_array([JobRunner(c.to_dict(), job_options, provenance.get(c.job_id)) for c in configs])
    except FailedJobError as exc:
        raise SlurmError(f"sbatch refused a {configs[0].phase} array of {len(configs)} job(s) "
                         f"({_describe(resources)}): {str(exc).strip()}{_partition_hint(str(exc))}") from None


def _describe(resources: SlurmResources) -> str:
    changed = {k: v for k, v in asdict(resources).items() if v != getattr(SlurmResources(), k)}
    return ", ".join(f"{k}={v}" for k, v in changed.items()) or "harness defaults"


def _partition_hint(message: str) -> str:
    if "partition" not in message.lower():
        return ""
    out = subprocess.run(["sinfo", "--noheader", "--format=%R"], capture_output=True, text=True, timeout=30)
    names = sorted(set(out.stdout.split()))
    return f". Partitions here: {', '.join(names)}" if names else ""


def _warn_if_signal_too_early(requests: Iterable[SlurmResources]) -> None:
    for resources in set(requests):
        earliest = resources.time_min * 60 - resources.signal_delay_s - SLURM_CHECK_S
        if earliest < STARTUP_S:
            print(f"warning: with time_min={resources.time_min} and signal_delay_s={resources.signal_delay_s}, SLURM "
                  f"may send the pre-timeout signal {max(earliest, 0)} s after a job starts, maybe before it can "
                  f"catch it (it then fails instead of requeuing)", file=sys.stderr)


def _groups(configs: Iterable[JobConfig], key) -> dict[Any, list[JobConfig]]:
    groups: dict[Any, list[JobConfig]] = {}
    for config in configs:
        groups.setdefault(key(config), []).append(config)
    return groups


def dependency_waves(run: Sequence[JobConfig]) -> list[list[JobConfig]]:
    """``run`` in submission waves: a job comes one wave after the last of its dependencies that is in
    ``run`` (teachers, then artifacts and most students, then students that read another student)."""
    by_id = {c.job_id: c for c in run}
    level: dict[str, int] = {}

    def depth(config: JobConfig) -> int:
        if config.job_id not in level:
            level[config.job_id] = 1 + max((depth(by_id[d]) for d in config.dependencies if d in by_id), default=-1)
        return level[config.job_id]

    waves: list[list[JobConfig]] = []
    for config in run:
        d = depth(config)
        waves.extend([] for _ in range(d + 1 - len(waves)))
        waves[d].append(config)
    return waves


def submit(run: Sequence[JobConfig], grid: GridRun, options: RunOptions, cluster: ClusterConfig,
           run_dir: Path, in_flight: Mapping[str, str]) -> tuple[Ledger, list[str]]:
    """Submit ``run`` as job arrays, wave by wave (:func:`dependency_waves`); return the ledger and the
    jobs blocked at once.

    A job depends (``afterok``) on the array tasks of its dependencies submitted now or still in flight
    (``in_flight``: job id -> SLURM id, from an earlier run); a dependency that is neither must be done,
    else the job is recorded ``blocked`` without being submitted. Jobs of the same phase with the same
    resources and the same dependencies share an array (an array carries one dependency list), so a
    grid of one teacher per task needs about one array per teacher and phase."""
    folder = run_dir / "submitit"
    ledger = Ledger(run_dir)
    limit = max_array_size()
    slurm_ids = dict(in_flight)
    blocked: list[str] = []

    def send(chunk: Sequence[JobConfig], resources: SlurmResources, dep: str | None) -> list[submitit.Job]:
        try:
            jobs = _submit_array(folder, chunk, resources, dep, options, grid.provenance)
        except SlurmError as exc:
            if ledger.jobs:
                raise SlurmError(f"{exc}. The {len(ledger.jobs)} job(s) submitted before stay queued (see "
                                 f"{ledger.path}); fix the request and run `grid` again for the rest") from None
            raise
        ledger.add(chunk, jobs, resources, dep)
        return jobs

    _warn_if_signal_too_early(cluster.resources(c.phase, c.method) for c in run)
    for wave in dependency_waves(run):
        ready = []
        for config in wave:
            if grid.block_if_waiting(config, skip=slurm_ids):
                blocked.append(config.job_id)
            else:
                ready.append(config)
        for (_phase, resources, deps), group in array_requests(ready, cluster, slurm_ids).items():
            dep = "afterok:" + ":".join(slurm_ids[d] for d in deps) if deps else None
            for chunk in chunked(group, limit):
                jobs = send(chunk, resources, dep)
                slurm_ids.update({c.job_id: j.job_id for c, j in zip(chunk, jobs)})
    return ledger, blocked


def array_requests(wave: Iterable[JobConfig], cluster: ClusterConfig, submitted: Container[str]
                   ) -> dict[tuple[str, SlurmResources, tuple[str, ...]], list[JobConfig]]:
    """One wave's jobs grouped into arrays: (phase, resources, the ``submitted`` jobs it waits for) -> jobs."""
    return _groups(wave, lambda c: (c.phase, cluster.resources(c.phase, c.method),
                                    tuple(d for d in c.dependencies if d in submitted)))


def describe_plan(run: Sequence[JobConfig], cluster: ClusterConfig) -> str:
    """What ``grid --executor slurm`` would submit (for ``--dry-run``): per wave, one line per array request
    (arrays longer than SLURM's ``MaxArraySize`` go out in chunks); nothing asks SLURM."""
    ids = {c.job_id for c in run}
    lines, calls = [], 0
    for number, wave in enumerate(dependency_waves(run), 1):
        for (phase, resources, deps), group in array_requests(wave, cluster, ids).items():
            calls += 1
            after = f", after {len(deps)} job(s) of earlier waves" if deps else ""
            lines.append(f"  wave {number}: {phase:<8} x{len(group):<5} {_describe(resources)}{after}")
    return "\n".join([f"SLURM submission plan: {len(run)} job(s) in {calls} array request(s)", *lines])


class SlurmBackend:
    """The launcher's SLURM backend: job arrays in dependency waves (:func:`submit`), the ledger, requeue on time
    limits (``JobRunner``) and, with ``wait``, following the jobs to the end (:func:`follow`).

    Jobs still queued or running from an earlier submission are not submitted again: their students
    depend on them and, with ``wait``, they are followed with the new ones. Without ``wait`` the
    statuses are ``queued``/``running`` as submitted."""

    def __init__(self, options: RunOptions, run_dir: Path, cluster: ClusterConfig, *, wait: bool = True) -> None:
        ok, why = available()
        if not ok:
            raise SlurmError(f"cannot submit to SLURM: {why}. Use --executor local (or auto), or start SLURM "
                             f"(for a one-node test cluster: tests/slurm/start_cluster.sh)")
        self.options, self.run_dir, self.cluster, self.wait = options, run_dir, cluster, wait
        self.live: dict[str, LiveState] = {}

    def in_flight(self, store: ResultStore) -> dict[str, str]:
        self.live = jobs_in_flight(store)
        return describe_in_flight(self.live)

    def run(self, run: list[JobConfig], grid: GridRun) -> None:
        ledger, blocked = submit(run, grid, self.options, self.cluster, self.run_dir,
                                 {j: s.submission.slurm_id for j, s in self.live.items()})
        print(describe_submission(ledger, blocked))
        grid_ids = {job.job_id for job in grid.jobs}
        followed = {j: s.submission for j, s in self.live.items() if j in grid_ids}  # submitted earlier, not over
        if followed:
            print(f"{len(followed)} job(s) still queued/running from an earlier submission: not submitted again"
                  + (", following them too" if self.wait else ""))
            for job_id in followed:
                grid.outcome.pop(job_id, None)  # planned as skipped; followed instead
        followed.update(ledger.jobs)
        if not self.wait:
            grid.outcome.update({j: self.live[j].status if j in self.live else "queued" for j in followed})
            return
        try:
            follow(grid.store, followed, grid.finish)
        except KeyboardInterrupt:
            print(f"\nstopped following; the jobs keep running on the cluster. Follow them with `python -m "
                  f"kd_gan_bench.benchmarks.run status --results {grid.store.root}`, cancel them with `scancel "
                  f"{' '.join(sorted({s.slurm_id.split('_')[0] for s in followed.values()}))}`")
            raise


def describe_submission(ledger: Ledger, blocked: Sequence[str]) -> str:
    """Human summary: the arrays (ids, sizes, dependencies) and where the ledger is."""
    if not ledger.arrays:
        return "nothing submitted to SLURM" + (f" ({len(blocked)} blocked by failed dependencies)" if blocked else "")
    lines = [f"submitted {len(ledger.jobs)} job(s) to SLURM in {len(ledger.arrays)} sbatch call(s):"]
    for array in ledger.arrays:
        dep = f", after {array['dependency'].split(':', 1)[1]}" if array["dependency"] else ""
        lines.append(f"  {array['array_id']:>10}  {array['phase']:<8} x{array['size']:<5} "
                     f"{array['resources']['time_min']} min{dep}")
    if blocked:
        lines.append(f"  {len(blocked)} job(s) blocked at once: a teacher or input job they need failed "
                     f"(rerun it with --retry-failed)")
    lines.append(f"ledger: {ledger.path}")
    return "\n".join(lines)


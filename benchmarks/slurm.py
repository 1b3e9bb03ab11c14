"""Run a grid on a SLURM cluster as submitit job arrays, and follow it from any later process.

Submission (:func:`submit`):

* jobs with equal resource requests (:mod:`benchmarks.cluster_config`) go out as one job array
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

Following (:func:`reconcile`, used by ``grid`` while it waits, by ``status`` and by the next
``grid``): for the newest submission of each job without a record from that run (or a later
one), SLURM's state comes from ``squeue`` (jobs the controller still remembers, ``MinJobAge``)
and then ``sacct`` where accounting is on. Pending/running jobs are reported ``queued``/
``running``; a job that ended without writing its record (cancelled with ``scancel``, killed at
the time limit, out of memory, node failure) gets one now: ``blocked`` when a job it depends on is
not done, ``timed_out`` for a SLURM TIMEOUT, else ``failed``, with SLURM's state, submitit's error and
the log paths. Records are only ever written for such jobs, atomically, so every finished job's
record stays as its job wrote it. When SLURM cannot be asked, nothing is written.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import asdict, dataclass, replace
from functools import lru_cache
from pathlib import Path
from typing import Any, Callable, Container, Iterable, Iterator, Mapping, Sequence

import submitit
from submitit.core.utils import FailedJobError

from benchmarks.cluster_config import ClusterConfig, SlurmResources
from benchmarks.config import JobConfig
from benchmarks.outcome import GridRun
from benchmarks.plan import lost_record
from benchmarks.runner import JobRunner, RunOptions
from benchmarks.store import ResultStore, atomic_write_bytes

LEDGER = "slurm_jobs.json"
DEFAULT_MAX_ARRAY_SIZE = 1001  # SLURM's default MaxArraySize
#: SLURM job states of jobs that are not over, and how ``status`` shows them.
ACTIVE_STATES = {
    "PENDING": "queued", "REQUEUED": "queued", "REQUEUE_HOLD": "queued", "REQUEUE_FED": "queued",
    "RESV_DEL_HOLD": "queued", "CONFIGURING": "running", "RUNNING": "running", "COMPLETING": "running",
    "SUSPENDED": "running", "STOPPED": "running", "SIGNALING": "running", "STAGE_OUT": "running",
    "RESIZING": "running",
}
MAX_POLL_S = 30.0
GIVE_UP_S = 600.0  # `grid` stops following when SLURM cannot be asked for this long (the jobs go on)
#: slurmctld checks time limits every PERIODIC_TIMEOUT (30 s) and signals a job at the first check
#: where ``now + signal_delay + 30 s >= end``: the signal comes 0-30 s earlier than asked.
SLURM_CHECK_S = 30
STARTUP_S = 60  # a job needs its imports done before it can catch the signal


class SlurmError(RuntimeError):
    """SLURM could not be used (not installed, controller down, sbatch refused a request)."""


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
        except (OSError, ValueError, KeyError):
            continue  # being written or damaged: those jobs still show through their records
        latest.update({job_id: Submission(**entry) for job_id, entry in jobs.items()})
    return latest


# ------------------------------------------------------------------------------------------ submission


def _job_name(config: JobConfig) -> str:
    return f"kdgan-{config.suite or 'grid'}-{config.phase}"


def _submit_array(folder: Path, configs: Sequence[JobConfig], resources: SlurmResources, dependency: str | None,
                  options: RunOptions) -> list[submitit.Job]:
    """One ``sbatch`` call: ``configs`` as one array (a plain job when there is one) with ``resources``."""
    executor = submitit.SlurmExecutor(folder=folder, max_num_timeout=resources.max_requeues)
    params = resources.submitit_parameters()
    params["job_name"] = _job_name(configs[0])
    if dependency:
        params["dependency"] = dependency
        params["additional_parameters"]["kill-on-invalid-dep"] = "yes"
    executor.update_parameters(**params)
    job_options = replace(options, threads=resources.cpus, max_requeues=resources.max_requeues)
    try:
        return executor.submit_array([JobRunner(c.to_dict(), job_options) for c in configs])
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
            jobs = _submit_array(folder, chunk, resources, dep, options)
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


# ------------------------------------------------------------------------------------------- following


@dataclass(frozen=True)
class LiveState:
    """What ``status`` shows for one submitted job."""

    status: str                # queued, running, done, failed, timed_out, blocked
    submission: Submission
    slurm_state: str | None    # SLURM's state when it was asked, e.g. PENDING (BeginTime)


def _query(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=60)
    except (OSError, subprocess.SubprocessError) as exc:
        raise SlurmError(f"`{' '.join(command[:2])} ...` failed: {exc}") from None
    if out.returncode and "Invalid job id" not in out.stderr:
        raise SlurmError(f"`{' '.join(command[:2])} ...` failed: {out.stderr.strip() or out.returncode}")
    return out.stdout


def scheduler_states(slurm_ids: Iterable[str]) -> dict[str, tuple[str, str]]:
    """``{slurm id: (state, reason)}`` for the ids SLURM still knows (squeue, then sacct when accounting
    is on); ids it has forgotten are absent. Raises ``SlurmError`` when squeue cannot be asked."""
    ids = sorted(set(slurm_ids))
    if not ids:
        return {}
    roots = sorted({i.split("_")[0] for i in ids})
    states: dict[str, tuple[str, str]] = {}
    for chunk in chunked(roots, 500):
        text = _query(["squeue", "--array", "--states=all", "--noheader", "--format=%i|%T|%r",
                       "--jobs=" + ",".join(chunk)])
        for line in text.splitlines():
            slurm_id, state, reason = (line.split("|") + ["", ""])[:3]
            states[slurm_id.strip()] = (state.strip(), reason.strip())
    forgotten = [i for i in ids if i not in states]
    if forgotten and shutil.which("sacct"):
        for chunk in chunked(sorted({i.split("_")[0] for i in forgotten}), 500):
            try:
                text = _query(["sacct", "--noheader", "--parsable2", "--allocations", "--format=JobID,State",
                               "--jobs=" + ",".join(chunk)])
            except SlurmError:
                break  # no accounting: squeue is all there is
            for line in text.splitlines():
                match = re.match(r"^(\d+(?:_\d+)?)\|(\S+)", line)
                if match and match.group(1) not in states:
                    states[match.group(1)] = (match.group(2), "sacct")
    return states


def fresh(record: Any, run: str) -> bool:
    """Whether a record was written by the submission of ``run`` or a later grid run (run names sort by time)."""
    return isinstance(record, dict) and str(record.get("run") or "") >= run


def _tail(path: str, lines: int = 6) -> str:
    try:
        text = Path(path).read_text(errors="replace").strip().splitlines()
    except OSError:
        return ""
    return " | ".join(line.strip() for line in text[-lines:])


def _submitit_error(sub: Submission) -> str:
    """The last line of the traceback submitit saved for a job that raised, if any."""
    try:
        outcome, value = submitit.core.utils.pickle_load(Path(sub.result))
    except Exception:  # no result file (killed), or unreadable: the logs will have to do
        return ""
    return str(value).strip().splitlines()[-1] if outcome == "error" and str(value).strip() else ""


def _lost_record(store: ResultStore, config: dict[str, Any], sub: Submission, state: str, reason: str) -> dict:
    """The record of a job that ended without writing one (:func:`benchmarks.plan.lost_record`: ``blocked``
    when a job it depends on ended not done, SLURM having cancelled it for that, ``--kill-on-invalid-dep``);
    otherwise ``timed_out`` for a SLURM TIMEOUT and ``failed`` for everything else (a student cancelled
    while its teacher still runs included), with SLURM's state, submitit's error and the log paths."""
    where = f"SLURM job {sub.slurm_id}"
    if state == "UNKNOWN":
        what = f"{where} is no longer known to SLURM (it ended before squeue/sacct could be asked)"
    else:
        what = f"{where} ended {state}" + (f" ({reason})" if reason and reason not in ("None", "sacct") else "")
    details = [d for d in (_submitit_error(sub), _tail(sub.stderr)) if d]
    error = f"{what} without writing a record" + (f": {details[0]}" if details else "") + f"; stderr: {sub.stderr}"
    status = "timed_out" if state == "TIMEOUT" else "failed"
    if status == "timed_out":
        error += "; raise --time-min, or --signal-delay-s so it can save and requeue in time"
    return lost_record(JobConfig.from_dict(config), store, sub.run, error, status, slurm_state=state)


def reconcile(store: ResultStore, submissions: Mapping[str, Submission]) -> dict[str, LiveState]:
    """The live status of every submitted job; records the ones that ended without a record.

    Jobs are settled in submission order (dependencies before the jobs that wait for them), so a
    student whose teacher was just found dead is recorded ``blocked`` in the same pass. Raises ``SlurmError`` (writing nothing) when SLURM
    cannot be asked."""
    records = {job_id: store.read_record(job_id) for job_id in submissions}
    unsettled = [job_id for job_id, sub in submissions.items() if not fresh(records[job_id], sub.run)]
    states = scheduler_states(submissions[j].slurm_id for j in unsettled)
    manifests: dict[str, dict[str, Any]] = {}
    live: dict[str, LiveState] = {}
    for job_id in sorted(submissions, key=lambda j: _submission_order(submissions[j].slurm_id)):
        sub, record = submissions[job_id], records[job_id]
        state, reason = states.get(sub.slurm_id, ("UNKNOWN", ""))
        if job_id in unsettled:
            if state in ACTIVE_STATES:
                detail = f"{state} ({reason})" if reason and reason != "None" else state
                live[job_id] = LiveState(ACTIVE_STATES[state], sub, detail)
                continue
            record = store.read_record(job_id)  # it may have been written since the first look
            if not fresh(record, sub.run):
                if sub.run not in manifests:
                    manifests[sub.run] = _manifest_jobs(store, sub.run)
                record = _lost_record(store, manifests[sub.run][job_id], sub, state, reason)
                store.write_record(record)
        live[job_id] = LiveState(record["status"], sub, state if job_id in unsettled else None)
    return live


def _submission_order(slurm_id: str) -> tuple[int, ...]:
    """``"123_4"`` -> (123, 4): SLURM ids grow with submission, and dependencies are submitted first."""
    return tuple(int(part) for part in slurm_id.split("_") if part.isdigit())


def _manifest_jobs(store: ResultStore, run: str) -> dict[str, dict[str, Any]]:
    return json.loads((store.root / "runs" / run / "manifest.json").read_text())["jobs"]


def follow(store: ResultStore, submissions: Mapping[str, Submission], over: Callable[[str, str], None]) -> None:
    """Poll :func:`reconcile` until every submitted job is over, calling ``over(job id, status)`` once per job.

    Polls every 2 s at first, then less often (up to every 30 s) so long grids do not hammer the
    controller; rides out SLURM not answering for up to ``GIVE_UP_S``."""
    started, seen, failing_since = time.monotonic(), set(), None
    while True:
        try:
            live = reconcile(store, submissions)
        except SlurmError as exc:  # a controller hiccup: the jobs go on; give up only if it lasts
            failing_since = failing_since or time.monotonic()
            if time.monotonic() - failing_since > GIVE_UP_S:
                raise
            print(f"warning: {exc}; retrying", file=sys.stderr)
            time.sleep(MAX_POLL_S)
            continue
        failing_since = None
        for job_id, state in live.items():
            if state.status not in ("queued", "running") and job_id not in seen:
                seen.add(job_id)
                over(job_id, state.status)
        if len(seen) == len(live):
            return
        time.sleep(min(MAX_POLL_S, 2.0 + (time.monotonic() - started) / 20))


def jobs_in_flight(store: ResultStore) -> dict[str, LiveState]:
    """Jobs of earlier SLURM submissions that are still queued or running (those that ended
    without a record get one on the way, see :func:`reconcile`)."""
    submissions = latest_submissions(store)
    live = reconcile(store, submissions) if submissions else {}
    return {j: s for j, s in live.items() if s.status in ("queued", "running")}


def describe_in_flight(in_flight: Mapping[str, LiveState]) -> dict[str, str]:
    """``plan_jobs``'s ``in_flight`` argument: job id -> where it is."""
    return {j: f"{s.status} as SLURM job {s.submission.slurm_id}" for j, s in in_flight.items()}


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
                  f"benchmarks.run status --results {grid.store.root}`, cancel them with `scancel "
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


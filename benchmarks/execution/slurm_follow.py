"""Following submitted SLURM jobs (:func:`reconcile`, used by ``grid`` while it waits, by ``status`` and by the next
``grid``): for the newest submission of each job without a record from that run (or a later
one), SLURM's state comes from ``squeue`` (jobs the controller still remembers, ``MinJobAge``)
and then ``sacct`` where accounting is on. Pending/running jobs are reported ``queued``/
``running``; a job that ended without writing its record (cancelled with ``scancel``, killed at
the time limit, out of memory, node failure) gets one now: ``blocked`` when a job it depends on is
not done, ``timed_out`` for a SLURM TIMEOUT, else ``failed``, with SLURM's state, the error the job raised
and the log paths. The error is read from the job's stderr log inside its run folder, never from submitit's
result pickle (unpickling a file of a shared folder would run whatever code it names). Records are only ever
written for such jobs, atomically, so every finished job's record stays as its job wrote it. When SLURM
cannot be asked, nothing is written.
"""
from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.planning.plan import lost_record
from kd_gan_bench.benchmarks.records.provenance import read_provenance
from kd_gan_bench.benchmarks.execution.slurm_ledger import SlurmError, Submission, chunked, fresh, inside_run, latest_submissions
from kd_gan_bench.benchmarks.core.store import ResultStore

#: SLURM job states of jobs that are not over, and how ``status`` shows them.
ACTIVE_STATES = {
    "PENDING": "queued", "REQUEUED": "queued", "REQUEUE_HOLD": "queued", "REQUEUE_FED": "queued",
    "RESV_DEL_HOLD": "queued", "CONFIGURING": "running", "RUNNING": "running", "COMPLETING": "running",
    "SUSPENDED": "running", "STOPPED": "running", "SIGNALING": "running", "STAGE_OUT": "running",
    "RESIZING": "running",
}
MAX_POLL_S = 30.0
GIVE_UP_S = 600.0  # `grid` stops following when SLURM cannot be asked for this long (the jobs go on)


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


def _log_text(store: ResultStore, sub: Submission, path: str) -> str:
    """A log of ``sub``'s run, read as text only when it lies inside that run's folder (:func:`inside_run`)."""
    if not inside_run(store.root / "runs" / sub.run, path):
        return ""
    try:
        return Path(path).read_text(errors="replace")
    except OSError:
        return ""


def _tail(text: str, lines: int = 6) -> str:
    return " | ".join(line.strip() for line in text.strip().splitlines()[-lines:])


def _raised(text: str) -> str:
    """The exception line ("ValueError: ...") of the last traceback in a log: what submitit's job process prints
    to stderr when the job raises (the same text its result pickle holds, which is never unpickled here)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith("Traceback (most recent call last):")]
    for line in lines[starts[-1] + 1:] if starts else ():
        if line.strip() and not line[0].isspace():
            return line.strip()
    return ""


def _lost_record(store: ResultStore, config: dict[str, Any], sub: Submission, state: str, reason: str) -> dict:
    """The record of a job that ended without writing one (:func:`kd_gan_bench.benchmarks.planning.plan.lost_record`: ``blocked``
    when a job it depends on ended not done, SLURM having cancelled it for that, ``--kill-on-invalid-dep``);
    otherwise ``timed_out`` for a SLURM TIMEOUT and ``failed`` for everything else (a student cancelled
    while its teacher still runs included), with SLURM's state, the raised error (from stderr) and the log paths."""
    where = f"SLURM job {sub.slurm_id}"
    if state == "UNKNOWN":
        what = f"{where} is no longer known to SLURM (it ended before squeue/sacct could be asked)"
    else:
        what = f"{where} ended {state}" + (f" ({reason})" if reason and reason not in ("None", "sacct") else "")
    stderr = _log_text(store, sub, sub.stderr)
    details = [d for d in (_raised(stderr), _tail(stderr)) if d]
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
                store.write_record(record, read_provenance(store.root, sub.run).get(job_id))
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

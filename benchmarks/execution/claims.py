"""One job, one runner: the claim marker in a job's folder, so that grids sharing a results folder (processes on
one machine, SLURM tasks on several nodes) run each job once.

A runner claims a job by creating ``jobs/<job id>/claim.json`` with ``O_CREAT | O_EXCL`` (atomic on local file
systems and on NFSv3 and later); the file names its owner (host, boot, pid and the pid's start time, the grid run,
the SLURM task, a random token) and a thread refreshes its mtime every :data:`HEARTBEAT_S` while the job runs. The
owner removes it once the job's record is written. A runner that finds the job claimed by a live owner does not
run it: it waits for that owner to finish and takes its record as the job's outcome
(:func:`kd_gan_bench.benchmarks.execution.runner.run_job`).

A claim is stale, and taken over, when its owner cannot still be running:

* on the same host (same boot): its pid is gone, a zombie, or another process (its start time differs): at once;
* a claim left by the same SLURM task (a job SLURM requeued, on this node or another): at once;
* anywhere else (another node): when its heartbeat is older than :data:`STALE_AFTER_S`, which also covers a file a
  crashed owner left half written. Comparing a file's mtime with this machine's clock assumes the nodes' clocks
  agree to well within that (NTP does).

A stale claim is taken over by renaming it aside (only one of several runners doing so at once succeeds), checking
that the file renamed is the one judged stale, and creating a new claim exclusively.
"""
from __future__ import annotations

import json
import os
import secrets
import socket
import threading
import time
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable

CLAIM = "claim.json"
#: How often a running job refreshes its claim's mtime.
HEARTBEAT_S = 15.0
#: A claim of another host whose mtime is older than this is stale (20 missed heartbeats).
STALE_AFTER_S = 300.0


def _boot_id() -> str:
    try:
        return Path("/proc/sys/kernel/random/boot_id").read_text().strip()
    except OSError:
        return ""


def _process_start(pid: int) -> str:
    """The start time (clock ticks since boot) of process ``pid`` from ``/proc``, ``""`` when unknown, ``"Z"``
    for a zombie; raises ``ProcessLookupError`` when there is no such process."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except FileNotFoundError:
        raise ProcessLookupError(pid) from None
    except OSError:
        return ""
    fields = stat[stat.rindex(")") + 2:].split()  # after "pid (comm) ": state is field 3, starttime field 22
    return "Z" if fields[0] in ("Z", "X") else fields[19]


def slurm_task() -> str:
    """``<array job id>_<task id>`` (or the job id) of the SLURM task this process runs in, ``""`` outside one
    started by submitit's SLURM executor (a grid run inside an allocation is no SLURM task of its own)."""
    if os.environ.get("SUBMITIT_EXECUTOR") != "slurm":
        return ""
    array, task = os.environ.get("SLURM_ARRAY_JOB_ID"), os.environ.get("SLURM_ARRAY_TASK_ID")
    return f"{array}_{task}" if array and task else os.environ.get("SLURM_JOB_ID", "")


@dataclass(frozen=True)
class Owner:
    """Who holds a claim."""

    host: str
    boot: str
    pid: int
    pid_start: str
    run: str
    slurm: str
    started: str
    token: str

    @classmethod
    def me(cls, run: str) -> "Owner":
        """This process, running a job for grid run ``run``."""
        try:
            start = _process_start(os.getpid())
        except ProcessLookupError:
            start = ""
        return cls(host=socket.gethostname(), boot=_boot_id(), pid=os.getpid(), pid_start=start, run=run,
                   slurm=slurm_task(), started=datetime.now(timezone.utc).isoformat(timespec="seconds"),
                   token=secrets.token_hex(8))

    def describe(self) -> str:
        where = f"SLURM task {self.slurm}" if self.slurm else f"pid {self.pid}"
        return f"{where} on {self.host} (grid run {self.run or '?'}, since {self.started})"

    def alive_here(self) -> bool:
        """Whether this owner, on this host and boot, is still running."""
        try:
            start = _process_start(self.pid)
        except ProcessLookupError:
            return False
        if start == "Z":
            return False
        if start and self.pid_start:
            return start == self.pid_start
        try:
            os.kill(self.pid, 0)
        except ProcessLookupError:
            return False
        except PermissionError:
            pass
        return True


def _read(path: Path) -> tuple[Owner | None, bytes, float] | None:
    """The claim at ``path``: its owner (None when half written or damaged), raw bytes and mtime; None if absent."""
    try:
        with open(path, "rb") as fh:
            raw = fh.read(4096)
            mtime = os.fstat(fh.fileno()).st_mtime
    except FileNotFoundError:
        return None
    try:
        data = json.loads(raw)
        owner = Owner(**{k: data[k] for k in Owner.__dataclass_fields__})
        if not isinstance(owner.pid, int):
            raise TypeError("pid")
    except Exception:  # being written, or not a claim: judged by its age alone
        owner = None
    return owner, raw, mtime


def is_stale(owner: Owner | None, mtime: float, me: Owner, now: float | None = None) -> bool:
    """Whether a claim (``owner`` None: unreadable) whose heartbeat is ``mtime`` can be taken over by ``me``."""
    age = (time.time() if now is None else now) - mtime
    if owner is None:
        return age > STALE_AFTER_S
    if owner.slurm and owner.slurm == me.slurm:
        return True  # this SLURM task's own claim, from before SLURM requeued it
    if owner.host == me.host and owner.boot == me.boot and not owner.alive_here():
        return True
    return age > STALE_AFTER_S


class Claim:
    """A claim held by this process: its heartbeat thread runs until :meth:`release` (or the ``with`` block) ends."""

    def __init__(self, path: Path, owner: Owner) -> None:
        self.path, self.owner = path, owner
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name=f"claim-heartbeat-{path.parent.name}", daemon=True)
        self._thread.start()

    def _beat(self) -> None:
        while not self._stop.wait(HEARTBEAT_S):
            try:
                os.utime(self.path)
            except OSError:
                pass  # taken over (or the folder is unreachable for now): the next beat tries again

    def release(self) -> None:
        """Stop the heartbeat and remove the claim if it is still this owner's."""
        self._stop.set()
        self._thread.join()
        found = _read(self.path)
        if found and found[0] is not None and found[0].token == self.owner.token:
            self.path.unlink(missing_ok=True)

    def __enter__(self) -> "Claim":
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()


def _take_over(path: Path, raw: bytes, me: Owner) -> None:
    """Remove the stale claim whose content was ``raw``, unless another runner replaced it meanwhile."""
    aside = path.with_name(f".{CLAIM}.stale-{me.token}")
    try:
        os.rename(path, aside)
    except FileNotFoundError:
        return  # another runner took it over first
    try:
        if aside.read_bytes() != raw:  # a fresh claim made between the look and the rename: put it back
            try:
                os.link(aside, path)
            except FileExistsError:
                pass
    finally:
        aside.unlink(missing_ok=True)


def try_claim(folder: Path, me: Owner) -> Claim | Owner:
    """Claim the job whose folder is ``folder`` for ``me`` (taking over a stale claim), or return the live owner."""
    path = folder / CLAIM
    folder.mkdir(parents=True, exist_ok=True)
    body = json.dumps(asdict(me), indent=1).encode()
    while True:
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)  # the umask applies, as for any file
        except FileExistsError:
            found = _read(path)
            if found is None:
                continue  # released between the two calls
            owner, raw, mtime = found
            if not is_stale(owner, mtime, me):
                return owner if owner is not None else Owner("?", "", 0, "", "", "", "", "")
            _take_over(path, raw, me)
            continue
        with os.fdopen(fd, "wb") as fh:
            fh.write(body)
            fh.flush()
            os.fsync(fh.fileno())
        return Claim(path, me)


def claim(folder: Path, me: Owner, log: Callable[[str], None], poll_s: float = 1.0) -> tuple[Claim, set[str]]:
    """Claim the job, waiting as long as a live owner holds it; returns the claim and the grid runs of the owners
    waited for (whose record, once they are done, is this job's outcome)."""
    waited: dict[str, Owner] = {}
    while True:
        got = try_claim(folder, me)
        if isinstance(got, Claim):
            return got, {owner.run for owner in waited.values()}
        if got.token not in waited:
            waited[got.token] = got
            log(f"job {folder.name} is claimed by {got.describe()}: waiting for it to finish (not running it twice)")
        time.sleep(poll_s)


def live_owner(folder: Path, me: Owner) -> Owner | None:
    """The live owner of the job's claim other than ``me``, or None (no claim, or a stale one)."""
    found = _read(folder / CLAIM)
    if found is None:
        return None
    owner, _raw, mtime = found
    if owner is not None and owner.token == me.token or is_stale(owner, mtime, me):
        return None
    return owner or Owner("?", "", 0, "", "", "", "", "")

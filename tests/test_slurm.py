"""The grid on a real SLURM cluster, through the public CLI (no mocks of SLURM).

The cluster is the one-node cluster of ``tests/slurm/start_cluster.sh`` (see conftest). Jobs are
the ``smoke`` suite on one task, made longer with ``--set`` where a test needs a job that is
still training when something happens to it.
"""
from __future__ import annotations

import contextlib
import io
import json
import re
import subprocess
import time
from pathlib import Path

import pytest

from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES

try:
    from tests import cli_helpers
    from tests.cli_helpers import TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE
except ImportError:  # pytest's rootdir-relative import mode
    import cli_helpers
    from cli_helpers import TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE

pytestmark = [pytest.mark.slurm, pytest.mark.usefixtures("slurm_cluster")]

SMOKE = ("--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--executor", "slurm", "--no-progress",
         "--no-report")
BOTH_TASKS = ("synthetic_edges2shapes", "synthetic_plain2striped")


def cli(*args: str) -> tuple[int, str]:
    """``python -m kd_gan_bench.benchmarks.run ARGS`` in this process: exit status and stdout."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(list(args))
    return rc, out.getvalue()


def runs(results: Path) -> list[Path]:
    return sorted((results / "runs").iterdir())


def ledger(run_dir: Path) -> dict:
    return json.loads((run_dir / slurm.LEDGER).read_text())


def records(results: Path) -> dict[str, dict]:
    return {r["job_id"]: r for r in ResultStore(results).records()}


def by_method(results: Path) -> dict[str, dict]:
    return {r["config"]["method"]: r for r in records(results).values()}


#: How long ``settle`` leaves a requeued job held before it releases it (see there).
RELEASE_AFTER_S = 10.0


def settle(results: Path, timeout_s: float, release_held: bool = False) -> dict[str, slurm.LiveState]:
    """Poll like ``status`` does until no job is queued or running.

    ``release_held``: a job SLURM requeued waits ~2 minutes (``Reason=BeginTime``); make it eligible
    early, with a 10-minute limit so that its next run can finish (each 1-minute run trains for
    only ~10-30 s: one interrupted run is the point, five would only make the test slow). Not at
    once: a job started again within a second of its requeue can find its previous run's job
    credential still being revoked on the node, and SLURM then fails it ("Killing non-startable
    batch JobId=...: Job credential revoked", exit 1), which is what SLURM's own delay prevents."""
    store = ResultStore(results)
    deadline = time.monotonic() + timeout_s
    held_since: dict[str, float] = {}
    while True:
        live = slurm.reconcile(store, slurm.latest_submissions(store))
        waiting = {j: s for j, s in live.items() if s.status in ("queued", "running")}
        if not waiting:
            return live
        for state in waiting.values():
            slurm_id = state.submission.slurm_id
            if not (release_held and "BeginTime" in (state.slurm_state or "")):
                held_since.pop(slurm_id, None)
            elif time.monotonic() - held_since.setdefault(slurm_id, time.monotonic()) >= RELEASE_AFTER_S:
                subprocess.run(["scontrol", "update", f"JobId={slurm_id}", "StartTime=now", "TimeLimit=10"],
                               check=True, capture_output=True)
                held_since.pop(slurm_id)
        assert time.monotonic() < deadline, f"jobs still not over after {timeout_s}s: " + ", ".join(
            f"{j} {s.submission.slurm_id} {s.slurm_state}" for j, s in waiting.items())
        time.sleep(2)


def wait_for_text(path: Path, pattern: str, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while not (path.exists() and re.search(pattern, path.read_text())):
        assert time.monotonic() < deadline, f"{pattern!r} never appeared in {path}"
        time.sleep(1)


def assert_done_records_intact(results: Path) -> None:
    """Every done record is complete, and the leaderboard renders from the store."""
    for record in records(results).values():
        if record["status"] == "done":
            assert {"fid", "kid", "params", "macs", "latency_ms"} <= set(record["metrics"]), record["job_id"]
            assert (results / "jobs" / record["job_id"] / "generator.pt").is_file()
    rc, out = cli("report", "--results", str(results))
    assert rc == 0 and (results / "report" / "index.html").stat().st_size > 0, out


def test_two_phase_grid_goes_out_as_arrays_with_afterok(tmp_path: Path) -> None:
    results = tmp_path / "results"
    # two tasks: one teacher each (a suite trains one teacher per task, whatever the seeds), two students each
    grid = (*SMOKE, "--tasks", *BOTH_TASKS, "--methods", "output_kd", "feature_kd", "--results", str(results))
    rc, out = cli("grid", *grid, "--no-wait")
    assert rc == 0, out
    assert "submitted 6 job(s) to SLURM in 3 sbatch call(s)" in out
    run_dir, = runs(results)
    arrays = ledger(run_dir)["arrays"]
    teachers = [a for a in arrays if a["phase"] == "teacher"]
    students = [a for a in arrays if a["phase"] == "student"]
    assert [a["size"] for a in teachers] == [2] and [a["size"] for a in students] == [2, 2]
    teacher_array = teachers[0]["array_id"]
    assert sorted(a["dependency"] for a in students) == [f"afterok:{teacher_array}_0", f"afterok:{teacher_array}_1"]
    for array in arrays:
        script = Path(array["submission_file"]).read_text()
        assert "#SBATCH --array=0-1%2" in script
        assert "#SBATCH --requeue" in script and "#SBATCH --signal=USR2@90" in script
        if array["phase"] == "student":
            assert f"#SBATCH --dependency={array['dependency']}" in script
            assert "#SBATCH --kill-on-invalid-dep=yes" in script

    # SLURM itself holds each student array on its own teacher's array task
    squeue = subprocess.run(["squeue", "--array", "--noheader", "--format=%i|%T|%E",
                             "--jobs=" + ",".join(a["array_id"] for a in students)],
                            capture_output=True, text=True, check=True).stdout
    pending = {line.split("|")[0]: line.split("|")[2] for line in squeue.splitlines()}
    for array in students:
        for index in range(2):
            assert pending[f"{array['array_id']}_{index}"].startswith(array["dependency"] + "(unfulfilled)")

    # partial results: nothing is done yet, and collect/report work all the same
    rc, out = cli("collect", "--results", str(results))
    assert rc == 0 and "6 rows" in out
    rc, out = cli("report", "--results", str(results))
    assert rc == 0 and (results / "report" / "index.html").is_file()
    rc, out = cli("status", "--results", str(results))
    assert rc == 0 and re.search(r"6 jobs in \S+: .*(queued|running)", out), out

    # a local run meanwhile leaves the jobs SLURM has to SLURM
    rc, out = cli("grid", *grid, "--executor", "debug")
    assert rc == 0 and "as SLURM job" in out, out
    local_run = runs(results)[-1].name
    assert not any(r.get("run") == local_run for r in records(results).values())

    # `grid` again (waiting) submits nothing and follows the jobs of the first submission to the end
    rc, out = cli("grid", *grid)
    assert rc == 0, out
    # (on a loaded machine the first jobs may be over by now: they count as skipped (done), not run again)
    followed = int(re.search(r"(\d) job\(s\) still queued/running from an earlier submission", out).group(1))
    assert followed >= 1 and "nothing submitted" in out
    assert ("grid finished: 6 done" if followed == 6 else f"grid finished: {followed} done, {6 - followed} skipped (done)") in out
    done = records(results)
    assert len(done) == 6 and {r["status"] for r in done.values()} == {"done"}
    assert {r["run"] for r in done.values()} == {run_dir.name}  # all from the first submission
    teacher_ids = {j for j, r in done.items() if r["config"]["phase"] == "teacher"}
    assert {r["config"]["teacher_id"] for r in done.values() if r["config"]["phase"] == "student"} == teacher_ids
    rc, out = cli("status", "--results", str(results), "--all")
    assert rc == 0 and "6 jobs in" in out and ": 6 done" in out and "stderr:" in out
    assert_done_records_intact(results)


#: Steps of the teacher that must outlast its first 1-minute run: more than a fast machine trains in 50 s.
TEACHER_STEPS = 12000


def test_time_limit_requeues_resumes_and_times_out_past_max_requeues(tmp_path: Path) -> None:
    """A 1-minute limit: the teacher saves, requeues itself and resumes until it finishes; the
    student (max_requeues = 0) is recorded timed_out at its first signal, its state kept.

    signal_delay_s = 10: SLURM checks time limits every 30 s and sends the signal at the first
    check where ``now + delay + 30 s >= end``, i.e. 20-50 s into the job here (after Python has
    started even on a loaded machine) and 30 s before the kill. The teacher trains TEACHER_STEPS, about
    two minutes on this 2-core machine idle (3000 steps, 30 s, once finished inside the first window)."""
    config = tmp_path / "cluster.toml"
    config.write_text("[slurm]\ntime_min = 1\nsignal_delay_s = 10\n\n[slurm.teacher]\nmax_requeues = 10\n\n"
                      "[slurm.student]\nmax_requeues = 0\n")
    results = tmp_path / "results"
    rc, out = cli("grid", *SMOKE, "--methods", "scratch", "--set", f"teacher_schedule.steps={TEACHER_STEPS}",
                  "--set", "student_schedule.steps=100000", "--set", "schedule.log_every=50",
                  "--cluster-config", str(config), "--results", str(results), "--no-wait")
    assert rc == 0, out
    settle(results, timeout_s=900, release_held=True)
    teacher, student = by_method(results)["teacher"], by_method(results)["scratch"]

    assert teacher["status"] == "done", teacher["error"]
    log = (results / "jobs" / teacher["job_id"] / "job.log").read_text()
    resumed = [int(k) for k in re.findall(r"resumed from step (\d+)", log)]
    requeued = re.findall(r"requeued SLURM job \S+ \((\d+)/10 requeues\)", log)
    assert resumed and len(requeued) == len(resumed), log
    assert all(0 < k <= TEACHER_STEPS for k in resumed) and resumed == sorted(resumed)
    for k in (k for k in resumed if k < TEACHER_STEPS):  # (all steps: stopped during evaluation, none left)
        after = log[log.index(f"resumed from step {k}"):]  # the step counter continues, it does not start over
        first_step = int(re.search(rf"step (\d+)/{TEACHER_STEPS}", after).group(1))
        assert k < first_step <= k + 50
    assert teacher["history"]["steps"] == list(range(50, TEACHER_STEPS + 1, 50))
    assert not (results / "jobs" / teacher["job_id"] / "state.pt").exists()

    assert student["status"] == "timed_out", student
    assert "max_requeues=0" in student["error"] and student["requeues"] == 0
    assert (results / "jobs" / student["job_id"] / "state.pt").is_file()  # --retry-failed resumes from it
    assert_done_records_intact(results)


def test_scancelled_job_is_failed_and_only_it_is_retried(tmp_path: Path) -> None:
    results = tmp_path / "results"
    # long enough to be cancelled mid-training on a fast machine too (600 steps took 3.4 s on one core, so the job
    # could finish between its first step's log line and the scancel)
    grid = (*SMOKE, "--methods", "scratch", "--set", "student_schedule.steps=3000", "--results", str(results))
    rc, out = cli("grid", *grid, "--no-wait")
    assert rc == 0, out
    run_dir, = runs(results)
    jobs = ledger(run_dir)["jobs"]
    student_id, = (j for j, s in jobs.items() if s["phase"] == "student")
    wait_for_text(results / "jobs" / student_id / "job.log", r"step \d+/3000", timeout_s=300)
    subprocess.run(["scancel", jobs[student_id]["slurm_id"]], check=True)
    settle(results, timeout_s=300)

    student, teacher = by_method(results)["scratch"], by_method(results)["teacher"]
    assert teacher["status"] == "done"
    assert student["status"] == "failed" and "CANCELLED" in student["error"], student
    assert jobs[student_id]["stderr"] in student["error"]
    teacher_record = (results / "jobs" / teacher["job_id"] / "record.json").read_bytes()

    rc, out = cli("grid", *grid)  # failed jobs wait for --retry-failed
    assert rc == 0 and "nothing submitted to SLURM" in out, out
    assert by_method(results)["scratch"]["status"] == "failed"

    rc, out = cli("grid", *grid, "--retry-failed")
    assert rc == 0 and "grid finished: 1 done, 1 skipped (done)" in out, out
    retry_run = runs(results)[-1]
    assert list(ledger(retry_run)["jobs"]) == [student_id]
    student = by_method(results)["scratch"]
    assert student["status"] == "done" and student["run"] == retry_run.name
    assert (results / "jobs" / teacher["job_id"] / "record.json").read_bytes() == teacher_record

    # `rerun JOB_ID` on SLURM: that job alone goes out again, same id and config hash, its done teacher untouched
    rc, out = cli("rerun", student_id, "--executor", "slurm", "--force", "--no-progress", "--no-report",
                  "--results", str(results))
    assert rc == 0 and "1 done" in out, out
    rerun_run = runs(results)[-1]
    assert rerun_run != retry_run and list(ledger(rerun_run)["jobs"]) == [student_id]
    rerun = by_method(results)["scratch"]
    assert rerun["status"] == "done" and rerun["run"] == rerun_run.name
    assert rerun["job_id"] == student_id and rerun["config_hash"] == student["config_hash"]
    assert (results / "jobs" / teacher["job_id"] / "record.json").read_bytes() == teacher_record
    assert_done_records_intact(results)


def test_failed_teacher_blocks_its_students_which_never_run(tmp_path: Path) -> None:
    results = tmp_path / "results"
    rc, out = cli("grid", *SMOKE, "--methods", "output_kd", "feature_kd", "scratch", *TEACHER_FAILS_WHEN_TRAINING,
                  "--results", str(results))
    assert rc == 1, out  # a failed teacher and its blocked students: the grid ends unsuccessful
    run_dir, = runs(results)
    jobs = ledger(run_dir)["jobs"]
    result = by_method(results)
    teacher = result["teacher"]
    assert teacher["status"] == "failed" and TEACHER_FAILURE in teacher["error"]
    for method in ("output_kd", "feature_kd"):
        student = result[method]
        assert student["status"] == "blocked" and student["blocked_by"] == teacher["job_id"], student
        assert jobs[student["job_id"]]["dependency"] == f"afterok:{jobs[teacher['job_id']]['slurm_id']}"
        assert not (results / "jobs" / student["job_id"] / "job.log").exists()  # never started
        assert not Path(jobs[student["job_id"]]["stdout"]).exists()
    assert result["scratch"]["status"] == "done"  # no teacher dependency: unaffected
    rc, out = cli("status", "--results", str(results))
    assert rc == 0 and "2 blocked" in out and "1 failed" in out
    assert_done_records_intact(results)


def test_arrays_are_chunked_under_max_array_size(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The real MaxArraySize is read from the controller; a smaller one (patched) splits the arrays.
    The jobs are submitted held and cancelled: only the submission is under test."""
    assert slurm.max_array_size() == int(re.search(r"MaxArraySize\s*=\s*(\d+)", subprocess.run(
        ["scontrol", "show", "config"], capture_output=True, text=True).stdout).group(1))
    monkeypatch.setattr(slurm, "max_array_size", lambda: 2)
    results = tmp_path / "results"
    rc, out = cli("grid", *SMOKE, "--tasks", *BOTH_TASKS, "--seeds", "0", "1", "2", "--methods", "output_kd",
                  "--results", str(results), "--no-wait", "--sbatch=--hold")
    assert rc == 0, out
    arrays = ledger(runs(results)[0])["arrays"]
    try:  # 2 teachers (one per task) in one array; each teacher's 3 students (seeds) in arrays of 2 and 1
        assert [(a["phase"], a["size"]) for a in arrays] == [("teacher", 2), ("student", 2), ("student", 1),
                                                              ("student", 2), ("student", 1)]
        teacher_ids = [f"{arrays[0]['array_id']}_0", f"{arrays[0]['array_id']}_1"]
        assert [a["dependency"] for a in arrays[1:]] == [f"afterok:{t}" for t in teacher_ids for _ in range(2)]
    finally:
        subprocess.run(["scancel", *(a["array_id"] for a in arrays)], check=True)


def test_a_request_sbatch_refuses_is_a_clear_error(tmp_path: Path) -> None:
    err = io.StringIO()
    with contextlib.redirect_stderr(err):
        rc, out = cli("grid", *SMOKE, "--methods", "scratch", "--partition", "nosuch", "--results",
                      str(tmp_path / "results"), "--no-wait")
    assert rc == 3, out
    message = err.getvalue()
    assert "sbatch refused a teacher array of 1 job(s) (partition=nosuch" in message
    assert "invalid partition specified: nosuch" in message and "Partitions here: debug" in message


def test_labelled_grid_goes_out_in_dependency_waves(tmp_path: Path) -> None:
    """cGAN-KD's jobs on SLURM: the fake set waits for its teacher, a cGAN-KD student for its teacher, the
    fake set and the NOKD student it fine-tunes (one afterok on three array tasks), and all finish."""
    results = tmp_path / "results"
    grid = ("--suite", "smoke", "--tasks", "synthetic_shapes10", "--methods", "nokd", "cgan_kd", "--executor",
            "slurm", "--no-progress", "--no-report", "--results", str(results))
    rc, out = cli("grid", *grid, "--no-wait")
    assert rc == 0, out
    run_dir, = runs(results)
    book = ledger(run_dir)
    jobs = json.loads((run_dir / "manifest.json").read_text())["jobs"]
    by_name = {config["method"]: job_id for job_id, config in jobs.items()}
    slurm_id = {j: sub["slurm_id"] for j, sub in book["jobs"].items()}
    assert set(by_name) == {"teacher", "cgan_kd_fake_set", "nokd", "cgan_kd"}
    assert book["jobs"][by_name["teacher"]]["dependency"] is None
    assert book["jobs"][by_name["nokd"]]["dependency"] is None
    assert book["jobs"][by_name["cgan_kd_fake_set"]]["dependency"] == f"afterok:{slurm_id[by_name['teacher']]}"
    wanted = {slurm_id[by_name[m]] for m in ("teacher", "cgan_kd_fake_set", "nokd")}
    dependency = book["jobs"][by_name["cgan_kd"]]["dependency"]
    assert dependency.startswith("afterok:") and set(dependency[len("afterok:"):].split(":")) == wanted
    script = Path(next(a for a in book["arrays"] if by_name["cgan_kd"] in a["jobs"])["submission_file"]).read_text()
    assert f"#SBATCH --dependency={dependency}" in script

    rc, out = cli("grid", *grid)  # follow to the end
    assert rc == 0 and "grid finished: 4 done" in out, out
    done = records(results)
    assert {r["status"] for r in done.values()} == {"done"}
    assert done[by_name["cgan_kd"]]["method_extras"]["n_train_fake"] == done[by_name["cgan_kd_fake_set"]][
        "metrics"]["n_final"]


def test_a_plugin_module_travels_with_the_launch_into_the_slurm_job(tmp_path: Path) -> None:
    """A ``--plugin`` module that no entry point names (tests/fixtures/plugin_path, on PYTHONPATH) is imported by the
    SLURM job's process: its metric is in the record. One job (the scratch student, no dependency); the CLI runs in
    a subprocess so that the plugin stays out of this session's registries."""
    results = tmp_path / "results"
    job, = [j for j in expand(SUITES.get("smoke"), tasks=["synthetic_edges2shapes"], methods=["scratch"])
            if j.phase == "student"]
    plugin_path = cli_helpers.REPO / "tests" / "fixtures" / "plugin_path"
    proc = cli_helpers.cli("grid", *SMOKE, "--methods", "scratch", "--jobs", job.job_id,
                           "--plugin", "kdgb_path_plugin", "--results", str(results), timeout=300,
                           PYTHONPATH=cli_helpers.pythonpath(plugin_path))
    assert "grid finished: 1 done" in proc.stdout, proc.stdout
    record = records(results)[job.job_id]
    assert record["environment"]["slurm_job_id"], "the job ran under SLURM"
    assert 0.0 <= record["metrics"]["example_l1_target"] <= 1.0

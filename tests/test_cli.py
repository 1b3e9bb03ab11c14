"""End to end through the CLI: a tiny grid, its records and leaderboard, and the faults users hit."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:
    from tests.cli_helpers import REPO, TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE, cli, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, TEACHER_FAILS_WHEN_TRAINING, TEACHER_FAILURE, cli, records

FAILING = "output_kd.lambda_recon=[10,1e40]"  # the 1e40 variant overflows to an infinite loss


@pytest.fixture(scope="module")
def tiny_grid(tmp_path_factory) -> tuple[Path, subprocess.CompletedProcess]:
    results = tmp_path_factory.mktemp("store")
    proc = cli("grid", "--suite", "smoke_i2i", "--executor", "debug", "--results", str(results), "--set", FAILING,
               "--no-progress", check=False)
    return results, proc


def test_grid_with_failed_jobs_exits_1_after_the_report(tiny_grid):
    results, proc = tiny_grid
    assert proc.returncode == 1, proc.stderr
    assert "leaderboard:" in proc.stdout and (results / "report" / "index.html").exists()


def test_grid_writes_records_for_every_job(tiny_grid):
    results, proc = tiny_grid
    assert "leaderboard:" in proc.stdout
    recs = records(results)
    assert len(recs) == 2 + 2 * 10  # 2 teachers; per task the 8 other i2i methods and output_kd x 2 lambdas
    failed = {k: r for k, r in recs.items() if r["status"] == "failed"}
    assert len(failed) == 2
    for record in failed.values():
        assert record["config"]["method"] == "output_kd" and record["config"]["hparams"]["lambda_recon"] == 1e40
        assert "NonFiniteLossError" in record["error"] and "'recon'" in record["error"]
        assert record["traceback"]
    for record in recs.values():
        if record["status"] != "done":
            continue
        metrics = record["metrics"]
        for key in ("fid", "kid", "params", "macs", "latency_ms", "macs_ratio", "params_ratio", "fid_n_fake"):
            assert isinstance(metrics[key], (int, float)), key
        assert metrics["fid_extractor"] == "offline-randconv-v1"
        assert metrics["fid_n_fake"] == 8
        assert set(record["timings"]) >= {"data_s", "train_s", "eval_s", "total_s"}
        env = record["environment"]
        assert env["versions"]["torch"] and env["host"] and env["device"] == "cpu"
        assert (results / "jobs" / record["job_id"] / "job.log").read_text().count("step") >= 1
        if record["config"]["phase"] == "student":
            assert metrics["macs_ratio"] > 1 and metrics["params_ratio"] > 1
    teachers = [r for r in recs.values() if r["config"]["phase"] == "teacher"]
    assert all(t["metrics"]["macs_ratio"] == 1 for t in teachers)


def test_report_shows_rows_figure_and_failures(tiny_grid):
    results, _ = tiny_grid
    html = (results / "report" / "index.html").read_text()
    for text in ("synthetic_edges2shapes", "synthetic_plain2striped", "scratch", "output_kd", "feature_kd", "srpkd",
                 "reko", "crd",
                 "lambda_recon=1e+40", 'data-status="failed"', "NonFiniteLossError", "offline-randconv-v1"):
        assert text in html, text
    assert html.count("data:image/png;base64,") >= 4  # a figure and a sample grid per task
    assert "http://" not in html and "https://" not in html


def test_status_collect_and_report_commands(tiny_grid, tmp_path):
    results, _ = tiny_grid
    status = cli("status", "--results", str(results))
    assert "22 jobs" in status.stdout and "20 done" in status.stdout and "2 failed" in status.stdout
    assert "job.log" in status.stdout  # failed jobs point at their logs
    out = tmp_path / "table.csv"
    cli("collect", "--results", str(results), "--output", str(out))
    import pandas as pd
    frame = pd.read_csv(out)
    assert len(frame) == 22 and set(frame["status"]) == {"done", "failed"}
    report = cli("report", "--results", str(results), "--output", str(tmp_path / "html"))
    assert (tmp_path / "html" / "index.html").exists() and "leaderboard:" in report.stdout


def test_rerun_skips_done_jobs_and_force_reruns(tiny_grid):
    results, _ = tiny_grid
    recs = records(results)
    scratch = [k for k, r in recs.items() if r["config"]["method"] == "scratch"]
    before = {k: (results / "jobs" / k / "record.json").stat().st_mtime_ns for k in scratch}
    args = ("grid", "--suite", "smoke", "--executor", "debug", "--results", str(results), "--methods", "scratch",
            "--no-report", "--no-progress")
    proc = cli(*args)
    assert "4 skipped (done)" in proc.stdout
    assert before == {k: (results / "jobs" / k / "record.json").stat().st_mtime_ns for k in scratch}
    cli(*args, "--tasks", "synthetic_edges2shapes", "--force")
    after = {k: (results / "jobs" / k / "record.json").stat().st_mtime_ns for k in scratch}
    changed = {k for k in scratch if after[k] != before[k]}
    assert {recs[k]["config"]["task"] for k in changed} == {"synthetic_edges2shapes"}


def test_dry_run_prints_the_job_table_and_runs_nothing(tmp_path):
    proc = cli("grid", "--suite", "smoke", "--dry-run", "--results", str(tmp_path / "r"), "--seeds", "0", "1")
    # the composite smoke suite, 2 seeds of every student, one teacher per task (and so one fake set per task and
    # settings); cgan_kd+vanilla_kd's fake set is its own (rho 0.8, labels kept)
    assert "60 jobs (4 teachers, 4 artifacts, 52 students)" in proc.stdout
    assert "cgan_kd_fake_set" in proc.stdout and "a-" in proc.stdout
    assert "feature_kd" in proc.stdout and "t-" in proc.stdout
    assert not (tmp_path / "r").exists()


def test_list_names_every_registry():
    out = cli("list").stdout
    for text in ("methods:", "tasks:", "suites:", "networks:", "metrics:", "output_kd", "synthetic_plain2striped",
                 "smoke", "resnet_generator", "higher is better"):
        assert text in out


@pytest.mark.parametrize("args, message", [
    (("grid", "--suite", "smok"), "Did you mean 'smoke'?"),
    (("grid", "--suite", "smoke", "--methods", "outputkd"), "Valid method names"),
    (("grid", "--suite", "smoke", "--tasks", "horse"), "Valid task names"),
    (("grid", "--suite", "smoke", "--set", "teacher.ngf=abc"), "expected a int"),
    (("grid", "--suite", "smoke", "--set", "teacher"), "expected KEY=VALUE"),
    (("grid", "--suite", "smoke", "--fid-weights", "/nonexistent/pt_inception.pth"), "no such file"),
    (("grid", "--suite", "smoke", "--set", "evaluation.fid_extractor=inception"), "InceptionV3 weights for FID not found"),
])
def test_bad_input_exits_2_with_a_clear_message(args, message, tmp_path):
    proc = cli(*args, "--results", str(tmp_path / "r"), check=False, TORCH_HOME=str(tmp_path / "torch"))
    assert proc.returncode == 2
    assert message in proc.stderr
    assert "Traceback" not in proc.stderr


def test_unwritable_results_directory(tmp_path):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    proc = cli("grid", "--suite", "smoke", "--results", str(blocker / "results"), check=False)
    assert proc.returncode == 2 and "is not writable" in proc.stderr and "--results" in proc.stderr


def test_corrupt_record_is_reported_and_rerun(tiny_grid, tmp_path):
    import shutil
    results = tmp_path / "copy"
    shutil.copytree(tiny_grid[0], results)
    victim = next(k for k, r in records(results).items() if r["config"]["method"] == "scratch")
    (results / "jobs" / victim / "record.json").write_text('{"job_id": "trunc')
    status = cli("status", "--results", str(results))
    assert "corrupt record" in status.stderr and victim in status.stderr
    assert "1 missing" in status.stdout
    cli("report", "--results", str(results))
    proc = cli("grid", "--suite", "smoke", "--executor", "debug", "--results", str(results), "--methods", "scratch",
               "--no-report", "--no-progress")
    assert "1 done" in proc.stdout and "3 skipped (done)" in proc.stdout
    assert json.loads((results / "jobs" / victim / "record.json").read_text())["status"] == "done"


def test_failed_teacher_blocks_its_students_only(tmp_path):
    results = tmp_path / "r"
    proc = cli("grid", "--suite", "smoke", "--executor", "debug", "--results", str(results), "--tasks",
               "synthetic_edges2shapes", *TEACHER_FAILS_WHEN_TRAINING, "--no-progress", check=False)
    assert proc.returncode == 1  # failed and blocked jobs
    recs = records(results)
    by_method = {r["config"]["method"]: r for r in recs.values()}
    assert by_method["teacher"]["status"] == "failed" and TEACHER_FAILURE in by_method["teacher"]["error"]
    for method in ("output_kd", "feature_kd", "srpkd", "reko"):
        assert by_method[method]["status"] == "blocked"
        assert by_method["teacher"]["job_id"] in by_method[method]["error"]
    for method in ("scratch", "crd", "omgd"):  # no teacher, or one trained inside the job
        assert by_method[method]["status"] == "done", "a job without the teacher is unaffected"
    assert "blocked" in proc.stdout


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (the local executor's workers of a grid process)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        if int(text[text.rindex(")") + 2:].split()[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _alive(pid: int) -> bool:
    try:
        text = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    return text[text.rindex(")") + 2:].split()[0] != "Z"


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "kill"])
def test_local_executor_interrupt_keeps_finished_jobs_and_resumes(tmp_path, sig):
    results = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    args = [sys.executable, "-m", "kd_gan_bench.benchmarks.run", "grid", "--suite", "smoke", "--results", str(results),
            "--tasks", "synthetic_edges2shapes", "--methods", "scratch", "output_kd", "feature_kd", "--max-parallel", "1",
            "--no-report", "--no-progress"]
    proc = subprocess.Popen(args, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 240
    while time.time() < deadline and len(records(results)) < 2:
        time.sleep(0.5)
    workers = _children(proc.pid)
    assert workers, "the jobs run in worker processes"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "finished jobs are kept" in err
    time.sleep(2)
    assert not [pid for pid in workers if _alive(pid)], "jobs in flight are cancelled, not left running"
    finished = records(results)
    assert 2 <= len(finished) < 4 and all(r["status"] == "done" for r in finished.values())
    stamps = {k: (results / "jobs" / k / "record.json").stat().st_mtime_ns for k in finished}
    rerun = subprocess.run(args, cwd=REPO, env=env, capture_output=True, text=True, timeout=600)
    assert rerun.returncode == 0, rerun.stderr
    assert f"{len(finished)} skipped (done)" in rerun.stdout
    assert {k: (results / "jobs" / k / "record.json").stat().st_mtime_ns for k in finished} == stamps
    assert len(records(results)) == 4 and all(r["status"] == "done" for r in records(results).values())
    assert list((results / "runs").glob("*/logs/*.log")), "every job's stdout/stderr is kept in its own log"

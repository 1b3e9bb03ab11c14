"""The local executor's long-lived workers (kd_gan_bench.benchmarks.execution.workers): a job's record is the same whether its worker is
fresh or already ran another job, and a worker killed mid-job fails that job only, through the CLI."""
from __future__ import annotations

import functools
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

try:
    from tests.cli_helpers import REPO, cli, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, cli, records

GRID = ("grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "scratch", "--seeds", "0", "1",
        "2", "--no-report", "--no-progress", "--max-parallel", "1")
#: Metrics that measure this machine's speed, not the trained network.
TIMING_METRICS = ("latency_ms", "latency_ms_iqr")


def _first_claim_pid(results: Path, deadline: float) -> tuple[str, int]:
    """The job id and pid of the first job a runner claims under ``results`` (the claim file names its owner)."""
    while time.time() < deadline:
        for claim in (results / "jobs").glob("*/claim.json"):
            try:
                return claim.parent.name, json.loads(claim.read_text())["pid"]
            except (OSError, ValueError, KeyError):
                continue  # being written
        time.sleep(0.05)
    raise AssertionError("no job was claimed")


def _outcome(record: dict) -> dict:
    return {"metrics": {k: v for k, v in record["metrics"].items() if k not in TIMING_METRICS},
            "history": record["history"]}


def test_killed_worker_fails_its_job_only_and_a_used_worker_scores_like_a_fresh_one(tmp_path):
    results = tmp_path / "r"
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "kd_gan_bench.benchmarks.run", *GRID, "--results", str(results)], cwd=REPO,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    killed, pid = _first_claim_pid(results, time.time() + 240)
    assert pid != proc.pid, "the job runs in a worker process, not in the grid's"
    os.kill(pid, signal.SIGKILL)
    out, err = proc.communicate(timeout=600)
    assert proc.returncode == 1, err  # one job failed
    recs = records(results)
    assert len(recs) == 4  # the suite's teacher (claimed first, killed) and three seeds of scratch
    assert recs[killed]["status"] == "failed"
    assert recs[killed]["error"].startswith("job process died (WorkerDiedError: worker process")
    assert "SIGKILL" in recs[killed]["error"]
    others = [r for job_id, r in recs.items() if job_id != killed]
    assert all(r["status"] == "done" for r in others), "the pool replaced the dead worker and the grid went on"
    run_dir = next((results / "runs").iterdir())
    assert {p.stem for p in (run_dir / "logs").glob("*.log")} == set(recs), "every job has its stdout/stderr log"
    assert "step" in (run_dir / "logs" / f"{others[0]['job_id']}.log").read_text()

    used = [r for r in others if r["timings"]["process_jobs_before"] >= 1]
    assert len(used) == 2, "with --max-parallel 1 one replacement worker ran the three remaining jobs"
    alone = tmp_path / "alone"
    cli(*GRID, "--jobs", used[0]["job_id"], "--results", str(alone))
    (fresh,) = records(alone).values()
    assert fresh["job_id"] == used[0]["job_id"] and fresh["timings"]["process_jobs_before"] == 0
    assert _outcome(fresh) == _outcome(used[0])


def run(pool, fn, name):
    """Submit ``fn`` to ``pool`` as job ``name`` and wait for it; its handle."""
    job = pool.submit(fn, name)
    while not job.done():
        time.sleep(0.02)
    return job


def test_pool_puts_back_global_state_logs_output_and_replaces_a_dead_worker(tmp_path):
    import torch

    from kd_gan_bench.benchmarks.execution.workers import WorkerDiedError, WorkerPool

    pool = WorkerPool(1, tmp_path)
    try:
        fresh_threads = run(pool, torch.get_num_threads, "a").result()
        first_pid = run(pool, os.getpid, "b").result()
        run(pool, functools.partial(torch.set_num_threads, fresh_threads + 1), "c").result()
        assert run(pool, torch.get_num_threads, "d").result() == fresh_threads, "a job's thread count does not leak"
        assert run(pool, functools.partial(torch.rand, 3), "e").result().tolist() == \
            run(pool, functools.partial(torch.rand, 3), "f").result().tolist(), "each job starts from the same RNG"
        run(pool, functools.partial(print, "hello from a job"), "g").result()
        assert (tmp_path / "g.log").read_text() == "hello from a job\n"
        assert run(pool, os.getpid, "h").result() == first_pid, "one worker ran every job so far"
        died = run(pool, functools.partial(os._exit, 3), "i").exception()
        assert isinstance(died, WorkerDiedError) and "exit code 3" in str(died) and "i.log" in str(died)
        assert run(pool, os.getpid, "j").result() != first_pid, "a fresh worker replaced the dead one"
    finally:
        pool.shutdown()
    assert not pool.workers


def minor_faults_of_large_buffers(megabytes: int = 64, times: int = 4) -> int:
    """Minor page faults of allocating, filling and freeing a ``megabytes`` float32 tensor ``times`` times."""
    import resource

    import torch

    before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
    for _ in range(times):
        torch.empty(megabytes * 2 ** 18).fill_(1.0)
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before


def _thp_allowed() -> bool:
    try:
        mode = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    return "[never]" not in mode


def test_workers_put_large_buffers_on_huge_pages_unless_the_environment_says_otherwise(tmp_path, monkeypatch):
    """A worker turns on PyTorch's transparent-huge-page allocation (a 64 MB buffer then costs tens of page faults,
    not 16,000); a value the user's environment sets is kept."""
    from kd_gan_bench.benchmarks.execution.workers import HUGE_PAGES_SWITCH, WorkerPool

    def in_worker(fn, value=None):
        if value is None:
            monkeypatch.delenv(HUGE_PAGES_SWITCH, raising=False)
        else:
            monkeypatch.setenv(HUGE_PAGES_SWITCH, value)
        pool = WorkerPool(1, tmp_path)
        try:
            return run(pool, fn, "job").result()
        finally:
            pool.shutdown()

    assert in_worker(functools.partial(os.getenv, HUGE_PAGES_SWITCH)) == "1"
    assert in_worker(functools.partial(os.getenv, HUGE_PAGES_SWITCH), "0") == "0"
    if not _thp_allowed():
        pytest.skip("this kernel does not allow transparent huge pages")
    small_pages = in_worker(minor_faults_of_large_buffers, "0")
    huge_pages = in_worker(minor_faults_of_large_buffers)
    print(f"minor faults of 4 x 64 MB buffers: {small_pages} with 4 KB pages, {huge_pages} with huge pages")
    assert small_pages > 4 * 16000 * 0.9 and huge_pages < small_pages / 4

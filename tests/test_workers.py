"""The local executor's long-lived workers (kd_gan_bench.benchmarks.execution.workers): a job's record is the same whether its worker is
fresh or already ran another job, and a worker killed mid-job fails that job only, through the CLI."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_pool_puts_back_global_state_logs_output_and_replaces_a_dead_worker(tmp_path):
    import functools

    import torch

    from kd_gan_bench.benchmarks.execution.workers import WorkerDiedError, WorkerPool

    def run(pool, fn, name):
        job = pool.submit(fn, name)
        while not job.done():
            time.sleep(0.02)
        return job

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

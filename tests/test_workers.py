"""The local executor's long-lived workers (benchmarks.workers): a job's record is the same whether its worker is
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
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", *GRID, "--results", str(results)], cwd=REPO,
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

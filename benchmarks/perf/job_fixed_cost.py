"""Each job's fixed cost (process start and imports, data, building models and the FID extractor, evaluation)
against its training time, and the grid's fixed-cost share of its total CPU time (issue 19's target: at most 20%
for the default grid).

Runs a grid (the default suite, narrowed by the arguments after ``--``) in a fresh results folder with the local
executor's long-lived workers (:mod:`kd_gan_bench.benchmarks.execution.workers`), one job at a time, and reads CPU times (all threads, not
wall: a shared machine's load does not change them much) from the records (:func:`kd_gan_bench.benchmarks.execution.runner._run_body`,
:func:`kd_gan_bench.benchmarks.core.timing.timed`) and the grid process's whole CPU time (it and its workers) from
``getrusage``. The per-job-subprocess figure the workers replaced is estimated from the same run: every job paying
what only a worker's first job pays here, the process start (``process_cpu_before_s``) and the FID extractor's
construction (measured here in this process).

    python -m kd_gan_bench.benchmarks.perf.job_fixed_cost -- --seeds 0 --methods scratch output_kd nokd vanilla_kd
"""
from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from kd_gan_bench.benchmarks.core.environment import REPO_ROOT


def _children_cpu() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def extractor_build_cpu() -> tuple[str, float]:
    """CPU seconds to build the grid's FID extractor (resolved as a grid resolves it) in a process that has not."""
    import torch

    from kd_gan_bench.benchmarks.metrics import fid
    from kd_gan_bench.benchmarks.metrics.extractor import resolve_extractor
    from kd_gan_bench.methods.weights import resolver as weights_files
    extractor = resolve_extractor(None, "auto", log_fn=lambda *_: None)
    sha = weights_files.sha256_file(Path(extractor.weights_path)) if extractor.weights_path else ""
    start = time.process_time()
    fid._network(extractor.name, extractor.weights_path, sha, str(torch.device("cpu")))
    return extractor.label, time.process_time() - start


def run_grid(grid_args: list[str], results: Path, max_parallel: int) -> float:
    """Run the grid; return the CPU seconds it and its workers used."""
    before = _children_cpu()
    cmd = [sys.executable, "-m", "kd_gan_bench.benchmarks.run", "grid", *grid_args, "--results", str(results), "--executor", "local",
           "--max-parallel", str(max_parallel), "--no-report", "--no-progress"]
    proc = subprocess.run(cmd, cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode not in (0, 1):  # 1: some job failed; its record says why, the costs still count
        raise SystemExit(f"grid failed (exit {proc.returncode}):\n{proc.stderr[-3000:]}")
    return _children_cpu() - before


def job_rows(results: Path) -> list[dict[str, Any]]:
    """Per job: CPU seconds of the process start (a fresh worker's first job only), training and the rest."""
    rows = []
    for path in sorted((results / "jobs").glob("*/record.json")):
        record = json.loads(path.read_text())
        t = record.get("timings") or {}
        if "cpu_s" not in t:
            continue  # blocked, or failed before its body ran
        fresh = t.get("process_jobs_before", 0) == 0
        rows.append({"job": record["job_id"], "method": record["config"]["method"], "fresh": fresh,
                     "start": t["process_cpu_before_s"] if fresh else 0.0, "train": t.get("train_cpu_s", 0.0),
                     "eval": t.get("eval_cpu_s", 0.0), "fid": t.get("metric_fid_cpu_s", 0.0), "body": t["cpu_s"]})
    return rows


def report(rows: list[dict[str, Any]], total: float, build: float, label: str) -> str:
    lines = [f"{'job':<16} {'method':<20} {'start':>7} {'setup':>7} {'eval':>7} {'of it FID':>9} {'fixed':>7} "
             f"{'train':>7}  (CPU s)"]
    for r in rows:
        fixed = r["start"] + r["body"] - r["train"]
        lines.append(f"{r['job']:<16} {r['method']:<20} {r['start']:>7.1f} {r['body'] - r['train'] - r['eval']:>7.1f} "
                     f"{r['eval']:>7.1f} {r['fid']:>9.1f} {fixed:>7.1f} {r['train']:>7.1f}"
                     + ("  fresh worker" if r["fresh"] else ""))
    train, fid = sum(r["train"] for r in rows), sum(r["fid"] for r in rows)
    starts = [r["start"] for r in rows if r["fresh"]]
    start = statistics.mean(starts) if starts else 0.0
    reused = len(rows) - len(starts)
    per_job_old = total + reused * (start + build)
    lines += [
        "",
        f"{len(rows)} jobs, {len(starts)} worker start(s); process start and imports {start:.1f} CPU s, "
        f"building the FID extractor ({label}) {build:.1f} CPU s",
        f"the grid process itself (planning, polling, the report's imports): "
        f"{total - sum(r['start'] + r['body'] for r in rows):.1f} CPU s",
        f"workers (measured):          total {total:7.1f} CPU s, training {train:7.1f}, fixed {total - train:7.1f} "
        f"= {100 * (total - train) / total:.0f}% ({(total - train) / len(rows):.1f} CPU s per job)",
        f"one process per job (est.):  total {per_job_old:7.1f} CPU s, training {train:7.1f}, fixed "
        f"{per_job_old - train:7.1f} = {100 * (per_job_old - train) / per_job_old:.0f}% "
        f"({(per_job_old - train) / len(rows):.1f} CPU s per job)",
        f"of the fixed cost, FID (the extractor on each job's translations, and the statistics): {fid:.1f} CPU s "
        f"= {100 * fid / total:.0f}% of the total, a floor while every image-to-image job is scored by FID",
        "target: fixed cost at most 20% of the default grid's CPU time (issue 19)",
    ]
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--max-parallel", type=int, default=1,
                        help="workers (default 1: one job at a time, so each record's CPU time is its own)")
    parser.add_argument("--results", type=Path, help="results folder (default: a temporary one, removed after)")
    parser.add_argument("grid_args", nargs="*", help="after --: arguments for `kd_gan_bench.benchmarks.run grid`")
    args = parser.parse_args(argv)
    label, build = extractor_build_cpu()
    with tempfile.TemporaryDirectory(prefix="job-fixed-cost-") as tmp:
        results = args.results or Path(tmp)
        total = run_grid(args.grid_args, results, args.max_parallel)
        rows = job_rows(results)
    if not rows:
        raise SystemExit("no job ran (all skipped or blocked?)")
    print(report(rows, total, build, label))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

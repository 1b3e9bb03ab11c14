"""Whether the default board's measurements can tell students apart: the power of its headline metrics.

    python -m kd_gan_bench.benchmarks.perf.board_power [--steps 30] [--seeds 0 1 2] [--parts default_i2i ...] [--results DIR]

For each part of the ``default`` suite, its family's first baseline (``scratch`` for image-to-image, ``nokd`` for
classification and regression: no teacher to distil, so the comparison is of the training alone) is trained through
the real harness (``python -m kd_gan_bench.benchmarks.run grid``, local executor, one fresh results folder per part) in three
configurations, each with every seed: the suite's largest student for N and for 3N steps, and its next smaller
student for N steps. Then, on every quality metric of the task (its headline first), it prints each configuration's
mean and seed std and, for "N vs 3N steps" and "larger vs smaller student", the board's two tests
(:func:`kd_gan_bench.report.summary.metric_tests`: Welch's t-test over seeds and the paired test over the same test-set subsets)
and whether the board separates them (:func:`kd_gan_bench.report.statistics.distinguishable`: every available test at
alpha = 0.05, as the board's best marks are decided).

The minimal detectable difference (MDD) at the seeds given is the difference each test detects with 80% power at
alpha 0.05 (two-sided): for Welch's test, the effect size of a two-sample t-test with that many seeds a side
(statsmodels ``TTestIndPower``) times the pooled within-configuration seed std of the three configurations; for the
paired test, (z_0.975 + z_0.8) times the std of the per-subset differences of the N vs 3N pair. The board needs
both, so its MDD is the larger. These are estimates from three configurations' spread, not guarantees.
"""
from __future__ import annotations

import argparse
import json
import math
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from scipy import stats
from statsmodels.stats.power import TTestIndPower

from kd_gan_bench.benchmarks.records.collect import collect
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.planning.overrides import suite_family
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.datasets.registry import quality_metrics
from kd_gan_bench.report import statistics
from kd_gan_bench.report.summary import metric_tests, summarize

POWER = 0.8


def _grid(part: str, method: str, student: dict[str, Any], steps: int, seeds: Sequence[int], folder: Path) -> None:
    sets = [f"student.{k}={json.dumps(v, separators=(',', ':'))}" for k, v in student.items() if k != "arch"]
    cmd = [sys.executable, "-m", "kd_gan_bench.benchmarks.run", "grid", "--suite", part, "--methods", method, "--seeds",
           *map(str, seeds), "--set", f"student_schedule.steps={steps}", *(a for s in sets for a in ("--set", s)),
           "--results", str(folder), "--executor", "local", "--no-report", "--no-progress"]
    print("$", " ".join(cmd[1:]), flush=True)
    subprocess.run(cmd, check=True, stdout=subprocess.DEVNULL)


def _run_part(part: str, steps: int, seeds: Sequence[int], folder: Path) -> tuple[str, dict[str, pd.Series]]:
    """Train the three configurations of ``part`` into ``folder``; the task and each configuration's summary row."""
    suite = SUITES.get(part)
    family = FAMILIES.get(suite_family(suite))
    method = family.baselines[0]
    large, small = suite.students[0], suite.students[1]
    configs = {f"N={steps}": (large, steps), f"3N={3 * steps}": (large, 3 * steps), f"smaller, N={steps}": (small, steps)}
    store = ResultStore(folder)
    rows = {}
    for label, (student, n) in configs.items():
        before = set(p.name for p in store.jobs_dir.iterdir()) if store.jobs_dir.exists() else set()
        _grid(part, method, student, n, seeds, folder)
        new = {p.name for p in store.jobs_dir.iterdir()} - before
        df, problems = collect(store)
        if problems:
            raise RuntimeError(f"{part}: corrupt records: {problems}")
        jobs = df[df["job_id"].isin(new) & (df["phase"] == "student")]
        if (jobs["status"] != "done").any() or len(jobs) != len(seeds):
            raise RuntimeError(f"{part} {label}: {len(jobs)} student jobs, statuses {sorted(set(jobs['status']))}")
        summary = summarize(jobs)
        rows[label] = summary.iloc[0]
    return suite.tasks[0]["name"], rows


def _mdd(rows: dict[str, pd.Series], m: str, n_seeds: int, pair: tuple[str, str]) -> tuple[float, float]:
    """The MDD of Welch's test (pooled seed std) and of the paired test (the pair's per-subset differences)."""
    sds = [float(r[f"{m}_std"]) for r in rows.values() if math.isfinite(float(r.get(f"{m}_std", math.nan)))]
    pooled = math.sqrt(sum(s * s for s in sds) / len(sds)) if sds else math.nan
    effect = TTestIndPower().solve_power(nobs1=n_seeds, alpha=statistics.ALPHA, power=POWER, ratio=1.0) \
        if n_seeds >= 2 else math.nan
    a, b = (rows[k].get(f"{m}_resamples") for k in pair)
    z = stats.norm.ppf(1 - statistics.ALPHA / 2) + stats.norm.ppf(POWER)
    paired = z * float(np.std(a - b, ddof=1)) if isinstance(a, np.ndarray) and isinstance(b, np.ndarray) else math.nan
    return effect * pooled, paired


def _fmt(v: float) -> str:
    return "n/a" if not math.isfinite(v) else f"{v:.3g}"


def report_part(task: str, rows: dict[str, pd.Series], n_seeds: int) -> list[str]:
    """The printed lines of one task: per metric, the configurations, the two comparisons and the MDDs."""
    labels = list(rows)
    lines = [f"== {task} ({rows[labels[0]]['method']}; {n_seeds} seeds) =="]
    for m in quality_metrics(TASKS.info(task)):
        if f"{m}_mean" not in rows[labels[0]] or not math.isfinite(float(rows[labels[0]][f"{m}_mean"])):
            continue
        spec = METRICS.get(m)
        head = " (headline)" if m == TASKS.info(task).quality_metric else ""
        lines.append(f"{spec.label} {spec.arrow}{head}:")
        for label, r in rows.items():
            lines.append(f"  {label:<16} {r['student']:<28} mean {_fmt(r[f'{m}_mean'])}  seed std {_fmt(r[f'{m}_std'])}"
                         f"  values {[round(v, 3) for v in r[f'{m}_values']]}")
        for a, b in ((labels[1], labels[0]), (labels[0], labels[2])):
            welch, paired = metric_tests(rows[a], rows[b], m)
            verdict = "SEPARATED" if statistics.distinguishable([welch, paired]) else "not separated"
            lines.append(f"  {a} vs {b}: difference {_fmt(welch.difference)}; Welch p {_fmt(welch.p)}, "
                         f"paired p {_fmt(paired.p)} -> {verdict}")
        seeds_mdd, paired_mdd = _mdd(rows, m, n_seeds, (labels[1], labels[0]))
        lines.append(f"  minimal detectable difference at {n_seeds} seeds (alpha {statistics.ALPHA}, power {POWER}): "
                     f"Welch {_fmt(seeds_mdd)}, paired {_fmt(paired_mdd)}, board (both) "
                     f"{_fmt(max(seeds_mdd, paired_mdd) if math.isfinite(paired_mdd) else seeds_mdd)}")
    return lines


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--steps", type=int, default=30, help="N: the shorter schedule's student steps (default 30)")
    p.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    p.add_argument("--parts", nargs="+", default=list(SUITES.get("default").parts),
                   help="parts of the default suite (default: all)")
    p.add_argument("--results", type=Path, default=None,
                   help="an empty or new folder for the runs (default: a temporary one, removed after)")
    args = p.parse_args(argv)
    if args.steps < 1 or len(args.seeds) < 2:
        p.error(f"--steps must be >= 1 and --seeds at least two (got {args.steps}, {args.seeds})")
    if args.results is not None and args.results.exists() and any(args.results.iterdir()):
        p.error(f"--results {args.results} is not empty: give a new folder (each run's jobs are told apart by "
                f"what it adds)")
    with tempfile.TemporaryDirectory(prefix="board_power_") as tmp:
        root = args.results or Path(tmp)
        for part in args.parts:
            task, rows = _run_part(part, args.steps, args.seeds, root / part)
            print("\n".join(report_part(task, rows, len(args.seeds))), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""The per-configuration summary: the harness's per-job DataFrame aggregated over seeds, with each metric's
mean, std, seed values and 95% intervals over seeds and over the test set (:mod:`kd_gan_bench.report.statistics`)."""
from __future__ import annotations

import json
from typing import Any

import numpy as np
import pandas as pd

from kd_gan_bench.benchmarks.families.families import UNNAMED_FAMILY
from kd_gan_bench.benchmarks.metrics import METRICS

from . import statistics
from .text import STATUS_PRIORITY, as_str, seed_str

#: Columns identifying one configuration (aggregated over seeds).
KEY_COLS = ["family", "task", "phase", "method", "teacher", "student", "hparams"]
#: Latency closes a table; the other cost columns open it, then the quality and fidelity metrics, in the
#: order of their specs (``kd_gan_bench.benchmarks.metrics.METRICS``: a new metric's column appears without a change here).
TAIL_METRICS = ["latency_ms"]
COST_METRICS = [m.name for m in METRICS.in_order() if m.kind == "cost" and m.name not in TAIL_METRICS]
QUALITY_METRICS = [m.name for m in METRICS.in_order() if m.kind == "quality"]
FIDELITY_METRICS = [m.name for m in METRICS.in_order() if m.kind == "fidelity"]
STRING_COLS = ["job_id", "phase", "status", "error", "family", "task", "method", "teacher", "student",
               "hparams", "fid_extractor", "fid_protocol", "eval_protocol", "samples_png", "inputs_png", "log_path",
               "fid_weights_origin", "fid_weights_sha256"]
#: The record field holding each job's quality metric on the fixed test subsets (kd_gan_bench.benchmarks.metrics.resampling).
RESAMPLES_COL = "test_resamples"


def prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Copy ``df`` with every expected column present and key/string columns free of NaN."""
    out = df.copy()
    for col in STRING_COLS:
        if col not in out.columns:
            out[col] = None
    for col in ["seed", *COST_METRICS, *QUALITY_METRICS, *FIDELITY_METRICS, *TAIL_METRICS, "fid_n_fake", "fid_n_real"]:
        if col not in out.columns:
            out[col] = float("nan")
    if RESAMPLES_COL not in out.columns:
        out[RESAMPLES_COL] = None
    for col in KEY_COLS + ["status"]:
        out[col] = out[col].map(as_str)
    out.loc[out["family"] == "", "family"] = UNNAMED_FAMILY
    out.loc[out["status"] == "", "status"] = "missing"
    teacher_rows = out["phase"] == "teacher"
    out["method"] = out["method"].mask(teacher_rows & (out["method"] == ""), "teacher")
    out["student"] = out["student"].mask(teacher_rows & (out["student"] == ""), out["teacher"])
    return out


def _resamples(cell: Any) -> dict[str, Any]:
    """A job's ``test_resamples`` (a mapping, or its JSON text as :mod:`kd_gan_bench.benchmarks.records.collect` writes it)."""
    if isinstance(cell, str) and cell:
        try:
            cell = json.loads(cell)
        except ValueError:
            return {}
    return cell if isinstance(cell, dict) else {}


def _metric_stats(done: pd.DataFrame, m: str) -> dict[str, Any]:
    """Mean, std, n, seed values, 95% t-interval over seeds and 95% test-set interval of metric ``m``."""
    vals = pd.to_numeric(done[m], errors="coerce").dropna()
    mean = float(vals.mean()) if len(vals) else float("nan")
    records = [_resamples(c) for c in done[RESAMPLES_COL]]
    sizes = {r.get("n") for r in records if r.get(m)}
    pooled = statistics.pooled_resamples([r.get(m) for r in records]) if len(sizes) == 1 else None
    low, high = statistics.t_interval(vals)
    test_low, test_high = statistics.resample_interval(mean, pooled)
    return {f"{m}_mean": mean, f"{m}_std": float(vals.std(ddof=1)) if len(vals) >= 2 else float("nan"),
            f"{m}_n": len(vals), f"{m}_values": [float(v) for v in vals], f"{m}_ci_low": low, f"{m}_ci_high": high,
            f"{m}_test_low": test_low, f"{m}_test_high": test_high, f"{m}_resamples": pooled,
            f"{m}_resamples_n": sizes.pop() if pooled is not None else None}


def _status(counts: dict[str, int], n_done: int, n_total: int) -> str:
    if n_done == n_total:
        return "done"
    if n_done:
        return "partial"
    present = [s for s in STATUS_PRIORITY if counts.get(s)]
    return present[0] if present else sorted(counts)[0]


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (``KEY_COLS``), aggregated over seeds.

    Columns: the keys; ``n_done``/``n_total``; ``few_seeds`` (fewer than ``statistics.MIN_SEEDS`` done);
    ``status`` ('done', 'partial' or the most important non-done status); ``status_counts`` (dict); for every
    metric column of ``METRICS`` present, over done jobs: ``{metric}_mean``/``_std``/``_n``/``_values`` (the
    seeds' values), ``_ci_low``/``_ci_high`` (95% t-interval over seeds), ``_test_low``/``_test_high`` (95%
    test-set interval) and ``_resamples`` (subset values averaged over seeds, or None); ``errors`` (unique
    error texts of non-done jobs); ``logs`` (list of ``(seed, path)`` of non-done jobs with a log);
    ``samples_png``/``inputs_png`` of the first done seed; ``checkpoint``: the checkpoint policies of the done
    seeds' records (``last``, ``best_val``; "last" for records from before they said).
    """
    df = prepare(df)
    metric_cols = [m for m in METRICS if m in df.columns]
    rows = []
    for key, g in df.groupby(KEY_COLS, sort=True, dropna=False):
        g = g.sort_values("seed", kind="mergesort")
        done = g[g["status"] == "done"]
        counts = g["status"].value_counts().to_dict()
        row: dict[str, Any] = dict(zip(KEY_COLS, key))
        row.update(n_done=len(done), n_total=len(g), status=_status(counts, len(done), len(g)), status_counts=counts,
                   few_seeds=len(done) < statistics.MIN_SEEDS)
        for m in metric_cols:
            row.update(_metric_stats(done, m))
        if "kid_std" in done.columns:  # KID's own spread over its subsets, shown for a single seed
            row["kid_subset_std"] = float(pd.to_numeric(done["kid_std"], errors="coerce").mean())
        bad = g[g["status"] != "done"]
        row["errors"] = list(dict.fromkeys(as_str(e) for e in bad["error"] if as_str(e)))
        row["logs"] = [(seed_str(r.seed), as_str(r.log_path)) for r in bad.itertuples() if as_str(r.log_path)]
        first = done.iloc[0] if len(done) else None
        policies = done["checkpoint"] if "checkpoint" in done.columns else pd.Series([], dtype=object)
        row["checkpoint"] = ", ".join(sorted({as_str(c) or "last" for c in policies})) or "last"
        row["samples_png"] = as_str(first["samples_png"]) if first is not None else ""
        row["inputs_png"] = as_str(first["inputs_png"]) if first is not None else ""
        rows.append(row)
    return pd.DataFrame(rows)


def metric_tests(a: pd.Series, b: pd.Series, m: str) -> list[statistics.Test]:
    """Welch's test over seeds and the paired test-set test of rows ``a`` against ``b`` on metric ``m`` (paired only
    when both rows' subsets come from test splits of the same size: the same subset family)."""
    res_a, res_b = a.get(f"{m}_resamples"), b.get(f"{m}_resamples")
    if a.get(f"{m}_resamples_n") != b.get(f"{m}_resamples_n"):
        res_a = res_b = None
    return [statistics.welch(a.get(f"{m}_values") or [], b.get(f"{m}_values") or []),
            statistics.paired(a[f"{m}_mean"], b[f"{m}_mean"], res_a if isinstance(res_a, np.ndarray) else None,
                              res_b if isinstance(res_b, np.ndarray) else None)]

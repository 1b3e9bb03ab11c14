"""The papers' published numbers beside ours: each reported row, the configuration of ours it speaks of, the gap,
and why a reported FID is not comparable when the protocols differ (``kd_gan_bench.benchmarks.records.published`` documents the rows)."""
from __future__ import annotations

from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import METRICS

from .text import as_str, isna

INCEPTION_EXTRACTOR = "inception-v3-compat"
#: Columns of the published-results frame (``kd_gan_bench.benchmarks.records.published.load_published``).
REPORTED_COLS = ["family", "task", "csv_task", "method", "role", "generator", "params_M", "macs_G", "metric",
                 "metric_key", "value", "higher_is_better", "source", "note", "match_method", "match_network",
                 "checkpoint"]


def prepare_reported(reported: pd.DataFrame | None) -> pd.DataFrame:
    """Copy ``reported`` with every published-results column, numbers numeric and texts free of NaN."""
    out = pd.DataFrame(columns=REPORTED_COLS) if reported is None else reported.copy()
    for col in REPORTED_COLS:
        if col not in out.columns:
            out[col] = None
    for col in ("params_M", "macs_G", "value"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in set(REPORTED_COLS) - {"params_M", "macs_G", "value", "higher_is_better"}:
        out[col] = out[col].map(as_str)
    return out


def _reported_value(key: str, raw_metric: str, value: float) -> tuple[str, str]:
    """(label, formatted value) of a reported number in our metric's format when we have the metric."""
    if key in METRICS:
        metric = METRICS.get(key)
        return metric.label, metric.fmt.format(value)
    return raw_metric, "\u2013" if isna(value) else f"{value:g}"


def _matching_config(rep: pd.Series, summary: pd.DataFrame) -> pd.Series | None:
    """Our configuration a reported row speaks of (``kd_gan_bench.benchmarks.records.published`` documents the rule):
    the default-hyperparameter one when it ran, else the best; None when none finished."""
    col = f"{rep['metric_key']}_mean"
    if not rep["match_method"] or not rep["metric_key"] or col not in summary.columns:
        return None
    phase = "teacher" if rep["role"] == "teacher" else "student"
    cand = summary[(summary["phase"] == phase) & (summary["method"] == rep["match_method"])
                   & (summary["student"] == rep["match_network"]) & summary[col].notna()]
    if cand.empty:
        return None
    default = cand[cand["hparams"] == ""] if phase == "student" else cand
    pool = default if not default.empty else cand
    hib = METRICS.get(rep["metric_key"]).higher_is_better
    return pool.loc[pool[col].idxmax() if hib else pool[col].idxmin()]


def _gap(rep: pd.Series, ours: float) -> dict[str, Any]:
    metric = METRICS.get(rep["metric_key"])
    gap = ours - float(rep["value"])
    better = gap > 0 if metric.higher_is_better else gap < 0
    return {"ours": metric.fmt.format(ours), "gap": f"{gap:+.2f}",
            "gap_class": "gap-better" if better else ("gap-worse" if gap else "")}


def reported_rows(task_reported: pd.DataFrame, summary: pd.DataFrame | None,
                   task_df: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    """The published rows of a task as displayed: values in our formats, and the gap to our matching row."""
    rows = []
    order = task_reported.assign(_t=task_reported["role"] != "teacher").sort_values(["_t", "method"], kind="mergesort")
    for _, rep in order.iterrows():
        label, value = _reported_value(rep["metric_key"], rep["metric"], rep["value"])
        row = {"method": rep["method"], "role": rep["role"], "generator": rep["generator"],
               "params": "" if isna(rep["params_M"]) else f"{rep['params_M']:g}",
               "macs": "" if isna(rep["macs_G"]) else f"{rep['macs_G']:g}",
               "metric": label, "value": value, "source": rep["source"], "note": rep["note"],
               "checkpoint": rep["checkpoint"] or "unknown",
               "ours": "", "gap": "", "gap_class": "", "ours_config": ""}
        match = _matching_config(rep, summary) if summary is not None else None
        if match is not None:
            row.update(_gap(rep, float(match[f"{rep['metric_key']}_mean"])))
            why = fid_incomparable(task_df, rep)
            row.update({"gap": why, "gap_class": ""} if why else {})
            row["ours_config"] = " ".join(x for x in (match["method"], match["student"], match["hparams"]) if x)
        rows.append(row)
    return rows


def gap_cells(configs: pd.DataFrame, task_reported: pd.DataFrame,
               task_df: pd.DataFrame | None = None) -> dict[Any, str]:
    """Per configuration (summary index): "gap vs reported value" texts of the reported rows matching it
    ("not comparable: why" where the FID protocols differ)."""
    cells: dict[Any, str] = {}
    for _, rep in task_reported.iterrows():
        match = _matching_config(rep, configs)
        if match is not None:
            g = _gap(rep, float(match[f"{rep['metric_key']}_mean"]))
            reported = _reported_value(rep["metric_key"], rep["metric"], rep["value"])[1]
            text = f"{fid_incomparable(task_df, rep) or g['gap']} vs {reported} ({rep['method']})"
            cells[match.name] = "; ".join(filter(None, [cells.get(match.name, ""), text]))
    return cells


def reported_points(task_reported: pd.DataFrame, teachers: pd.DataFrame, primary: str) -> pd.DataFrame:
    """Reported rows placed in the figure: x = teacher MACs / reported MACs (the reported teacher's
    MACs when the papers give them, else our teacher's), y = the reported value of ``primary``."""
    rows = task_reported[(task_reported["metric_key"] == primary) & task_reported["value"].notna()
                         & task_reported["macs_G"].notna()]
    ref_rows = task_reported[(task_reported["role"] == "teacher") & task_reported["macs_G"].notna()]
    ours = teachers["macs_mean"].dropna() if "macs_mean" in teachers.columns else pd.Series(dtype=float)
    ref = float(ref_rows["macs_G"].iloc[0]) if not ref_rows.empty else (float(ours.iloc[0]) if len(ours) else None)
    if rows.empty or not ref:
        return pd.DataFrame(columns=["x", "y", "label"])
    return pd.DataFrame({"x": ref / rows["macs_G"], "y": rows["value"], "label": rows["method"]})


def fid_incomparable(task_df: pd.DataFrame | None, rep: pd.Series) -> str:
    """Why a reported FID cannot be compared with ours ("" when it can): the protocols must match,
    Inception features, the same real-statistics convention (``fid_convention`` of the reported row,
    see kd_gan_bench.benchmarks.records.published), N stated."""
    if rep["metric_key"] != "fid" or task_df is None:
        return ""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].notna()]
    extractors = {as_str(e) for e in done["fid_extractor"]}
    if extractors - {INCEPTION_EXTRACTOR}:
        return f"not comparable: our FID uses {', '.join(sorted(extractors - {INCEPTION_EXTRACTOR}))} features, not Inception"
    convention = as_str(rep.get("fid_convention", ""))
    if not convention:
        return "not comparable: the paper's real-statistics convention is not recorded"
    ours = {as_str(p).split(" ")[0] for p in done["fid_protocol"]}
    if ours != {convention}:
        return f"not comparable: real statistics {', '.join(sorted(ours))} vs the paper's {convention}"
    if done["fid_n_fake"].isna().any() or done["fid_n_real"].isna().any():
        return "not comparable: N not recorded"
    return ""

"""Render the leaderboard: aggregate the per-job DataFrame over seeds, draw figures, fill the template.

The input is the harness's collected DataFrame, one row per job (see ``render_report``). The
report never imports methods; it only reads columns and the metric descriptions in
``benchmarks.metrics.METRICS`` (labels, arrows, formats, ``higher_is_better``). The output is
one self-contained ``index.html``: inline CSS and JS, figures and samples as base64 data URIs,
no external URL, so it opens offline from a ``file://`` path or an e-mail attachment.
"""
from __future__ import annotations

import base64
import datetime as _dt
import math
import re
from pathlib import Path
from typing import Any, Iterable

import jinja2
import pandas as pd

from benchmarks.families import FAMILIES
from benchmarks.metrics import METRICS, Metric

from . import curves, figures, provenance

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "leaderboard.html.j2"

#: Columns identifying one configuration (aggregated over seeds).
KEY_COLS = ["family", "task", "phase", "method", "teacher", "student", "hparams"]
#: Latency closes a table; the other cost columns open it, then the quality and fidelity metrics, in the
#: order of their specs (``benchmarks.metrics.METRICS``: a new metric's column appears without a change here).
TAIL_METRICS = ["latency_ms"]
COST_METRICS = [m.name for m in METRICS.in_order() if m.kind == "cost" and m.name not in TAIL_METRICS]
QUALITY_METRICS = [m.name for m in METRICS.in_order() if m.kind == "quality"]
FIDELITY_METRICS = [m.name for m in METRICS.in_order() if m.kind == "fidelity"]
#: Non-done statuses, most important first: the status a configuration with no done seed shows.
STATUS_PRIORITY = ["failed", "timed_out", "blocked", "missing", "running", "queued"]
INCEPTION_EXTRACTOR = "inception-v3-compat"
ERROR_CHARS = 200
JOB_ERROR_CHARS = 120
STRING_COLS = ["job_id", "phase", "status", "error", "family", "task", "method", "teacher", "student",
               "hparams", "fid_extractor", "fid_protocol", "eval_protocol", "samples_png", "inputs_png", "log_path",
               "fid_weights_origin", "fid_weights_sha256"]
#: Columns of the published-results frame (``benchmarks.published.load_published``).
REPORTED_COLS = ["family", "task", "csv_task", "method", "role", "generator", "params_M", "macs_G", "metric",
                 "metric_key", "value", "higher_is_better", "source", "note", "match_method", "match_network"]


# --------------------------------------------------------------------------- small helpers


def _isna(v: Any) -> bool:
    """True for None, NaN and pandas' missing markers (scalar-safe)."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _str(v: Any) -> str:
    """A display string: '' for missing values."""
    return "" if _isna(v) else str(v)


def _truncate(text: str, n: int) -> str:
    """Collapse whitespace and cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


def _seed_str(v: Any) -> str:
    if _isna(v):
        return ""
    try:
        f = float(v)
        return str(int(f)) if f.is_integer() else str(v)
    except (TypeError, ValueError):
        return str(v)


def _file_uri(path: Any) -> str | None:
    """A ``file://`` URI for a log path, or None when unknown."""
    s = _str(path)
    if not s:
        return None
    p = Path(s).expanduser()
    try:
        return (p if p.is_absolute() else p.resolve()).as_uri()
    except ValueError:
        return None


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "task"


def _status_class(status: str) -> str:
    return "status-" + (re.sub(r"[^a-z0-9_]+", "-", status.lower()) or "unknown")


def _data_uri(png: bytes | None) -> str | None:
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def format_value(metric: Metric, mean: float, std: float, n: int) -> str:
    """``mean ± std`` with the metric's format; the std is omitted for n < 2 or a zero spread."""
    if _isna(mean):
        return "\u2013"
    text = metric.fmt.format(mean)
    if n >= 2 and not _isna(std) and abs(std) > 1e-12 * max(1.0, abs(mean)):
        text += " \u00b1 " + metric.fmt.format(std)
    return text


def _status_counts_text(counts: dict[str, int]) -> str:
    order = ["done"] + STATUS_PRIORITY + sorted(set(counts) - {"done", *STATUS_PRIORITY})
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in order if counts.get(s))


def _prepare(df: pd.DataFrame) -> pd.DataFrame:
    """Copy ``df`` with every expected column present and key/string columns free of NaN."""
    out = df.copy()
    for col in STRING_COLS:
        if col not in out.columns:
            out[col] = None
    for col in ["seed", *COST_METRICS, *QUALITY_METRICS, *FIDELITY_METRICS, *TAIL_METRICS, "fid_n_fake", "fid_n_real"]:
        if col not in out.columns:
            out[col] = float("nan")
    for col in KEY_COLS + ["status"]:
        out[col] = out[col].map(_str)
    out.loc[out["family"] == "", "family"] = "i2i"
    out.loc[out["status"] == "", "status"] = "missing"
    teacher_rows = out["phase"] == "teacher"
    out["method"] = out["method"].mask(teacher_rows & (out["method"] == ""), "teacher")
    out["student"] = out["student"].mask(teacher_rows & (out["student"] == ""), out["teacher"])
    return out


# --------------------------------------------------------------------------- aggregation


def summarize(df: pd.DataFrame) -> pd.DataFrame:
    """One row per configuration (``KEY_COLS``), aggregated over seeds.

    Columns: the keys; ``n_done``/``n_total``; ``status`` ('done', 'partial' or the most
    important non-done status); ``status_counts`` (dict); ``{metric}_mean``/``{metric}_std``
    over done jobs for every metric column of ``METRICS`` present; ``errors`` (unique error
    texts of non-done jobs); ``logs`` (list of ``(seed, path)`` of non-done jobs with a log);
    ``samples_png``/``inputs_png`` of the first done seed.
    """
    df = _prepare(df)
    metric_cols = [m for m in METRICS if m in df.columns]
    rows = []
    for key, g in df.groupby(KEY_COLS, sort=True, dropna=False):
        g = g.sort_values("seed", kind="mergesort")
        done = g[g["status"] == "done"]
        counts = g["status"].value_counts().to_dict()
        n_done, n_total = len(done), len(g)
        if n_done == n_total:
            status = "done"
        elif n_done:
            status = "partial"
        else:
            present = [s for s in STATUS_PRIORITY if counts.get(s)]
            status = present[0] if present else sorted(counts)[0]
        row: dict[str, Any] = dict(zip(KEY_COLS, key))
        row.update(n_done=n_done, n_total=n_total, status=status, status_counts=counts)
        for m in metric_cols:
            vals = pd.to_numeric(done[m], errors="coerce").dropna()
            row[f"{m}_mean"] = float(vals.mean()) if len(vals) else float("nan")
            row[f"{m}_std"] = float(vals.std(ddof=1)) if len(vals) >= 2 else float("nan")
            row[f"{m}_n"] = len(vals)
        if "kid_std" in done.columns:  # KID's own spread over its subsets, shown for a single seed
            row["kid_subset_std"] = float(pd.to_numeric(done["kid_std"], errors="coerce").mean())
        bad = g[g["status"] != "done"]
        row["errors"] = list(dict.fromkeys(_str(e) for e in bad["error"] if _str(e)))
        row["logs"] = [(_seed_str(r.seed), _str(r.log_path)) for r in bad.itertuples() if _str(r.log_path)]
        first = done.iloc[0] if n_done else None
        row["samples_png"] = _str(first["samples_png"]) if first is not None else ""
        row["inputs_png"] = _str(first["inputs_png"]) if first is not None else ""
        rows.append(row)
    return pd.DataFrame(rows)


def _task_metrics(task_df: pd.DataFrame, family: str) -> list[str]:
    """Metric columns of one task's table: costs, the quality metrics it has (else its family's), the fidelity
    metrics it has (beside the quality ones), latency."""
    def present(names: list[str]) -> list[str]:
        return [m for m in names if m in task_df.columns and task_df[m].notna().any()]

    quality = present(QUALITY_METRICS) or list(FAMILIES.get(family).metrics if family in FAMILIES else ())
    return [m for m in COST_METRICS + quality + present(FIDELITY_METRICS) + TAIL_METRICS if m in METRICS]


def _primary_metric(metrics: list[str]) -> str | None:
    return next((m for m in metrics if m in QUALITY_METRICS), None)


def _sort_configs(students: pd.DataFrame, primary: str | None) -> pd.DataFrame:
    """Students by primary metric (best first); no-value configs after, all-failed last."""
    if students.empty:
        return students
    s = students.copy()
    s["_nodone"] = s["n_done"] == 0
    if primary and f"{primary}_mean" in s.columns:
        hib = METRICS.get(primary).higher_is_better
        v = s[f"{primary}_mean"]
        s["_missing"] = v.isna()
        s["_key"] = -v if hib else v
    else:
        s["_missing"], s["_key"] = False, 0.0
    s = s.sort_values(["_nodone", "_missing", "_key", "method", "student", "hparams"], kind="mergesort")
    return s.drop(columns=["_nodone", "_missing", "_key"])


def _row_view(r: pd.Series, metrics: list[str], best: dict[str, float], kind: str) -> dict[str, Any]:
    """The template's view of one leaderboard row."""
    cells = []
    for m in metrics:
        metric = METRICS.get(m)
        mean, std = r.get(f"{m}_mean", float("nan")), r.get(f"{m}_std", float("nan"))
        n = int(r.get(f"{m}_n", 0) or 0)
        if m == "kid" and n == 1:
            std, n = r.get("kid_subset_std", float("nan")), 2  # one seed: mean +- std over KID's subsets
        is_best = kind == "student" and m in best and not _isna(mean) and math.isclose(mean, best[m], rel_tol=1e-9, abs_tol=1e-12)
        cells.append({
            "text": format_value(metric, mean, std, n),
            "sort": "" if _isna(mean) else repr(float(mean)),
            "best": is_best,
        })
    errors = r["errors"]
    return {
        "kind": kind,
        "method": r["method"], "teacher": r["teacher"], "student": r["student"], "hparams": r["hparams"],
        "cells": cells,
        "seeds_text": f"{r['n_done']}/{r['n_total']} seed{'s' if r['n_total'] != 1 else ''}",
        "n_done": int(r["n_done"]),
        "status": r["status"],
        "status_class": _status_class(r["status"]),
        "status_text": "done" if r["status"] == "done" else _status_counts_text(r["status_counts"]),
        "error_short": _truncate(errors[0], ERROR_CHARS) if errors else "",
        "error_full": "\n".join(errors),
        "logs": [{"label": f"log seed {seed}" if seed else "log", "uri": _file_uri(p), "path": p}
                 for seed, p in r["logs"] if _file_uri(p)],
    }


def _best_values(students: pd.DataFrame, metrics: list[str]) -> dict[str, float]:
    best = {}
    done = students[students["n_done"] > 0] if not students.empty else students
    for m in metrics:
        col = f"{m}_mean"
        if done.empty or col not in done.columns or done[col].dropna().empty:
            continue
        vals = done[col].dropna()
        best[m] = float(vals.max() if METRICS.get(m).higher_is_better else vals.min())
    return best


def _extractor_desc(name: str) -> str:
    if name == INCEPTION_EXTRACTOR:
        return f"{name} features (Inception-v3, torch-fidelity compatible)"
    return f"{name} features (NOT Inception FID)" if name else "unknown extractor"


def _fid_notes(task_df: pd.DataFrame) -> list[str]:
    """One line per distinct FID protocol used by the task's done jobs: features, weights' origin and
    sha256, real-statistics convention, N, and KID's subsets."""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].notna()]
    notes = []
    seen = set()
    for r in done.itertuples():
        key = (_str(r.fid_extractor), _str(r.fid_protocol), _seed_str(r.fid_n_fake), _seed_str(r.fid_n_real),
               _str(getattr(r, "fid_weights_origin", "")), _str(getattr(r, "fid_weights_sha256", "")),
               _seed_str(getattr(r, "kid_subset_size", None)), _seed_str(getattr(r, "kid_subsets", None)))
        if key in seen:
            continue
        seen.add(key)
        ext, proto, nf, nr, origin, sha, kid_m, kid_k = key
        parts = [f"FID: {_extractor_desc(ext)}"]
        if origin:
            parts.append(f"weights: {origin}" + (f" (sha256 {sha[:12]})" if sha else ""))
        if proto:
            parts.append(proto)
        if nf or nr:
            parts.append(f"N={nf or '?'} generated vs {nr or '?'} real")
        if kid_m:
            parts.append(f"KID x1e3: mean \u00b1 std over {kid_k} subsets of {kid_m} (a single seed shows the subsets' "
                         f"std, several seeds the seeds' std)")
        notes.append(", ".join(parts))
    return notes


def _fid_incomparable(task_df: pd.DataFrame | None, rep: pd.Series) -> str:
    """Why a reported FID cannot be compared with ours ("" when it can): the protocols must match,
    Inception features, the same real-statistics convention (``fid_convention`` of the reported row,
    see benchmarks.published), N stated."""
    if rep["metric_key"] != "fid" or task_df is None:
        return ""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].notna()]
    extractors = {_str(e) for e in done["fid_extractor"]}
    if extractors - {INCEPTION_EXTRACTOR}:
        return f"not comparable: our FID uses {', '.join(sorted(extractors - {INCEPTION_EXTRACTOR}))} features, not Inception"
    convention = _str(rep.get("fid_convention", ""))
    if not convention:
        return "not comparable: the paper's real-statistics convention is not recorded"
    ours = {_str(p).split(" ")[0] for p in done["fid_protocol"]}
    if ours != {convention}:
        return f"not comparable: real statistics {', '.join(sorted(ours))} vs the paper's {convention}"
    if done["fid_n_fake"].isna().any() or done["fid_n_real"].isna().any():
        return "not comparable: N not recorded"
    return ""


def _protocol_notes(task_df: pd.DataFrame) -> list[str]:
    """Evaluation protocols of the task's done jobs that FID notes do not cover (mIoU, accuracy, MAE, the
    FID of cGAN-KD's fake set)."""
    done = task_df[(task_df["status"] == "done") & task_df["fid"].isna()]
    return list(dict.fromkeys(_str(p) for p in done["eval_protocol"] if _str(p)))


def _cell(value: Any, fmt: str) -> str:
    return "\u2013" if _isna(value) else fmt.format(value)


def _artifact_tables(task_df: pd.DataFrame, tables: dict[str, Any]) -> list[dict[str, Any]]:
    """Per artifact of the task with a declared table (``tables``: artifact name -> ``{"title", "caption",
    "columns"}``, from its registry entry), one row per job: its declared columns, status, error, log."""
    out = []
    for name, table in sorted(tables.items()):
        jobs = task_df[(task_df["phase"] == "artifact") & (task_df["method"] == name)]
        if jobs.empty:
            continue
        rows = []
        for r in jobs.sort_values(["teacher", "seed"]).to_dict("records"):
            err = _str(r.get("error"))
            rows.append({
                "teacher": r["teacher"], "seed": _seed_str(r["seed"]), "status": r["status"],
                "status_class": _status_class(r["status"]),
                "cells": [_cell(r.get(key), fmt) for key, _label, _tip, fmt in table["columns"]],
                "error_short": _truncate(err, ERROR_CHARS) if err else "", "error_full": err,
                "log_uri": _file_uri(r.get("log_path")), "log_path": _str(r.get("log_path")),
            })
        out.append({"title": table["title"], "caption": table["caption"], "rows": rows,
                    "columns": [{"label": label, "title": tip} for _key, label, tip, _fmt in table["columns"]]})
    return out


# --------------------------------------------------------------------------- published (reported) numbers


def _prepare_reported(reported: pd.DataFrame | None) -> pd.DataFrame:
    out = pd.DataFrame(columns=REPORTED_COLS) if reported is None else reported.copy()
    for col in REPORTED_COLS:
        if col not in out.columns:
            out[col] = None
    for col in ("params_M", "macs_G", "value"):
        out[col] = pd.to_numeric(out[col], errors="coerce")
    for col in set(REPORTED_COLS) - {"params_M", "macs_G", "value", "higher_is_better"}:
        out[col] = out[col].map(_str)
    return out


def _reported_value(key: str, raw_metric: str, value: float) -> tuple[str, str]:
    """(label, formatted value) of a reported number in our metric's format when we have the metric."""
    if key in METRICS:
        metric = METRICS.get(key)
        return metric.label, metric.fmt.format(value)
    return raw_metric, "\u2013" if _isna(value) else f"{value:g}"


def _matching_config(rep: pd.Series, summary: pd.DataFrame) -> pd.Series | None:
    """Our configuration a reported row speaks of (``benchmarks.published`` documents the rule):
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


def _reported_rows(task_reported: pd.DataFrame, summary: pd.DataFrame | None,
                   task_df: pd.DataFrame | None = None) -> list[dict[str, Any]]:
    rows = []
    order = task_reported.assign(_t=task_reported["role"] != "teacher").sort_values(["_t", "method"], kind="mergesort")
    for _, rep in order.iterrows():
        label, value = _reported_value(rep["metric_key"], rep["metric"], rep["value"])
        row = {"method": rep["method"], "role": rep["role"], "generator": rep["generator"],
               "params": "" if _isna(rep["params_M"]) else f"{rep['params_M']:g}",
               "macs": "" if _isna(rep["macs_G"]) else f"{rep['macs_G']:g}",
               "metric": label, "value": value, "source": rep["source"], "note": rep["note"],
               "ours": "", "gap": "", "gap_class": "", "ours_config": ""}
        match = _matching_config(rep, summary) if summary is not None else None
        if match is not None:
            row.update(_gap(rep, float(match[f"{rep['metric_key']}_mean"])))
            why = _fid_incomparable(task_df, rep)
            row.update({"gap": why, "gap_class": ""} if why else {})
            row["ours_config"] = " ".join(x for x in (match["method"], match["student"], match["hparams"]) if x)
        rows.append(row)
    return rows


def _gap_cells(configs: pd.DataFrame, task_reported: pd.DataFrame,
               task_df: pd.DataFrame | None = None) -> dict[Any, str]:
    """Per configuration (summary index): "gap vs reported value" texts of the reported rows matching it
    ("not comparable: why" where the FID protocols differ)."""
    cells: dict[Any, str] = {}
    for _, rep in task_reported.iterrows():
        match = _matching_config(rep, configs)
        if match is not None:
            g = _gap(rep, float(match[f"{rep['metric_key']}_mean"]))
            reported = _reported_value(rep["metric_key"], rep["metric"], rep["value"])[1]
            text = f"{_fid_incomparable(task_df, rep) or g['gap']} vs {reported} ({rep['method']})"
            cells[match.name] = "; ".join(filter(None, [cells.get(match.name, ""), text]))
    return cells


def _reported_points(task_reported: pd.DataFrame, teachers: pd.DataFrame, primary: str) -> pd.DataFrame:
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


def _sample_rows(teachers: pd.DataFrame, students: pd.DataFrame, artifacts: pd.DataFrame) -> list[tuple[str, str]]:
    """Image-to-image: inputs, the teacher's and every student's translations. Classification/regression:
    real training images and the cGAN-KD fakes of the same labels."""
    rows: list[tuple[str, str]] = []
    done = artifacts[artifacts["n_done"] > 0] if not artifacts.empty else artifacts
    for _, a in done.iterrows():
        rows += [(f"real\n{a['teacher']}", a["inputs_png"]), (f"cGAN-KD fakes\n{a['teacher']}", a["samples_png"])]
    if not artifacts.empty:
        return rows
    tdone = teachers[teachers["n_done"] > 0] if not teachers.empty else teachers
    if not tdone.empty:
        rows.append(("input", tdone.iloc[0]["inputs_png"]))
        for _, t in tdone.iterrows():
            rows.append((f"teacher\n{t['teacher']}", t["samples_png"]))
    for _, s in students.iterrows():
        if s["n_done"] > 0:
            rows.append((_config_label(s, "\n"), s["samples_png"]))
    return rows


def _task_section(family: str, task: str, task_df: pd.DataFrame, summary: pd.DataFrame,
                  methods_order: list[str], students_order: list[str], task_reported: pd.DataFrame,
                  artifact_tables: dict[str, Any]) -> dict[str, Any]:
    """Everything the template needs for one task: table, reported numbers, notes, figure, sample grid."""
    metrics = _task_metrics(task_df, family)
    primary = _primary_metric(metrics)
    teachers = summary[summary["phase"] == "teacher"]
    students = _sort_configs(summary[summary["phase"] == "student"], primary)
    artifacts = summary[summary["phase"] == "artifact"]
    best = _best_values(students, metrics)
    rows = [_row_view(r, metrics, best, "teacher") for _, r in teachers.iterrows()]
    rows += [_row_view(r, metrics, best, "student") for _, r in students.iterrows()]
    gaps = _gap_cells(summary, task_reported, task_df)
    configs = [r for _, r in teachers.iterrows()] + [r for _, r in students.iterrows()]
    seed_jobs = [task_df[(task_df[KEY_COLS] == config[KEY_COLS].to_numpy()).all(axis=1)] for config in configs]
    for row, config, jobs in zip(rows, configs, seed_jobs, strict=True):
        row["gap"] = gaps.get(config.name, "")
        row["provenance"] = provenance.row_provenance(jobs)
    notes = provenance.column_notes(task_df)
    show_teacher_col = summary["teacher"].nunique() > 1

    figure_uri, figure_note = None, ""
    if primary:
        pm = METRICS.get(primary)
        done_students = students[students["n_done"] > 0] if not students.empty else students
        png = figures.quality_vs_compression_figure(
            done_students, teachers[teachers["n_done"] > 0] if not teachers.empty else teachers,
            y=primary, y_label=pm.label, y_higher_is_better=pm.higher_is_better,
            title=f"{task}: {pm.label} vs MACs compression", methods_order=methods_order,
            students_order=students_order, reported=_reported_points(task_reported, teachers, primary),
        )
        figure_uri = _data_uri(png)
        if png is None:
            figure_note = f"No finished job with both {pm.label} and a MACs ratio yet: nothing to plot."

    grid_png, skipped = figures.sample_grid(_sample_rows(teachers, students, artifacts))
    grid_note = ""
    if grid_png is None:
        grid_note = "No sample strips available for this task."
    elif skipped:
        grid_note = "No sample strip for: " + "; ".join(s.replace("\n", " / ") for s in skipped) + "."

    return {
        "family": family, "task": task, "anchor": _slug(f"{family}-{task}"),
        "columns": [{"label": METRICS.get(m).label, "arrow": METRICS.get(m).arrow,
                     "title": " ".join([METRICS.get(m).description, *notes.get(m, [])])} for m in metrics],
        "column_notes": [{"label": METRICS.get(m).label, "notes": notes[m]} for m in metrics if notes.get(m)],
        "curves_uri": _data_uri(curves.loss_curves_figure(
            [(_config_label(c), list(j["history"])) for c, j in zip(configs, seed_jobs) if "history" in j.columns])),
        "show_teacher_col": show_teacher_col,
        "show_gap_col": bool(gaps),
        "rows": rows,
        "reported_rows": _reported_rows(task_reported, summary, task_df),
        "fid_notes": _fid_notes(task_df) if "fid" in metrics else [],
        "protocol_notes": _protocol_notes(task_df),
        "primary_label": METRICS.get(primary).label if primary else "",
        "figure_uri": figure_uri, "figure_note": figure_note,
        "grid_uri": _data_uri(grid_png), "grid_note": grid_note,
        "grid_caption": ("Rows: real training images, then the cGAN-KD fake set's samples of the same labels "
                         "(after subsampling and filtering)." if not artifacts.empty else
                         "Rows: inputs, the teacher, then each student configuration in leaderboard order "
                         "(first finished seed)."),
        "artifact_tables": _artifact_tables(task_df, artifact_tables),
        "n_jobs": len(task_df),
        "status_text": _status_counts_text(task_df["status"].value_counts().to_dict()),
    }


def _config_label(config: pd.Series, sep: str = " / ") -> str:
    """A row's name in figures: method, student and hyperparameters (a teacher: "teacher" and its network)."""
    return sep.join(x for x in (config["method"], config["student"], config["hparams"]) if x)


def _jobs_view(df: pd.DataFrame) -> list[dict[str, Any]]:
    order = df.assign(_t=(df["phase"] != "teacher"))
    order = order.sort_values(["family", "task", "_t", "method", "student", "hparams", "seed", "job_id"],
                              kind="mergesort")
    jobs = []
    for r in order.itertuples():
        err = _str(r.error)
        jobs.append({
            "job_id": _str(r.job_id), "task": r.task, "phase": r.phase, "method": r.method,
            "student": r.student, "hparams": r.hparams, "seed": _seed_str(r.seed),
            "status": r.status, "status_class": _status_class(r.status),
            "error_short": _truncate(err, JOB_ERROR_CHARS) if err else "", "error_full": err,
            "log_uri": _file_uri(r.log_path), "log_path": _str(r.log_path),
        })
    return jobs


def _extractor_warning(df: pd.DataFrame) -> dict[str, Any] | None:
    ext = df[["task", "fid_extractor"]].copy()
    ext["fid_extractor"] = ext["fid_extractor"].map(_str)
    bad = ext[(ext["fid_extractor"] != "") & (ext["fid_extractor"] != INCEPTION_EXTRACTOR)]
    if bad.empty:
        return None
    return {"extractors": sorted(bad["fid_extractor"].unique()), "tasks": sorted(bad["task"].unique())}


def _context_items(context: dict | None) -> tuple[list[dict[str, Any]], list[str]]:
    """Header items ``{label, value | values}`` and the list of extractor notes."""
    ctx = dict(context or {})
    ctx.setdefault("generated_at", _dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M:%S %Z"))
    notes = ctx.pop("extractor_notes", None) or []
    if isinstance(notes, str):
        notes = [notes]
    items = []
    for k, v in ctx.items():
        if not isinstance(v, (list, tuple, dict, set)) and _isna(v):
            continue
        label = str(k).replace("_", " ").capitalize()
        if isinstance(v, dict):
            items.append({"label": label, "value": "", "list": [f"{a}: {b}" for a, b in v.items()]})
        elif isinstance(v, (list, tuple, set)):
            items.append({"label": label, "value": "", "list": [str(x) for x in v]})
        else:
            items.append({"label": label, "value": str(v), "list": []})
    return items, [str(n) for n in notes]


def _environment() -> jinja2.Environment:
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(TEMPLATE_DIR)),
        autoescape=True,
        trim_blocks=True,
        lstrip_blocks=True,
        undefined=jinja2.StrictUndefined,
    )


def _unique_sorted(values: Iterable[str]) -> list[str]:
    return sorted({v for v in values if v})


# --------------------------------------------------------------------------- entry point


def render_report(df: pd.DataFrame, out_dir: str | Path, *, title: str = "KD-GAN leaderboard",
                  context: dict | None = None, reported: pd.DataFrame | None = None,
                  artifact_tables: dict[str, Any] | None = None) -> Path:
    """Write ``out_dir/index.html``, a self-contained leaderboard of the jobs in ``df``.

    ``df`` has one row per job (columns: job_id, phase, status, error, family, task, method,
    teacher, student, hparams, seed, the metric columns, fid_extractor/fid_protocol/fid_n_*,
    samples_png, inputs_png, log_path; missing columns are tolerated). Per task the page shows
    a leaderboard aggregated over seeds (failed/missing/blocked jobs included), the FID
    protocol, a quality-vs-compression figure with its Pareto front and a sample grid; then a
    table of every job. ``context`` (suite, git commit, device, ``extractor_notes``...) is
    shown in the header. ``reported`` (``benchmarks.published.load_published``) adds the papers'
    numbers: per task beside ours (with the gap where a row matches), in the figure, and for
    tasks not run here in a section of their own. ``artifact_tables`` (artifact name -> the table its
    registry entry declares, e.g. cGAN-KD's fake sets) adds a table of those jobs per task. Returns the
    path of the HTML file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    jobs = _prepare(df)
    published = _prepare_reported(reported)
    sections = []
    if not jobs.empty:
        summary = summarize(jobs)
        students = jobs[jobs["phase"] == "student"]
        methods_order = _unique_sorted(students["method"])
        students_order = _unique_sorted(students["student"])
        for (family, task), task_df in jobs.groupby(["family", "task"], sort=True):
            task_summary = summary[(summary["family"] == family) & (summary["task"] == task)]
            sections.append(_task_section(family, task, task_df, task_summary, methods_order, students_order,
                                          published[published["task"] == task], artifact_tables or {}))
    run_tasks = set(jobs["task"]) if not jobs.empty else set()
    reported_only = [{"family": family or "", "task": task, "anchor": _slug(f"reported-{task}"),
                      "rows": _reported_rows(rows, None)}
                     for (family, task), rows in published[~published["task"].isin(run_tasks)].groupby(
                         ["family", "task"], sort=True)]
    items, notes = _context_items(context)
    html = _environment().get_template(TEMPLATE_NAME).render(
        title=title,
        context_items=items,
        extractor_notes=notes,
        warning=_extractor_warning(jobs) if not jobs.empty else None,
        sections=sections,
        reported_only=reported_only,
        jobs=_jobs_view(jobs) if not jobs.empty else [],
        n_jobs=len(jobs),
        status_text=_status_counts_text(jobs["status"].value_counts().to_dict()) if not jobs.empty else "",
    )
    path = out_dir / "index.html"
    path.write_text(html, encoding="utf-8")
    return path

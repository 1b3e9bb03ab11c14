"""One task's section of the HTML page, from its :class:`kd_gan_bench.report.board.TaskBoard`: its summary
(:mod:`kd_gan_bench.report.findings`), the leaderboard rows' cells, the significance table, the published numbers, notes, the
quality-vs-compression figure, the training curves and the sample grid."""
from __future__ import annotations

import math
import re
from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import METRICS

from . import curves, figures, provenance
from .board import BEST, TIED, TaskBoard, config_jobs, references
from .findings import task_findings
from .notes import comparison_notes, fid_notes, protocol_notes
from .published_rows import reported_points
from .text import (as_str, data_uri, file_uri, format_value, isna, seed_str, slug, status_class,
                   status_counts_text, truncate)

ERROR_CHARS = 200
#: Between two ``k=v`` items of a row's hyperparameters (``kd_gan_bench.benchmarks.records.collect.hparams_label``), not inside a value.
HPARAM_SEPARATOR = re.compile(r", (?=\w+=)")
#: Cost columns shown at first (the others, and the intervals, fold behind the table's toggle: the table fits a
#: 1,400-px window).
MAIN_COSTS = ("macs_ratio", "latency_ms")


def secondary(metric_name: str) -> bool:
    """Whether a metric's column is folded at first: the cost columns besides :data:`MAIN_COSTS`."""
    return METRICS.get(metric_name).kind == "cost" and metric_name not in MAIN_COSTS


def _interval(metric_name: str, interval: list[float]) -> str:
    low, high = interval
    if isna(low) or isna(high):
        return "\u2013"
    fmt = METRICS.get(metric_name).fmt
    return f"[{fmt.format(low)}, {fmt.format(high)}]"


def _cells(row: dict[str, Any], metrics: list[str]) -> list[dict[str, Any]]:
    cells = []
    for m in metrics:
        d = row["metrics"][m]
        std, n = d["std"], d["n"]
        if m == "kid" and n == 1 and "subset_std" in d:
            std, n = d["subset_std"], 2  # one seed: mean +- std over KID's subsets
        mark = d["mark"] if row["kind"] == "student" else ""
        cells.append({"text": format_value(METRICS.get(m), d["mean"], std, n),
                      "sort": "" if isna(d["mean"]) else repr(float(d["mean"])),
                      "best": mark == BEST, "tied": mark == TIED, "secondary": secondary(m)})
    return cells


def row_view(row: dict[str, Any], metrics: list[str], primary: str | None) -> dict[str, Any]:
    """The template's view of one board row."""
    errors = row["errors"]
    p = row["metrics"].get(primary) if primary else None
    return {
        "kind": row["kind"],
        "method": row["method"], "teacher": row["teacher"], "student": row["student"], "hparams": row["hparams"],
        "hparams_items": HPARAM_SEPARATOR.split(row["hparams"]) if row["hparams"] else [],
        "cells": _cells(row, metrics),
        "ci_seeds": _interval(primary, p["ci95_seeds"]) if p else "", "ci_test": _interval(primary, p["ci95_test"])
        if p else "",
        "ci_sort": "" if not p or isna(p["ci95_seeds"][0]) else repr(p["ci95_seeds"][1] - p["ci95_seeds"][0]),
        "seeds_text": f"{row['n_done']}/{row['n_total']} seed{'s' if row['n_total'] != 1 else ''}",
        "few_seeds": row["few_seeds"] and row["n_done"] > 0 and row["kind"] == "student",  # one teacher per task
        "n_done": row["n_done"],
        "checkpoint": row["checkpoint"] if row["checkpoint"] != "last" else "",
        "status": row["status"],
        "status_class": status_class(row["status"]),
        "status_text": "done" if row["status"] == "done" else status_counts_text(row["status_counts"]),
        "error_short": truncate(errors[0], ERROR_CHARS) if errors else "",
        "error_full": "\n".join(errors),
        "logs": [{"label": f"log seed {seed}" if seed else "log", "uri": file_uri(p), "path": p}
                 for seed, p in row["logs"] if file_uri(p)],
        "gap": row["gap"],
        "provenance": row["provenance"],
    }


def _p_text(p: float) -> str:
    return "\u2013" if not math.isfinite(p) else ("<0.001" if p < 0.001 else f"{p:.3f}")


def comparison_view(c: dict[str, Any]) -> dict[str, Any]:
    """The template's view of one comparison (a student against a reference)."""
    fmt = METRICS.get(c["metric"]).fmt
    diff = lambda v: "\u2013" if isna(v) else ("+" if v >= 0 else "") + fmt.format(v)  # noqa: E731
    return {"config": " ".join(filter(None, (c["method"], c["student"], c["hparams"]))), "reference": c["reference"],
            "reference_config": c["reference_config"], "difference": diff(c["difference"]),
            "seeds_p": _p_text(c["seeds_p_holm"]), "seeds_verdict": c["seeds_verdict"],
            "test_interval": "\u2013" if isna(c["test_low"]) else f"[{diff(c['test_low'])}, {diff(c['test_high'])}]",
            "test_p": _p_text(c["test_p_holm"]), "test_verdict": c["test_verdict"]}


def _cell(value: Any, fmt: str) -> str:
    return "\u2013" if isna(value) else fmt.format(value)


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
            err = as_str(r.get("error"))
            rows.append({
                "teacher": r["teacher"], "seed": seed_str(r["seed"]), "status": r["status"],
                "status_class": status_class(r["status"]),
                "cells": [_cell(r.get(key), fmt) for key, _label, _tip, fmt in table["columns"]],
                "error_short": truncate(err, ERROR_CHARS) if err else "", "error_full": err,
                "log_uri": file_uri(r.get("log_path")), "log_path": as_str(r.get("log_path")),
            })
        out.append({"title": table["title"], "caption": table["caption"], "rows": rows,
                    "columns": [{"label": label, "title": tip} for _key, label, tip, _fmt in table["columns"]]})
    return out


def _sample_rows(teachers: pd.DataFrame, students: pd.DataFrame, artifacts: pd.DataFrame,
                 tables: dict[str, Any]) -> list[tuple[str, str]]:
    """Image-to-image: inputs, the teacher's and every student's translations. With artifacts (``tables``: their
    declared report tables): per artifact job, its inputs and its samples under the label its table declares
    (cGAN-KD: real training images and the fakes of the same labels)."""
    rows: list[tuple[str, str]] = []
    done = artifacts[artifacts["n_done"] > 0] if not artifacts.empty else artifacts
    for _, a in done.iterrows():
        label = tables.get(a["method"], {}).get("samples_label", a["method"])
        rows += [(f"real\n{a['teacher']}", a["inputs_png"]), (f"{label}\n{a['teacher']}", a["samples_png"])]
    if not artifacts.empty:
        return rows
    tdone = teachers[teachers["n_done"] > 0] if not teachers.empty else teachers
    if not tdone.empty:
        rows.append(("input", tdone.iloc[0]["inputs_png"]))
        for _, t in tdone.iterrows():
            rows.append((f"teacher\n{t['teacher']}", t["samples_png"]))
    for _, s in students.iterrows():
        if s["n_done"] > 0:
            rows.append((config_label(s, "\n"), s["samples_png"]))
    return rows


def _figure(tb: TaskBoard, methods_order: list[str], students_order: list[str],
            task_reported: pd.DataFrame) -> tuple[str | None, str]:
    """The quality-vs-compression figure's data URI, or None and why."""
    if not tb.primary:
        return None, ""
    pm = METRICS.get(tb.primary)
    teachers = tb.summary[(tb.summary["phase"] == "teacher") & (tb.summary["n_done"] > 0)]
    students = tb.summary[(tb.summary["phase"] == "student") & (tb.summary["n_done"] > 0)]
    png = figures.quality_vs_compression_figure(
        students, teachers, y=tb.primary, y_label=pm.label, y_higher_is_better=pm.higher_is_better,
        title=f"{tb.task}: {pm.label} vs MACs compression", methods_order=methods_order,
        students_order=students_order, reported=reported_points(task_reported, teachers, tb.primary))
    if png is None:
        return None, f"No finished job with both {pm.label} and a MACs ratio yet: nothing to plot."
    return data_uri(png), ""


def _grid(tb: TaskBoard, tables: dict[str, Any]) -> tuple[str | None, str]:
    s = tb.summary
    grid_png, skipped = figures.sample_grid(_sample_rows(s[s["phase"] == "teacher"], s[s["phase"] == "student"],
                                                         s[s["phase"] == "artifact"], tables))
    if grid_png is None:
        return None, "No sample strips available for this task."
    note = "No sample strip for: " + "; ".join(x.replace("\n", " / ") for x in skipped) + "." if skipped else ""
    return data_uri(grid_png), note


def _grid_caption(tb: TaskBoard, tables: dict[str, Any]) -> str:
    """What the sample grid's rows are: an artifact's own caption when the task has artifact jobs."""
    names = tb.summary.loc[tb.summary["phase"] == "artifact", "method"]
    captions = [tables[n]["grid_caption"] for n in sorted(set(names)) if "grid_caption" in tables.get(n, {})]
    return " ".join(captions) if captions else ("Rows: inputs, the teacher, then each student configuration in "
                                                "leaderboard order (first finished seed).")


def config_label(config: pd.Series, sep: str = " / ") -> str:
    """A row's name in figures: method, student and hyperparameters (a teacher: "teacher" and its network)."""
    return sep.join(x for x in (config["method"], config["student"], config["hparams"]) if x)


def _curves(tb: TaskBoard) -> str | None:
    """The task's loss curves (:mod:`kd_gan_bench.report.curves`), one panel per row, as a data URI."""
    configs = tb.summary[tb.summary["phase"] != "artifact"]
    histories = [(config_label(c), list(jobs["history"])) for _, c in configs.iterrows()
                 for jobs in [config_jobs(c, tb.jobs)] if "history" in jobs.columns]
    return data_uri(curves.loss_curves_figure(histories))


def task_section(tb: TaskBoard, methods_order: list[str], students_order: list[str], task_reported: pd.DataFrame,
                 artifact_tables: dict[str, Any]) -> dict[str, Any]:
    """Everything the template needs for one task: table, significance, reported numbers, notes, figure, grid."""
    figure_uri, figure_note = _figure(tb, methods_order, students_order, task_reported)
    grid_uri, grid_note = _grid(tb, artifact_tables)
    rows = [row_view(r, tb.metrics, tb.primary) for r in tb.rows]
    primary = METRICS.get(tb.primary) if tb.primary else None
    notes = provenance.column_notes(tb.jobs)
    return {
        "family": tb.family, "task": tb.task, "anchor": slug(f"{tb.family}-{tb.task}"),
        "findings": task_findings(tb),
        "columns": [{"label": METRICS.get(m).label, "arrow": METRICS.get(m).arrow, "secondary": secondary(m),
                     "title": " ".join([METRICS.get(m).description, *notes.get(m, [])])} for m in tb.metrics],
        "column_notes": [{"label": METRICS.get(m).label, "notes": notes[m]} for m in tb.metrics if notes.get(m)],
        "curves_uri": _curves(tb),
        "show_teacher_col": tb.summary["teacher"].nunique() > 1,
        "show_gap_col": any(r["gap"] for r in rows),
        "rows": rows,
        "comparisons": [comparison_view(c) for c in tb.comparisons],
        "reference_names": ", ".join(references(tb.family)),
        "comparison_notes": comparison_notes(tb.comparisons),
        "reported_rows": tb.reported,
        "fid_notes": fid_notes(tb.jobs) if "fid" in tb.metrics else [],
        "protocol_notes": protocol_notes(tb.jobs),
        "primary_label": primary.label if primary else "",
        "figure_uri": figure_uri, "figure_note": figure_note,
        "grid_uri": grid_uri, "grid_note": grid_note,
        "grid_caption": _grid_caption(tb, artifact_tables),
        "artifact_tables": _artifact_tables(tb.jobs, artifact_tables),
        "n_jobs": len(tb.jobs),
        "status_text": status_counts_text(tb.jobs["status"].value_counts().to_dict()),
    }

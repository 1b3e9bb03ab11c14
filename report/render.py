"""Render the leaderboard: the board (:mod:`kd_gan_bench.report.board`) as one self-contained HTML page, plus the same board as
``leaderboard.json`` and ``leaderboard.csv`` (:mod:`kd_gan_bench.report.export`), each written atomically (a temporary file in
the same folder and ``os.replace``, :func:`kd_gan_bench.benchmarks.core.store.atomic_write_bytes`), so that two reports of one shared
folder, or a reader during a report, never see half a file.

The input is the harness's collected DataFrame, one row per job (see ``render_report``). The
report never imports methods; it only reads columns and the metric descriptions in
``kd_gan_bench.benchmarks.metrics.METRICS`` (labels, arrows, formats, ``higher_is_better``). The output is
one self-contained ``index.html``: inline CSS and JS, figures and samples as base64 data URIs,
no external URL, so it opens offline from a ``file://`` path or an e-mail attachment.
"""
from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any, Iterable

import jinja2
import pandas as pd

from kd_gan_bench.benchmarks.core.store import atomic_write_bytes

from . import export
from .board import build_board
from .notes import STATISTICS_NOTES
from .published_rows import INCEPTION_EXTRACTOR, prepare_reported
from .sections import task_section
from .summary import COST_METRICS, FIDELITY_METRICS, QUALITY_METRICS, TAIL_METRICS, summarize
from .text import as_str, file_uri, isna, seed_str, slug, status_class, status_counts_text, truncate

__all__ = ["render_report", "summarize", "COST_METRICS", "QUALITY_METRICS", "FIDELITY_METRICS", "TAIL_METRICS"]

TEMPLATE_DIR = Path(__file__).parent / "templates"
TEMPLATE_NAME = "leaderboard.html.j2"
JOB_ERROR_CHARS = 120


def _jobs_view(df: pd.DataFrame) -> list[dict[str, Any]]:
    order = df.assign(_t=(df["phase"] != "teacher"))
    order = order.sort_values(["family", "task", "_t", "method", "student", "hparams", "seed", "job_id"],
                              kind="mergesort")
    jobs = []
    for r in order.itertuples():
        err = as_str(r.error)
        jobs.append({
            "job_id": as_str(r.job_id), "task": r.task, "phase": r.phase, "method": r.method,
            "student": r.student, "hparams": r.hparams, "seed": seed_str(r.seed),
            "status": r.status, "status_class": status_class(r.status),
            "error_short": truncate(err, JOB_ERROR_CHARS) if err else "", "error_full": err,
            "log_uri": file_uri(r.log_path), "log_path": as_str(r.log_path),
        })
    return jobs


def _extractor_warning(df: pd.DataFrame) -> dict[str, Any] | None:
    ext = df[["task", "fid_extractor"]].copy()
    ext["fid_extractor"] = ext["fid_extractor"].map(as_str)
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
        if not isinstance(v, (list, tuple, dict, set)) and isna(v):
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


def render_report(df: pd.DataFrame, out_dir: str | Path, *, title: str = "KD-GAN leaderboard",
                  context: dict | None = None, reported: pd.DataFrame | None = None,
                  artifact_tables: dict[str, Any] | None = None) -> Path:
    """Write ``out_dir/index.html``, a self-contained leaderboard of the jobs in ``df``, and the same board as
    ``out_dir/leaderboard.json`` and ``out_dir/leaderboard.csv``.

    ``df`` has one row per job (columns: job_id, phase, status, error, family, task, method,
    teacher, student, hparams, seed, the metric columns, test_resamples, fid_extractor/fid_protocol/fid_n_*,
    samples_png, inputs_png, log_path; missing columns are tolerated). Per task the page shows
    a leaderboard aggregated over seeds (failed/missing/blocked jobs included) with intervals over seeds and
    over the test set, each student's comparisons with its family's baselines and its teacher, the FID
    protocol, a quality-vs-compression figure with its Pareto front and a sample grid; then a
    table of every job. ``context`` (suite, git commit, device, ``extractor_notes``...) is
    shown in the header. ``reported`` (``kd_gan_bench.benchmarks.records.published.load_published``) adds the papers'
    numbers: per task beside ours (with the gap where a row matches), in the figure, and for
    tasks not run here in a section of their own. ``artifact_tables`` (artifact name -> the table its
    registry entry declares, e.g. cGAN-KD's fake sets) adds a table of those jobs per task. Returns the
    path of the HTML file.
    """
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    board = build_board(df, reported)
    jobs, published = board.jobs, prepare_reported(reported)
    students = jobs[jobs["phase"] == "student"] if not jobs.empty else jobs
    methods_order = _unique_sorted(students["method"]) if not jobs.empty else []
    students_order = _unique_sorted(students["student"]) if not jobs.empty else []
    sections = [task_section(tb, methods_order, students_order, published[published["task"] == tb.task],
                             artifact_tables or {}) for tb in board.tasks]
    reported_only = [{**t, "anchor": slug(f"reported-{t['task']}")} for t in board.reported_only]
    items, notes = _context_items(context)
    html = _environment().get_template(TEMPLATE_NAME).render(
        title=title,
        context_items=items,
        extractor_notes=notes,
        statistics_notes=STATISTICS_NOTES if board.tasks else [],
        warning=_extractor_warning(jobs) if not jobs.empty else None,
        sections=sections,
        reported_only=reported_only,
        jobs=_jobs_view(jobs) if not jobs.empty else [],
        n_jobs=len(jobs),
        status_text=status_counts_text(jobs["status"].value_counts().to_dict()) if not jobs.empty else "",
    )
    path = out_dir / "index.html"
    atomic_write_bytes(path, html.encode("utf-8"))  # a reader (or a second report) never sees half a page
    export.write_board(board, out_dir)
    return path

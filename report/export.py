"""The board as machine-readable files (``leaderboard.json``, ``leaderboard.csv``) and the comparison of two
result folders' boards (``python -m kd_gan_bench.benchmarks.run report --compare A B``).

The JSON holds everything the HTML shows: per task its metrics, summary (:mod:`kd_gan_bench.report.findings`), rows (n, mean,
std, seed values, 95% intervals over seeds and over the test set, best marks, verdicts against each reference, gap
to the published numbers),
the comparisons (differences, raw and Holm-adjusted p-values, verdicts) and the published rows; missing
numbers are ``null``. The CSV has one line per row, the same numbers flattened (``{metric}_mean``...,
``vs_{reference}_seeds``/``_test``; text that a spreadsheet would run as a formula is quoted,
:mod:`kd_gan_bench.report.csv_guard`). Both are written from the same :class:`kd_gan_bench.report.board.Board` as the HTML.
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.metrics.resampling import SCHEME
from kd_gan_bench.benchmarks.core.store import atomic_write_bytes

from . import statistics
from .board import Board, all_references, build_board
from .csv_guard import formula_safe_frame
from .findings import task_findings
from .summary import KEY_COLS, metric_tests

JSON_NAME, CSV_NAME = "leaderboard.json", "leaderboard.csv"


def _plain(value: Any) -> Any:
    """JSON-ready: NaN -> None, numpy scalars -> Python, containers recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    if hasattr(value, "item") and not isinstance(value, (str, bytes)):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    return value


def board_json(board: Board) -> dict[str, Any]:
    """The board as plain data (see the module docstring)."""
    return _plain({
        "statistics": {"level": statistics.LEVEL, "alpha": statistics.ALPHA, "min_seeds": statistics.MIN_SEEDS,
                       "seed_test": statistics.SEED_TEST, "paired_test": statistics.PAIRED_TEST,
                       "correction": statistics.CORRECTION, "test_resampling": SCHEME},
        "tasks": [{"family": t.family, "task": t.task, "metrics": t.metrics, "primary_metric": t.primary,
                   "summary": [f["text"] for f in task_findings(t)],
                   "rows": t.rows, "comparisons": t.comparisons, "reported": t.reported} for t in board.tasks],
        "reported_only": board.reported_only,
    })


def board_frame(board: Board) -> pd.DataFrame:
    """One line per board row: identity, seeds, status, every metric's numbers, verdicts, the published gap."""
    lines, refs = [], all_references()
    for t in board.tasks:
        for row in t.rows:
            line: dict[str, Any] = {k: row[k] for k in ("kind", *KEY_COLS, "n_done", "n_total", "few_seeds",
                                                        "checkpoint", "status")}
            line["primary_metric"] = t.primary or ""
            for m, d in row["metrics"].items():
                line.update({f"{m}_mean": d["mean"], f"{m}_std": d["std"], f"{m}_n": d["n"],
                             f"{m}_ci95_seeds_low": d["ci95_seeds"][0], f"{m}_ci95_seeds_high": d["ci95_seeds"][1],
                             f"{m}_ci95_test_low": d["ci95_test"][0], f"{m}_ci95_test_high": d["ci95_test"][1],
                             f"{m}_mark": d["mark"]})
            for ref in refs:
                verdicts = row["vs"].get(ref, {})
                line[f"vs_{ref}_seeds"], line[f"vs_{ref}_test"] = verdicts.get("seeds", ""), verdicts.get("test", "")
            line["vs_reported"] = row["gap"]
            line["rerun_command"] = row["provenance"].get("command", "")
            lines.append(line)
    return pd.DataFrame(lines)


def write_board(board: Board, out_dir: Path) -> tuple[Path, Path]:
    """Write ``leaderboard.json`` and ``leaderboard.csv`` into ``out_dir``."""
    json_path, csv_path = out_dir / JSON_NAME, out_dir / CSV_NAME
    atomic_write_bytes(json_path, (json.dumps(board_json(board), indent=1, allow_nan=False) + "\n").encode())
    atomic_write_bytes(csv_path, formula_safe_frame(board_frame(board)).to_csv(index=False).encode())
    return json_path, csv_path


def _keyed(board: Board) -> dict[tuple, tuple[pd.Series, str | None]]:
    """(configuration identity) -> (its summary row, the task's primary metric)."""
    out = {}
    for t in board.tasks:
        for _, r in t.summary[t.summary["phase"] != "artifact"].iterrows():
            out[tuple(r[k] for k in KEY_COLS)] = (r, t.primary)
    return out


def _compare_line(key: tuple, a: pd.Series | None, b: pd.Series | None, metric: str | None) -> dict[str, Any]:
    line: dict[str, Any] = dict(zip(KEY_COLS, key))
    line.update(metric=metric or "", n_a=int(a["n_done"]) if a is not None else 0,
                n_b=int(b["n_done"]) if b is not None else 0)
    if a is None or b is None or not metric or a["n_done"] == 0 or b["n_done"] == 0:
        line.update(mean_a=a[f"{metric}_mean"] if a is not None and metric else math.nan,
                    mean_b=b[f"{metric}_mean"] if b is not None and metric else math.nan, delta=math.nan,
                    beyond_noise="only in A" if b is None else "only in B" if a is None else "not comparable")
        return line
    seeds, paired = metric_tests(b, a, metric)
    line.update(mean_a=a[f"{metric}_mean"], mean_b=b[f"{metric}_mean"], delta=b[f"{metric}_mean"] - a[f"{metric}_mean"],
                seeds_p=seeds.p, test_p=paired.p)
    tested = any(math.isfinite(t.p) for t in (seeds, paired))
    line["beyond_noise"] = ("yes" if statistics.distinguishable([seeds, paired]) else "no") if tested else "not tested"
    return line


def compare_frames(df_a: pd.DataFrame, df_b: pd.DataFrame) -> pd.DataFrame:
    """Per configuration (rows matched by identity: task, phase, method, teacher, student, hparams) the primary
    metric in folder A and B, delta = B - A, and whether it is beyond the noise: every available test (Welch
    over the two rows' seeds; paired over the same test subsets, which both folders share when their test
    splits have the same size) rejects at alpha = 0.05, uncorrected."""
    a, b = _keyed(build_board(df_a)), _keyed(build_board(df_b))
    lines = []
    for key in sorted(set(a) | set(b)):
        ra, rb = a.get(key), b.get(key)
        metric = (ra or rb)[1]
        lines.append(_compare_line(key, ra[0] if ra else None, rb[0] if rb else None, metric))
    return pd.DataFrame(lines)


def compare_text(frame: pd.DataFrame) -> str:
    """The comparison as an aligned table, numbers in each metric's format."""
    if frame.empty:
        return "no configurations to compare"
    shown = frame.copy()
    for col in ("mean_a", "mean_b", "delta"):
        shown[col] = [("" if not math.isfinite(v) else
                       (("+" if col == "delta" and v >= 0 else "") + METRICS.get(m).fmt.format(v)) if m in METRICS
                       else f"{v:g}") for v, m in zip(shown[col], shown["metric"], strict=True)]
    cols = ["task", "phase", "method", "student", "hparams", "metric", "n_a", "n_b", "mean_a", "mean_b", "delta",
            "beyond_noise"]
    return shown[cols].to_string(index=False)

"""``python -m kd_gan_bench.benchmarks.run report --compare RESULTS_A RESULTS_B``: per-row differences between two result
folders, for checking a change to a method (rows matched by configuration; :func:`kd_gan_bench.report.export.compare_frames`)."""
from __future__ import annotations

import sys
from pathlib import Path

import pandas as pd

from kd_gan_bench.benchmarks.records.collect import collect
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.report.csv_guard import formula_safe_frame
from kd_gan_bench.report.export import compare_frames, compare_text


def _store_frame(folder: str) -> pd.DataFrame:
    """The collected jobs of a result folder that exists and holds at least one record."""
    store = ResultStore(folder)
    if not store.root.is_dir():
        raise FileNotFoundError(f"report --compare: {folder!r} is not a folder ({store.root})")
    if next(iter(store.records()), None) is None:
        raise ValueError(f"report --compare: {store.root} holds no job records (expected jobs/*/record.json); "
                         f"pass the --results folder of a grid run")
    frame, problems = collect(store)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    return frame


def compare(folder_a: str, folder_b: str, out: str | None = None) -> int:
    """Print (and with ``out`` write as CSV) the per-row differences of two result folders' leaderboards; raise
    ``FileNotFoundError``/``ValueError`` (exit 2) before any output when a folder is missing or holds no record."""
    frames = [_store_frame(folder) for folder in (folder_a, folder_b)]  # both checked before any output
    table = compare_frames(*frames)
    print(f"A = {Path(folder_a).absolute()}\nB = {Path(folder_b).absolute()}\ndelta = B - A; beyond_noise: every "
          f"available test (Welch over seeds, paired over the shared test subsets) rejects at alpha 0.05")
    print(compare_text(table))
    if out:
        Path(out).parent.mkdir(parents=True, exist_ok=True)
        formula_safe_frame(table).to_csv(out, index=False)
        print(f"{len(table)} rows -> {out}")
    return 0

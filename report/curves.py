"""Training curves for the leaderboard (issue 13, item 7): per task, one panel per row (configuration), every
loss term its jobs' ``history`` holds (generator, discriminator and method terms), median over seeds with a
min-max band, so a reader sees whether a run converged or a teacher never learned.

A history is what ``kd_gan_bench.methods.core.training.run_steps`` records: ``{"steps": [...], term: [mean over each
log_every window, ...]}``. The median and band are seaborn's ``lineplot`` estimator and percentile interval
(0-100: min to max); one seed draws a line without a band. A panel's y axis is logarithmic when every value
is positive (loss terms of one run span orders of magnitude: an L1 of 80 beside a GAN term of 0.7), else
linear. Panels sit three to a row under matplotlib's constrained layout, their titles wrapped at
:data:`TITLE_CHARS` characters, so no text of the figure overlaps another.
"""
from __future__ import annotations

import json
import math
import textwrap
from typing import Any, Sequence

import pandas as pd
from matplotlib.figure import Figure

from .figures import DPI, png

COLUMNS = 3
#: A panel title's line length (8-pt text across a 4-inch panel).
TITLE_CHARS = 58


def _number(value: Any) -> bool:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def history_frame(histories: Sequence[Any]) -> pd.DataFrame:
    """Long format ``(seed, step, term, value)`` of the seeds' histories (dicts or their JSON text); histories
    that are missing, unreadable or without steps are left out, and so are points that are not numbers (a record
    is data: whatever it holds, the page is drawn)."""
    rows = []
    for seed, history in enumerate(histories):
        if isinstance(history, str):
            try:
                history = json.loads(history)
            except ValueError:
                continue
        if not isinstance(history, dict) or not history.get("steps"):
            continue
        steps = history["steps"]
        for term, values in history.items():
            if term != "steps" and isinstance(values, list) and len(values) == len(steps):
                rows += [(seed, s, term, v) for s, v in zip(steps, values) if _number(s) and _number(v)]
    return pd.DataFrame(rows, columns=["seed", "step", "term", "value"])


def panel_title(label: str, n_seeds: int) -> str:
    """A panel's title: the row's label and its number of seeds, wrapped at :data:`TITLE_CHARS` characters."""
    return textwrap.fill(f"{label} ({n_seeds} seed{'s' if n_seeds != 1 else ''})", TITLE_CHARS,
                         break_long_words=True)


def _panel(ax: Any, frame: pd.DataFrame, title: str, palette: dict[str, Any]) -> None:
    import seaborn as sns  # imported lazily: only needed when a figure is drawn

    terms = [t for t in palette if t in set(frame["term"])]
    sns.lineplot(data=frame, x="step", y="value", hue="term", hue_order=terms, palette=palette, estimator="median",
                 errorbar=("pi", 100), ax=ax, linewidth=1.2)
    if (frame["value"] > 0).all():
        ax.set_yscale("log")
    ax.set_title(title, fontsize=8)
    ax.set_xlabel("step", fontsize=8)
    ax.set_ylabel("loss", fontsize=8)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=6, frameon=False, loc="best")


def loss_curves_figure(rows: Sequence[tuple[str, Sequence[Any]]]) -> bytes | None:
    """One panel per ``(label, histories of its seeds)`` as PNG bytes; None when no row has a history."""
    fig = loss_curves(rows)
    return None if fig is None else png(fig)


def loss_curves(rows: Sequence[tuple[str, Sequence[Any]]]) -> Figure | None:
    """The figure of :func:`loss_curves_figure` (None when no row has a history)."""
    import seaborn as sns

    panels = [(label, frame) for label, frame in ((lbl, history_frame(h)) for lbl, h in rows) if not frame.empty]
    if not panels:
        return None
    terms = sorted({t for _, frame in panels for t in frame["term"]})  # one colour per term in every panel
    palette = dict(zip(terms, sns.color_palette("tab10" if len(terms) <= 10 else "husl", n_colors=len(terms))))
    n_rows, n_cols = math.ceil(len(panels) / COLUMNS), min(COLUMNS, len(panels))
    titles = [panel_title(label, frame["seed"].nunique()) for label, frame in panels]
    lines = [max(t.count("\n") for t in titles[i:i + COLUMNS]) for i in range(0, len(titles), COLUMNS)]
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(4.0 * n_cols, 2.9 * n_rows + 0.14 * sum(lines)), dpi=DPI, layout="constrained")
        for i, ((_, frame), title) in enumerate(zip(panels, titles)):
            _panel(fig.add_subplot(n_rows, n_cols, i + 1), frame, title, palette)
        return fig

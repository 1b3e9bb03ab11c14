"""Figures for the leaderboard: the Pareto front, the quality-vs-compression plot, the sample grid (training
curves: :mod:`kd_gan_bench.report.curves`).

Everything here is a pure function of plain data (DataFrames, paths) returning PNG bytes, so
the renderer can embed the result as a base64 data URI. Plots use the object-oriented
matplotlib API (``matplotlib.figure.Figure``, Agg canvas) and never touch pyplot's global
state or the process-wide backend.
"""
from __future__ import annotations

import io
import math
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

DPI = 100
MARKERS = ["o", "s", "D", "^", "v", "P", "X", "<", ">", "h", "p", "8"]


def pareto_front(
    points: pd.DataFrame,
    x: str,
    y: str,
    x_higher_is_better: bool,
    y_higher_is_better: bool,
) -> pd.DataFrame:
    """Return the non-dominated rows of ``points`` (original index kept), sorted by ``x`` ascending.

    A row is dominated when another row is at least as good on both ``x`` and ``y`` and
    strictly better on one of them. Rows with NaN in ``x`` or ``y`` are ignored; exact
    duplicates of a front point are all kept (neither dominates the other).
    """
    pts = points.dropna(subset=[x, y])
    if pts.empty:
        return pts.copy()
    # Orient both axes so that larger is better.
    xs = pts[x].to_numpy(dtype=float) * (1.0 if x_higher_is_better else -1.0)
    ys = pts[y].to_numpy(dtype=float) * (1.0 if y_higher_is_better else -1.0)
    ge = (xs[None, :] >= xs[:, None]) & (ys[None, :] >= ys[:, None])  # [i, j]: j at least as good as i
    gt = (xs[None, :] > xs[:, None]) | (ys[None, :] > ys[:, None])  # j strictly better somewhere
    dominated = (ge & gt).any(axis=1)
    front = pts.loc[~dominated]
    return front.sort_values([x, y], kind="mergesort")


def png(fig: Figure) -> bytes:
    """Render a figure to PNG bytes with the Agg canvas."""
    FigureCanvasAgg(fig)
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=DPI)
    return buf.getvalue()


def _ratio_label(v: float) -> str:
    return f"{v:.0f}x" if abs(v - round(v)) < 0.05 else f"{v:.1f}x"


def _styles(pts: pd.DataFrame, methods_order: Sequence[str] | None, students_order: Sequence[str] | None
            ) -> tuple[dict[str, Any], dict[str, str], list[str], list[str]]:
    """Colour per method and marker per student from the report-wide orders (so they agree across tasks), and
    the methods and students this figure shows (the legend lists only those)."""
    import seaborn as sns

    all_methods = list(methods_order) if methods_order else sorted(pts["method"].unique())
    all_students = list(students_order) if students_order else sorted(pts["student"].unique())
    all_methods += sorted(set(pts["method"]) - set(all_methods))
    all_students += sorted(set(pts["student"]) - set(all_students))
    palette = dict(zip(all_methods, sns.color_palette("tab10", n_colors=max(len(all_methods), 1))))
    markers = {s: MARKERS[i % len(MARKERS)] for i, s in enumerate(all_students)}
    methods = [m for m in all_methods if m in set(pts["method"])]
    students = [s for s in all_students if s in set(pts["student"])]
    return palette, markers, methods, students


def _errorbars(ax: Any, frame: pd.DataFrame, xm: str, ym: str, ys: str, colour: Any) -> None:
    """Vertical std bars of the points whose std is known and positive (``colour(row)`` picks their colour)."""
    for _, r in frame.iterrows():
        err = r.get(ys)
        if err is not None and not pd.isna(err) and err > 0:
            ax.errorbar(r[xm], r[ym], yerr=err, fmt="none", ecolor=colour(r), elinewidth=1.2, capsize=3, zorder=2)


def _draw_curves(ax: Any, pts: pd.DataFrame, xm: str, ym: str, palette: dict[str, Any]) -> None:
    """Each method's compression curve: one line through its sizes (per hyperparameter setting), in its colour."""
    keys = [k for k in ("method", "hparams") if k in pts.columns]
    for key, curve in pts.groupby(keys, sort=True):
        method = key[0] if isinstance(key, tuple) else key
        if curve[xm].nunique() > 1:
            curve = curve.sort_values(xm, kind="mergesort")
            ax.plot(curve[xm], curve[ym], color=palette.get(method, "grey"), linewidth=1.2, alpha=0.75, zorder=2)


def _draw_students(ax: Any, pts: pd.DataFrame, xm: str, ym: str, ys: str, styles: tuple) -> None:
    import seaborn as sns

    palette, markers, methods, students = styles
    _draw_curves(ax, pts, xm, ym, palette)
    sns.scatterplot(data=pts, x=xm, y=ym, hue="method", style="student", hue_order=methods, style_order=students,
                    palette={m: palette[m] for m in methods}, markers={s: markers[s] for s in students}, s=80,
                    ax=ax, zorder=3, edgecolor="black", linewidth=0.5, legend="full")
    _errorbars(ax, pts, xm, ym, ys, lambda r: palette.get(r["method"], "grey"))


def _draw_reported(ax: Any, rpts: pd.DataFrame) -> None:
    ax.scatter(rpts["x"], rpts["y"], marker="D", s=70, facecolors="none", edgecolors="black", linewidths=1.3,
               zorder=4, label="reported in papers")
    for _, r in rpts.iterrows():
        ax.annotate(str(r["label"]), (r["x"], r["y"]), textcoords="offset points", xytext=(6, 4), fontsize=7,
                    color="0.25")


def _draw_front(ax: Any, allpts: pd.DataFrame, xm: str, ym: str, y_higher_is_better: bool) -> None:
    front = pareto_front(allpts, xm, ym, x_higher_is_better=True, y_higher_is_better=y_higher_is_better)
    if not front.empty:
        ax.plot(front[xm], front[ym], drawstyle="steps-pre", color="0.35", linestyle="--", linewidth=1.3,
                zorder=1, label="Pareto front")
        ax.scatter(front[xm], front[ym], s=240, facecolors="none", edgecolors="crimson", linewidths=1.6, zorder=5,
                   label="on Pareto front")


def _ratio_axis(ax: Any, values: Sequence[float]) -> None:
    """A log x axis over the compression ratios, padded, with at most 8 ticks at least 25% apart."""
    ax.set_xscale("log")
    xs = sorted({round(float(v), 2) for v in values})
    lo, hi = min(xs), max(xs)
    pad = max(math.log10(hi / lo) * 0.12, 0.08) if lo > 0 else 0.1
    ax.set_xlim(lo / 10**pad, hi * 10**pad)
    ticks = [xs[0]]
    for v in xs[1:]:
        if ticks[-1] <= 0 or v / ticks[-1] >= 1.25:
            ticks.append(v)
    if len(ticks) > 8:
        ticks = [v for i, v in enumerate(ticks) if i % math.ceil(len(ticks) / 8) == 0]
    ax.xaxis.set_major_locator(FixedLocator(ticks))
    ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: _ratio_label(v)))
    ax.xaxis.set_minor_locator(NullLocator())


def _label_axes(ax: Any, x_label: str, y_label: str, y_higher_is_better: bool, title: str) -> None:
    direction = "higher is better" if y_higher_is_better else "lower is better"
    arrow = "\u2191" if y_higher_is_better else "\u2193"
    ax.set_xlabel(x_label + " \u2192 more compressed")
    ax.set_ylabel(f"{y_label} {arrow} ({direction})")
    if title:
        ax.set_title(title, fontsize=11)
    handles, labels = ax.get_legend_handles_labels()
    if handles:
        ax.legend(handles, labels, loc="upper left", bbox_to_anchor=(1.01, 1.0), fontsize=8, frameon=False,
                  borderaxespad=0.0)


def quality_vs_compression_figure(
    configs: pd.DataFrame,
    teacher: pd.DataFrame | None,
    *,
    y: str = "fid",
    y_label: str = "FID",
    y_higher_is_better: bool = False,
    x: str = "macs_ratio",
    x_label: str = "MACs compression ratio (teacher / student)",
    title: str = "",
    methods_order: Sequence[str] | None = None,
    students_order: Sequence[str] | None = None,
    reported: pd.DataFrame | None = None,
) -> bytes | None:
    """Quality vs compression ratio: one point per student configuration, each method's curve through its sizes.

    ``configs`` has one row per configuration with columns ``method``, ``student``,
    ``{x}_mean``, ``{y}_mean`` and ``{y}_std`` (std may be NaN). ``teacher`` (same columns,
    possibly several rows) is drawn as a star. The Pareto front (maximise ``x``, optimise ``y``)
    over students and teacher is drawn as a step line with its points ringed. Colour encodes
    the method (and its curve: a line through its sizes, one per hyperparameter setting), the marker the
    student architecture. ``reported`` (columns ``x``, ``y``,
    ``label``) adds numbers reported in the papers as hollow black diamonds, labelled with their
    method; they are not part of the Pareto front (other protocols and teachers). Returns PNG bytes,
    or None when there is nothing to plot.
    """
    import seaborn as sns  # imported lazily: only needed when a figure is drawn

    xm, ym, ys = f"{x}_mean", f"{y}_mean", f"{y}_std"
    pts = configs.dropna(subset=[xm, ym]).copy() if not configs.empty else configs
    tpts = teacher.dropna(subset=[xm, ym]).copy() if teacher is not None and not teacher.empty else None
    rpts = reported.dropna(subset=["x", "y"]) if reported is not None and not reported.empty else None
    if (pts is None or pts.empty) and (tpts is None or tpts.empty) and (rpts is None or rpts.empty):
        return None
    with sns.axes_style("whitegrid"):
        fig = Figure(figsize=(8.6, 4.6), dpi=DPI)
        ax = fig.add_subplot(1, 1, 1)
        if not pts.empty:
            _draw_students(ax, pts, xm, ym, ys, _styles(pts, methods_order, students_order))
        if tpts is not None and not tpts.empty:
            ax.scatter(tpts[xm], tpts[ym], marker="*", s=260, color="gold", edgecolor="black", linewidth=0.8,
                       zorder=4, label="teacher")
            _errorbars(ax, tpts, xm, ym, ys, lambda _r: "black")
        if rpts is not None:
            _draw_reported(ax, rpts)
        ours = [d for d in (pts, tpts) if d is not None and not d.empty]
        allpts = pd.concat(ours, ignore_index=True) if ours else pd.DataFrame(columns=[xm, ym])
        _draw_front(ax, allpts, xm, ym, y_higher_is_better)
        _ratio_axis(ax, [*allpts[xm], *(rpts["x"] if rpts is not None else [])])
        _label_axes(ax, x_label, y_label, y_higher_is_better, title)
        fig.tight_layout()
        return png(fig)


def _read_png(path: str | Path) -> np.ndarray:
    """Read an image file into an array (matplotlib's reader; PNG needs no PIL)."""
    import matplotlib.image as mpimg

    return mpimg.imread(str(path))


def sample_grid(rows: Sequence[tuple[str, str | Path | None]]) -> tuple[bytes | None, list[str]]:
    """Stack labelled PNG strips into one image: one row per ``(label, path)``.

    Rows whose path is missing, absent on disk or unreadable are skipped; their labels are
    returned as the second element so the caller can say what is missing. Returns
    ``(png_bytes_or_None, skipped_labels)``.
    """
    images: list[tuple[str, np.ndarray]] = []
    skipped: list[str] = []
    for label, path in rows:
        if path is None or (isinstance(path, float) and math.isnan(path)) or not str(path):
            skipped.append(label)
            continue
        try:
            images.append((label, _read_png(path)))
        except (OSError, ValueError, SyntaxError):
            skipped.append(label)
    if not images:
        return None, skipped

    label_w = 2.9  # inches reserved for the row labels
    ref_h, ref_w = images[0][1].shape[:2]
    n_tiles = max(1, round(ref_w / max(ref_h, 1)))
    strip_w = min(8.5, max(3.0, 1.25 * n_tiles))
    heights = [strip_w * img.shape[0] / max(img.shape[1], 1) for _, img in images]
    gap = 0.08
    total_h = sum(heights) + gap * (len(images) + 1)
    fig = Figure(figsize=(label_w + strip_w + 0.1, total_h), dpi=DPI)
    fig.patch.set_facecolor("white")
    W = label_w + strip_w + 0.1
    top = total_h - gap
    for (label, img), h in zip(images, heights):
        bottom = top - h
        ax = fig.add_axes((label_w / W, bottom / total_h, strip_w / W, h / total_h))
        ax.imshow(img, cmap="gray" if img.ndim == 2 else None, interpolation="nearest", aspect="auto")
        ax.set_axis_off()
        fig.text((label_w - 0.12) / W, (bottom + h / 2) / total_h, label, ha="right", va="center",
                 fontsize=9)
        top = bottom - gap
    return png(fig), skipped

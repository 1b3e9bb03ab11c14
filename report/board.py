"""The aggregated leaderboard as data: per task, its rows (one per configuration, seeds pooled) with every metric's
mean, std, n, 95% intervals over seeds and over the test set, a "best" mark only where the best row is beyond the
noise, each student's comparisons with its family's baselines (``scratch`` and ``output_kd``; ``nokd`` and
``vanilla_kd``) and its teacher, its provenance (rerun command, job ids, config hashes, commits:
:mod:`kd_gan_bench.report.provenance`), and the published numbers with their gaps. The HTML
page, ``leaderboard.json`` and ``leaderboard.csv`` all come from :func:`build_board`."""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics import METRICS

from . import provenance, statistics
from .published_rows import gap_cells, prepare_reported, reported_rows
from .summary import (COST_METRICS, FIDELITY_METRICS, KEY_COLS, QUALITY_METRICS, TAIL_METRICS, metric_tests,
                      prepare, summarize)

#: The row every student is also compared with, besides its family's baselines: its own teacher's.
TEACHER = "teacher"
BEST, TIED = "best", "tied with best"
#: Cost columns that are counts, not measurements: equal or not, without noise.
EXACT_METRICS = {m for m in COST_METRICS if m not in TAIL_METRICS}


@dataclass
class TaskBoard:
    """One task's part of the board: ``rows`` and ``comparisons`` are plain data (JSON-ready); ``summary``
    (the task's configurations in row order) and ``jobs`` feed the figures."""

    family: str
    task: str
    metrics: list[str]
    primary: str | None
    rows: list[dict[str, Any]]
    comparisons: list[dict[str, Any]]
    reported: list[dict[str, Any]]
    summary: pd.DataFrame = field(repr=False)
    jobs: pd.DataFrame = field(repr=False)


def declared_headline(task_df: pd.DataFrame) -> str | None:
    """The headline quality metric the task's records declare (``quality_metric``: the task's declaration,
    ``kd_gan_bench.datasets.registry.TaskInfo``), None when none does."""
    declared = task_df["quality_metric"].dropna() if "quality_metric" in task_df.columns else pd.Series(dtype=object)
    return str(declared.mode().iloc[0]) if not declared.empty else None


def task_metrics(task_df: pd.DataFrame, family: str) -> list[str]:
    """Metric columns of one task's table: costs, the quality metrics it has (its declared headline first; else its
    family's), the fidelity metrics it has (beside the quality ones), latency."""
    def present(names: list[str]) -> list[str]:
        return [m for m in names if m in task_df.columns and task_df[m].notna().any()]

    quality = present(QUALITY_METRICS) or list(FAMILIES.get(family).metrics if family in FAMILIES else ())
    quality.sort(key=lambda m: m != declared_headline(task_df))
    return [m for m in COST_METRICS + quality + present(FIDELITY_METRICS) + TAIL_METRICS if m in METRICS]


def primary_metric(metrics: list[str]) -> str | None:
    """The task's headline quality metric (the first quality column: :func:`task_metrics` puts the declared one
    first)."""
    return next((m for m in metrics if m in QUALITY_METRICS), None)


def sort_configs(students: pd.DataFrame, primary: str | None) -> pd.DataFrame:
    """Students grouped by size (least compressed first: MACs ratio, then the network's label), within a size by
    primary metric (best first); no-value configs after, all-failed last."""
    if students.empty:
        return students
    s = students.copy()
    ratio = s["macs_ratio_mean"] if "macs_ratio_mean" in s.columns else pd.Series(math.nan, index=s.index)
    # one size, one ratio: a failed configuration takes its size's ratio from the others of its student network
    s["_size"] = ratio.groupby(s["student"]).transform("max").fillna(math.inf)
    s["_nodone"] = s["n_done"] == 0
    if primary and f"{primary}_mean" in s.columns:
        hib = METRICS.get(primary).higher_is_better
        v = s[f"{primary}_mean"]
        s["_missing"] = v.isna()
        s["_key"] = -v if hib else v
    else:
        s["_missing"], s["_key"] = False, 0.0
    s = s.sort_values(["_size", "student", "_nodone", "_missing", "_key", "method", "hparams"], kind="mergesort")
    return s.drop(columns=["_size", "_nodone", "_missing", "_key"])


def _beyond_noise(a: pd.Series, b: pd.Series, m: str) -> bool:
    """Whether rows ``a`` and ``b`` differ on ``m`` beyond the noise (unadjusted tests; exact for counts)."""
    if m in EXACT_METRICS:
        return not math.isclose(a[f"{m}_mean"], b[f"{m}_mean"], rel_tol=1e-9, abs_tol=1e-12)
    return statistics.distinguishable(metric_tests(a, b, m))


def best_marks(students: pd.DataFrame, metrics: list[str]) -> dict[tuple[Any, str], str]:
    """(row index, metric) -> "best" for the best student when it is distinguishable from the runner-up (the next
    mean), else "tied with best" for it and for every row not distinguishable from it, each only when some other
    row is distinguishable from it: where nothing is separable the column has no mark (a row whose noise is
    unknown, one seed without subset values, counts as not distinguishable)."""
    marks: dict[tuple[Any, str], str] = {}
    done = students[students["n_done"] > 0] if not students.empty else students
    for m in metrics:
        col = f"{m}_mean"
        if done.empty or col not in done.columns or done[col].dropna().empty:
            continue
        ranked = done[done[col].notna()].sort_values(col, ascending=not METRICS.get(m).higher_is_better,
                                                     kind="mergesort")
        best = ranked.iloc[0]
        if len(ranked) == 1 or _beyond_noise(best, ranked.iloc[1], m):
            marks[(best.name, m)] = BEST
            continue
        tied = [idx for idx, r in ranked.iloc[1:].iterrows() if not _beyond_noise(best, r, m)]
        marks.update({(idx, m): TIED for idx in [best.name, *tied]
                      if any(_beyond_noise(ranked.loc[idx], r, m) for other, r in ranked.iterrows() if other != idx)})
    return marks


def _reference(row: pd.Series, summary: pd.DataFrame, ref: str) -> pd.Series | None:
    """The row ``row`` is compared with: its teacher's, or the method ``ref`` on the same student network (default
    hyperparameters preferred); None when it did not finish or is ``row`` itself."""
    if ref == TEACHER:
        pool = summary[(summary["phase"] == "teacher") & (summary["teacher"] == row["teacher"])]
    else:
        pool = summary[(summary["phase"] == "student") & (summary["method"] == ref)
                       & (summary["student"] == row["student"]) & (summary["teacher"] == row["teacher"])]
    pool = pool[pool["n_done"] > 0].sort_values("hparams", key=lambda h: h != "", kind="mergesort")
    if pool.empty or pool.index[0] == row.name:
        return None
    return pool.iloc[0]


def references(family: str) -> tuple[str, ...]:
    """The rows a student of ``family`` is compared with: the family's baselines (methods by name: ``scratch``
    and ``output_kd`` for image-to-image, ``nokd`` and ``vanilla_kd`` for cGAN-KD's families), then its teacher."""
    return (*FAMILIES.get(family).baselines, TEACHER)


def all_references() -> tuple[str, ...]:
    """Every family's references, in order and once (the board CSV's ``vs_*`` columns)."""
    return tuple(dict.fromkeys(ref for name in FAMILIES.names() for ref in references(name)))


def comparisons(students: pd.DataFrame, summary: pd.DataFrame, primary: str | None,
                refs: tuple[str, ...]) -> list[dict[str, Any]]:
    """Every finished student against each of ``refs`` (:func:`references`) on the primary metric, by both tests,
    Holm-corrected per test over the task's comparisons; verdicts of the student against the reference."""
    if not primary or students.empty:
        return []
    hib = METRICS.get(primary).higher_is_better
    out = []
    for idx, row in students[students["n_done"] > 0].iterrows():
        for ref in refs:
            other = _reference(row, summary, ref)
            if other is None:
                continue
            seeds, paired = metric_tests(row, other, primary)
            out.append({**{k: row[k] for k in ("method", "teacher", "student", "hparams")}, "row": idx,
                        "reference": ref, "reference_config": " ".join(filter(None, (other["method"], other["student"],
                                                                                    other["hparams"]))),
                        "metric": primary, "difference": seeds.difference, "seeds_p": seeds.p,
                        "test_difference": paired.difference, "test_low": paired.low, "test_high": paired.high,
                        "test_p": paired.p})
    for test in ("seeds", "test"):
        for c, p in zip(out, statistics.holm([c[f"{test}_p"] for c in out]), strict=True):
            c[f"{test}_p_holm"] = p
            c[f"{test}_verdict"] = statistics.verdict(c["difference" if test == "seeds" else "test_difference"], p, hib)
    return out


def config_jobs(config: pd.Series, jobs: pd.DataFrame) -> pd.DataFrame:
    """The jobs (one per seed) of the configuration ``config``."""
    return jobs[(jobs[KEY_COLS] == config[KEY_COLS].to_numpy()).all(axis=1)]


def _metric_data(r: pd.Series, m: str, mark: str) -> dict[str, Any]:
    get = lambda suffix: r.get(f"{m}_{suffix}", math.nan)  # noqa: E731
    data = {"mean": get("mean"), "std": get("std"), "n": int(r.get(f"{m}_n", 0) or 0),
            "values": list(r.get(f"{m}_values") or []), "ci95_seeds": [get("ci_low"), get("ci_high")],
            "ci95_test": [get("test_low"), get("test_high")], "mark": mark}
    if m == "kid" and "kid_subset_std" in r:
        data["subset_std"] = r["kid_subset_std"]  # KID's own spread over its subsets, shown for a single seed
    return data


def _row_data(idx: Any, r: pd.Series, metrics: list[str], marks: dict, gaps: dict, vs: dict) -> dict[str, Any]:
    return {
        "kind": "teacher" if r["phase"] == "teacher" else "student", **{k: r[k] for k in KEY_COLS},
        "n_done": int(r["n_done"]), "n_total": int(r["n_total"]), "few_seeds": bool(r["few_seeds"]),
        "checkpoint": r.get("checkpoint", "last"), "status": r["status"], "status_counts": dict(r["status_counts"]),
        "errors": list(r["errors"]),
        "logs": [list(x) for x in r["logs"]], "gap": gaps.get(idx, ""),
        "metrics": {m: _metric_data(r, m, marks.get((idx, m), "")) for m in metrics},
        "vs": vs.get(idx, {}),
    }


def task_board(family: str, task: str, task_df: pd.DataFrame, summary: pd.DataFrame,
               task_reported: pd.DataFrame) -> TaskBoard:
    """One task's rows (teachers first, then students best first), comparisons and published numbers."""
    metrics = task_metrics(task_df, family)
    primary = primary_metric(metrics)
    teachers = summary[summary["phase"] == "teacher"]
    students = sort_configs(summary[summary["phase"] == "student"], primary)
    ordered = pd.concat([teachers, students, summary[summary["phase"] == "artifact"]])
    marks = best_marks(students, metrics)
    comps = comparisons(students, summary, primary, references(family))
    vs: dict[Any, dict[str, Any]] = {}
    for c in comps:
        vs.setdefault(c["row"], {})[c["reference"]] = {"seeds": c["seeds_verdict"], "test": c["test_verdict"]}
    gaps = gap_cells(summary, task_reported, task_df)
    rows = [{**_row_data(idx, r, metrics, marks, gaps, vs),
             "provenance": provenance.row_provenance(config_jobs(r, task_df))}
            for idx, r in pd.concat([teachers, students]).iterrows()]
    return TaskBoard(family, task, metrics, primary, rows, [{k: v for k, v in c.items() if k != "row"} for c in comps],
                     reported_rows(task_reported, summary, task_df), ordered, task_df)


@dataclass
class Board:
    """The whole leaderboard: one :class:`TaskBoard` per task run, and published numbers of tasks not run."""

    tasks: list[TaskBoard]
    reported_only: list[dict[str, Any]]
    jobs: pd.DataFrame = field(repr=False)


def build_board(df: pd.DataFrame, reported: pd.DataFrame | None = None) -> Board:
    """The board of the per-job DataFrame ``df`` (see :func:`kd_gan_bench.report.render.render_report`) and the published
    numbers ``reported`` (``kd_gan_bench.benchmarks.records.published.load_published``)."""
    jobs = prepare(df)
    published = prepare_reported(reported)
    tasks = []
    if not jobs.empty:
        summary = summarize(jobs)
        for (family, task), task_df in jobs.groupby(["family", "task"], sort=True):
            task_summary = summary[(summary["family"] == family) & (summary["task"] == task)]
            tasks.append(task_board(family, task, task_df, task_summary, published[published["task"] == task]))
    run_tasks = set(jobs["task"]) if not jobs.empty else set()
    reported_only = [{"family": family or "", "task": task, "rows": reported_rows(rows, None)}
                     for (family, task), rows in published[~published["task"].isin(run_tasks)].groupby(
                         ["family", "task"], sort=True)]
    return Board(tasks, reported_only, jobs)

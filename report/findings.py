"""What one task found, in four sentences that open its section (issue 19): the Pareto front of its headline
metric against MACs compression, the students beyond a family baseline (``scratch``/``output_kd``,
``nokd``/``vanilla_kd``: ``kd_gan_bench.benchmarks.families.families``) by both tests, those worse than one by both, and those neither.

"By both tests" is the board's own rule (:func:`kd_gan_bench.report.statistics.distinguishable`): Welch's test over seeds and
the paired test over the shared test subsets, each Holm-corrected over the task's comparisons
(:func:`kd_gan_bench.report.board.comparisons`), give the same verdict. A student separated by one test alone is listed with
the indistinguishable ones, and the sentence names it. Everything comes from the board's data.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import METRICS

from .board import TEACHER, TaskBoard, references
from .figures import pareto_front
from .statistics import BETTER, UNTESTED, WORSE

X = "macs_ratio"
ARROW = " \u2192 "


def _labeller(summary: pd.DataFrame) -> Any:
    """A row's shortest unambiguous name in the task (``label(row)``, a row or comparison with ``method``,
    ``student``, ``hparams``): its method, then its student network where the task has several, then its
    hyperparameters where its method runs several variants; a teacher's row is "the teacher"."""
    students = summary[summary["phase"] == "student"]
    several_students = students["student"].nunique() > 1
    variants = students.groupby("method")["hparams"].nunique()

    def label(r: Any) -> str:
        if r["method"] == TEACHER:
            return "the teacher"
        parts = [r["method"], r["student"] if several_students else "",
                 r["hparams"] if variants.get(r["method"], 0) > 1 else ""]
        return " ".join(p for p in parts if p)

    return label


def _join(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def front_sentence(tb: TaskBoard) -> str:
    """The Pareto front of the primary metric against MACs compression, from the least to the most compressed."""
    if not tb.primary:
        return "No quality metric: no Pareto front."
    metric = METRICS.get(tb.primary)
    done = tb.summary[tb.summary["phase"].isin(["teacher", "student"]) & (tb.summary["n_done"] > 0)]
    cols = [f"{X}_mean", f"{tb.primary}_mean"]
    if done.empty or any(c not in done.columns for c in cols):
        return f"No finished row has both {metric.label} and a MACs ratio yet: no Pareto front."
    front = pareto_front(done, *cols, x_higher_is_better=True, y_higher_is_better=metric.higher_is_better)
    if front.empty:
        return f"No finished row has both {metric.label} and a MACs ratio yet: no Pareto front."
    label = _labeller(tb.summary)
    at: dict[str, list[str]] = {}  # rows at the same point (neither dominates the other) share it
    for _, r in front.iterrows():
        at.setdefault(f"{r[cols[0]]:.1f}x, {metric.fmt.format(r[cols[1]])}", []).append(label(r))
    points = [f"{_join(names)} ({point})" for point, names in at.items()]
    return (f"Pareto front of {metric.label} against MACs compression, least to most compressed: "
            f"{ARROW.join(points)}.")


def _verdicts(tb: TaskBoard) -> dict[str, dict[str, tuple[str, str]]]:
    """Student label -> baseline -> (seeds verdict, test-set verdict), the teacher left out."""
    label = _labeller(tb.summary)
    out: dict[str, dict[str, tuple[str, str]]] = {}
    for c in tb.comparisons:
        if c["reference"] != TEACHER:
            out.setdefault(label(c), {})[c["reference"]] = (c["seeds_verdict"], c["test_verdict"])
    return out


def _against(found: dict[str, list[str]]) -> str:
    return "; ".join(f"{name} (than {_join(refs)})" for name, refs in found.items())


def task_findings(tb: TaskBoard) -> list[dict[str, str]]:
    """The task's summary: ``[{"key", "text"}]`` for the front, better, worse and indistinguishable students."""
    out = [{"key": "front", "text": front_sentence(tb)}]
    if not tb.primary:
        return out
    baselines = [b for b in references(tb.family) if b != TEACHER]
    verdicts = _verdicts(tb)
    if not verdicts:
        out.append({"key": "untested", "text": f"No student was compared with {_join(baselines)} yet (each needs "
                                               f"finished seeds on both sides)."})
        return out
    metric = METRICS.get(tb.primary).label
    baselines = [b for b in baselines if any(b in refs for refs in verdicts.values())]  # those with finished rows
    better: dict[str, list[str]] = {}
    worse: dict[str, list[str]] = {}
    one_test: list[str] = []
    untested: list[str] = []
    for name, refs in verdicts.items():
        for ref, (seeds, test) in refs.items():
            if seeds == test == BETTER:
                better.setdefault(name, []).append(ref)
            elif seeds == test == WORSE:
                worse.setdefault(name, []).append(ref)
            elif {seeds, test} & {BETTER, WORSE} and name not in one_test:
                one_test.append(name)
        if all(v == (UNTESTED, UNTESTED) for v in refs.values()):
            untested.append(name)
    both = "by both tests (Welch over seeds and the paired test-set test, Holm-corrected)"
    out.append({"key": "better", "text": f"Better {metric} than a baseline {both}: {_against(better)}." if better
                else f"No student is better than {_join(baselines)} {both}."})
    out.append({"key": "worse", "text": f"Worse than a baseline by both tests: {_against(worse)}." if worse
                else "No student is worse than a baseline by both tests."})
    neither = [n for n in verdicts if n not in better and n not in worse]
    if neither:
        alone = [n for n in neither if n in one_test]
        notes = [f"{'each' if alone == neither else _join(alone)} separated from a baseline by one test alone: see "
                 f"the significance table"] if alone else []
        if untested:
            notes.append(f"{_join(untested)}: not tested, too few seeds or subset values")
        out.append({"key": "indistinguishable",
                    "text": f"Not separated from {_join(baselines)} by both tests: {_join(neither)}"
                            + (f" ({'; '.join(notes)})" if notes else "") + "."})
    return out

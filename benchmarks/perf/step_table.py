"""The text table of :mod:`kd_gan_bench.benchmarks.perf.method_step_times`, one per student, with the targets' verdicts.

Every method runs once per round, in the same order, so a slow spell of a shared machine hits the reference and
the method of one round alike: each ratio is taken within its round, and the table shows the median over rounds
(with the rounds' range when there are several)."""
from __future__ import annotations

import math
import statistics
from typing import Callable, Sequence

from kd_gan_bench.benchmarks.perf.method_runs import REFERENCE, Row

TARGET = 0.20  # the method-specific losses may add at most this fraction of an output_kd step
#: whole student steps (VGG16 terms included) may take at most this many output_kd steps (issue 12: CRD 1.6x)
STEP_TARGETS = {"crd": 1.6}


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or math.isnan(value) else format(value, spec)


def _median(values: Sequence[float | None]) -> float | None:
    known = [v for v in values if v is not None and not math.isnan(v)]
    return statistics.median(known) if known else None


def _spread(values: Sequence[float | None], spec: str) -> str:
    known = [v for v in values if v is not None and not math.isnan(v)]
    return f" ({min(known):{spec}}-{max(known):{spec}})" if len(known) > 1 else ""


def _per_round(rounds: Sequence[Sequence[Row]], index: int, value: Callable[[Row, float], float | None]) -> list:
    """``value(row, reference step ms)`` of method ``index`` in every round."""
    out = []
    for rows in rounds:
        ref = next((r.step_ms for r in rows if r.method == REFERENCE), math.nan)
        out.append(value(rows[index], ref))
    return out


def format_student(student: str, rounds: Sequence[Sequence[Row]]) -> list[str]:
    """The table of one student (``rounds``: the rows of each round, methods in the same order), then the
    separately reported VGG16 parts and the targets' verdicts."""
    lines = [f"student {student}" + (f" (medians over {len(rounds)} rounds; ratio range in brackets)" if len(rounds) > 1 else ""),
             f"  {'method':<11}{'step ms':>10}{'x ' + REFERENCE:>24}{'method loss ms':>16}"
             f"{'loss % of ' + REFERENCE + ' step':>26}{'step MiB':>10}"]
    verdicts = []
    for i, first in enumerate(rounds[0]):
        step = _median([rows[i].step_ms for rows in rounds])
        ratios = _per_round(rounds, i, lambda r, ref: r.step_ms / ref)
        shares = _per_round(rounds, i, lambda r, ref: None if r.loss_ms is None else r.loss_ms / ref)
        ratio, share = _median(ratios), _median(shares)
        ratio_text = _fmt(ratio, ".2f") + _spread(ratios, ".2f")
        lines.append(f"  {first.method:<11}{step:>10.1f}{ratio_text:>24}"
                     f"{_fmt(_median([rows[i].loss_ms for rows in rounds]), '.1f'):>16}"
                     f"{_fmt(None if share is None else 100 * share, '.1f'):>26}"
                     f"{_fmt(_median([rows[i].step_mib for rows in rounds]), '.0f'):>10}")
        if share is not None:
            verdicts.append(f"{first.method} {100 * share:.1f}% {'ok' if share <= TARGET else 'OVER'}")
        if first.method in STEP_TARGETS and ratio is not None:
            limit = STEP_TARGETS[first.method]
            verdicts.append(f"{first.method} step {ratio:.2f}x (target <= {limit}x) {'ok' if ratio <= limit else 'OVER'}")
        if first.vgg_ms is not None:
            vgg = _median([rows[i].vgg_ms for rows in rounds])
            vgg_share = _median(_per_round(rounds, i, lambda r, ref: r.vgg_ms / ref))
            without = _median(_per_round(rounds, i, lambda r, ref: (r.step_ms - r.vgg_ms) / ref))
            lines.append(f"    {first.method} VGG16 style + relu2_2 terms, fwd+bwd: {vgg:.1f} ms "
                         f"({_fmt(None if vgg_share is None else 100 * vgg_share, '.1f')}% of an {REFERENCE} step); "
                         f"{first.method} step without them: {_fmt(without, '.2f')}x")
    lines.append(f"  targets: method-specific losses <= {100 * TARGET:.0f}% of an {REFERENCE} step"
                 + "".join(f"; {m} step <= {x}x" for m, x in STEP_TARGETS.items()) + ": "
                 + (", ".join(verdicts) or "nothing to judge"))
    return lines

"""The text table of :mod:`benchmarks.perf.method_step_times`, one per student, with the target's verdicts."""
from __future__ import annotations

import math

from benchmarks.perf.method_runs import REFERENCE, Row

TARGET = 0.20  # the method-specific losses may add at most this fraction of an output_kd step


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or math.isnan(value) else format(value, spec)


def format_student(student: str, rows: list[Row]) -> list[str]:
    """The table of one student, then CRD's separately reported parts and the target's verdicts."""
    ref = next((r.step_ms for r in rows if r.method == REFERENCE), math.nan)
    lines = [f"student {student}",
             f"  {'method':<11}{'step ms':>10}{'x ' + REFERENCE:>13}{'method loss ms':>16}"
             f"{'loss % of ' + REFERENCE + ' step':>26}{'step MiB':>10}"]
    verdicts = []
    for r in rows:
        share = r.loss_ms / ref if r.loss_ms is not None else None
        lines.append(f"  {r.method:<11}{r.step_ms:>10.1f}{_fmt(r.step_ms / ref, '.2f'):>13}{_fmt(r.loss_ms, '.1f'):>16}"
                     f"{_fmt(None if share is None else 100 * share, '.1f'):>26}{_fmt(r.step_mib, '.0f'):>10}")
        if share is not None and not math.isnan(share):
            verdicts.append(f"{r.method} {100 * share:.1f}% {'ok' if share <= TARGET else 'OVER'}")
        if r.vgg_ms is not None:
            lines.append(f"    {r.method} VGG16 style + relu2_2 terms, fwd+bwd: {r.vgg_ms:.1f} ms "
                         f"({_fmt(100 * r.vgg_ms / ref, '.1f')}% of an {REFERENCE} step); {r.method} step without "
                         f"them: {r.step_ms - r.vgg_ms:.1f} ms ({_fmt((r.step_ms - r.vgg_ms) / ref, '.2f')}x)")
    lines.append(f"  target, method-specific losses <= {100 * TARGET:.0f}% of an {REFERENCE} step: "
                 + (", ".join(verdicts) or "nothing to judge"))
    return lines

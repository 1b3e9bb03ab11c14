"""Small display helpers of the report: missing values, strings, links, slugs and value formats (no pandas logic
beyond ``pd.isna``)."""
from __future__ import annotations

import base64
import re
from pathlib import Path
from typing import Any

import pandas as pd

from kd_gan_bench.benchmarks.metrics import Metric

#: Non-done statuses, most important first: the status a configuration with no done seed shows.
STATUS_PRIORITY = ["failed", "timed_out", "blocked", "missing", "running", "queued"]


def isna(v: Any) -> bool:
    """True for None, NaN and pandas' missing markers (scalar-safe)."""
    if v is None:
        return True
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def as_str(v: Any) -> str:
    """A display string: '' for missing values."""
    return "" if isna(v) else str(v)


def truncate(text: str, n: int) -> str:
    """Collapse whitespace and cut to ``n`` characters with an ellipsis."""
    text = " ".join(text.split())
    return text if len(text) <= n else text[: n - 1].rstrip() + "\u2026"


def seed_str(v: Any) -> str:
    """A seed (or count) as text: '3' for 3.0, '' for missing."""
    if isna(v):
        return ""
    try:
        f = float(v)
        return str(int(f)) if f.is_integer() else str(v)
    except (TypeError, ValueError):
        return str(v)


def file_uri(path: Any) -> str | None:
    """A ``file://`` URI for a log path, or None when unknown."""
    s = as_str(path)
    if not s:
        return None
    p = Path(s).expanduser()
    try:
        return (p if p.is_absolute() else p.resolve()).as_uri()
    except ValueError:
        return None


def slug(text: str) -> str:
    """An HTML anchor made of a-z, 0-9 and dashes."""
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "task"


def status_class(status: str) -> str:
    """The CSS class of a status."""
    return "status-" + (re.sub(r"[^a-z0-9_]+", "-", status.lower()) or "unknown")


def data_uri(png: bytes | None) -> str | None:
    """A PNG as a base64 data URI (None for None)."""
    return None if png is None else "data:image/png;base64," + base64.b64encode(png).decode("ascii")


def format_value(metric: Metric, mean: float, std: float, n: int) -> str:
    """``mean ± std`` with the metric's format; the std is omitted for n < 2 or a zero spread."""
    if isna(mean):
        return "\u2013"
    text = metric.fmt.format(mean)
    if n >= 2 and not isna(std) and abs(std) > 1e-12 * max(1.0, abs(mean)):
        text += " \u00b1 " + metric.fmt.format(std)
    return text


def status_counts_text(counts: dict[str, int]) -> str:
    """'3 done, 1 failed' in the order of importance."""
    order = ["done"] + STATUS_PRIORITY + sorted(set(counts) - {"done", *STATUS_PRIORITY})
    return ", ".join(f"{counts[s]} {s.replace('_', ' ')}" for s in order if counts.get(s))


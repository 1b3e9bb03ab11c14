"""The leaderboard report: reads the harness's per-job DataFrame, writes one self-contained HTML page.

``render_report(df, out_dir)`` is the entry point; ``pareto_front`` is the pure Pareto helper the
figures use. The report never imports methods (see docs/DESIGN.md).
"""
from __future__ import annotations

from .figures import pareto_front
from .render import render_report, summarize

__all__ = ["render_report", "summarize", "pareto_front"]

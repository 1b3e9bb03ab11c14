"""Conformance of every registered metric spec (a new metric module is tested without writing a test here)."""
from __future__ import annotations

import string

import pytest

from benchmarks.collect import metric_columns
from benchmarks.families import FAMILIES
from benchmarks.metrics import INPUTS, KINDS, METRICS
from report.render import COST_METRICS, FIDELITY_METRICS, QUALITY_METRICS, TAIL_METRICS


@pytest.mark.parametrize("name", METRICS.names())
def test_metric_spec_is_complete(name):
    spec = METRICS.get(name)
    assert spec.name == name and spec.label and spec.description and spec.kind in KINDS
    assert isinstance(spec.higher_is_better, bool) and spec.arrow in "\u2191\u2193"
    assert set(spec.families) <= set(FAMILIES.names()), spec.families
    assert set(spec.inputs) <= set(INPUTS)
    assert spec.fmt.format(1.5) and all(c in string.printable for c in spec.fmt)
    if spec.compute is None:
        assert not spec.inputs, "inputs describe what compute reads"
    columns = metric_columns()
    assert len(columns) == len(set(columns)), "one column per name"
    assert name in columns and all(c in columns for c in spec.also), "collect keeps every spec's columns"
    report = COST_METRICS + QUALITY_METRICS + FIDELITY_METRICS + TAIL_METRICS
    assert name in report or name in (c for s in METRICS.in_order() for c in s.also), "the report shows it"

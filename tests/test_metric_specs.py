"""Conformance of every registered metric spec (a new metric module is tested without writing a test here)."""
from __future__ import annotations

import string

import pytest

from kd_gan_bench.benchmarks.records.collect import metric_columns
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics import INPUTS, KINDS, METRICS
from kd_gan_bench.benchmarks.records.published import family_names, load_published, metric_keys
from kd_gan_bench.report.render import COST_METRICS, FIDELITY_METRICS, QUALITY_METRICS, TAIL_METRICS


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
    assert all(c in columns for c in spec.protocol), "every frame has the columns saying how it was measured"
    report = COST_METRICS + QUALITY_METRICS + FIDELITY_METRICS + TAIL_METRICS
    assert name in report or name in (c for s in METRICS.in_order() for c in s.also), "the report shows it"


def test_published_names_map_to_one_metric_and_one_family():
    """The published results' metric and family names are claimed by one spec / family each (``reported_as``), and
    every name the reference CSV compares is one of them."""
    claimed = [n for spec in METRICS.in_order() for n in spec.reported_as]
    assert len(claimed) == len(set(claimed)) and set(metric_keys()) == set(claimed)
    names = [f.reported_as or n for n, f in FAMILIES.items()]
    assert len(names) == len(set(names)) and set(family_names().values()) == set(FAMILIES.names())
    csv = load_published()
    assert {"FID", "mIoU", "top1", "MAE"} <= set(csv["metric"]) and set(csv["family"]) <= set(FAMILIES.names())

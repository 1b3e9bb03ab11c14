"""The shipped MAC counts (benchmarks/metrics/macs_table.json) cover every registered suite and equal a fresh count."""
from __future__ import annotations

import json

import pytest

from kd_gan_bench.benchmarks.planning.estimate import _all_suite_jobs, network_sizes
from kd_gan_bench.benchmarks.metrics.macs_table import MACS_TABLE, _macs_key, count_gmacs

TABLE = json.loads(MACS_TABLE.read_text())
PAIRS = sorted(network_sizes(_all_suite_jobs()))


def test_the_table_covers_every_registered_suite():
    missing = [_macs_key(spec, size) for spec, size in PAIRS if _macs_key(spec, size) not in TABLE]
    assert not missing, f"refresh it with `python -m kd_gan_bench.benchmarks.planning.estimate`; missing: {missing}"


@pytest.mark.parametrize("spec, size", PAIRS, ids=[f"{size}px-{spec}" for spec, size in PAIRS])
def test_the_table_equals_a_fresh_count(spec, size):
    assert TABLE[_macs_key(spec, size)] == pytest.approx(count_gmacs(spec, size), rel=1e-6)

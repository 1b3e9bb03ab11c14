"""The report's statistics (report/statistics.py) against scipy and hand-worked examples."""
from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.report import statistics


def test_t_interval_is_scipys() -> None:
    x = [40.0, 41.5, 43.0, 39.5]
    expected = stats.t.interval(0.95, len(x) - 1, loc=np.mean(x), scale=stats.sem(x))
    assert statistics.t_interval(x) == pytest.approx(expected, rel=1e-12)
    # by hand: mean 41, s = sqrt(7.5 / 3) = 1.5811, t_{0.975,3} = 3.1824 -> half-width 2.5159
    assert statistics.t_interval(x)[1] - 41.0 == pytest.approx(2.5159, rel=1e-4)
    assert all(math.isnan(v) for v in statistics.t_interval([40.0]))


def test_welch_and_holm_are_scipys_and_statsmodels() -> None:
    a, b = [40.0, 41.5, 43.0], [45.0, 46.5, 47.0]
    test = statistics.welch(a, b)
    assert test.p == pytest.approx(stats.ttest_ind(a, b, equal_var=False).pvalue, rel=1e-12)
    assert test.difference == pytest.approx(np.mean(a) - np.mean(b))
    assert math.isnan(statistics.welch([1.0], [2.0, 3.0]).p)  # one seed: not tested
    # Holm by hand: sorted p 0.01, 0.03, 0.04 -> x3, x2, x1 = 0.03, 0.06, 0.04 -> monotone 0.03, 0.06, 0.06
    assert statistics.holm([0.01, 0.04, 0.03, math.nan]) == pytest.approx([0.03, 0.06, 0.06, math.nan], nan_ok=True)


def test_verdicts_clear_winner_and_identical_distributions() -> None:
    rng = np.random.default_rng(0)
    good, base = rng.normal(30, 1, 5), rng.normal(40, 1, 5)  # FID: lower is better
    p = statistics.holm([statistics.welch(good, base).p])[0]
    assert statistics.verdict(float(good.mean() - base.mean()), p, higher_is_better=False) == statistics.BETTER
    assert statistics.verdict(float(base.mean() - good.mean()), p, higher_is_better=False) == statistics.WORSE
    same_a, same_b = rng.normal(40, 1, 5), rng.normal(40, 1, 5)
    test = statistics.welch(same_a, same_b)
    assert statistics.verdict(test.difference, test.p, higher_is_better=False) == statistics.TIED
    assert statistics.verdict(1.0, math.nan, higher_is_better=False) == statistics.UNTESTED


def test_paired_test_sees_what_the_rows_own_intervals_overlap_on() -> None:
    """Two models scored on the same images: image difficulty is shared, so the per-subset differences are far
    less spread than either row's subset values."""
    rng = np.random.default_rng(1)
    difficulty = rng.normal(0, 10, 100)
    a = difficulty + 0.5 + rng.normal(0, 0.1, 100)
    b = difficulty + rng.normal(0, 0.1, 100)
    ra, rb = np.asarray(resampling.subset_means(a)), np.asarray(resampling.subset_means(b))
    low_a, high_a = statistics.resample_interval(a.mean(), ra)
    low_b, high_b = statistics.resample_interval(b.mean(), rb)
    assert low_a < high_b and low_b < high_a  # the rows' intervals overlap...
    test = statistics.paired(a.mean(), b.mean(), ra, rb)
    assert test.low > 0 and test.p < 1e-6  # ...the paired difference is clearly positive
    assert test.difference == pytest.approx(a.mean() - b.mean())


def test_half_sampling_interval_covers_the_true_mean_at_its_nominal_rate() -> None:
    """Simulated test sets of 100 images from a known population (per-image correctness of a classifier with 80%
    accuracy): the 95% test-set interval of the accuracy covers 80% in about 95% of 400 draws (measured: 95.0%;
    a strongly skewed population of 60 items, exponential, gives 89.5%: the normal interval's known weakness)."""
    rng = np.random.default_rng(2)
    covered = 0
    for _ in range(400):
        x = 100.0 * (rng.random(100) < 0.8)
        low, high = statistics.resample_interval(float(x.mean()), np.asarray(resampling.subset_means(x)))
        covered += low <= 80.0 <= high
    assert 0.92 <= covered / 400 <= 0.98, covered / 400


def test_distinguishable_needs_every_available_test() -> None:
    yes, no, none = statistics.Test(1.0, 0.001), statistics.Test(1.0, 0.2), statistics.Test(1.0, math.nan)
    assert statistics.distinguishable([yes, none]) and statistics.distinguishable([yes, yes])
    assert not statistics.distinguishable([yes, no]) and not statistics.distinguishable([none, none])

"""The leaderboard's statistics: intervals over seeds and over the test set, and comparisons of two rows.

* Seeds: a row's finished seeds give its mean, sample std and a 95% Student-t interval,
  mean +- t_{0.975, n-1} s / sqrt(n) (``scipy.stats.t``); a row with fewer than :data:`MIN_SEEDS` seeds
  is marked. Two rows are compared by Welch's unequal-variance t-test (``scipy.stats.ttest_ind``,
  ``equal_var=False``; Welch, Biometrika 1947).
* Test set: every job records its quality metric on the same B half-size subsets of the test split
  (:mod:`kd_gan_bench.benchmarks.metrics.resampling`: the delete-n/2 jackknife, whose variance estimate is the subsets' variance).
  A row's subset values are averaged over its seeds, subset by subset; the 95% interval is the full-test value
  (the seeds' mean) +- z_{0.975} x the std of those averages (a normal interval, as for any jackknife
  variance; percentiles of 200 subsets would be noisier). Two rows are compared *paired*: the per-subset
  differences of their averages have a std that excludes the image-to-image variation both rows share,
  so the paired test sees differences that the two rows' own intervals overlap on. Its p-value is the
  normal one of (difference of the full values) / (std of the per-subset differences).
* Multiple comparisons: per task and per test, Holm's step-down correction over all its comparisons
  (``statsmodels.stats.multitest.multipletests(method="holm")``; Holm, Scand. J. Statist. 1979), at
  :data:`ALPHA`. A verdict is "better", "worse" (in the metric's direction) or "not distinguishable".

Limits the report's notes repeat: seed intervals from 3 seeds are wide (t_{0.975,2} = 4.3); the test-set
interval covers test-set sampling, not FID's small-N bias (the real statistics are held fixed).
"""
from __future__ import annotations

import math
import warnings
from dataclasses import dataclass
from typing import Sequence

import numpy as np
from scipy import stats
from statsmodels.stats.multitest import multipletests

ALPHA = 0.05
LEVEL = 0.95
MIN_SEEDS = 3
BETTER, WORSE, TIED, UNTESTED = "better", "worse", "not distinguishable", "not tested"
SEED_TEST = "Welch's t-test over seeds (scipy.stats.ttest_ind, equal_var=False)"
PAIRED_TEST = "paired test over the same test-set subsets (normal p of the mean difference / std of the " \
              "per-subset differences)"
CORRECTION = f"Holm's step-down correction (statsmodels multipletests), alpha = {ALPHA}"


def t_interval(values: Sequence[float], level: float = LEVEL) -> tuple[float, float]:
    """The Student-t interval of the mean of ``values`` (NaNs for fewer than two values)."""
    x = np.asarray(values, dtype=float)
    if len(x) < 2:
        return math.nan, math.nan
    half = stats.t.ppf((1 + level) / 2, len(x) - 1) * x.std(ddof=1) / math.sqrt(len(x))
    return float(x.mean() - half), float(x.mean() + half)


def pooled_resamples(per_seed: Sequence[Sequence[float]]) -> np.ndarray | None:
    """The subset values averaged over seeds, subset by subset (None without any, or when seeds disagree on B)."""
    arrays = [np.asarray(v, dtype=float) for v in per_seed if v is not None and len(v)]
    if not arrays or len({len(a) for a in arrays}) != 1:
        return None
    return np.mean(arrays, axis=0)


def resample_interval(centre: float, resamples: np.ndarray | None, level: float = LEVEL) -> tuple[float, float]:
    """``centre`` +- z x std of the subset values (the delete-n/2 jackknife's standard error)."""
    if resamples is None or len(resamples) < 2 or not math.isfinite(centre):
        return math.nan, math.nan
    half = stats.norm.ppf((1 + level) / 2) * float(np.std(resamples, ddof=1))
    return centre - half, centre + half


@dataclass(frozen=True)
class Test:
    """One two-row test: the difference (a - b), its interval (paired tests only), the raw p-value."""

    difference: float
    p: float
    low: float = math.nan
    high: float = math.nan


def welch(a: Sequence[float], b: Sequence[float]) -> Test:
    """Welch's t-test of two rows' seed values (p NaN with fewer than two seeds on a side or no spread)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if len(x) < 2 or len(y) < 2:
        return Test(float(x.mean() - y.mean()) if len(x) and len(y) else math.nan, math.nan)
    with warnings.catch_warnings():  # identical values: scipy warns and returns NaN, "not tested"
        warnings.simplefilter("ignore", RuntimeWarning)
        p = stats.ttest_ind(x, y, equal_var=False).pvalue
    return Test(float(x.mean() - y.mean()), float(p))


def paired(centre_a: float, centre_b: float, resamples_a: np.ndarray | None, resamples_b: np.ndarray | None,
           level: float = LEVEL) -> Test:
    """The paired test-set comparison: difference of the full values, its interval and normal p-value from the
    std of the per-subset differences (p NaN without subset values on both sides)."""
    diff = centre_a - centre_b
    if resamples_a is None or resamples_b is None or len(resamples_a) != len(resamples_b):
        return Test(diff, math.nan)
    sd = float(np.std(resamples_a - resamples_b, ddof=1))
    if not math.isfinite(diff):
        return Test(diff, math.nan)
    if sd == 0:
        return Test(diff, 1.0 if diff == 0 else 0.0, diff, diff)
    low, high = resample_interval(diff, resamples_a - resamples_b, level)
    return Test(diff, float(2 * stats.norm.sf(abs(diff) / sd)), low, high)


def holm(pvalues: Sequence[float], alpha: float = ALPHA) -> list[float]:
    """Holm-adjusted p-values of the finite ones (NaN stays NaN: an untested comparison is not counted)."""
    p = np.asarray(pvalues, dtype=float)
    out = np.full(len(p), math.nan)
    ok = np.isfinite(p)
    if ok.any():
        out[ok] = multipletests(p[ok], alpha=alpha, method="holm")[1]
    return [float(v) for v in out]


def verdict(difference: float, p_adjusted: float, higher_is_better: bool, alpha: float = ALPHA) -> str:
    """"better"/"worse" (of row a against row b) when the adjusted p is below ``alpha``, else "not
    distinguishable" ("not tested" without a p-value)."""
    if not math.isfinite(p_adjusted):
        return UNTESTED
    if p_adjusted >= alpha or difference == 0:
        return TIED
    return BETTER if (difference > 0) == higher_is_better else WORSE


def distinguishable(tests: Sequence[Test], alpha: float = ALPHA) -> bool:
    """Whether a difference is beyond the noise: every available test rejects at ``alpha`` (and one is
    available). An exact difference (both tests without spread) counts when non-zero."""
    available = [t for t in tests if math.isfinite(t.p)]
    return bool(available) and all(t.p < alpha for t in available)

"""The fixed collection of test-set subsets every job evaluates its quality metric on (numpy only, no torch).

Scheme: half-sampling without replacement, B = 200 subsets of m = n // 2 of the n test images, drawn by
``numpy.random.default_rng(SEED)``; the collection depends only on (n, m, B, seed), so every job of a task sees
exactly the same subsets and two jobs' subset values can be compared pairwise (the report's paired test).

Why (the report's notes repeat it): half-sampling without replacement is the delete-d jackknife with
d = n - m = n / 2 (Shao & Wu, Ann. Statist. 1989; Efron & Tibshirani, "An Introduction to the Bootstrap",
ch. 11), whose variance estimate of a statistic is the variance of its subset values times (m / (n - m)),
i.e. simply their variance for m = n / 2 (for a mean exactly (1/m)(n-m)/(n-1) ~ 1/n times the per-image
variance). Unlike the bootstrap it never duplicates an image: duplicates make FID's covariance see the same
feature twice and bias it. Limits: FID is biased upward at small N (about 1/N, Chong & Forsyth, CVPR 2020),
the subset FIDs at n/2 more so; the interval is centred on the full-N value and uses the subsets' spread
around their own mean, so it covers test-set sampling variance, not that bias. FID's real statistics are held
fixed (they are the reference, shared by every job).
"""
from __future__ import annotations

from typing import Any

import numpy as np

B = 200
SEED = 20231
#: The scheme recorded with the values (``metrics["test_resamples"]["scheme"]``).
SCHEME = f"half-sampling without replacement (delete-n/2 jackknife), B={B}, m=n//2, seed={SEED}"


def subset_size(n: int) -> int:
    """m = n // 2 (at least 2: FID needs two images)."""
    return max(2, n // 2)


def subset_indices(n: int, m: int | None = None, b: int = B, seed: int = SEED) -> np.ndarray:
    """``b`` x ``m`` sorted indices into ``range(n)``, each row drawn without replacement; a function of
    (n, m, b, seed) only."""
    m = subset_size(n) if m is None else m
    if not 2 <= m <= n:
        raise ValueError(f"subsets of {m} out of {n} test items: need 2 <= m <= n")
    rng = np.random.default_rng([seed, n, m, b])
    return np.sort(np.stack([rng.permutation(n)[:m] for _ in range(b)]), axis=1)


def subset_means(values: Any, b: int = B, seed: int = SEED) -> list[float]:
    """The mean of per-item ``values`` (one per test item: correctness x 100, absolute errors...) on every
    subset of :func:`subset_indices`."""
    x = np.asarray(values, dtype=np.float64)
    return [float(v) for v in x[subset_indices(len(x), b=b, seed=seed)].mean(axis=1)]


def record(values: dict[str, list[float]], n: int) -> dict[str, Any]:
    """The ``test_resamples`` record field: per metric its subset values, plus the scheme and n."""
    return {**values, "scheme": SCHEME, "n": int(n), "m": subset_size(n)}

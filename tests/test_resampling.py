"""The fixed test-set subsets (kd_gan_bench.benchmarks.metrics.resampling) and the FID of each subset (kd_gan_bench.benchmarks.metrics.fid)."""
from __future__ import annotations

import time

import numpy as np
import pytest
import scipy.linalg
import torch

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.benchmarks.metrics.frechet import RealStats, frechet_distance
from kd_gan_bench.benchmarks.metrics.fid_subsets import subset_frechet_distances


def _scipy_fid(fake: np.ndarray, real: np.ndarray) -> float:
    """pytorch-fid's formula: scipy.linalg.sqrtm of the covariance product."""
    mu_f, mu_r = fake.mean(0), real.mean(0)
    s_f, s_r = np.cov(fake, rowvar=False), np.cov(real, rowvar=False)
    root = scipy.linalg.sqrtm(s_f @ s_r).real
    return float(((mu_f - mu_r) ** 2).sum() + np.trace(s_f) + np.trace(s_r) - 2 * np.trace(root))


def test_subsets_are_a_function_of_n_m_b_and_seed() -> None:
    a = resampling.subset_indices(50)
    assert a.shape == (resampling.B, 25)
    assert np.array_equal(a, resampling.subset_indices(50))  # every job of a task gets the same family
    assert all(len(set(row)) == 25 for row in a)  # without replacement
    assert a.min() >= 0 and a.max() < 50
    assert not np.array_equal(a, resampling.subset_indices(50, seed=resampling.SEED + 1))
    assert not np.array_equal(resampling.subset_indices(51)[:, :25], a)
    with pytest.raises(ValueError, match="2 <= m <= n"):
        resampling.subset_indices(10, m=11)


def test_subset_means_and_their_spread() -> None:
    """A subset mean is the plain mean of the items; the subsets' variance is the delete-n/2 jackknife's
    variance of the mean, (1/m)(n-m)/(n-1) x the items' population variance."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=400)
    idx = resampling.subset_indices(400)
    means = np.asarray(resampling.subset_means(x))
    assert np.allclose(means, x[idx].mean(1))
    exact = x.var() / 200 * (400 - 200) / (400 - 1)
    assert means.var(ddof=1) == pytest.approx(exact, rel=0.25)  # B = 200 draws of the variance


def test_subset_fid_equals_full_formula() -> None:
    rng = np.random.default_rng(1)
    d = 24
    real = rng.normal(size=(80, d)) @ rng.normal(size=(d, d)) * 0.3
    fake = rng.normal(size=(40, d)) @ rng.normal(size=(d, d)) * 0.3 + 0.5
    subsets = resampling.subset_indices(40, b=10)  # m = 20 < d: rank-deficient fake covariances
    values = subset_frechet_distances(torch.from_numpy(fake), torch.from_numpy(real), subsets)
    for value, rows in zip(values, subsets, strict=True):
        assert value == pytest.approx(_scipy_fid(fake[rows], real), rel=1e-6)
        assert value == pytest.approx(frechet_distance(torch.from_numpy(fake[rows]), torch.from_numpy(real)), rel=1e-7)
    big = resampling.subset_indices(40, m=30, b=3)  # m > d: the D x D branch
    for value, rows in zip(subset_frechet_distances(torch.from_numpy(fake), torch.from_numpy(real), big), big):
        assert value == pytest.approx(_scipy_fid(fake[rows], real), rel=1e-6)


def test_200_subset_fids_take_seconds() -> None:
    """Inception's 2048-d features, 250 test images: 200 subset FIDs in seconds."""
    gen = torch.Generator().manual_seed(0)
    real = RealStats(torch.randn(500, 2048, generator=gen))
    fake = torch.randn(250, 2048, generator=gen)
    start = time.perf_counter()
    values = subset_frechet_distances(fake, real, resampling.subset_indices(250))
    assert len(values) == 200 and all(np.isfinite(values))
    assert time.perf_counter() - start < 10

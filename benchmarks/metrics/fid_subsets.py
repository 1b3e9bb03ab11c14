"""FID of many subsets of one fake feature set against fixed real statistics, cheaply: the test-set resampling of
:mod:`kd_gan_bench.benchmarks.metrics.resampling` asks for 200 of them per job."""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

import torch

from kd_gan_bench.benchmarks.metrics.frechet import RealStats, fid_from_cross


def subset_frechet_distances(fake: torch.Tensor, real: "RealStats | torch.Tensor", subsets: Any,
                             chunk: int = 50) -> list[float]:
    """FID of the fake features' rows ``subsets`` (B x m indices, :func:`kd_gan_bench.benchmarks.metrics.resampling.subset_indices`)
    against the fixed real statistics, one value per subset, equal to
    :func:`kd_gan_bench.benchmarks.metrics.frechet.frechet_distance` of each subset.

    Cheap for B = 200: every term is a quadratic form of the fake rows, so three n x n matrices computed once
    (X X^T, (X - mu_r)(X - mu_r)^T and X S_r X^T) give each subset's terms by indexing and double-centring:
    |mean_s(X) - mu_r|^2, tr(S_f), and the m x m matrix A S_r A^T / (m - 1) (A = the centred subset) whose
    non-zero eigenvalues are those of S_f S_r (rank < m), as :func:`frechet_distance` uses for n <= D. A subset
    then costs one m x m eigendecomposition, not D^3 (nor sqrtm's 2048 x 2048 product); meant for test sets of
    up to a few thousand images."""
    stats = real if isinstance(real, RealStats) else RealStats(real)
    x = fake.double().to(stats.mu.device)
    z = x - stats.mu
    x = x - x.mean(0)  # a shift of all rows changes no centred Gram matrix; it keeps them accurate
    grams = (x @ x.T, z @ z.T, x @ stats.sigma @ x.T)
    index = torch.as_tensor(subsets, dtype=torch.long, device=x.device)
    m = index.shape[1]
    values = []
    with _one_cpu_thread(x.device):
        for start in range(0, len(index), chunk):
            rows = index[start:start + chunk]
            gx, gz, gy = (g[rows[:, :, None], rows[:, None, :]] for g in grams)
            mean_dist = gz.mean((1, 2))  # |mean_s(z)|^2
            values.append(fid_from_cross(_centred(gx).diagonal(dim1=1, dim2=2).sum(1) / (m - 1), _centred(gy) / (m - 1),
                                     stats, mean_dist=mean_dist))
    return [float(v) for v in torch.cat(values)]


@contextlib.contextmanager
def _one_cpu_thread(device: torch.device) -> Iterator[None]:
    """One intra-op thread on the CPU: torch's batched ``eigvalsh`` of small matrices runs 30-200x slower with
    several threads on a loaded machine (measured: 50 matrices 125 x 125, 0.12 s on one thread, 4.6-29 s on two)."""
    old = torch.get_num_threads()
    if device.type == "cpu":
        torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(old)


def _centred(gram: torch.Tensor) -> torch.Tensor:
    """The Gram matrices of the rows centred on their mean (batched double centring)."""
    return gram - gram.mean(-1, keepdim=True) - gram.mean(-2, keepdim=True) + gram.mean((-1, -2), keepdim=True)

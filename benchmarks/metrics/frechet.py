"""The Frechet distance between Gaussians fitted to two feature sets (Heusel et al., 2017), computed exactly in
float64 from a matrix whose eigenvalues are those of S_f S_r (see :mod:`kd_gan_bench.benchmarks.metrics.fid`'s docstring for
how and where it differs from torch-fidelity's ``sqrtm``): the real side's statistics, the distance, and the
eigenvalue step that :mod:`kd_gan_bench.benchmarks.metrics.fid_subsets` shares for many subsets at once."""
from __future__ import annotations

import torch


class RealStats:
    """Mean, covariance and (lazily) covariance square root of one real feature set, float64."""

    def __init__(self, features: torch.Tensor) -> None:
        self.features = features
        x = features.double()
        self.mu = x.mean(0)
        centred = x - self.mu
        self.sigma = centred.T @ centred / (len(x) - 1)
        self._root: torch.Tensor | None = None

    def root(self) -> torch.Tensor:
        if self._root is None:
            evals, evecs = torch.linalg.eigh(self.sigma)
            self._root = (evecs * evals.clamp_min(0).sqrt()) @ evecs.T
        return self._root


def frechet_distance(fake: torch.Tensor, real: "RealStats | torch.Tensor") -> float:
    """FID = |mu_f - mu_r|^2 + tr(S_f) + tr(S_r) - 2 tr((S_f S_r)^(1/2)), float64 on the features' device
    (see the module docstring for how the trace of the square root is computed)."""
    stats = real if isinstance(real, RealStats) else RealStats(real)
    x = fake.double().to(stats.mu.device)
    n, d = x.shape
    a = x - x.mean(0)
    if n <= d:
        cross = a @ stats.sigma @ a.T / (n - 1)
    else:
        sigma_f = a.T @ a / (n - 1)
        cross = stats.root() @ sigma_f @ stats.root()
    return float(fid_from_cross((a * a).sum() / (n - 1), cross, stats, mu_f=x.mean(0)))


def fid_from_cross(trace_f: torch.Tensor, cross: torch.Tensor, stats: RealStats, *,
                   mu_f: torch.Tensor | None = None, mean_dist: torch.Tensor | None = None) -> torch.Tensor:
    """|mu_f - mu_r|^2 + tr(S_f) + tr(S_r) - 2 tr((S_f S_r)^(1/2)) from a (batch of) symmetric matrices ``cross``
    whose non-zero eigenvalues are those of S_f S_r; the first term from ``mu_f`` or given as ``mean_dist``."""
    eig = torch.linalg.eigvalsh((cross + cross.transpose(-1, -2)) / 2).clamp_min(0)
    if mean_dist is None:
        mean_dist = ((mu_f - stats.mu) ** 2).sum(-1)
    return mean_dist + trace_f + stats.sigma.trace() - 2 * eig.sqrt().sum(-1)

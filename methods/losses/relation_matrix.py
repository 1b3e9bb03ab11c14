"""SRPKD's semantic relation matrix (Li, Jiang, Aarabi, ECCV 2020 workshops, arXiv 2104.15082).

The paper's abstract: the student reproduces "a semantic relation preserving matrix derived from
the teacher's feature encoding". The paper body could not be read here, so the matrix is
reconstructed from that description (see ``METHODS.md``): for a feature map F (C x H x W), the
C-vector at every position is L2-normalised and R = F^T F is the HW x HW matrix of cosine
similarities between positions; the loss is the mean squared difference of the student's and the
teacher's R. R does not depend on the channel count, so no adapter is needed, and it is invariant
to a per-position rescaling of the features.

R has (HW)^2 entries. Features larger than ``max_side`` on a side are average-pooled to at most
``max_side`` x ``max_side`` first (at 256x256 input the ResNet encoder gives 64x64 positions,
16.7M entries per image, i.e. 64 MiB; pooled to 32x32 it is 1M). The pooling comes before the
normalisation, so the per-position invariance holds for the pooled positions.
"""
from __future__ import annotations

import torch
import torch.nn.functional as F


def _pool(features: torch.Tensor, side: tuple[int, int]) -> torch.Tensor:
    return features if tuple(features.shape[-2:]) == side else F.adaptive_avg_pool2d(features, side)


def relation_matrix(features: torch.Tensor, max_side: int | None = None) -> torch.Tensor:
    """B x C x H x W -> B x N x N cosine similarities between positions (N = HW after pooling)."""
    h, w = features.shape[-2:]
    if max_side:
        features = _pool(features, (min(h, max_side), min(w, max_side)))
    unit = F.normalize(features.flatten(2), dim=1)
    return unit.transpose(1, 2) @ unit


def relation_loss(student: torch.Tensor, teacher: torch.Tensor, max_side: int | None = 32) -> torch.Tensor:
    """Mean squared difference of the relation matrices; the teacher side carries no gradient.

    Both maps are pooled to the same grid (the smaller of the two, capped at ``max_side``), so a
    student whose features have another resolution than the teacher's is still comparable."""
    side = (min(student.shape[-2], teacher.shape[-2]), min(student.shape[-1], teacher.shape[-1]))
    if max_side:
        side = (min(side[0], max_side), min(side[1], max_side))
    with torch.no_grad():
        r_t = relation_matrix(_pool(teacher, side))
    return F.mse_loss(relation_matrix(_pool(student, side)), r_t)

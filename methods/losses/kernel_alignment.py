"""Kernel alignment between two sets of features (CAT: Jin et al., "Teachers Do More Than Teach:
Compressing Image-to-Image Models", CVPR 2021; public code github.com/snap-research/CAT,
``utils/common.py: KA``).

Each of the N samples' feature map is flattened to one row, X (N x D) and Y (N x D'), D and D' free
(no adaptor: only the N x N sample-by-sample Gram matrices are compared):

    KA(X, Y) = <X X^T, Y Y^T>_F / (||X X^T||_F ||Y Y^T||_F)

the cosine between the two Gram matrices, in [0, 1] for real features, 1 when the Grams are
proportional; no centring. CAT's distillation loss is -lambda x the sum of KA over its layer pairs.
With N = 1 both Grams are 1 x 1 and KA is identically 1 (no signal, zero gradient).

Float32 accuracy: the public code computes ``(Gx * Gy).sum() / ((Gx**2).sum() * (Gy**2).sum())**0.5``.
Its denominator is a product of fourth powers of the activations, which overflows float32 (3.4e38)
for activations of a few hundred over a 256x256 map and underflows to 0 for small ones (giving inf
or NaN, not an inaccurate value). Here each side is first divided by its largest absolute entry, a
detached constant, and each Gram by its own Frobenius norm, so every sum stays in [0, 1]. KA is
invariant to scaling either side and its gradient is homogeneous of degree -1, so dividing by a
detached constant changes neither the value nor the gradient mathematically. An all-zero map has
no direction: its KA is defined as 0 (gradient 0) instead of NaN.
"""
from __future__ import annotations

from typing import Mapping

import torch

_TINY = torch.finfo(torch.float32).tiny


def _unit_gram(features: torch.Tensor) -> torch.Tensor:
    """N x ... -> the N x N Gram matrix of the flattened samples, scaled to unit Frobenius norm."""
    flat = features.reshape(features.shape[0], -1)
    flat = flat / flat.detach().abs().amax().clamp_min(_TINY)
    gram = flat @ flat.transpose(0, 1)
    return gram / torch.linalg.vector_norm(gram).clamp_min(_TINY)


def kernel_alignment(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """KA of two feature batches with the same number of samples (dimension 0); a 0-d tensor."""
    if x.shape[0] != y.shape[0]:
        raise ValueError(f"kernel alignment needs the same number of samples on both sides, got {x.shape[0]} "
                         f"and {y.shape[0]}")
    return (_unit_gram(x) * _unit_gram(y)).sum()


def kernel_alignment_loss(student: Mapping[str, torch.Tensor], teacher: Mapping[str, torch.Tensor],
                          groups: int = 1) -> torch.Tensor:
    """CAT's distillation term: minus the sum over the named layers of KA(student, teacher), each KA computed
    per group of the batch and summed over the ``groups`` (CAT's scripts: one KA per GPU over its share of the
    batch, the GPUs' values summed, ``inception_distiller.py``); the batch is split into ``groups`` parts as
    equal as possible (``torch.tensor_split``). The teacher side carries no gradient."""
    return -sum(kernel_alignment(s, t) for k in student
                for s, t in zip(student[k].tensor_split(groups), teacher[k].detach().tensor_split(groups)))

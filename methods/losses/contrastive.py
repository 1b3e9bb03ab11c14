"""ReKo's region attention and patch-wise contrastive distillation (Zhang et al., arXiv 2205.12451).

The paper's abstract: an attention module finds the crucial regions of the image, then
patch-wise contrastive learning maximises the mutual information between student and teacher
inside those regions. There is no public code, so the construction is reconstructed from that
description (see ``METHODS.md``):

* attention = the teacher feature's energy per position (mean over channels of F^2, or of |F|),
  normalised to sum to one over the image; the top-K positions of each image are kept;
* at each kept position the (projected) student feature is the query, the teacher feature at the
  same position the positive, and the teacher features at the other kept positions of the same
  image the negatives: InfoNCE with temperature tau (PatchNCE, Park et al. ECCV 2020, uses 0.07).
"""
from __future__ import annotations

import torch
import torch.nn.functional as F

ATTENTION_KINDS = ("l2", "l1")


def attention_map(features: torch.Tensor, kind: str = "l2") -> torch.Tensor:
    """B x C x H x W -> B x (H*W) energy per position (mean of F^2 or |F| over channels), summing to 1."""
    if kind not in ATTENTION_KINDS:
        raise ValueError(f"unknown attention {kind!r}; valid: {', '.join(ATTENTION_KINDS)}")
    flat = features.flatten(2)
    energy = flat.pow(2).mean(dim=1) if kind == "l2" else flat.abs().mean(dim=1)
    return energy / energy.sum(dim=1, keepdim=True).clamp_min(1e-12)


def select_regions(attention: torch.Tensor, k: int) -> torch.Tensor:
    """Indices (B x K) of the ``k`` positions of highest attention per image (all positions if fewer)."""
    return attention.topk(min(k, attention.shape[1]), dim=1).indices


def gather_positions(features: torch.Tensor, index: torch.Tensor) -> torch.Tensor:
    """B x C x H x W features at flat positions ``index`` (B x K) -> B x K x C."""
    flat = features.flatten(2)
    return flat.gather(2, index[:, None, :].expand(-1, flat.shape[1], -1)).transpose(1, 2)


def patch_nce_loss(query: torch.Tensor, key: torch.Tensor, tau: float = 0.07) -> torch.Tensor:
    """InfoNCE over B x K x D queries and keys of equal width: query k's positive is key k, its
    negatives the other keys of the same image. Both sides are L2-normalised; mean over B*K."""
    q, k = F.normalize(query, dim=2), F.normalize(key, dim=2)
    logits = q @ k.transpose(1, 2) / tau                   # B x K x K
    target = torch.arange(logits.shape[1], device=logits.device).expand(logits.shape[0], -1)
    return F.cross_entropy(logits.flatten(0, 1), target.flatten())

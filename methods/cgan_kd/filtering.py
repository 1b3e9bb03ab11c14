"""cGAN-KD's teacher filtering and label replacement (Ding et al., arXiv 2104.03164, and its public code).

Filtering: the teacher scores every fake sample by its loss against the label the sample was
generated at: cross-entropy for a class, |y_hat - y| (normalised units) for a regression label. A
burn-in set of subsampled fakes fixes the cut-off at the rho-quantile of those losses (rho 0.9 for
classification, 0.7 for regression, the paper's defaults); afterwards only fakes whose loss is
strictly below the cut-off are kept. As in the public code, classification uses one cut-off per
class and regression one for all labels.

Label replacement ("label adjustment" in the code, on in its CIFAR-100 scripts): a kept fake's
label becomes the teacher's prediction, its arg-max class or its predicted value (clamped to the
task's label range here, so the fake set stays inside it).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

DEFAULT_RHO: Mapping[str, float] = {"classification": 0.9, "regression": 0.7}

FILTER_DEFAULTS: Mapping[str, Any] = {
    "filter": True,
    "filter_rho": None,          # None: 0.9 for classification, 0.7 for regression
    "filter_burn_in": 1000,      # subsampled fakes per label that fix the cut-off (the public code: 1000 per class)
    "replace_labels": True,
}


def resolve_rho(hp: Mapping[str, Any], family: str) -> float:
    rho = DEFAULT_RHO[family] if hp["filter_rho"] is None else float(hp["filter_rho"])
    if not 0.0 < rho <= 1.0:
        raise ValueError(f"filter_rho must be in (0, 1], got {rho}")
    return rho


def teacher_losses(outputs: torch.Tensor, labels: torch.Tensor, family: str) -> torch.Tensor:
    """Per-sample teacher loss: CE of logits to class ids, or |prediction - label| in normalised units."""
    if family == "classification":
        return F.cross_entropy(outputs.float(), labels.long(), reduction="none")
    return (outputs[:, 0].float() - labels.float()).abs()


def quantile_cutoff(losses: torch.Tensor, rho: float) -> float:
    """The rho-quantile of the burn-in losses (linear interpolation, as numpy.quantile)."""
    if len(losses) == 0:
        raise ValueError("cannot set a filtering cut-off from an empty burn-in set")
    return float(torch.quantile(losses.double(), rho))


def keep_below(losses: torch.Tensor, cutoff: float) -> torch.Tensor:
    """Mask of the samples whose loss is strictly below the cut-off."""
    return losses < cutoff


def teacher_labels(outputs: torch.Tensor, family: str) -> torch.Tensor:
    """The teacher's label for each sample: arg-max class, or its predicted (normalised) value."""
    return outputs.argmax(1) if family == "classification" else outputs[:, 0].float()


def replace_labels(labels: torch.Tensor, predicted: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Labels replaced by the teacher's, and the mask of those that changed."""
    predicted = predicted.to(labels.dtype)
    return predicted.clone(), predicted != labels

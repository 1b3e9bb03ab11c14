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

The filtering network ("the teacher" above). The public code does not filter with the teacher of the
pair being distilled but with one network trained on the real data for the whole dataset
(``--samp_filter_precnn_net``): a DenseNet-121 on CIFAR-100 (``make_fake_datasets/scripts/run.sh``; its
checkpoint comes from RepDistiller's ``train_teacher.py``: 240 epochs at batch 64, SGD lr 0.05, x0.1 at
150/180/210), so one fake set serves every teacher-student pair; a VGG-11 on UTKFace
(``UTKFace/scripts/run_gene_data.sh``; trained by ``scripts/run_cnn.sh``: 350 epochs at batch 128, lr
0.01, x0.1 at 150/250). ``filter_net``: None (that network for the task's family, trained on the
real training split inside the fake-set phase with ``filter_net_schedule``, by default the schedule just
quoted, its epochs counted over the training split), a network spec (``{"arch": "resnet56"}``) trained
the same way, or ``"teacher"``: the pair's own teacher (cheaper; the fake set then depends on it).
"""
from __future__ import annotations

import math
from typing import Any, Mapping

import torch
import torch.nn.functional as F

from kd_gan_bench.methods.cgan_kd.settings import FILTER_NETS
from kd_gan_bench.methods.core.labelled_training import SGDSchedule

DEFAULT_RHO: Mapping[str, float] = {"classification": 0.9, "regression": 0.7}


#: The schedules the public code's filtering networks (``FILTER_NETS``) were trained with on the real data (docstring).
FILTER_NET_SCHEDULES: Mapping[str, Mapping[str, Any]] = {
    "classification": {"epochs": 240, "batch_size": 64, "lr": 0.05, "milestones": (0.625, 0.75, 0.875)},
    "regression": {"epochs": 350, "batch_size": 128, "lr": 0.01, "milestones": (150 / 350, 250 / 350)},
}


def filter_net_spec(hp: Mapping[str, Any], family: str) -> dict[str, Any] | None:
    """The network spec that filters (and gives cDR-RS its features), or None for the pair's teacher."""
    net = hp["filter_net"]
    if net == "teacher":
        return None
    if net is None:
        return dict(FILTER_NETS[family])
    if isinstance(net, Mapping) and "arch" in net:
        return dict(net)
    raise ValueError(f"filter_net must be None (the public code's network), 'teacher' or a network spec with an "
                     f"'arch' key such as {{\"arch\": \"resnet56\"}}, got {net!r}")


def filter_net_schedule(hp: Mapping[str, Any], family: str, n_train: int) -> SGDSchedule:
    """The filtering network's training schedule; an ``epochs`` key becomes steps over ``n_train`` images."""
    values = dict(FILTER_NET_SCHEDULES[family] if hp["filter_net_schedule"] is None else hp["filter_net_schedule"])
    if "epochs" in values:
        batch = int(values.get("batch_size", SGDSchedule.batch_size))
        values["steps"] = int(values.pop("epochs")) * math.ceil(n_train / batch)
    return SGDSchedule.from_mapping(values)


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

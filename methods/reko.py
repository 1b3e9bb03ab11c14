"""``reko``: region-aware KD (Zhang et al., "Region-aware Knowledge Distillation for Efficient
Image-to-Image Translation", arXiv 2205.12451).

An attention map over the teacher's features selects the crucial regions (the top-K positions
per image); at those positions a patch-wise contrastive (InfoNCE) loss pulls the student's
projected feature towards the teacher's feature at the same position and away from the
teacher's features at the other selected positions (see :mod:`methods.losses.contrastive`).
The projection head is a two-layer MLP (PatchNCE's shape: Linear, ReLU, Linear) from the
student's width to the teacher's, trained with the student. The student also gets output
distillation (L1 to the teacher's output) and the shared loop's GAN loss.

Reconstructed, not read: there is no public code and only the abstract was available, so the
attention (teacher feature energy, no learned module), the choice of negatives, the head and
the weights are our construction, as ``METHODS.md`` records; each is a hyperparameter:

* ``layer`` (a ``distill_points()`` key), ``attention`` (``l2``: mean F^2 over channels; ``l1``: mean |F|),
* ``num_patches`` (K positions kept per image), ``tau`` (InfoNCE temperature, PatchNCE's 0.07),
* ``lambda_nce`` (contrastive weight), ``lambda_recon`` (output L1; ``None``: 10 CycleGAN / 100 pix2pix).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from methods.base import TrainSetup
from methods.distill import LOOP_DEFAULTS, DistillationMethod, StepTensors, feature_shapes
from methods.losses.contrastive import attention_map, gather_positions, patch_nce_loss, select_regions
from methods.output_kd import recon_weight
from methods.registry import METHODS


@METHODS.register("reko")
class ReKo(DistillationMethod):
    """Region-aware KD: teacher-attention top-K regions, patch-wise InfoNCE through a projection head, plus output L1."""

    name = "reko"
    citation = ("Zhang et al., Region-aware Knowledge Distillation for Efficient Image-to-Image Translation, "
                "arXiv 2205.12451 (attention and contrastive construction reconstructed from the abstract)")
    defaults = {**LOOP_DEFAULTS, "lambda_recon": None, "lambda_nce": 1.0, "layer": "encoder", "attention": "l2",
                "num_patches": 64, "tau": 0.07}

    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return [hp["layer"]]

    def build_modules(self, hp: Mapping[str, Any], student: nn.Module, teacher: nn.Module,
                      setup: TrainSetup) -> nn.ModuleDict:
        layer, size = hp["layer"], setup.data.size
        s_ch = feature_shapes(student, {layer: student.distill_points()[layer]}, size, setup.device)[layer][1]
        t_ch = feature_shapes(teacher, {layer: teacher.distill_points()[layer]}, size, setup.device)[layer][1]
        return nn.ModuleDict({"head": nn.Sequential(nn.Linear(s_ch, t_ch), nn.ReLU(), nn.Linear(t_ch, t_ch))})

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        s_feat, t_feat = t.student_feats[hp["layer"]], t.teacher_feats[hp["layer"]]
        if s_feat.shape[-2:] != t_feat.shape[-2:]:
            raise ValueError(f"reko needs student and teacher {hp['layer']!r} features on the same grid, got "
                             f"{tuple(s_feat.shape[-2:])} and {tuple(t_feat.shape[-2:])}")
        index = select_regions(attention_map(t_feat, hp["attention"]), hp["num_patches"])
        query = modules["head"](gather_positions(s_feat, index))
        nce = patch_nce_loss(query, gather_positions(t_feat, index), hp["tau"])
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "nce": nce * hp["lambda_nce"]}

"""``reko``: region-aware KD (Zhang et al., "Region-aware Knowledge Distillation for Efficient
Image-to-Image Translation", arXiv 2205.12451).

An attention map over the teacher's features selects the crucial regions (the top-K positions
per image); at those positions a patch-wise contrastive (InfoNCE) loss pulls the student's
projected feature towards the teacher's feature at the same position and away from the
teacher's features at the other selected positions (see :mod:`kd_gan_bench.methods.losses.contrastive`).
The projection head is a two-layer MLP (PatchNCE's shape: Linear, ReLU, Linear) from the
student's width to the teacher's, trained with the student. The student also gets output
distillation (L1 to the teacher's output) and the shared loop's GAN loss.

Reconstructed, not read: there is no public code and only the abstract was available, so the
attention (teacher feature energy, no learned module), the choice of negatives, the head and
the weights are our construction, as ``METHODS.md`` records; each is a hyperparameter:

* ``layer`` (a ``feature_points()`` key; ``auto``, the default, is the network's ``spatial_encoder()``:
  ResNet ``model.9``, 64 x 64 at 256 px; U-Net down level 4, 16 x 16 at 256 px, because its innermost
  code is 1 x 1 there and the top-K would keep one position, making the InfoNCE term constantly 0),
* ``attention`` (``l2``: mean F^2 over channels; ``l1``: mean |F|),
* ``num_patches`` (K positions kept per image), ``tau`` (InfoNCE temperature, PatchNCE's 0.07),
* ``lambda_nce`` (contrastive weight), ``lambda_recon`` (output L1; ``None``: 10 CycleGAN / 100 pix2pix).

The layer must have at least 2 positions (a positive and a negative) at the task's size, on the
same grid for student and teacher; otherwise its planning check (``kd_gan_bench.methods.reko.checks``) refuses the job when the grid
is planned.

=====================  ====================================  ==================================  =========================
component              paper or public code (file)           ours                                why
=====================  ====================================  ==================================  =========================
region attention       abstract: an attention module         teacher feature energy, top-K       reconstruction (no code)
contrastive term       abstract: patch-wise, in the regions  InfoNCE, negatives = other kept     PatchNCE's form, tau 0.07
                                                             positions of the image
projection head        not readable                          Linear-ReLU-Linear to teacher width PatchNCE's head shape
layer                  not readable                          ResNet model.9; U-Net down4         1x1 U-Net code is trivial
output distillation    not readable                          L1 to teacher x 10 / x 100          GAN Compression's weights
GAN term, D init       not readable                          shared loop: student D from the     as feature_kd
                                                             teacher's D
D / student order      not readable (no public code)         ``d_step`` ``after_g``: D steps     as feature_kd (GAN
                                                             after the student's backward pass   Compression's order)
=====================  ====================================  ==================================  =========================
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.reko.spec import SPEC
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.distill import DistillationMethod, StepTensors, feature_shapes, spatial_layer
from kd_gan_bench.methods.losses.contrastive import attention_map, gather_positions, patch_nce_loss, select_regions
from kd_gan_bench.methods.output_kd.method import recon_weight


class ReKo(DistillationMethod, spec=SPEC):
    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return [spatial_layer(hp, student)]

    def build_modules(self, hp: Mapping[str, Any], student: nn.Module, teacher: nn.Module,
                      setup: TrainSetup) -> nn.ModuleDict:
        layer, size = spatial_layer(hp, student), setup.data.size
        s_ch = feature_shapes(student, {layer: student.feature_points()[layer]}, size, setup.device)[layer][1]
        t_ch = feature_shapes(teacher, {layer: teacher.feature_points()[layer]}, size, setup.device)[layer][1]
        return nn.ModuleDict({"head": nn.Sequential(nn.Linear(s_ch, t_ch), nn.ReLU(), nn.Linear(t_ch, t_ch))})

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        (layer,) = t.student_feats
        s_feat, t_feat = t.student_feats[layer], t.teacher_feats[layer]
        index = select_regions(attention_map(t_feat, hp["attention"]), hp["num_patches"])
        query = modules["head"](gather_positions(s_feat, index))
        nce = patch_nce_loss(query, gather_positions(t_feat, index), hp["tau"])
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "nce": nce * hp["lambda_nce"]}

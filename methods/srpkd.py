"""``srpkd``: semantic relation preserving KD (Li, Jiang, Aarabi, ECCV 2020 workshops, arXiv 2104.15082).

The student is trained with output distillation (L1 to the teacher's output, plus the GAN loss
of the shared loop) and must also reproduce the teacher's semantic relation matrix: the cosine
similarity between every pair of positions of the encoder's feature map (see
:mod:`methods.losses.relation_matrix`).

Reconstructed, not read: the paper body could not be read here, so the matrix and the loss follow
the abstract's description as ``METHODS.md`` records it; its exact normalisation, layer, loss
form and weights are our choices, exposed as hyperparameters:

* ``layer``: the feature the matrix is built from (a key of the generators' ``distill_points()``;
  ``encoder`` is the ResNet's downsampling output ``model.9`` / the U-Net's bottleneck);
* ``max_side``: average pooling caps the map at max_side x max_side positions, bounding the
  (HW)^2 matrix (32: 1M entries per image; no pooling at the default suite's 16x16 encoder maps);
* ``lambda_relation``: weight of the mean squared difference of the matrices;
* ``lambda_recon``: output L1 weight, ``None`` = GAN Compression's 10 (CycleGAN) / 100 (pix2pix).
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from methods.distill import LOOP_DEFAULTS, DistillationMethod, StepTensors
from methods.losses.relation_matrix import relation_loss
from methods.output_kd import recon_weight
from methods.registry import METHODS


@METHODS.register("srpkd")
class SRPKD(DistillationMethod):
    """Semantic relation preserving KD: output L1 + MSE between student and teacher position-relation matrices."""

    name = "srpkd"
    citation = ("Li, Jiang, Aarabi, Semantic Relation Preserving Knowledge Distillation for Image-to-Image "
                "Translation, ECCV 2020 workshops, arXiv 2104.15082 (relation matrix reconstructed from the abstract)")
    defaults = {**LOOP_DEFAULTS, "lambda_recon": None, "lambda_relation": 10.0, "layer": "encoder", "max_side": 32}

    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return [hp["layer"]]

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        layer = hp["layer"]
        relation = relation_loss(t.student_feats[layer], t.teacher_feats[layer], hp["max_side"])
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "relation": relation * hp["lambda_relation"]}

"""``srpkd``: semantic relation preserving KD (Li, Jiang, Aarabi, ECCV 2020 workshops, arXiv 2104.15082).

The student is trained with output distillation (L1 to the teacher's output, plus the GAN loss
of the shared loop) and must also reproduce the teacher's semantic relation matrix: the cosine
similarity between every pair of positions of an encoder feature map (see
:mod:`kd_gan_bench.methods.losses.relation_matrix`).

Reconstructed, not read: the paper body could not be read here (no public code either), so the
matrix and the loss follow the abstract's description as ``METHODS.md`` records it; its exact
normalisation, layer, loss form and weights are our choices, exposed as hyperparameters:

* ``layer``: the feature the matrix is built from, a key of the generators' ``feature_points()``;
  ``auto`` (default) takes the network's ``spatial_encoder()``: the ResNet's downsampling output
  ``model.9`` (64 x 64 at 256 px), the U-Net's down level 4 (16 x 16 at 256 px: its innermost code,
  the literal "encoding", is 1 x 1 there and its relation matrix [[1]] would make the term 0);
* ``max_side``: average pooling caps the map at max_side x max_side positions, bounding the
  (HW)^2 matrix (32: 1M entries per image);
* ``lambda_relation``: weight of the mean squared difference of the matrices;
* ``lambda_recon``: output L1 weight, ``None`` = GAN Compression's 10 (CycleGAN) / 100 (pix2pix).

A layer with fewer than 2 positions at the task's size is refused when the grid is planned
(its planning check, ``kd_gan_bench.methods.srpkd.checks``), never trained as plain output distillation.

=====================  ====================================  ==================================  =========================
component              paper or public code (file)           ours                                why
=====================  ====================================  ==================================  =========================
relation matrix        abstract: "semantic relation          cosine similarity of positions,     reconstruction (body
                       preserving matrix" of the encoding    HW x HW, no adapter                 unread)
layer                  abstract: the encoder's features      ResNet model.9; U-Net down4         1x1 U-Net code is trivial
loss on the matrices   not readable                          MSE, x 10                           reconstruction
output distillation    abstract: combined with it            L1 to teacher x 10 / x 100          GAN Compression's weights
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

from kd_gan_bench.methods.srpkd.spec import SPEC
from kd_gan_bench.methods.core.distill import DistillationMethod, StepTensors, spatial_layer
from kd_gan_bench.methods.losses.relation_matrix import relation_loss
from kd_gan_bench.methods.output_kd.method import recon_weight


class SRPKD(DistillationMethod, spec=SPEC):
    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return [spatial_layer(hp, student)]

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        (layer,) = t.student_feats
        relation = relation_loss(t.student_feats[layer], t.teacher_feats[layer], hp["max_side"])
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "relation": relation * hp["lambda_relation"]}

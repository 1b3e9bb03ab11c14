"""``feature_kd``: GAN Compression's intermediate-feature distillation (Li et al., CVPR 2020).

Student features at the generator's distillation points (for ResNet-9blocks the layers 9, 12,
15, 18 of ``model``) are mapped by learned 1x1 convolutions to the teacher's width and matched
to the teacher's features with MSE, plus L1 between outputs. Weights follow GAN Compression:
``lambda_distill`` 0.01 and ``lambda_recon`` 10 for CycleGAN, 1 and 100 for pix2pix (``None``
picks them by the task's pairing). Difference from GAN Compression: its pix2pix distiller
reconstructs the ground truth; here the output term always targets the teacher's output.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from methods.base import TrainSetup, by_pairing
from methods.distill import LOOP_DEFAULTS, DistillationMethod, StepTensors, feature_shapes
from methods.output_kd import recon_weight
from methods.registry import METHODS


@METHODS.register("feature_kd")
class FeatureKD(DistillationMethod):
    """GAN Compression feature distillation: 1x1-adapted student features, MSE to teacher's, plus output L1."""

    name = "feature_kd"
    citation = "Li et al., GAN Compression: Efficient Architectures for Interactive Conditional GANs, CVPR 2020"
    defaults = {**LOOP_DEFAULTS, "lambda_recon": None, "lambda_distill": None}

    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return list(student.distill_points())

    def build_modules(self, hp: Mapping[str, Any], student: nn.Module, teacher: nn.Module,
                      setup: TrainSetup) -> nn.ModuleDict:
        names = self.feature_names(hp, student)
        size = setup.data.size
        s_shapes = feature_shapes(student, {k: student.distill_points()[k] for k in names}, size, setup.device)
        t_shapes = feature_shapes(teacher, {k: teacher.distill_points()[k] for k in names}, size, setup.device)
        return nn.ModuleDict({k: nn.Conv2d(s_shapes[k][1], t_shapes[k][1], 1) for k in names})

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        weight = by_pairing(hp["lambda_distill"], t.paired, pix2pix=1.0, cyclegan=0.01)
        distill = sum(F.mse_loss(modules[k](t.student_feats[k]), t.teacher_feats[k]) for k in modules)
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "distill": distill * weight}

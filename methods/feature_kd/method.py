"""``feature_kd``: GAN Compression's intermediate-feature distillation (Li et al., CVPR 2020; public code
mit-han-lab/gan-compression, ``distillers/base_resnet_distiller.py``, ``scripts/*/distill.sh``).

Student features at the generator's distillation points (for ResNet-9blocks the layers 9, 12, 15, 18 of
``model``) are mapped by learned 1x1 convolutions to the teacher's width and matched to the teacher's
features with MSE, plus L1 between outputs. Weights follow GAN Compression: ``lambda_distill`` 0.01 and
``lambda_recon`` 10 for CycleGAN, 1 and 100 for pix2pix (``None`` picks them by the task's pairing).

Hyperparameters whose defaults are the public code's: ``student_init``, ``gan_mode`` and ``ndf``
(:mod:`kd_gan_bench.methods.core.gan_compression`, shared with ``cat_ka``). The student's discriminator starts from the teacher's
where their architectures match (``d_init``), else fresh (the code's teacher discriminator has ndf 128 itself;
ours is the suite's recipe's). Every network built fresh is initialised N(0, 0.02) (``init``, the code's
``init_net``).

=====================  ==========================================  ===============================  ======================
component              paper or public code (file)                 ours                             why
=====================  ==========================================  ===============================  ======================
distilled layers       base_resnet_distiller.py: model.9/12/15/18  ResNet: same; U-Net: its code    the code has no U-Net
                                                                   and 3 up levels                  mapping
adapters, loss         1x1 conv student -> teacher width, MSE      same                             the code's
weights                distill.sh: 0.01 / 10 (CycleGAN), 1 / 100   same (``None``)                  the code's
student init           distill.sh: load_pretrained_weight          ``student_init=auto``: the same  U-Net / mixed architectures:
                       (restore_pretrained_G_path)                 where it applies, else scratch   no transfer in the code
pix2pix GAN            distill_options.py: hinge, ndf 128          ``gan_mode``/``ndf`` None: same  the code's
student D init         restore_D_path: the teacher's D             the teacher's D if it has the    ndf 128 vs the suite's
                                                                   same shape, else fresh           teacher D
pix2pix output term    resnet_distiller.py: L1 to the ground       L1 to the teacher's output       one output term for
                       truth                                                                        every loop method
D / student order      resnet_distiller.py:59-68                   ``d_step`` ``after_g``: the      the code's
                       optimize_parameters: backward_D,            same (``before_g``: CAT's
                       backward_G, then D step and G step          order, D steps first)
init                   models/networks.py init_net N(0, 0.02)      ``init`` ``normal`` (student,    the code's
                                                                   fresh D, adapters); ``pytorch``
=====================  ==========================================  ===============================  ======================
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.feature_kd.spec import SPEC
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.distill import DistillationMethod, StepTensors, feature_shapes
from kd_gan_bench.methods.core.gan_compression import GanCompressionStudent
from kd_gan_bench.methods.core.loss_weights import feature_kd_distill_weight, recon_weight
from kd_gan_bench.methods.networks.init import init_weights


class FeatureKD(GanCompressionStudent, DistillationMethod, spec=SPEC):
    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        return list(student.distill_points())

    def build_modules(self, hp: Mapping[str, Any], student: nn.Module, teacher: nn.Module,
                      setup: TrainSetup) -> nn.ModuleDict:
        names = self.feature_names(hp, student)
        size = setup.data.size
        s_shapes = feature_shapes(student, {k: student.distill_points()[k] for k in names}, size, setup.device)
        t_shapes = feature_shapes(teacher, {k: teacher.distill_points()[k] for k in names}, size, setup.device)
        return init_weights(nn.ModuleDict({k: nn.Conv2d(s_shapes[k][1], t_shapes[k][1], 1) for k in names}), hp["init"])

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        weight = feature_kd_distill_weight(hp, t.paired)
        distill = sum(F.mse_loss(modules[k](t.student_feats[k]), t.teacher_feats[k]) for k in modules)
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired),
                "distill": distill * weight}

"""``output_kd``: the student's output matched to the teacher's output with L1, plus the GAN loss.

GAN Compression's distiller (mit-han-lab/gan-compression, ``distillers/base_resnet_distiller.py``) without
its feature term: the shared loop of :mod:`kd_gan_bench.methods.core.distill`.

==================  ===========================================  ================================  ====================
component           paper or public code (file)                  ours                              why
==================  ===========================================  ================================  ====================
output term         CycleGAN distill.sh: L1 to the teacher x 10  L1 to the teacher, x 10 / x 100   the code's weights
                    (pix2pix: L1 to the ground truth x 100)      (``lambda_recon`` None)           (teacher as target)
GAN term            the student's D, initialised from the        same (``d_init`` teacher), the    the code's; the
                    teacher's (restore_D_path)                   suite's recipe's loss             suite's GAN loss
D / student order   resnet_distiller.py:59-68                    ``d_step`` ``after_g``: the same  the code's (GAN
                    ``optimize_parameters``: backward_D,         (``before_g``: D steps first)     Compression's
                    backward_G, then D step and G step                                             distiller's)
==================  ===========================================  ================================  ====================
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.output_kd.spec import SPEC
from kd_gan_bench.methods.core.distill import DistillationMethod, StepTensors
from kd_gan_bench.methods.core.loss_weights import recon_weight


class OutputKD(DistillationMethod, spec=SPEC):
    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        return {"recon": F.l1_loss(t.student_out, t.teacher_out) * recon_weight(hp, t.paired)}

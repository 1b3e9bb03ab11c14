"""``vanilla_kd``: Hinton et al., "Distilling the Knowledge in a Neural Network" (2015).

Classification: ``label_weight`` x CE(student, labels) + ``kd_weight`` x T^2 x KL(softmax(teacher / T)
|| softmax(student / T)), the T^2 keeping the soft term's gradients on the scale of the hard one.
The defaults (T = 4, weights 0.1 / 0.9) are RepDistiller's ``-r 0.1 -a 0.9``, which cGAN-KD's
public scripts use when combining with KD. Regression, where Hinton's soft targets do not exist
(cGAN-KD notes that KD methods of the time do not apply): ``label_weight`` x the supervised loss
+ ``kd_weight`` x MSE between the student's and the teacher's normalised predictions; this
regression form is our construction.
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F

from kd_gan_bench.methods.vanilla_kd.spec import SPEC
from kd_gan_bench.methods.core.labelled_method import LabelledMethod
from kd_gan_bench.methods.core.labelled_training import supervised_loss



def hinton_kd_loss(student_logits: torch.Tensor, teacher_logits: torch.Tensor, temperature: float) -> torch.Tensor:
    """T^2 x KL(softmax(t/T) || softmax(s/T)), averaged over the batch."""
    log_p_student = F.log_softmax(student_logits / temperature, dim=1)
    log_p_teacher = F.log_softmax(teacher_logits / temperature, dim=1)
    return F.kl_div(log_p_student, log_p_teacher, reduction="batchmean", log_target=True) * temperature ** 2


def kd_terms(hp: Mapping[str, Any], family: str, outputs: torch.Tensor, targets: torch.Tensor,
             teacher_outputs: torch.Tensor) -> dict[str, torch.Tensor]:
    """The weighted supervised term and the distillation term of vanilla KD."""
    sup = supervised_loss(outputs, targets, family, hp["reg_loss"]) * hp["label_weight"]
    if family == "classification":
        kd = hinton_kd_loss(outputs, teacher_outputs, hp["kd_T"])
    else:
        kd = F.mse_loss(outputs[:, 0], teacher_outputs[:, 0])
    return {"sup": sup, "kd": kd * hp["kd_weight"]}


class VanillaKD(LabelledMethod, spec=SPEC):
    distils = True

    def losses(self, hp: Mapping[str, Any], family: str, outputs: torch.Tensor, targets: torch.Tensor,
               teacher_outputs: torch.Tensor | None) -> dict[str, torch.Tensor]:
        return kd_terms(hp, family, outputs, targets, teacher_outputs)

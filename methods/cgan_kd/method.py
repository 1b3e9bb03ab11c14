"""``cgan_kd`` and ``cgan_kd+vanilla_kd``: students trained on real + processed cGAN-generated data.

Ding et al., "Distilling and Transferring Knowledge via cGAN-generated Samples for Image
Classification and Regression" (arXiv 2104.03164). The fake set (``methods.cgan_kd.build_fake_set``:
cGAN, cDR-RS subsampling, teacher filtering, label replacement) is made once per task and teacher
in its own phase; these methods only train the student on the union of the real training split and
that set. As in the paper's public scripts, the student is fine-tuned from the NOKD student of the
same architecture (``init="nokd"``, the harness passes its weights as ``setup.student_init``) at a
fifth of the schedule's learning rate (``lr_scale``: CIFAR-100 NOKD 0.05 -> fine-tuning 0.01);
``init="scratch"`` trains it from scratch instead. ``cgan_kd`` learns from the (teacher-replaced)
labels alone; ``cgan_kd+vanilla_kd`` adds Hinton KD from the teacher on every batch, real or fake
(the paper combines cGAN-KD with KD, CRD and other losses the same way).
"""
from __future__ import annotations

from typing import Any, Mapping

from methods.labelled_method import LABELLED_DEFAULTS, LabelledMethod
from methods.registry import METHODS, Need
from methods.vanilla_kd import KD_DEFAULTS, VanillaKD

CGAN_KD_DEFAULTS: Mapping[str, Any] = {"init": "nokd", "lr_scale": 0.2}
INITS = ("nokd", "scratch")


@METHODS.register("cgan_kd")
class CganKD(LabelledMethod):
    """cGAN-KD: the student (fine-tuned from NOKD) learns from real + filtered cGAN samples."""

    name = "cgan_kd"
    uses_fake_set = True
    needs = (Need("fake_set", artifact="cgan_kd_fake_set"),
             Need("student_init", method="nokd", when=(("init", "nokd"),)))
    citation = ("Ding et al., Distilling and Transferring Knowledge via cGAN-generated Samples for Image "
                "Classification and Regression, arXiv 2104.03164")
    defaults = {**LABELLED_DEFAULTS, **CGAN_KD_DEFAULTS}

    def needs_student_init(self, hp: Mapping[str, Any]) -> bool:
        if hp["init"] not in INITS:
            raise ValueError(f"{self.name}: init must be one of {INITS}, got {hp['init']!r}")
        return hp["init"] == "nokd"

    def lr_scale(self, hp: Mapping[str, Any]) -> float:
        return float(hp["lr_scale"])


@METHODS.register("cgan_kd+vanilla_kd")
class CganKDVanillaKD(CganKD, VanillaKD):
    """cGAN-KD combined with Hinton KD: real + cGAN samples, CE to labels + T^2 KL to the teacher."""

    name = "cgan_kd+vanilla_kd"
    citation = CganKD.citation + "; Hinton et al. 2015"
    defaults = {**LABELLED_DEFAULTS, **KD_DEFAULTS, **CGAN_KD_DEFAULTS}

"""``nokd``: the student trained on the real training split alone, no teacher (cGAN-KD's NOKD baseline)."""
from __future__ import annotations

from typing import ClassVar

from methods.core.labelled_method import LabelledMethod
from methods.registry import METHODS


@METHODS.register("nokd")
class NoKD(LabelledMethod):
    """Student trained on real data only: cross-entropy, or MSE/L1 on normalised labels for regression."""

    name = "nokd"
    teacher_mode: ClassVar[str] = "none"
    citation = "NOKD baseline of Ding et al., cGAN-KD, arXiv 2104.03164 (RepDistiller's CIFAR recipe)"

"""``nokd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.nokd.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_specs import labelled_plan
from kd_gan_bench.methods.core.settings import LABELLED_DEFAULTS, LABELLED_HPARAMS

SPEC = MethodSpec(
    name="nokd", families=("classification", "regression"), teacher_mode="none",
    summary="Student trained on real data only: cross-entropy, or MSE/L1 on normalised labels for regression.",
    citation="NOKD baseline of Ding et al., cGAN-KD, arXiv 2104.03164 (RepDistiller's CIFAR recipe)",
    defaults=LABELLED_DEFAULTS, hparams_declared=LABELLED_HPARAMS, plan=labelled_plan)

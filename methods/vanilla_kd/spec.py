"""``vanilla_kd``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.vanilla_kd.method`)."""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_specs import labelled_plan
from kd_gan_bench.methods.core.settings import LABELLED_DEFAULTS, LABELLED_HPARAMS

#: Hinton KD's temperature and the weights of its KL and label terms (cGAN-KD + KD reuses them).
KD_DEFAULTS: Mapping[str, Any] = {"kd_T": 4.0, "kd_weight": 0.9, "label_weight": 0.1}

SPEC = MethodSpec(
    name="vanilla_kd", families=("classification", "regression"), teacher_mode="pretrained",
    summary="Hinton KD: weighted CE + T^2 x KL to the teacher's softened outputs (MSE to its prediction for "
            "regression).",
    citation="Hinton, Vinyals & Dean, Distilling the Knowledge in a Neural Network, NIPS DL Workshop 2015",
    defaults={**LABELLED_DEFAULTS, **KD_DEFAULTS}, hparams_declared=LABELLED_HPARAMS, plan=labelled_plan)

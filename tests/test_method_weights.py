"""A method's registry entry names the weights files its runs read (``weights``, torch-free), so ``grid`` fetches
them before its jobs start: checked against what a short run of every method actually builds."""
from __future__ import annotations

import pytest
import torch

from kd_gan_bench.datasets import TASKS, load_task
from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.plan_checks import weights_needed
from kd_gan_bench.methods.core.training import Schedule
from kd_gan_bench.methods.weights.resolver import WEIGHTS

I2I_METHODS = [m for m in METHODS.names() if "i2i" in METHODS.info(m).families]
TEACHER = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}
STUDENT = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2}
PERCEPTUAL_OFF = {"lambda_style": 0, "lambda_feature": 0}
#: settings of the methods with perceptual terms: on (the paper's weights), off, off but unpaired with the online
#: teacher's checkpoint chosen by FID on VGG16 features
CASES = [("synthetic_edges2shapes", {}), ("synthetic_edges2shapes", PERCEPTUAL_OFF),
         ("synthetic_plain2striped", {**PERCEPTUAL_OFF, "teacher_select": "best"})]


def _declared(method: str, task: str, overrides: dict) -> tuple[str, ...]:
    info = METHODS.info(method)
    return weights_needed(info.weights, info.defaults, overrides, TASKS.info(task).paired)


@pytest.mark.parametrize("method", I2I_METHODS)
@pytest.mark.parametrize("task, overrides", CASES, ids=["paired", "paired-no-perceptual", "unpaired-best-teacher"])
def test_declared_weights_are_what_a_run_builds(empty_hub: object, method: str, task: str, overrides: dict) -> None:
    cls = METHODS.get(method)
    overrides = {k: v for k, v in overrides.items() if k in cls.defaults}
    declared = _declared(method, task, overrides)
    assert set(declared) <= set(WEIGHTS.names()), declared
    hp = cls.resolve_hparams(overrides)
    data = load_task(task, size=32, n_train=4, n_test=1)
    teacher = build_network(TEACHER) if cls.teacher_mode == "pretrained" else None
    out = cls().train(TrainSetup(data, STUDENT, TEACHER, hp, Schedule(steps=1, batch_size=2, log_every=1),
                                 torch.device("cpu"), 0, {"ndf": 8, "d_layers": 2}, teacher=teacher, log=lambda _: None))
    built = out.extras.get("vgg_weights", "not used") != "not used"
    assert ("vgg16" in declared) == built, (declared, out.extras.get("vgg_weights"))


def test_a_weights_file_of_its_own_needs_nothing_fetched() -> None:
    assert _declared("crd", "synthetic_edges2shapes", {}) == ("vgg16",)
    assert _declared("crd", "synthetic_edges2shapes", {"vgg_weights": "/some/vgg16.pth"}) == ()

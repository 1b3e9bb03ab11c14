"""Every registered image-to-image method, on every generator architecture it supports, behaves as a method.

Parametrized over the ``METHODS`` registry (methods registered later are tested without a new test)
x the generator architectures of :mod:`kd_gan_bench.methods.networks.generators` (ResNet, mobile ResNet, U-Net). A
method either trains one step on tiny paired images (32 px, teacher ngf 8, student ngf 4) or refuses
the networks in its planning check (:meth:`Method.check_plan`); then:

* every loss term of that step (the method's own and the loop's) is finite and non-zero: student and
  teacher differ, so a term that is 0 measures nothing (the U-Net of depth 5 at 32 px has a 1 x 1
  innermost code, as the U-Net-256 at 256 px: a relation between its positions is identically 0);
* gradients reach the student and never the pretrained teacher or its discriminator, which stay
  exactly as they were;
* a method that refuses a network fails at planning (``check_plans`` on the expanded grid) with the same message
  (after the suite and task);
* its defaults round-trip through ``--set <method>.<key>=<default>``: the same hyperparameters.

Seeded, CPU, a few seconds in all.
"""
from __future__ import annotations

import copy
import json
from typing import Any

import pytest
import torch

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.benchmarks.planning.grid import check_plans, expand
from kd_gan_bench.benchmarks.planning.suites import SUITES, Suite
from kd_gan_bench.datasets import ImageTranslationData, load_task
from kd_gan_bench.methods.core.base import Method, TrainSetup
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.plan_checks import StudentPlan
from kd_gan_bench.methods.core.recipes import build_discriminator, resolve_recipe
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule

SEED = 0
SIZE = 32
RECIPE = {"ndf": 8, "d_layers": 2}
#: A term below this measures rounding, not a difference (a 1 x 1 relation matrix gives ~1e-15).
ZERO = 1e-8
ARCHITECTURES = {
    "resnet": {"arch": "resnet_generator", "n_blocks": 2},
    "mobile_resnet": {"arch": "mobile_resnet_generator", "n_blocks": 2},
    "unet": {"arch": "unet_generator", "num_downs": 5},   # innermost code 1 x 1 at 32 px, as unet_256 at 256 px
}
I2I_METHODS = [name for name, cls in METHODS.items() if "i2i" in getattr(cls, "families", (cls.family,))]


def quiet(_: str) -> None:
    """A training log that prints nothing."""


def specs(architecture: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """(student, teacher) of one architecture: ngf 4 and 8."""
    return {**ARCHITECTURES[architecture], "ngf": 4}, {**ARCHITECTURES[architecture], "ngf": 8}


@pytest.fixture(scope="module")
def data() -> ImageTranslationData:
    return load_task("synthetic_edges2shapes", size=SIZE, n_train=4, n_test=1)


def refusal(cls: type[Method], student: dict, teacher: dict) -> str | None:
    """The method's planning-time refusal of these networks, or None when it accepts them."""
    try:
        cls.check_plan(StudentPlan(student, teacher, SIZE, cls.resolve_hparams({}), {"batch_size": 2}))
    except ValueError as exc:
        return str(exc)
    return None


def tiny_suite(student: dict, teacher: dict) -> Suite:
    return Suite(name="conformance", description="one tiny paired task", tasks=({"name": "synthetic_edges2shapes",
                 "size": SIZE, "n_train": 4, "n_test": 1},), teacher=teacher, students=(student,), methods=(),
                 recipe=RECIPE, teacher_schedule={"steps": 1, "batch_size": 2},
                 student_schedule={"steps": 1, "batch_size": 2})


@pytest.mark.parametrize("architecture", list(ARCHITECTURES))
@pytest.mark.parametrize("name", I2I_METHODS)
def test_one_step_terms_gradients_and_teacher(name: str, architecture: str, data: ImageTranslationData) -> None:
    cls = METHODS.get(name)
    student_spec, teacher_spec = specs(architecture)
    message = refusal(cls, student_spec, teacher_spec)
    if message is not None:
        with pytest.raises(ValueError) as planned:
            check_plans(expand(tiny_suite(student_spec, teacher_spec), methods=[name]))
        assert str(planned.value) == f"suite 'conformance', task 'synthetic_edges2shapes': {message}"
        return
    torch.manual_seed(SEED)
    teacher = build_network(teacher_spec) if cls.teacher_mode == "pretrained" else None
    teacher_d = build_discriminator(resolve_recipe(RECIPE, True), True) if teacher is not None else None
    before = [copy.deepcopy(net.state_dict()) for net in (teacher, teacher_d) if net is not None]
    schedule = Schedule(steps=1, batch_size=2, log_every=1)
    setup = TrainSetup(data, student_spec, teacher_spec, cls.resolve_hparams({}), schedule, torch.device("cpu"),
                       SEED, RECIPE, teacher=teacher, teacher_discriminator=teacher_d, log=quiet)
    outcome = cls().train(setup)

    terms = {k: v[0] for k, v in outcome.history.items() if k != "steps"}
    assert terms, f"{name} reported no loss term"
    zero = sorted(k for k, v in terms.items() if not ZERO < abs(v) < float("inf"))
    assert not zero, f"{name} on {architecture}: terms {zero} are zero or not finite: {terms}"
    grads = [p.grad for p in outcome.model.parameters()]
    assert all(g is not None for g in grads) and any(bool(g.abs().sum() > 0) for g in grads), \
        f"{name} on {architecture}: gradients did not reach every student parameter"
    for net, state in zip((n for n in (teacher, teacher_d) if n is not None), before):
        assert all(p.grad is None for p in net.parameters()), f"{name}: a gradient reached the pretrained teacher"
        assert all(torch.equal(v, state[k]) for k, v in net.state_dict().items()), f"{name} changed its teacher"


@pytest.mark.parametrize("name", I2I_METHODS)
def test_defaults_round_trip_through_set(name: str) -> None:
    cls = METHODS.get(name)
    suite = SUITES.get("smoke_i2i")
    overrides = [f"{name}.{key}={json.dumps(value)}" for key, value in cls.defaults.items()]
    plain = [j for j in expand(suite, methods=[name]) if j.method == name]
    explicit = [j for j in expand(suite, methods=[name], overrides=overrides) if j.method == name]
    assert plain and [j.hparams for j in explicit] == [j.hparams for j in plain] == [dict(cls.defaults)] * len(plain)
    assert [j.job_id for j in explicit] == [j.job_id for j in plain]

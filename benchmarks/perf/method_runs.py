"""One method's row of :mod:`kd_gan_bench.benchmarks.perf.method_step_times`: its training steps timed through its own
``train``, and its method-specific loss terms (and VGG16 terms) timed alone on the tensors of its last step."""
from __future__ import annotations

import dataclasses
import sys
from typing import Any, Callable, Mapping

import torch
from torch import nn

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.benchmarks.perf.capture import last_call, leaf
from kd_gan_bench.benchmarks.perf.step_memory import StepMemory
from kd_gan_bench.benchmarks.perf.step_timing import StepClock, time_fwd_bwd
from kd_gan_bench.datasets.base import ImageTranslationData
from kd_gan_bench.methods.crd import method as crd_module
from kd_gan_bench.methods.omgd import method as omgd_module
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.distill import DistillationMethod
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.networks.network_spec import describe_network
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule

#: methods that train their teacher in their job: (the function of their module computing their own terms,
#: the position of the student's side among its arguments)
ONLINE = {"crd": ("content_relation_losses", 0), "dcd": ("dcd_term", 2)}
REFERENCE = "output_kd"
SEED = 0


@dataclasses.dataclass
class Row:
    """One method's numbers for one student."""

    method: str
    step_ms: float
    loss_ms: float | None        # the method-specific loss terms, forward + backward
    step_mib: float | None       # the most memory a timed step needs above what was in use
    vgg_ms: float | None = None  # CRD's VGG16 terms, forward + backward


@dataclasses.dataclass
class Bench:
    """What every run shares."""

    data: ImageTranslationData
    teacher_spec: Mapping[str, Any]
    device: torch.device
    warmup: int
    steps: int
    batch_size: int
    patch_size: int
    memory: StepMemory
    vgg_source: str = ""

    @property
    def total(self) -> int:
        return self.warmup + self.steps


def online_timing(bench: Bench) -> dict[str, Any]:
    """An online-teacher method's timing settings: its teacher trains at step 0 only (a warm-up step), the
    student steps against the frozen copy."""
    return {"steps_count": "student", "n_dis": bench.total, "teacher_select": "latest"}


def run_method(name: str, student_spec: Mapping[str, Any], bench: Bench) -> Row:
    """Train ``name``'s student for ``warmup + steps`` steps and time it (see the module docstring)."""
    method = METHODS.get(name)()
    label = f"{name} / {describe_network(student_spec)}"
    clock = StepClock(label, bench.device, bench.warmup, bench.total, bench.memory)
    schedule = Schedule(steps=bench.total, batch_size=bench.batch_size, log_every=1)
    if isinstance(method, DistillationMethod):
        torch.manual_seed(SEED)
        setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, method.resolve_hparams({}), schedule,
                           bench.device, SEED, teacher=build_network(bench.teacher_spec), log=clock)
        with last_call(method, "losses", clock.in_last_step) as seen:
            method.train(setup)
        return Row(name, clock.median_ms(), _distill_loss_ms(method, seen, bench), clock.step_mib)
    if name == "omgd":
        return run_omgd(method, student_spec, bench, clock, schedule)
    if name not in ONLINE:
        raise ValueError(f"no timing protocol for method {name!r}")
    module, (own, student_at) = sys.modules[type(method).__module__], ONLINE[name]
    hp = method.resolve_hparams({**online_timing(bench), **({"patch_size": bench.patch_size} if name == "crd" else {})})
    setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, hp, schedule, bench.device, SEED, log=clock)
    with last_call(module, own, clock.in_last_step) as terms, \
            last_call(module, "perceptual_losses", clock.in_last_step) as vgg:
        outcome = method.train(setup)
    bench.vgg_source = outcome.extras["vgg_weights"]
    own_ms = _swapped_loss_ms(getattr(module, own), terms, student_at, bench)
    vgg_ms = _swapped_loss_ms(crd_module.perceptual_losses, vgg, 1, bench)
    return Row(name, clock.median_ms(), own_ms, clock.step_mib, vgg_ms)


def run_omgd(method: Any, student_spec: Mapping[str, Any], bench: Bench, clock: StepClock,
             schedule: Schedule) -> Row:
    """OMGD's student step, timed as CRD's (its CycleGAN teacher trains at step 0 only). Its own terms: SSIM,
    TV and channel distillation (adaptors included), forward + backward; its VGG16 style + relu2_2 terms apart."""
    hp = method.resolve_hparams(online_timing(bench))
    setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, hp, schedule, bench.device, SEED, log=clock)
    with last_call(omgd_module, "image_losses", clock.in_last_step) as images, \
            last_call(omgd_module, "channel_distillation", clock.in_last_step) as cd:
        outcome = method.train(setup)
    bench.vgg_source = outcome.extras["vgg_weights"]
    vgg, student_out, teacher_outs, weights, padding = images["args"]

    def image_terms(kept: set[str]) -> Callable[[], torch.Tensor]:
        only = {k: (w if k in kept else 0.0) for k, w in weights.items()}
        return lambda: sum(omgd_module.image_losses(vgg, leaf(student_out), teacher_outs, only, padding).values())

    s_feats, t_feats, adaptors = cd["args"]
    cd_ms = time_fwd_bwd(lambda: weights["cd"] * omgd_module.channel_distillation(
        {k: leaf(v) for k, v in s_feats.items()}, t_feats, adaptors), bench.device, bench.steps)
    own_ms = time_fwd_bwd(image_terms({"ssim", "tv"}), bench.device, bench.steps) + cd_ms
    vgg_ms = time_fwd_bwd(image_terms({"style", "feature"}), bench.device, bench.steps)
    return Row("omgd", clock.median_ms(), own_ms, clock.step_mib, vgg_ms)


def _distill_loss_ms(method: DistillationMethod, seen: Mapping[str, Any], bench: Bench) -> float | None:
    """The method-specific terms of a loop method's ``losses`` (those output_kd lacks), forward + backward."""
    hp, tensors, modules = seen["args"]
    shared = set(METHODS.get(REFERENCE)().losses(hp, tensors, nn.ModuleDict()))
    if set(method.losses(hp, tensors, modules)) <= shared:
        return None

    def loss() -> torch.Tensor:
        student = dataclasses.replace(tensors, student_out=leaf(tensors.student_out),
                                      student_feats={k: leaf(v) for k, v in tensors.student_feats.items()})
        return sum(v for k, v in method.losses(hp, student, modules).items() if k not in shared)

    return time_fwd_bwd(loss, bench.device, bench.steps)


def _swapped_loss_ms(fn: Callable[..., Mapping[str, torch.Tensor] | torch.Tensor], seen: Mapping[str, Any],
                     student_at: int, bench: Bench) -> float:
    """Forward + backward of ``fn`` on its captured arguments, the student's side (argument
    ``student_at``: its output, or a dict of its features) fresh leaves each time."""
    args, kwargs = list(seen["args"]), seen["kwargs"]

    def loss() -> torch.Tensor:
        student = args[student_at]
        student = {k: leaf(v) for k, v in student.items()} if isinstance(student, dict) else leaf(student)
        out = fn(*args[:student_at], student, *args[student_at + 1:], **kwargs)
        return sum(out.values()) if isinstance(out, Mapping) else out

    return time_fwd_bwd(loss, bench.device, bench.steps)

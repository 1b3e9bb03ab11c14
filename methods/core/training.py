"""Training machinery shared by every image-to-image recipe and method.

Schedules (Adam + constant-then-linear-decay learning rate, as in CycleGAN/pix2pix's
``--n_epochs``/``--n_epochs_decay``, counted in steps here), GAN losses, the CycleGAN image
pool, forward hooks that tap intermediate features, batch sampling from uint8 tensors, and
``run_steps``: a step loop that checks every loss for NaN/inf, logs, and saves/restores its
complete state (networks, optimisers, schedulers, step, RNG) through a ``Checkpointer`` so a
preempted job resumes where it stopped.

Checkpoint policy (``Schedule.select``): ``"last"`` (default) evaluates the generator as training left it;
``"best_val"`` keeps, every ``val_every`` steps, the generator with the best score on a validation split that
the harness carves from the training data (``SelectingCheckpointer`` + ``BestCheckpoint``; never the test
set). Public GAN Compression / OMGD scripts instead keep ``best_net_G`` chosen on the test set (their val
loader reads the test images); we do not offer that.
"""
from __future__ import annotations

import random
from contextlib import contextmanager
from dataclasses import dataclass, field, fields
from typing import Any, Callable, Iterator, Mapping, Protocol

import torch
import torch.nn.functional as F
from torch import nn


SELECT = ("last", "best_val")


@dataclass(frozen=True, kw_only=True)
class CheckpointPolicy:
    """Which weights a run is scored with, shared by every family's schedule: ``"last"`` (as training left them),
    or ``"best_val"``: every ``val_every`` steps (0: a tenth of the steps) the trained network is scored on
    ``val_size`` training examples held out of its training data (0: :func:`validation_size`) and the best
    weights are kept (``SelectingCheckpointer``). Keyword-only, so the schedules' own fields keep their positions."""

    select: str = "last"
    val_every: int = 0
    val_size: int = 0

    def check_policy(self) -> None:
        if self.select not in SELECT:
            raise ValueError(f"schedule select must be one of {SELECT}, got {self.select!r}")
        if self.val_every < 0 or self.val_size < 0:
            raise ValueError(f"schedule val_every and val_size must be >= 0, got {self}")

    def validation_every(self) -> int:
        return self.val_every or max(1, self.steps // 10)  # type: ignore[attr-defined]  (the schedule's steps)


@dataclass(frozen=True)
class Schedule(CheckpointPolicy):
    """How long and how fast to train (and the checkpoint policy, :class:`CheckpointPolicy`). ``decay_from`` is
    the fraction of steps after which the learning rate decays linearly to zero (CycleGAN: 100 constant + 100
    decay epochs = 0.5)."""

    steps: int = 200
    batch_size: int = 4
    lr: float = 2e-4
    beta1: float = 0.5
    decay_from: float = 0.5
    log_every: int = 50
    checkpoint_every: int = 0  # 0: only when asked (preemption) and at the end

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "Schedule":
        check_schedule_keys(cls, values)
        schedule = cls(**values)
        if schedule.steps < 1 or schedule.batch_size < 1:
            raise ValueError(f"schedule needs steps >= 1 and batch_size >= 1, got {schedule}")
        schedule.check_policy()
        return schedule


def validation_size(n_train: int, val_size: int = 0) -> int:
    """Training examples ``best_val`` holds out: ``val_size``, or a tenth of them (at least 8, at most 200);
    an error when too few would be left to train on."""
    n = val_size or min(200, max(8, n_train // 10))
    if n >= n_train:
        raise ValueError(f"a validation split of {n} leaves nothing of the {n_train} training examples: "
                         f"set schedule.val_size smaller")
    return n


def check_schedule_keys(schedule_cls: type, values: Mapping[str, Any]) -> None:
    """Raise when ``values`` has a key that is not a field of the schedule dataclass; the message lists the valid ones."""
    known = {f.name for f in fields(schedule_cls)}
    unknown = set(values) - known
    if unknown:
        raise ValueError(f"unknown schedule key(s) {sorted(unknown)}; valid: {sorted(known)}")


def adam(params, schedule: Schedule) -> torch.optim.Adam:
    return torch.optim.Adam(params, lr=schedule.lr, betas=(schedule.beta1, 0.999))


def linear_decay(optimizer: torch.optim.Optimizer, schedule: Schedule) -> torch.optim.lr_scheduler.LambdaLR:
    """Constant learning rate, then linear decay to zero over the last (1 - decay_from) of the steps."""
    start = int(schedule.steps * schedule.decay_from)
    span = max(1, schedule.steps - start)
    return torch.optim.lr_scheduler.LambdaLR(optimizer, lambda step: 1.0 - max(0, step - start) / span)


def gan_loss(prediction: torch.Tensor, target_is_real: bool, mode: str, *, for_discriminator: bool) -> torch.Tensor:
    """LSGAN (CycleGAN), vanilla BCE-with-logits (pix2pix) or hinge (GAN Compression's pix2pix: the
    discriminator's mean relu(1 -+ D), the generator's -mean D) loss of a PatchGAN's output.

    ``for_discriminator`` is required (keyword only): under hinge the generator's term differs from the
    discriminator's on real images, and a generator-side call that forgot it would minimise relu(1 - D),
    which is 0 with no gradient once D > 1 (issue 18)."""
    if not for_discriminator and not target_is_real:
        raise ValueError("a generator-side GAN loss targets 'real' (target_is_real=True)")
    if mode == "hinge":
        if not for_discriminator:
            return -prediction.mean()
        return F.relu(1 - prediction).mean() if target_is_real else F.relu(1 + prediction).mean()
    target = torch.ones_like(prediction) if target_is_real else torch.zeros_like(prediction)
    if mode == "lsgan":
        return F.mse_loss(prediction, target)
    if mode == "vanilla":
        return F.binary_cross_entropy_with_logits(prediction, target)
    raise ValueError(f"unknown gan mode {mode!r}; valid: 'lsgan', 'vanilla', 'hinge'")


def set_requires_grad(modules: nn.Module | list[nn.Module], flag: bool) -> None:
    for module in modules if isinstance(modules, list) else [modules]:
        for p in module.parameters():
            p.requires_grad_(flag)


class ImagePool:
    """CycleGAN's history of generated images (Shrivastava et al. 2017): with probability 0.5 the
    discriminator sees an older fake instead of the newest one. Pool size 0 disables it."""

    def __init__(self, size: int, generator: torch.Generator) -> None:
        self.size, self.images, self.generator = size, [], generator

    def query(self, images: torch.Tensor) -> torch.Tensor:
        if self.size == 0:
            return images
        out = []
        for image in images.detach():
            if len(self.images) < self.size:
                self.images.append(image.clone())
                out.append(image)
            elif torch.rand(1, generator=self.generator).item() > 0.5:
                idx = int(torch.randint(0, self.size, (1,), generator=self.generator))
                out.append(self.images[idx].clone())
                self.images[idx] = image.clone()
            else:
                out.append(image)
        return torch.stack(out)

    def state_dict(self) -> dict:
        return {"images": [img.cpu() for img in self.images]}

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.images = [img.to(device) for img in state["images"]]


@contextmanager
def tap_features(model: nn.Module, points: Mapping[str, str]) -> Iterator[dict[str, torch.Tensor]]:
    """Capture the outputs of the named submodules (``{feature name: module path}``) during forwards."""
    captured: dict[str, torch.Tensor] = {}
    modules = dict(model.named_modules())
    handles = []
    for name, path in points.items():
        if path not in modules:
            raise KeyError(f"{type(model).__name__} has no module {path!r} (feature {name!r})")
        handles.append(modules[path].register_forward_hook(lambda _m, _i, out, key=name: captured.__setitem__(key, out)))
    try:
        yield captured
    finally:
        for handle in handles:
            handle.remove()


def to_float(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """uint8 N x 3 x H x W in [0, 255] -> float in [-1, 1] on ``device``."""
    return images.to(device, non_blocking=True).float().div_(127.5).sub_(1.0)


def to_uint8(images: torch.Tensor) -> torch.Tensor:
    """float in [-1, 1] -> uint8 in [0, 255] on the CPU."""
    return ((images.detach().float().clamp(-1, 1) + 1) * 127.5).round().to(torch.uint8).cpu()


@dataclass
class BatchSampler:
    """Random mini-batches of domain A and B images; paired tasks keep A[i] with B[i]."""

    a: torch.Tensor
    b: torch.Tensor
    paired: bool
    batch_size: int
    device: torch.device
    generator: torch.Generator

    def sample(self) -> tuple[torch.Tensor, torch.Tensor]:
        idx_a = torch.randint(0, len(self.a), (self.batch_size,), generator=self.generator)
        idx_b = idx_a if self.paired else torch.randint(0, len(self.b), (self.batch_size,), generator=self.generator)
        return to_float(self.a[idx_a], self.device), to_float(self.b[idx_b], self.device)


class LoopStats:
    """Plain numbers a loop accumulates (timers, counters, best scores) that must survive a resume;
    kept in ``TrainingState.extras``."""

    def __init__(self, **values: float) -> None:
        self.values: dict[str, float] = dict(values)

    def add(self, key: str, amount: float) -> None:
        self.values[key] = self.values.get(key, 0.0) + amount

    def state_dict(self) -> dict:
        return dict(self.values)

    def load_state_dict(self, state: dict, device: torch.device) -> None:
        self.values = dict(state)


class Checkpointer(Protocol):
    """Where a loop keeps its resumable state (the harness gives one per job)."""

    def load(self) -> dict | None: ...

    def save(self, state: dict) -> None: ...

    def requested(self) -> bool: ...


#: the module of a loop's state that ``best_val`` scores and keeps: the generator (``G_AB`` for CycleGAN), or a
#: classifier/regressor (``model``, :mod:`kd_gan_bench.methods.core.labelled_training`)
SELECTED_MODULES = ("G", "G_AB", "model")


class BestCheckpoint:
    """Every ``every`` steps (and at the last), score the trained network (``score``: lower is better, in eval mode)
    and keep a copy of its weights when the score is the best so far. The network is the first of
    :data:`SELECTED_MODULES` in the loop's state. ``scores`` holds (step, score) for the record."""

    def __init__(self, score: Callable[[nn.Module], float], every: int) -> None:
        self.score, self.every = score, every
        self.best_step, self.best_score, self.best_state = -1, float("inf"), None
        self.scores: list[tuple[int, float]] = []

    def due(self, step: int, last: int) -> bool:
        return step % self.every == 0 or step == last

    def observe(self, step: int, modules: Mapping[str, nn.Module]) -> None:
        generator = next(modules[name] for name in SELECTED_MODULES if name in modules)
        was_training = generator.training
        generator.eval()
        value = float(self.score(generator))
        generator.train(was_training)
        self.scores.append((step, value))
        if value < self.best_score:
            self.best_step, self.best_score = step, value
            self.best_state = {k: v.detach().cpu().clone() for k, v in generator.state_dict().items()}

    def restore(self, generator: nn.Module) -> None:
        """Load the best weights seen into ``generator``."""
        if self.best_state is None:
            raise RuntimeError("no validation score was taken: the loop never reached a validation step")
        generator.load_state_dict(self.best_state)

    def state_dict(self) -> dict:
        return {"best_step": self.best_step, "best_score": self.best_score, "best_state": self.best_state,
                "scores": list(self.scores)}

    def load_state_dict(self, state: dict) -> None:
        self.best_step, self.best_score, self.best_state = state["best_step"], state["best_score"], state["best_state"]
        self.scores = [tuple(s) for s in state["scores"]]


class SelectingCheckpointer:
    """A checkpointer that also carries a ``BestCheckpoint`` (``selector``), which ``run_steps`` feeds, and saves
    and restores its state with the loop's, so a resumed job keeps the best weights seen before."""

    def __init__(self, inner: Checkpointer | None, selector: BestCheckpoint) -> None:
        self.inner, self.selector = inner, selector

    def load(self) -> dict | None:
        state = self.inner.load() if self.inner is not None else None
        if state is not None and "selector" in state:
            self.selector.load_state_dict(state.pop("selector"))
        return state

    def save(self, state: dict) -> None:
        if self.inner is not None:
            self.inner.save({**state, "selector": self.selector.state_dict()})

    def requested(self) -> bool:
        return self.inner.requested() if self.inner is not None else False


class NonFiniteLossError(FloatingPointError):
    """A loss became NaN or infinite; the message names the term and the step."""


@dataclass
class TrainingState:
    """Everything a loop needs to resume: modules, optimisers, schedulers, extra stateful objects."""

    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)  # objects with state_dict/load_state_dict(state, device)
    generator: torch.Generator | None = None

    def state_dict(self, step: int, history: dict) -> dict:
        return {
            "step": step,
            "history": history,
            "modules": {k: m.state_dict() for k, m in self.modules.items()},
            "optimizers": {k: o.state_dict() for k, o in self.optimizers.items()},
            "schedulers": {k: s.state_dict() for k, s in self.schedulers.items()},
            "extras": {k: e.state_dict() for k, e in self.extras.items()},
            "rng": {
                "torch": torch.get_rng_state(),
                "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
                "python": random.getstate(),
                "sampler": self.generator.get_state() if self.generator is not None else None,
            },
        }

    def load_state_dict(self, state: dict, device: torch.device) -> tuple[int, dict]:
        for k, m in self.modules.items():
            m.load_state_dict(state["modules"][k])
        for k, o in self.optimizers.items():
            o.load_state_dict(state["optimizers"][k])
        for k, s in self.schedulers.items():
            s.load_state_dict(state["schedulers"][k])
        for k, e in self.extras.items():
            e.load_state_dict(state["extras"][k], device)
        rng = state["rng"]
        torch.set_rng_state(rng["torch"])
        if rng["cuda"] is not None and torch.cuda.is_available():
            torch.cuda.set_rng_state_all(rng["cuda"])
        random.setstate(rng["python"])
        if self.generator is not None and rng["sampler"] is not None:
            self.generator.set_state(rng["sampler"])
        return state["step"], state["history"]


#: The fewest points a run's loss history keeps (a run of fewer steps keeps one per step).
CURVE_POINTS = 20


def curve_every(steps: int, log_every: int) -> int:
    """Steps per point of the loss history: ``log_every``, or fewer so that a run of at least
    :data:`CURVE_POINTS` steps records that many points (the history stays as small as the curve needs)."""
    return max(1, min(log_every, steps // CURVE_POINTS))


class PreemptedError(RuntimeError):
    """Raised after the state was saved because the harness asked the loop to stop (preemption)."""


def run_steps(step_fn: Callable[[int], dict[str, torch.Tensor]], state: TrainingState, schedule: Schedule,
              device: torch.device, checkpointer: Checkpointer | None = None,
              log: Callable[[str], None] = print) -> dict:
    """Run ``step_fn(step)`` for ``schedule.steps`` steps and return the loss history.

    ``step_fn`` performs one optimisation step and returns its loss terms (tensors). Every term
    is checked: a NaN or infinite value stops training with ``NonFiniteLossError``. The history
    keeps, per term, the mean over each window of :func:`curve_every` steps (``history["steps"]`` the window
    ends: at least :data:`CURVE_POINTS` points for a run of that many steps, so the report's training curves show
    a shape), which is what tests and records read; the log prints a line every ``log_every`` steps (the mean
    since the last line). With a checkpointer, the loop resumes from
    saved state, saves every ``checkpoint_every`` steps and once more when training ends, and when
    ``checkpointer.requested()`` saves and raises ``PreemptedError`` so the job can be requeued. A checkpointer
    with a ``selector`` (``SelectingCheckpointer``) has it score the generator when due.
    """
    selector: BestCheckpoint | None = getattr(checkpointer, "selector", None)
    step, history = 0, {"steps": []}
    if checkpointer is not None and (saved := checkpointer.load()) is not None:
        step, history = state.load_state_dict(saved, device)
        log(f"resumed from step {step}")
    window: dict[str, list[float]] = {}
    printed: dict[str, list[float]] = {}
    every = curve_every(schedule.steps, schedule.log_every)
    while step < schedule.steps:
        terms = step_fn(step)
        for name, value in terms.items():
            v = float(value.detach())
            if v != v or v in (float("inf"), float("-inf")):
                raise NonFiniteLossError(f"loss term {name!r} is {v} at step {step}")
            window.setdefault(name, []).append(v)
            printed.setdefault(name, []).append(v)
        for scheduler in state.schedulers.values():
            scheduler.step()
        step += 1
        if selector is not None and selector.due(step, schedule.steps):
            selector.observe(step, state.modules)
        if step % every == 0 or step == schedule.steps:
            history["steps"].append(step)
            for name, values in window.items():
                history.setdefault(name, []).append(sum(values) / len(values))
            window = {}
        if step % schedule.log_every == 0 or step == schedule.steps:
            log(f"step {step}/{schedule.steps} " + " ".join(f"{k}={sum(v) / len(v):.4f}" for k, v in printed.items()))
            printed = {}
        if checkpointer is not None:
            if checkpointer.requested():
                checkpointer.save(state.state_dict(step, history))
                raise PreemptedError(f"stopped at step {step} on request; state saved")
            if schedule.checkpoint_every and step % schedule.checkpoint_every == 0 and step < schedule.steps:
                checkpointer.save(state.state_dict(step, history))
    if checkpointer is not None:  # the finished state: a job stopped during evaluation resumes without retraining
        checkpointer.save(state.state_dict(step, history))
    return history

"""Training machinery for classifiers and regressors, shared by the teacher phase and every labelled method.

* ``SGDSchedule``: SGD with momentum and weight decay, step or cosine learning-rate decay, counted
  in steps (RepDistiller's CIFAR recipe, which cGAN-KD uses: lr 0.05, momentum 0.9, weight decay
  5e-4, x0.1 at 150/180/210 of 240 epochs = 0.625/0.75/0.875 of the run).
* ``augment``: the task's label-preserving augmentation (crop from a 4-pixel zero padding + flip,
  flip only, or none), applied to uint8 batches with a seeded generator.
* ``LabelledPool``: the images a run learns from (real, or real + cGAN-made) and their targets:
  class ids, or regression labels normalised to [0, 1] by the task's label range (as CcGAN and
  cGAN-KD learn them). Batches are drawn uniformly from the union, as when the papers concatenate
  the real and the fake set (so the real share of a batch is n_real / (n_real + n_fake) on average);
  ``fake_subset`` picks the fakes a run uses, as cGAN-KD's loaders do.
* ``train_labelled``: the resumable step loop (``kd_gan_bench.methods.core.training.run_steps``) for one network and a
  loss callback; ``train_classifier``: the plain supervised run (teacher phase, NOKD).
* ``predict`` / ``evaluate_labelled``: outputs on a set of images; top-1 accuracy in % or MAE in
  label units on the test split.

A labelled method is handed a ``kd_gan_bench.methods.core.base.TrainSetup`` and returns a ``TrainOutcome``, as every method.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.core.base import TrainOutcome
from kd_gan_bench.methods.core.inference import batched_forward
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.training import Checkpointer, CheckpointPolicy, TrainingState, check_schedule_keys, run_steps, to_float

if TYPE_CHECKING:  # datasets registers itself through kd_gan_bench.benchmarks.core.registry: import for types only
    from kd_gan_bench.datasets.labelled import LabelledImageData
    from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet

LR_POLICIES = ("step", "cosine")


@dataclass(frozen=True)
class SGDSchedule(CheckpointPolicy):
    """SGD run length and learning rate (and the checkpoint policy, :class:`kd_gan_bench.methods.core.training.CheckpointPolicy`).
    ``milestones`` are fractions of ``steps`` where the rate is multiplied by ``gamma`` (``lr_policy="step"``);
    ``"cosine"`` anneals it to zero instead."""

    steps: int = 2000
    batch_size: int = 64
    lr: float = 0.05
    momentum: float = 0.9
    weight_decay: float = 5e-4
    lr_policy: str = "step"
    milestones: tuple[float, ...] = (0.625, 0.75, 0.875)
    gamma: float = 0.1
    log_every: int = 50
    checkpoint_every: int = 0  # 0: only when asked (preemption)

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> "SGDSchedule":
        check_schedule_keys(cls, values)
        values = dict(values)
        if "milestones" in values:
            values["milestones"] = tuple(float(m) for m in values["milestones"])
        schedule = cls(**values)
        if schedule.steps < 1 or schedule.batch_size < 1 or schedule.lr <= 0:
            raise ValueError(f"schedule needs steps >= 1, batch_size >= 1 and lr > 0, got {schedule}")
        if schedule.lr_policy not in LR_POLICIES:
            raise ValueError(f"lr_policy must be one of {LR_POLICIES}, got {schedule.lr_policy!r}")
        if any(not 0 < m < 1 for m in schedule.milestones):
            raise ValueError(f"milestones are fractions of the run in (0, 1), got {schedule.milestones}")
        schedule.check_policy()
        return schedule


def sgd_with_schedule(params, schedule: SGDSchedule) -> tuple[torch.optim.SGD, Any]:
    """The optimiser and its per-step learning-rate scheduler."""
    opt = torch.optim.SGD(params, lr=schedule.lr, momentum=schedule.momentum,
                          weight_decay=schedule.weight_decay)
    if schedule.lr_policy == "cosine":
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=schedule.steps)
    else:
        milestones = sorted({max(1, int(m * schedule.steps)) for m in schedule.milestones})
        sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=schedule.gamma)
    return opt, sched


def augment(images: torch.Tensor, mode: str, generator: torch.Generator) -> torch.Tensor:
    """Random crop from a 4-pixel zero padding and/or horizontal flip of a uint8 N x 3 x H x W batch."""
    if mode == "none":
        return images
    if mode not in ("crop_flip", "flip"):
        raise ValueError(f"unknown augmentation {mode!r}; valid: 'crop_flip', 'flip', 'none'")
    n, _, h, w = images.shape
    if mode == "crop_flip":
        pad = 4
        padded = F.pad(images, (pad, pad, pad, pad))
        oy = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        ox = torch.randint(0, 2 * pad + 1, (n,), generator=generator)
        rows = (oy[:, None] + torch.arange(h))[:, :, None]
        cols = (ox[:, None] + torch.arange(w))[:, None, :]
        # advanced indexing puts channels last; back to contiguous NCHW (this torch build's CPU conv
        # backward crashes on channels-last inputs with very few channels)
        images = padded[torch.arange(n)[:, None, None], :, rows, cols].permute(0, 3, 1, 2).contiguous()
    flip = torch.rand(n, generator=generator) < 0.5
    return torch.where(flip[:, None, None, None], images.flip(3), images)


def fake_subset(fake: FakeSet, n_fake: int | None, num_classes: int | None, generator: torch.Generator) -> torch.Tensor:
    """Indices of ``n_fake`` fakes drawn without replacement (all when None or larger than the set), as cGAN-KD's
    loaders: for classes ``n_fake // C`` per class (the last class the remainder; fewer where a class has fewer),
    for regression a uniform subset (CIFAR-100 ``RepDistiller/dataset/cifar100.py``, ``UTKFace/baseline_cnn.py``)."""
    if n_fake is None or n_fake >= len(fake):
        return torch.arange(len(fake))
    if fake.family != "classification":
        return torch.randperm(len(fake), generator=generator)[:n_fake].sort().values
    picked = []
    for c in range(int(num_classes)):
        members = (fake.labels == c).nonzero()[:, 0]
        quota = n_fake // num_classes if c < num_classes - 1 else n_fake - (n_fake // num_classes) * c
        picked.append(members[torch.randperm(len(members), generator=generator)[:quota]])
    return torch.cat(picked).sort().values


class LabelledPool:
    """Images and training targets (class ids, or labels normalised to [0, 1]) to draw batches from: the
    real training split, plus the fakes ``fake_idx`` of a fake set (all by default)."""

    def __init__(self, data: LabelledImageData, fake: FakeSet | None = None,
                 fake_idx: torch.Tensor | None = None) -> None:
        images, labels = [data.train_x], [data.train_y]
        if fake is not None:
            if fake.family != data.family or tuple(fake.images.shape[1:]) != tuple(data.train_x.shape[1:]):
                raise ValueError(f"fake set ({fake.family}, images {tuple(fake.images.shape[1:])}) does not match "
                                 f"task {data.name} ({data.family}, images {tuple(data.train_x.shape[1:])})")
            idx = torch.arange(len(fake)) if fake_idx is None else fake_idx
            images.append(fake.images[idx])
            labels.append(fake.labels[idx].to(data.train_y.dtype))
        self.data = data
        self.images = torch.cat(images)
        self.targets = to_targets(torch.cat(labels), data)
        self.n_real = len(data.train_x)

    def __len__(self) -> int:
        return len(self.images)

    def sample(self, batch_size: int, generator: torch.Generator, device: torch.device,
               augmentation: str) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.randint(0, len(self.images), (batch_size,), generator=generator)
        x = augment(self.images[idx], augmentation, generator)
        return to_float(x, device), self.targets[idx].to(device)


def to_targets(labels: torch.Tensor, data: LabelledImageData) -> torch.Tensor:
    """What a network is trained to output: class ids as they are, regression labels in [0, 1]."""
    return labels.long() if data.family == "classification" else data.normalise(labels)


def supervised_loss(outputs: torch.Tensor, targets: torch.Tensor, family: str, reg_loss: str = "mse") -> torch.Tensor:
    """Cross-entropy to class ids, or MSE / L1 to normalised regression labels (CcGAN-KD trains with MSE)."""
    if family == "classification":
        return F.cross_entropy(outputs, targets)
    prediction = outputs[:, 0]
    if reg_loss == "mse":
        return F.mse_loss(prediction, targets)
    if reg_loss == "l1":
        return F.l1_loss(prediction, targets)
    raise ValueError(f"unknown regression loss {reg_loss!r}; valid: 'mse', 'l1'")


def build_labelled_network(spec: Mapping[str, Any], data: LabelledImageData) -> nn.Module:
    """A registered classifier/regressor with ``num_outputs`` set by the task (classes, or 1)."""
    spec = dict(spec)
    if spec.get("num_outputs", data.num_outputs) != data.num_outputs:
        raise ValueError(f"network spec {spec} asks for {spec['num_outputs']} outputs; task {data.name} needs "
                         f"{data.num_outputs}")
    spec["num_outputs"] = data.num_outputs
    return build_network(spec)


def frozen(model: nn.Module, device: torch.device) -> nn.Module:
    """``model`` on ``device`` in eval mode with gradients off (teachers, feature networks)."""
    model = model.to(device).eval()
    for p in model.parameters():
        p.requires_grad_(False)
    return model


LossFn = Callable[[torch.Tensor, torch.Tensor, torch.Tensor], dict[str, torch.Tensor]]


def train_labelled(model: nn.Module, pool: LabelledPool, schedule: SGDSchedule, device: torch.device, seed: int,
                   loss_fn: LossFn, *, augmentation: str | None = None, checkpointer: Checkpointer | None = None,
                   log: Callable[[str], None] = print) -> dict:
    """Train ``model`` in place for ``schedule.steps`` SGD steps and return the loss history.

    ``loss_fn(outputs, inputs, targets)`` returns the named loss terms of a batch (summed for the
    update). ``augmentation`` defaults to the task's. Resumable through ``checkpointer``."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device).train()
    opt, sched = sgd_with_schedule(model.parameters(), schedule)
    state = TrainingState({"model": model}, {"model": opt}, {"model": sched}, generator=gen)
    mode = pool.data.augment if augmentation is None else augmentation

    def step(_: int) -> dict[str, torch.Tensor]:
        x, y = pool.sample(schedule.batch_size, gen, device, mode)
        terms = loss_fn(model(x), x, y)
        opt.zero_grad(set_to_none=True)
        sum(terms.values()).backward()
        opt.step()
        return terms

    return run_steps(step, state, schedule, device, checkpointer, log)


def train_classifier(data: LabelledImageData, spec: Mapping[str, Any], schedule: SGDSchedule, device: torch.device,
                     seed: int, *, reg_loss: str = "mse", augmentation: str | None = None,
                     checkpointer: Checkpointer | None = None, log: Callable[[str], None] = print) -> TrainOutcome:
    """Supervised training on the real training split (teacher phase, NOKD): CE, or MSE/L1 for regression."""
    torch.manual_seed(seed)
    model = build_labelled_network(spec, data)
    history = train_labelled(model, LabelledPool(data), schedule, device, seed,
                             lambda out, _x, y: {"sup": supervised_loss(out, y, data.family, reg_loss)},
                             augmentation=augmentation, checkpointer=checkpointer, log=log)
    return TrainOutcome(model, history)


@torch.no_grad()
def predict(model: nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 256,
            features: bool = False) -> torch.Tensor:
    """Raw outputs (logits, or normalised regression values) for uint8 images, in eval mode, on the CPU;
    with ``features=True`` the penultimate features (``model.embed``) instead."""
    if features and not callable(getattr(model, "embed", None)):
        raise TypeError(f"{type(model).__name__} has no embed(x) method giving penultimate features; use a network "
                        f"from kd_gan_bench.methods.networks.classifiers")
    return batched_forward(model, images, device, batch_size, fn=model.embed if features else None,
                           post=lambda out: out.float().cpu())


def per_item_quality(model: nn.Module, data: LabelledImageData, device: torch.device) -> tuple[str, torch.Tensor]:
    """The test metric's name and its per-image terms, whose mean is the metric: ``("accuracy", 100 x correct)``
    or ``("mae", |y_hat - y| in label units)`` (float64, one per test image)."""
    outputs = predict(model, data.test_x, device)
    if data.family == "classification":
        return "accuracy", 100.0 * (outputs.argmax(1) == data.test_y).double()
    return "mae", (data.denormalise(outputs[:, 0]) - data.test_y).abs().double()


def evaluate_labelled(model: nn.Module, data: LabelledImageData, device: torch.device) -> dict[str, float]:
    """Test-split quality: ``{"accuracy": top-1 %}`` or ``{"mae": mean |y_hat - y| in label units}``."""
    name, terms = per_item_quality(model, data, device)
    value = terms.mean().item()
    if not math.isfinite(value):
        raise FloatingPointError(f"test {name.upper()} is {value}")
    return {name: value}

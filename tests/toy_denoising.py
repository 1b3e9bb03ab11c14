"""A task family declared in the tests alone (issue 21): denoising. Importing this module registers, with the
harness's public registries and nothing else, everything a family needs:

* the family ``denoising`` (its job body, data kind, schedule and headline metric: ``kd_gan_bench.benchmarks.families.families.Family``);
* its task ``toy_denoise``: noisy synthetic RGB images (a bright square on a dark ground plus Gaussian noise) whose
  targets are the clean images;
* its metric spec ``psnr_clean`` (torchmetrics' PSNR of the denoised test images against the clean ones), with a
  protocol column ``psnr_n``;
* a tiny convolutional denoiser network ``toy_denoiser``, two methods (``toy_scratch``: trained on the clean
  targets; ``toy_kd``: trained to reproduce its pretrained teacher's outputs) and a suite ``toy_denoising``.

Torch is imported only inside the functions a job runs, so planning stays torch-free. No line of harness code names
any of it: tests/test_toy_family.py plans, runs, collects and renders it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from kd_gan_bench.benchmarks.families.families import FAMILIES, Family
from kd_gan_bench.benchmarks.metrics import MetricInputs, metric
from kd_gan_bench.benchmarks.planning.suite_base import Suite, register_suite
from kd_gan_bench.datasets.registry import register_task
from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.plan_specs import JobFacts
from kd_gan_bench.benchmarks.core.registry import METHODS, NETWORKS, HParam

FAMILY = "denoising"
TASK = "toy_denoise"
METRIC = "psnr_clean"
SUITE = "toy_denoising"
MODEL_FILE = "model.pt"


@dataclass
class DenoisingData:
    """A denoising task's data: float N x 3 x H x W images in [0, 1], noisy inputs (``*_x``) and clean targets."""

    name: str
    size: int
    train_x: Any
    train_y: Any
    test_x: Any
    test_y: Any


@dataclass(frozen=True)
class ToySchedule:
    """Adam for ``steps`` steps on batches of ``batch_size``."""

    steps: int = 2
    batch_size: int = 4
    lr: float = 0.01


def toy_plan(facts: JobFacts) -> dict[str, Any]:
    """The training plan of a toy job (teacher or student): one network under constant-lr Adam."""
    role = "teacher" if facts.phase == "teacher" else "student"
    schedule = facts.schedule  # completed by the family's defaults (kd_gan_bench.benchmarks.planning.training_plan.job_facts)
    epochs = None if facts.n_train is None else schedule["steps"] * schedule["batch_size"] / facts.n_train
    train = {"steps": schedule["steps"], "epochs": epochs, "batch": schedule["batch_size"], "optimizer": "adam",
             "lr": schedule["lr"], "lr_schedule": {"policy": "constant"}}
    spec = facts.teacher if role == "teacher" else facts.student or {}
    return {"trains": {role: train}, "networks": {role: {"arch": spec["arch"], "width": spec.get("width")}},
            "losses": {"mse_to": "teacher outputs" if facts.method == "toy_kd" else "clean images"},
            "interleave": "none"}


FAMILIES.add(FAMILY, Family(
    FAMILY, "image denoising (a toy family declared in tests/toy_denoising.py)",
    job=f"{__name__}:run_denoising_job", data=f"{__name__}:DenoisingData", teacher_plan=f"{__name__}:toy_plan",
    schedule=f"{__name__}:ToySchedule",
    schedule_defaults={"steps": 2, "batch_size": 4, "lr": 0.01}, metrics=(METRIC,), baselines=("toy_scratch",),
    schedule_declared={"steps": HParam("int", low=1), "batch_size": HParam("int", low=1), "lr": HParam("float", low=0.0)}))


@register_task(TASK, family=FAMILY, paired=True, fid_protocol="none", quality_metric=METRIC,
               defaults={"size": 8, "n_train": 16, "n_test": 8, "noise": 0.2, "seed": 0})
def load_toy_denoise(size: int, n_train: int, n_test: int, noise: float, seed: int) -> DenoisingData:
    """Noisy squares to clean squares (a toy denoising task)."""
    import torch

    gen = torch.Generator().manual_seed(seed)
    clean = torch.full((n_train + n_test, 3, size, size), 0.2)
    for i, (y, x) in enumerate(torch.randint(0, size // 2, (n_train + n_test, 2), generator=gen).tolist()):
        clean[i, :, y:y + size // 2, x:x + size // 2] = 0.8
    noisy = (clean + noise * torch.randn(clean.shape, generator=gen)).clamp(0, 1)
    return DenoisingData(TASK, size, noisy[:n_train], clean[:n_train], noisy[n_train:], clean[n_train:])


@metric(METRIC, label="PSNR", higher_is_better=True, unit="dB", families=(FAMILY,), task_metric=METRIC,
        inputs=("fake", "real"), protocol=("psnr_n",),
        description="PSNR of the denoised test images against the clean ones (torchmetrics, data range 1)")
def psnr_clean(inputs: MetricInputs) -> dict[str, Any]:
    from torchmetrics.functional.image import peak_signal_noise_ratio

    value = float(peak_signal_noise_ratio(inputs.fake, inputs.real, data_range=1.0))
    return {METRIC: value, "psnr_n": len(inputs.fake),
            "eval_protocol": f"PSNR (torchmetrics) of {len(inputs.fake)} denoised test images vs the clean ones"}


@NETWORKS.register("toy_denoiser")
def toy_denoiser(width: int = 8) -> Any:
    """Two 3x3 convolutions, RGB to RGB."""
    from torch import nn

    return nn.Sequential(nn.Conv2d(3, width, 3, padding=1), nn.ReLU(), nn.Conv2d(width, 3, 3, padding=1))


def _spec(name: str, summary: str, teacher_mode: str) -> MethodSpec:
    """A toy method's declaration (what ``list``, the grid and the plan read): the family's, with ``toy_plan``."""
    return MethodSpec(name=name, summary=summary, citation="none: a test family", families=(FAMILY,),
                      teacher_mode=teacher_mode, defaults={}, plan=toy_plan)


class _ToyMethod:
    """What the harness reads off a method class, from its declaration (``kd_gan_bench.benchmarks.core.registry.method_meta``)."""

    spec: ClassVar[MethodSpec]

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        meta = cls.spec.meta()
        cls.name, cls.family = cls.spec.name, cls.spec.families[0]
        for key in ("families", "teacher_mode", "citation", "defaults", "resources"):
            setattr(cls, key, meta[key])


@METHODS.register("toy_scratch")
class ToyScratch(_ToyMethod):
    """The student trained on the clean targets, no teacher."""

    spec = _spec("toy_scratch", "The student trained on the clean targets, no teacher.", "none")


@METHODS.register("toy_kd")
class ToyKD(_ToyMethod):
    """The student trained to reproduce its pretrained teacher's outputs."""

    spec = _spec("toy_kd", "The student trained to reproduce its pretrained teacher's outputs.", "pretrained")

register_suite(Suite(
    name=SUITE, description="the toy denoising family (tests/toy_denoising.py)", tasks=({"name": TASK},),
    teacher={"arch": "toy_denoiser", "width": 8}, students=({"arch": "toy_denoiser", "width": 4},),
    methods=("toy_scratch", "toy_kd"), seeds=(0,), teacher_schedule={"steps": 3}, student_schedule={"steps": 2}))


def _train(net: Any, inputs: Any, targets: Any, schedule: ToySchedule, seed: int) -> list[float]:
    import torch

    gen = torch.Generator().manual_seed(seed)
    optimiser = torch.optim.Adam(net.parameters(), lr=schedule.lr)
    losses = []
    for _ in range(schedule.steps):
        batch = torch.randint(0, len(inputs), (schedule.batch_size,), generator=gen)
        loss = torch.nn.functional.mse_loss(net(inputs[batch]), targets[batch])
        optimiser.zero_grad()
        loss.backward()
        optimiser.step()
        losses.append(loss.item())
    return losses


def run_denoising_job(ctx: Any) -> Any:
    """The family's job body: train the teacher (or the student, on the clean images or its teacher's outputs),
    then score it through the metric specs and the shared cost columns."""
    import torch

    from kd_gan_bench.benchmarks.families.job_context import JobResult, compression_metrics
    from kd_gan_bench.benchmarks.metrics import compute_metrics
    from kd_gan_bench.benchmarks.metrics.protocols import quality_metric, task_quality_metrics
    from kd_gan_bench.benchmarks.core.store import atomic_torch_save, torch_load

    config, data = ctx.config, ctx.data
    torch.manual_seed(config.seed)
    teacher = NETWORKS.get(config.teacher["arch"])(**{k: v for k, v in config.teacher.items() if k != "arch"})
    net = NETWORKS.get((config.student or config.teacher)["arch"])(
        **{k: v for k, v in (config.student or config.teacher).items() if k != "arch"})
    targets = data.train_y
    if config.teacher_id:
        teacher.load_state_dict(torch_load(ctx.store.job_dir(config.teacher_id) / MODEL_FILE))
        with torch.no_grad():
            targets = teacher(data.train_x)
    schedule = ToySchedule(**{**FAMILIES.get(FAMILY).schedule_defaults, **config.schedule})
    losses = _train(net, data.train_x, targets, schedule, config.seed)
    atomic_torch_save(net.state_dict(), ctx.folder / MODEL_FILE)
    with torch.no_grad():
        fake = net(data.test_x).clamp(0, 1)
    inputs = MetricInputs(config=config, data=data, fake=fake, real=data.test_y, network=net, options=ctx.options,
                          device=ctx.device)
    metrics = {**compute_metrics(config, task_quality_metrics(config), inputs),
               "quality_metric": quality_metric(config),
               **compression_metrics(net, teacher, (1, 3, data.size, data.size), ctx.device,
                                     config.evaluation["latency_warmup"], 1)}
    return JobResult(metrics, {"model": MODEL_FILE}, {"loss": losses}, {})

"""The body of an image-to-image job: train a teacher with its task's recipe (or load published
weights), or a student with its method; then FID/KID or mIoU, params, MACs, latency and the sample
strips the report shows. ``kd_gan_bench.benchmarks.execution.runner.run_job`` runs it and writes the record."""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.families.job_context import (VAL_SPLIT_SEED, CheckpointSelection, JobContext, JobResult, check_finite,
                                    compression_metrics, plain_data)
from kd_gan_bench.benchmarks.metrics import MetricInputs, compute_metrics
from kd_gan_bench.benchmarks.metrics.protocols import check_ready, fid_against, quality_metric, task_quality_metrics
from kd_gan_bench.benchmarks.core.timing import timed
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_torch_save, torch_load
from kd_gan_bench.benchmarks.families.teachers import load_teacher_checkpoint
from kd_gan_bench.datasets import TASKS, ImageTranslationData
from kd_gan_bench.methods import METHODS, TrainSetup
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.recipes import resolve_recipe, train_recipe
from kd_gan_bench.methods.core.inference import batched_forward
from kd_gan_bench.methods.core.training import Schedule, to_uint8, validation_size


def translate(generator: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> torch.Tensor:
    """uint8 domain-A images -> uint8 translations, in eval mode."""
    return batched_forward(generator, images, device, batch_size, post=to_uint8)


def save_strip(images: torch.Tensor, path: Path) -> None:
    """A row of uint8 images as one PNG."""
    import torchvision.utils as vutils  # imported here: torchvision's import costs the CLI seconds, jobs need it once

    vutils.save_image(images.float() / 255.0, path, nrow=len(images), padding=0)


def load_teacher(store: ResultStore, config: JobConfig) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The teacher generator (and its discriminator) trained by job ``config.teacher_id`` (which is done)."""
    folder = store.job_dir(config.teacher_id)
    teacher = build_network(config.teacher)
    teacher.load_state_dict(torch_load(folder / "generator.pt"), strict=True)
    disc_path = folder / "discriminator.pt"
    discriminator = None
    if disc_path.exists():
        discriminator = build_network(_disc_spec(config))
        discriminator.load_state_dict(torch_load(disc_path), strict=True)
    return teacher, discriminator


def _disc_spec(config: JobConfig) -> dict[str, Any]:
    paired = TASKS.info(config.task).paired
    hp = resolve_recipe(config.recipe, paired)
    return {"arch": "patchgan_discriminator", "input_nc": 6 if paired else 3, "ndf": hp["ndf"],
            "n_layers": hp["d_layers"], "norm": hp["d_norm"]}


def evaluate(generator: torch.nn.Module, ctx: JobContext, teacher: torch.nn.Module | None = None) -> dict[str, Any]:
    """Every metric spec that applies to the job on the whole test split (the task's quality metric, FID/KID or
    mIoU; with a pretrained ``teacher``, the student's fidelity to it), params, MACs, latency and compression
    ratios; writes the sample strip(s)."""
    config, data = ctx.config, ctx.data
    fake = translate(generator, data.test_a, ctx.device)
    teacher_fake = translate(teacher.to(ctx.device), data.test_a, ctx.device) if teacher is not None else None
    quality = quality_metric(config)
    inputs = MetricInputs(config=config, data=data, fake=fake, real=data.test_b, teacher_fake=teacher_fake,
                          network=generator, options=ctx.options, device=ctx.device)
    metrics: dict[str, Any] = {
        **compute_metrics(config, task_quality_metrics(config), inputs, ctx.timings), "quality_metric": quality,
        **compression_metrics(generator, build_network(config.teacher), (1, 3, data.size, data.size), ctx.device,
                              config.evaluation["latency_warmup"], config.evaluation["latency_repeats"]),
    }
    n = config.evaluation["n_samples"]
    save_strip(fake[:n], ctx.folder / "samples.png")
    if config.phase == "teacher":
        save_strip(data.test_a[:n], ctx.folder / "inputs.png")
    check_finite(metrics)
    return metrics


def split_validation(data: ImageTranslationData, val_size: int) -> tuple[ImageTranslationData, torch.Tensor, torch.Tensor]:
    """The training data without a validation split, and that split's A and B images: ``validation_size`` examples
    drawn by a fixed permutation (seed ``VAL_SPLIT_SEED``) of each training domain (of the pairs when paired)."""
    gen = torch.Generator().manual_seed(VAL_SPLIT_SEED)
    n_a = validation_size(min(len(data.train_a), len(data.train_b)), val_size)
    perm_a = torch.randperm(len(data.train_a), generator=gen)
    perm_b = perm_a if data.paired else torch.randperm(len(data.train_b), generator=gen)
    val_a, val_b = data.train_a[perm_a[:n_a]], data.train_b[perm_b[:n_a]]
    rest = replace(data, train_a=data.train_a[perm_a[n_a:].sort().values],
                   train_b=data.train_b[perm_b[n_a:].sort().values])
    return rest, val_a, val_b


def _select_on_validation(ctx: JobContext, schedule: Schedule, selection: CheckpointSelection) -> None:
    """``select="best_val"``: train on the task less a validation split, scoring FID (the job's extractor) of the
    translated validation A images against the validation B images: for a task that records FID (its headline or
    beside it); mIoU tasks (Cityscapes) have no validation label maps here, so they cannot select this way."""
    config, data = ctx.config, ctx.data
    if "fid" not in task_quality_metrics(config):
        raise ValueError(f"task {config.task!r} is scored by {quality_metric(config)}: schedule.select=best_val scores "
                         f"FID on a validation split and cannot stand in for it; use select=last")
    rest, val_a, val_b = split_validation(data, schedule.val_size)

    def score(generator: torch.nn.Module) -> float:
        fake = translate(generator, val_a, ctx.device)
        return fid_against(fake, val_b, config, data.name, "B-val", ctx.options, ctx.device)["fid"]

    selection.select_best(rest, len(val_a), score, schedule.validation_every())


def run_i2i_job(ctx: JobContext) -> JobResult:
    """Train (or load) the job's generator, keep the checkpoint its schedule's policy selects, and evaluate it."""
    config, data, timings = ctx.config, ctx.data, ctx.timings
    assert isinstance(data, ImageTranslationData)
    check_ready(config, ctx.options)
    schedule = Schedule.from_mapping(config.schedule)
    selection = CheckpointSelection(ctx, "fid")
    if schedule.select == "best_val" and not (config.phase == "teacher" and config.teacher.get("checkpoint")):
        _select_on_validation(ctx, schedule, selection)
    setup = TrainSetup(data=selection.data, student_spec=config.student or config.teacher, teacher_spec=config.teacher,
                       hparams=config.hparams, schedule=schedule, device=ctx.device,
                       seed=config.seed, recipe=config.recipe, checkpointer=selection.checkpointer, log=ctx.log)
    extras: dict[str, Any] = {}
    if config.teacher_id:
        with timed(timings, "teacher_load"):
            setup.teacher, setup.teacher_discriminator = load_teacher(ctx.store, config)
    with timed(timings, "train"), ctx.checkpointer.training():
        if config.phase == "teacher" and config.teacher.get("checkpoint"):
            outcome = load_teacher_checkpoint(config.teacher, ctx.log)
            extras["teacher_checkpoint"] = outcome.extras["checkpoint"]
        elif config.phase == "teacher":
            outcome = train_recipe(setup, config.teacher)
        else:
            outcome = METHODS.get(config.method)().train(setup)
            extras["method_extras"] = plain_data(outcome.extras)
    checkpoint, checkpoint_extras = selection.keep(outcome.model)
    extras.update(checkpoint_extras)
    atomic_torch_save(outcome.model.state_dict(), ctx.folder / "generator.pt")
    files = {"generator": "generator.pt"}
    if config.phase == "teacher" and outcome.discriminator is not None:
        atomic_torch_save(outcome.discriminator.state_dict(), ctx.folder / "discriminator.pt")
    with timed(timings, "eval"):
        metrics = evaluate(outcome.model, ctx, setup.teacher if config.phase == "student" else None)
    metrics.update(checkpoint)
    files["samples_png"] = "samples.png"
    if config.phase == "teacher":
        files["inputs_png"] = "inputs.png"
    return JobResult(metrics, files, outcome.history, extras)

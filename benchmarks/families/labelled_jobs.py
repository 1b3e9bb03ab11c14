"""The body of a classification/regression job (cGAN-KD's family, Ding et al., arXiv 2104.03164).

* ``teacher``: the teacher network trained on the real training split (cross-entropy, or MSE on
  labels normalised to [0, 1]) with the suite's SGD schedule (``SGDSchedule``);
* ``artifact``: what a method's students share (cGAN-KD's fake set), made by the code its registry entry
  names (``Artifact.make``, in the method's package) from the data, the teacher when it depends on one, and
  the grid's FID extractor;
* ``student``: the method's run (``kd_gan_bench.methods.core.base.TrainSetup``, as for every family): the frozen teacher for methods that distil, and
  the other jobs' outputs its method ``needs`` (an artifact as its entry loads it, another student's
  weights), under the roles the job's ``inputs`` name.

Checkpoint policy (``schedule.select``, as for image-to-image jobs): ``last`` scores the network as training left
it; ``best_val`` holds ``val_size`` images out of the real training split (a fixed permutation, seed
``VAL_SPLIT_SEED``: the same images for every job of a task), scores the network on them every ``val_every``
steps (the task's headline metric spec as an error: top-1 error, or MAE) and keeps the best weights. The held-out
images are never trained on by the job, but cGAN-KD's fake set (an artifact phase, no selection) is made from the
whole training split.

Every model job records the metric specs of its family on the whole test split (top-1 accuracy in %, or MAE in
label units: ``kd_gan_bench.benchmarks.metrics.specs.quality``), params, MACs at the task's resolution, the teacher's
params/MACs, the ratios, and batch-1 latency.
"""
from __future__ import annotations

from dataclasses import replace
from typing import Any

import torch
from torch import nn

from kd_gan_bench.benchmarks.families.i2i_jobs import save_strip
from kd_gan_bench.benchmarks.families.job_context import (VAL_SPLIT_SEED, CheckpointSelection, JobContext, JobResult, check_finite,
                                    compression_metrics)
from kd_gan_bench.benchmarks.metrics import METRICS, MetricInputs, compute_metrics
from kd_gan_bench.benchmarks.metrics.protocols import fid_against, quality_metric, task_quality_metrics
from kd_gan_bench.benchmarks.core.timing import timed
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_torch_save, torch_load
from kd_gan_bench.datasets.labelled import LabelledImageData
from kd_gan_bench.methods import ARTIFACTS, METHODS
from kd_gan_bench.methods.core.artifacts import ArtifactJob
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.labelled_training import SGDSchedule, build_labelled_network, predict, train_classifier
from kd_gan_bench.methods.core.training import validation_size

MODEL_FILE = "model.pt"


def load_model(store: ResultStore, job_id: str, spec: dict[str, Any], data: LabelledImageData) -> nn.Module:
    """The network trained by the (done) job ``job_id``, rebuilt from ``spec``."""
    model = build_labelled_network(spec, data)
    model.load_state_dict(_state(store, job_id), strict=True)
    return model


def _state(store: ResultStore, job_id: str) -> dict[str, torch.Tensor]:
    """The state dict a (done) model job saved."""
    return torch_load(store.job_dir(job_id) / MODEL_FILE)


def _scored(model: nn.Module, ctx: JobContext, data: LabelledImageData) -> MetricInputs:
    """What the metric specs read of ``model`` on ``data``'s test split: its raw outputs and the labels."""
    return MetricInputs(config=ctx.config, data=data, fake=predict(model, data.test_x, ctx.device), real=data.test_y,
                        network=model, options=ctx.options, device=ctx.device)


def evaluate_model(model: nn.Module, ctx: JobContext) -> dict[str, Any]:
    """Every metric spec that applies to the job on the whole test split (the task's quality metrics, accuracy or
    MAE, with their values on the fixed half-size test subsets of :mod:`kd_gan_bench.benchmarks.metrics.resampling` and their protocol),
    and the cost columns against the teacher."""
    config, data = ctx.config, ctx.data
    metrics: dict[str, Any] = {
        **compute_metrics(config, task_quality_metrics(config), _scored(model, ctx, data), ctx.timings),
        "quality_metric": quality_metric(config),
        **compression_metrics(model, build_labelled_network(config.teacher, data), (1, 3, data.size, data.size),
                              ctx.device, config.evaluation["latency_warmup"], config.evaluation["latency_repeats"]),
    }
    check_finite(metrics)
    return metrics


def split_validation(data: LabelledImageData, val_size: int) -> tuple[LabelledImageData, LabelledImageData]:
    """(the task without ``validation_size`` training images, those images as a task whose test split they are),
    drawn by a fixed permutation (seed ``VAL_SPLIT_SEED``) of the real training split."""
    n = validation_size(len(data.train_x), val_size)
    perm = torch.randperm(len(data.train_x), generator=torch.Generator().manual_seed(VAL_SPLIT_SEED))
    held, kept = perm[:n], perm[n:].sort().values
    return (replace(data, train_x=data.train_x[kept], train_y=data.train_y[kept]),
            replace(data, test_x=data.train_x[held], test_y=data.train_y[held]))


def _selection(ctx: JobContext, schedule: SGDSchedule) -> CheckpointSelection:
    """The job's checkpoint selection: with ``best_val``, the task less a validation split of its real training
    images, scored by the task's headline metric spec as an error (lower is better: top-1 error in %, or MAE;
    ``Metric.error``) and recorded as the metric."""
    metric = METRICS.get(quality_metric(ctx.config))
    selection = CheckpointSelection(ctx, metric.name)
    if schedule.select == "best_val":
        rest, val = split_validation(ctx.data, schedule.val_size)

        def score(model: nn.Module) -> float:
            return metric.error(metric.compute(_scored(model, ctx, val))[metric.name])

        selection.select_best(rest, len(val.test_x), score, schedule.validation_every(), metric.from_error)
    return selection


def _train_teacher(ctx: JobContext, schedule: SGDSchedule, selection: CheckpointSelection) -> tuple[nn.Module, dict]:
    outcome = train_classifier(selection.data, ctx.config.teacher, schedule, ctx.device, ctx.config.seed,
                               checkpointer=selection.checkpointer, log=ctx.log)
    return outcome.model, outcome.history


def _inputs(ctx: JobContext) -> dict[str, Any]:
    """The other jobs' outputs the student reads, under the roles its method's ``needs`` name: an artifact as
    its entry loads it (``Artifact.load``), another method's student as its state dict."""
    config, inputs = ctx.config, {}
    for need in METHODS.info(config.method).needs:
        if need.role in config.inputs:
            job_id = config.inputs[need.role]
            inputs[need.role] = (ARTIFACTS.get(need.artifact).load(ctx.store.job_dir(job_id)) if need.artifact
                                 else _state(ctx.store, job_id))
    return inputs


def _train_student(ctx: JobContext, schedule: SGDSchedule, selection: CheckpointSelection) -> tuple[nn.Module, dict, dict]:
    config, data = ctx.config, selection.data
    method = METHODS.get(config.method)()
    teacher = load_model(ctx.store, config.teacher_id, dict(config.teacher), data) if config.teacher_id else None
    outcome = method.train(TrainSetup(data, config.student, config.teacher, config.hparams, schedule, ctx.device,
                                      config.seed, teacher=teacher, checkpointer=selection.checkpointer, log=ctx.log,
                                      inputs=_inputs(ctx)))
    return outcome.model, outcome.history, outcome.extras


def _artifact(ctx: JobContext) -> JobResult:
    """Make the job's artifact with the code its registry entry names (``Artifact.make``): the harness hands it
    the data, the loaded teacher (when the artifact depends on one) and the grid's FID, and records the result."""
    config, data = ctx.config, ctx.data
    artifact = ARTIFACTS.get(config.method)
    teacher = load_model(ctx.store, config.teacher_id, dict(config.teacher), data) if config.teacher_id else None

    def fid_fn(fake: torch.Tensor, real: torch.Tensor) -> dict:
        return fid_against(fake, real, config, data.name, "train", ctx.options, ctx.device)

    job = ArtifactJob(data, teacher, config.hparams, ctx.device, config.seed, ctx.folder,
                      config.evaluation["n_samples"], fid=fid_fn, save_images=save_strip,
                      checkpointer=ctx.checkpointer, log=ctx.log)
    with timed(ctx.timings, "train"), ctx.checkpointer.training():
        result = artifact.make(job)
    check_finite(result.metrics)
    return JobResult(result.metrics, result.files, result.history, result.extras)


def run_labelled_job(ctx: JobContext) -> JobResult:
    """Train and evaluate the job's classifier/regressor, or make its artifact."""
    config = ctx.config
    if config.phase == "artifact":
        return _artifact(ctx)
    schedule = SGDSchedule.from_mapping(config.schedule)
    selection = _selection(ctx, schedule)
    extras: dict[str, Any] = {}
    with timed(ctx.timings, "train"), ctx.checkpointer.training():
        if config.phase == "teacher":
            model, history = _train_teacher(ctx, schedule, selection)
        else:
            model, history, extras = _train_student(ctx, schedule, selection)
    checkpoint, checkpoint_extras = selection.keep(model)
    atomic_torch_save(model.state_dict(), ctx.folder / MODEL_FILE)
    with timed(ctx.timings, "eval"):
        metrics = {**evaluate_model(model, ctx), **checkpoint}
    extras = {"method_extras": extras} if extras else {}
    return JobResult(metrics, {"model": MODEL_FILE}, history, {**extras, **checkpoint_extras})

"""The body of a classification/regression job (cGAN-KD's family, Ding et al., arXiv 2104.03164).

* ``teacher``: the teacher network trained on the real training split (cross-entropy, or MSE on
  labels normalised to [0, 1]) with the suite's SGD schedule (``SGDSchedule``);
* ``artifact`` ``cgan_kd_fake_set``: the processed fake set of one task
  (``methods.cgan_kd.build_fake_set``: filtering network trained on the real data, cGAN, cDR-RS
  subsampling on the filtering network's penultimate features, filtering, label replacement), saved as
  ``fake_set.pt`` and shared by every cGAN-KD student of that task with the same fake-set settings
  (of that task and teacher when ``filter_net="teacher"``: the job then depends on the teacher job).
  Its record holds how many samples survived each stage, the filtering network's test quality, and
  the FID of the raw cGAN samples and of the final set against the real training images (with the
  grid's FID extractor); its folder a strip of fakes next to real images of the same labels;
* ``student``: the method's run (``LabelledTrainSetup``): the frozen teacher for methods that distil,
  the fake set and the NOKD student's weights for cGAN-KD, as the job's ``inputs`` name them.

Every model job records top-1 accuracy (%) or MAE (label units) on the whole test split, params,
MACs at the task's resolution, the teacher's params/MACs, the ratios, and batch-1 latency.
"""
from __future__ import annotations

import time
from typing import Any

import torch
from torch import nn

from benchmarks.config import JobConfig
from benchmarks.i2i_jobs import save_strip
from benchmarks.job_context import JobContext, JobResult, check_finite, compression_metrics
from benchmarks.protocols import fid_against
from benchmarks.store import ResultStore, atomic_torch_save, torch_load
from datasets.labelled import LabelledImageData
from methods import METHODS
from methods.cgan_kd import FakeSet, build_fake_set
from methods.labelled_training import (LabelledTrainSetup, SGDSchedule, build_labelled_network, evaluate_labelled,
                                       train_classifier)

FAKE_SET_ARTIFACT = "cgan_kd_fake_set"
MODEL_FILE = "model.pt"
FAKE_SET_FILE = "fake_set.pt"


def load_model(store: ResultStore, job_id: str, spec: dict[str, Any], data: LabelledImageData) -> nn.Module:
    """The network trained by the (done) job ``job_id``, rebuilt from ``spec``."""
    model = build_labelled_network(spec, data)
    model.load_state_dict(_state(store, job_id), strict=True)
    return model


def _state(store: ResultStore, job_id: str) -> dict[str, torch.Tensor]:
    """The state dict a (done) model job saved."""
    return torch_load(store.job_dir(job_id) / MODEL_FILE)


def evaluate_model(model: nn.Module, ctx: JobContext) -> dict[str, Any]:
    """Test-split quality (accuracy or MAE), its protocol, and the cost columns against the teacher."""
    config, data = ctx.config, ctx.data
    quality = evaluate_labelled(model, data, ctx.device)
    metric = "accuracy" if data.family == "classification" else "mae"
    what = ("top-1 accuracy" if metric == "accuracy"
            else f"mean absolute error in label units ({data.label_unit or 'label units'})")
    metrics: dict[str, Any] = {
        **quality, "quality_metric": metric,
        "eval_protocol": f"{what} on the {len(data.test_x)} test images of {data.name}",
        **compression_metrics(model, build_labelled_network(config.teacher, data), (1, 3, data.size, data.size),
                              ctx.device, config.evaluation["latency_warmup"], config.evaluation["latency_repeats"]),
    }
    check_finite(metrics)
    return metrics


def _train_teacher(ctx: JobContext, schedule: SGDSchedule) -> tuple[nn.Module, dict]:
    outcome = train_classifier(ctx.data, ctx.config.teacher, schedule, ctx.device, ctx.config.seed,
                               checkpointer=ctx.checkpointer, log=ctx.log)
    return outcome.model, outcome.history


def _train_student(ctx: JobContext, schedule: SGDSchedule) -> tuple[nn.Module, dict, dict]:
    config, data = ctx.config, ctx.data
    method = METHODS.get(config.method)()
    setup = LabelledTrainSetup(data, config.student, config.hparams, schedule, ctx.device, config.seed,
                               checkpointer=ctx.checkpointer, log=ctx.log)
    if config.teacher_id:
        setup.teacher = load_model(ctx.store, config.teacher_id, dict(config.teacher), data)
    if "fake_set" in config.inputs:
        setup.fake_set = FakeSet.load(ctx.store.job_dir(config.inputs["fake_set"]) / FAKE_SET_FILE)
    if "student_init" in config.inputs:
        setup.student_init = _state(ctx.store, config.inputs["student_init"])
    outcome = method.train(setup)
    return outcome.model, outcome.history, outcome.extras


def _fake_set_artifact(ctx: JobContext) -> JobResult:
    config, data = ctx.config, ctx.data
    if config.method != FAKE_SET_ARTIFACT:
        raise ValueError(f"unknown artifact {config.method!r} for a {data.family} task; valid: {FAKE_SET_ARTIFACT}")
    teacher = load_model(ctx.store, config.teacher_id, dict(config.teacher), data) if config.teacher_id else None

    def fid_fn(fake: torch.Tensor, real: torch.Tensor) -> dict:
        return fid_against(fake, real, config, data.name, "train", ctx.options, ctx.device)

    t = time.perf_counter()
    with ctx.checkpointer.training():
        fake = build_fake_set(data, teacher, config.hparams, ctx.device, config.seed, fid_fn=fid_fn,
                              checkpointer=ctx.checkpointer, log=ctx.log)
    ctx.timings["train_s"] = time.perf_counter() - t
    fake.save(ctx.folder / FAKE_SET_FILE)
    stats = fake.stats
    metrics: dict[str, Any] = {k: stats[k] for k in ("n_generated", "n_after_subsampling", "n_after_filtering",
                                                       "n_final", "n_labels_replaced", "n_short_labels")}
    for key, name in (("fid_raw", "cgan_fid"), ("fid_final", "fake_set_fid")):
        metrics[name] = stats[key]["fid"] if stats[key] else None
    fid_info = stats["fid_final"] or stats["fid_raw"]
    metrics["fid_extractor"] = fid_info["fid_extractor"] if fid_info else None
    metrics["eval_protocol"] = (f"FID of cGAN samples (raw: {stats['fid_raw']['fid_n_fake']}; after subsampling and "
                                f"filtering: all {stats['n_final']}) vs the {len(data.train_x)} real training images, "
                                f"{fid_info['fid_extractor_label']}" if fid_info else "cGAN FID not computed (fid_samples=0)")
    check_finite(metrics)
    _save_fake_strips(fake, data, config, ctx)
    return JobResult(metrics, {"fake_set": FAKE_SET_FILE, "samples_png": "samples.png", "inputs_png": "inputs.png"},
                     fake.history, {"fake_set_stats": stats})


def _save_fake_strips(fake: FakeSet, data: LabelledImageData, config: JobConfig, ctx: JobContext) -> None:
    """``samples.png``: fakes spread over the set (so over its labels); ``inputs.png``: for each, the real
    training image with the nearest label."""
    n = min(config.evaluation["n_samples"], len(fake))
    idx = torch.linspace(0, len(fake) - 1, n).round().long()
    labels = fake.labels[idx].double()
    real_idx = (data.train_y.double()[None, :] - labels[:, None]).abs().argmin(1)
    save_strip(fake.images[idx], ctx.folder / "samples.png")
    save_strip(data.train_x[real_idx], ctx.folder / "inputs.png")


def run_labelled_job(ctx: JobContext) -> JobResult:
    """Train and evaluate the job's classifier/regressor, or make its artifact."""
    config = ctx.config
    if config.phase == "artifact":
        return _fake_set_artifact(ctx)
    schedule = SGDSchedule.from_mapping(config.schedule)
    t = time.perf_counter()
    extras: dict[str, Any] = {}
    with ctx.checkpointer.training():
        if config.phase == "teacher":
            model, history = _train_teacher(ctx, schedule)
        else:
            model, history, extras = _train_student(ctx, schedule)
    ctx.timings["train_s"] = time.perf_counter() - t
    atomic_torch_save(model.state_dict(), ctx.folder / MODEL_FILE)
    t = time.perf_counter()
    metrics = evaluate_model(model, ctx)
    ctx.timings["eval_s"] = time.perf_counter() - t
    return JobResult(metrics, {"model": MODEL_FILE}, history, {"method_extras": extras} if extras else {})

"""Run one job: load data, (load the teacher,) train, evaluate, write the record.

``JobRunner`` is the picklable callable that every executor (debug, local, SLURM) runs. It
never raises for an ordinary failure: the exception becomes a ``failed`` record with the
error text and traceback, so one failing job never stops the grid and never leaves a half
result. The job's folder holds ``job.log`` (a human-readable log), ``record.json``, the
trained generator and the sample strips the report shows.
"""
from __future__ import annotations

import logging
import math
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import torch
import torchvision.utils as vutils

from benchmarks.config import JobConfig
from benchmarks.environment import choose_device, environment
from benchmarks.metrics.complexity import count_macs, count_params
from benchmarks.metrics.latency import measure_latency
from benchmarks.protocols import check_ready, quality_metrics
from benchmarks.store import DONE, ResultStore, atomic_torch_save
from benchmarks.teachers import load_teacher_checkpoint
from datasets import TASKS, ImageTranslationData, load_task
from methods import METHODS, TrainSetup
from methods.networks import build_network
from methods.recipes import resolve_recipe, train_recipe
from methods.training import PreemptedError, Schedule, to_float, to_uint8


@dataclass(frozen=True)
class RunOptions:
    """Per-grid settings that are not part of a job's identity."""

    results_root: str
    device: str = "auto"
    threads: int = 0                  # torch threads per job; 0 leaves torch's default
    fid_extractor: str = "offline-randconv-v1"
    fid_weights: str | None = None
    fid_is_inception: bool = False
    seg_weights: str | None = None    # DRN-D-105 weights for mIoU tasks (None: torch.hub's cache)


class FileCheckpointer:
    """Resumable training state in the job folder (``state.pt``), saved atomically."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stop_requested = False

    def load(self) -> dict | None:
        return torch.load(self.path, map_location="cpu", weights_only=False) if self.path.exists() else None

    def save(self, state: dict) -> None:
        atomic_torch_save(state, self.path)

    def requested(self) -> bool:
        return self.stop_requested


@contextmanager
def job_logger(log_path: Path) -> Iterator[logging.Logger]:
    """A logger writing to the job's ``job.log`` (appending across restarts) and to stderr."""
    logger = logging.getLogger(f"kdgan.job.{log_path.parent.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.FileHandler(log_path), logging.StreamHandler()]
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    try:
        yield logger
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@torch.no_grad()
def translate(generator: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> torch.Tensor:
    """uint8 domain-A images -> uint8 translations, in eval mode."""
    was_training = generator.training
    generator.eval()
    out = [to_uint8(generator(to_float(images[i:i + batch_size], device))) for i in range(0, len(images), batch_size)]
    generator.train(was_training)
    return torch.cat(out)


def save_strip(images: torch.Tensor, path: Path) -> None:
    """A row of uint8 images as one PNG."""
    vutils.save_image(images.float() / 255.0, path, nrow=len(images), padding=0)


def load_teacher(store: ResultStore, config: JobConfig) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The teacher generator (and its discriminator) trained by job ``config.teacher_id``."""
    record = store.read_record(config.teacher_id)
    if not isinstance(record, dict) or record["status"] != DONE:
        state = record["status"] if isinstance(record, dict) else "missing" if record is None else "corrupt"
        raise RuntimeError(f"teacher job {config.teacher_id} is {state}, not done; run its teacher phase first")
    folder = store.job_dir(config.teacher_id)
    teacher = build_network(config.teacher)
    teacher.load_state_dict(torch.load(folder / "generator.pt", map_location="cpu"), strict=True)
    disc_path = folder / "discriminator.pt"
    discriminator = None
    if disc_path.exists():
        discriminator = build_network(_disc_spec(config))
        discriminator.load_state_dict(torch.load(disc_path, map_location="cpu"), strict=True)
    return teacher, discriminator


def _disc_spec(config: JobConfig) -> dict[str, Any]:
    paired = TASKS.get(config.task).paired
    hp = resolve_recipe(config.recipe, paired)
    return {"arch": "patchgan_discriminator", "input_nc": 6 if paired else 3, "ndf": hp["ndf"],
            "n_layers": hp["d_layers"], "norm": hp["d_norm"]}


def evaluate(generator: torch.nn.Module, config: JobConfig, data: ImageTranslationData, options: RunOptions,
             device: torch.device, folder: Path) -> dict[str, Any]:
    """The task's quality metric (FID/KID or mIoU) on the whole test split, params, MACs, latency and
    compression ratios."""
    fake = translate(generator, data.test_a, device)
    shape = (1, 3, data.size, data.size)
    teacher_net = build_network(config.teacher)
    metrics: dict[str, Any] = {
        **quality_metrics(config, data, fake, options, device),
        "params_count": count_params(generator),
        "macs_count": count_macs(generator, shape),
        "teacher_params_count": count_params(teacher_net),
        "teacher_macs_count": count_macs(teacher_net, shape),
    }
    metrics["params"] = metrics["params_count"] / 1e6
    metrics["macs"] = metrics["macs_count"] / 1e9
    metrics["params_ratio"] = metrics["teacher_params_count"] / metrics["params_count"]
    metrics["macs_ratio"] = metrics["teacher_macs_count"] / metrics["macs_count"]
    metrics.update(measure_latency(generator, shape, device, warmup=config.evaluation["latency_warmup"],
                                   repeats=config.evaluation["latency_repeats"]))
    n = config.evaluation["n_samples"]
    save_strip(fake[:n], folder / "samples.png")
    if config.phase == "teacher":
        save_strip(data.test_a[:n], folder / "inputs.png")
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise FloatingPointError(f"metric {key} is {value}")
    return metrics


def run_job(config: JobConfig, options: RunOptions, checkpointer: FileCheckpointer | None = None) -> dict[str, Any]:
    """Train and evaluate one job, write its record, and return it (``status`` says how it went)."""
    store = ResultStore(options.results_root)
    folder = store.job_dir(config.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    checkpointer = checkpointer or FileCheckpointer(folder / "state.pt")
    timings: dict[str, float] = {}
    record: dict[str, Any] = {"job_id": config.job_id, "config": config.to_dict(), "started_at": _now(),
                              "artifacts": {"log": "job.log"}}
    with job_logger(folder / "job.log") as log:
        t_start = time.perf_counter()
        try:
            if options.threads:
                torch.set_num_threads(options.threads)
            device = choose_device(options.device)
            record["environment"] = environment(device)
            log.info("job %s: %s %s on %s (%s)", config.job_id, config.phase, config.method, config.task, device)
            log.info("config: %s", config.to_dict())
            t = time.perf_counter()
            data = load_task(config.task, **config.task_args)
            timings["data_s"] = time.perf_counter() - t
            check_ready(config, options)
            setup = TrainSetup(data=data, student_spec=config.student or config.teacher, teacher_spec=config.teacher,
                               hparams=config.hparams, schedule=Schedule.from_mapping(config.schedule), device=device,
                               seed=config.seed, recipe=config.recipe, checkpointer=checkpointer, log=log.info)
            if config.teacher_id:
                t = time.perf_counter()
                setup.teacher, setup.teacher_discriminator = load_teacher(store, config)
                timings["teacher_load_s"] = time.perf_counter() - t
            t = time.perf_counter()
            if config.phase == "teacher" and config.teacher.get("checkpoint"):
                outcome = load_teacher_checkpoint(config.teacher, log.info)
                record["teacher_checkpoint"] = outcome.extras["checkpoint"]
            elif config.phase == "teacher":
                outcome = train_recipe(setup, config.teacher)
            else:
                outcome = METHODS.get(config.method)().train(setup)
            timings["train_s"] = time.perf_counter() - t
            atomic_torch_save(outcome.generator.state_dict(), folder / "generator.pt")
            record["artifacts"]["generator"] = "generator.pt"
            if config.phase == "teacher" and outcome.discriminator is not None:
                atomic_torch_save(outcome.discriminator.state_dict(), folder / "discriminator.pt")
            t = time.perf_counter()
            record["metrics"] = evaluate(outcome.generator, config, data, options, device, folder)
            timings["eval_s"] = time.perf_counter() - t
            record["artifacts"]["samples_png"] = "samples.png"
            if config.phase == "teacher":
                record["artifacts"]["inputs_png"] = "inputs.png"
            record["history"] = outcome.history
            record.update(status=DONE, error=None, traceback=None)
            log.info("done: %s", {k: record["metrics"].get(k) for k in ("fid", "kid", "miou", "params", "macs", "latency_ms")})
        except PreemptedError:
            log.info("preempted: training state saved to %s", checkpointer.path)
            raise
        except Exception as exc:  # every other failure becomes a failed record, never a crash of the grid
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            log.error("failed: %s\n%s", record["error"], record["traceback"])
        timings["total_s"] = time.perf_counter() - t_start
        record["timings"] = timings
        record["finished_at"] = _now()
        store.write_record(record)
        if record["status"] == DONE:
            checkpointer.path.unlink(missing_ok=True)
    return record


class JobRunner:
    """The picklable callable submitted to submitit: ``JobRunner(config_dict, options)()``."""

    def __init__(self, config: dict[str, Any], options: RunOptions) -> None:
        self.config, self.options = config, options

    def __call__(self) -> dict[str, Any]:
        return run_job(JobConfig.from_dict(self.config), self.options)

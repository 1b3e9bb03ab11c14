"""What the harness hands a job body, and what a body gives back for the record.

``kd_gan_bench.benchmarks.execution.runner.run_job`` is the shell every job runs in (logging, the record, errors,
checkpoints); the bodies do the family-specific work: ``kd_gan_bench.benchmarks.families.i2i_jobs`` for image-to-image
teachers and students, ``kd_gan_bench.benchmarks.families.labelled_jobs`` for classification/regression teachers, the
cGAN-KD fake-set artifact and labelled students.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.families.job_options import FileCheckpointer, RunOptions
from kd_gan_bench.benchmarks.metrics.complexity import count_macs, count_params, macs_protocol
from kd_gan_bench.benchmarks.metrics.latency import measure_latency
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.methods.core.training import BestCheckpoint, SelectingCheckpointer


@dataclass
class JobContext:
    """One job's config, settings, store, folder, device, checkpointer, log and loaded data."""

    config: JobConfig
    options: RunOptions
    store: ResultStore
    folder: Path
    device: torch.device
    checkpointer: FileCheckpointer
    log: Callable[[str], None]
    data: Any
    timings: dict[str, float]


@dataclass
class JobResult:
    """What a job body produced: metrics, files in the job folder (name -> file), loss history and
    other fields for the record."""

    metrics: dict[str, Any]
    files: dict[str, str] = field(default_factory=dict)
    history: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)


def check_finite(metrics: dict[str, Any]) -> None:
    """Raise when a float metric is NaN or infinite: such a number must fail the job, not be reported."""
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise FloatingPointError(f"metric {key} is {value}")


def compression_metrics(model: torch.nn.Module, teacher: torch.nn.Module, shape: tuple[int, ...],
                        device: torch.device, warmup: int, repeats: int) -> dict[str, Any]:
    """Params and MACs of ``model`` and of the teacher (counted on the same input ``shape``), their
    ratios, and ``model``'s latency: the cost columns every family shares."""
    metrics: dict[str, Any] = {
        "params_count": count_params(model), "macs_count": count_macs(model, shape),
        "teacher_params_count": count_params(teacher), "teacher_macs_count": count_macs(teacher, shape),
    }
    metrics["params"] = metrics["params_count"] / 1e6
    metrics["macs"] = metrics["macs_count"] / 1e9
    metrics["params_ratio"] = metrics["teacher_params_count"] / metrics["params_count"]
    metrics["macs_ratio"] = metrics["teacher_macs_count"] / metrics["macs_count"]
    metrics.update(macs_protocol(shape))
    metrics.update(measure_latency(model, shape, device, warmup=warmup, repeats=repeats))
    return metrics


#: the validation split of ``select="best_val"`` is the same for every job of a task (every seed and method)
VAL_SPLIT_SEED = 0


class CheckpointSelection:
    """What a model job trains on and which weights it keeps (``schedule.select``), for every family: ``last``, the
    task and the job's checkpointer; ``best_val`` (:meth:`select_best`), the task less a validation split and a
    checkpointer whose ``BestCheckpoint`` keeps the weights with the lowest validation score."""

    def __init__(self, ctx: JobContext, metric: str) -> None:
        self.data, self.checkpointer, self.metric = ctx.data, ctx.checkpointer, metric
        self.selector: BestCheckpoint | None = None
        self.n_val = 0
        self.reported: Callable[[float], float] = float

    def select_best(self, data: Any, n_val: int, score: Callable[[torch.nn.Module], float], every: int,
                    reported: Callable[[float], float] = float) -> None:
        """Train on ``data`` (the task less its ``n_val`` held-out examples) and keep the weights with the lowest
        ``score`` on them, taken every ``every`` steps; ``reported(score)`` is the record's value of ``metric``."""
        self.data, self.n_val, self.reported = data, n_val, reported
        self.selector = BestCheckpoint(score, every)
        self.checkpointer = SelectingCheckpointer(self.checkpointer, self.selector)

    def keep(self, model: torch.nn.Module) -> tuple[dict[str, Any], dict[str, Any]]:
        """Load the weights the policy keeps into ``model``; the record's checkpoint fields and extras."""
        if self.selector is None:
            return {"checkpoint": "last"}, {}
        selector, metric = self.selector, self.metric
        selector.restore(model)
        label = METRICS.get(metric).label
        return ({"checkpoint": "best_val", "checkpoint_step": selector.best_step,
                 f"checkpoint_val_{metric}": self.reported(selector.best_score),
                 "checkpoint_selected_on": f"{label} of {self.n_val} validation images held out of the training set "
                                           f"(fixed, seed {VAL_SPLIT_SEED}), scored every {selector.every} steps"},
                {"checkpoint_val_scores": selector.scores})


def plain_data(values: dict[str, Any]) -> dict[str, Any]:
    """The entries of a method's outcome extras a record can hold (JSON values: numbers, text, lists...);
    modules and tensors are left out."""
    out = {}
    for key, value in values.items():
        try:
            json.dumps(value, allow_nan=False)
        except (TypeError, ValueError):
            continue
        out[key] = value
    return out

"""What the harness hands a job body, and what a body gives back for the record.

``benchmarks.runner.run_job`` is the shell every job runs in (logging, the record, errors,
checkpoints); the bodies do the family-specific work: ``benchmarks.i2i_jobs`` for image-to-image
teachers and students, ``benchmarks.labelled_jobs`` for classification/regression teachers, the
cGAN-KD fake-set artifact and labelled students.
"""
from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

import torch

from benchmarks.config import JobConfig
from benchmarks.metrics.complexity import count_macs, count_params, macs_protocol
from benchmarks.metrics.latency import measure_latency
from benchmarks.store import ResultStore

if TYPE_CHECKING:
    from benchmarks.runner import FileCheckpointer, RunOptions


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
    artifacts: dict[str, str] = field(default_factory=dict)
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


def checkpoint_fields(selector: Any, metric: str, best: float, n_val: int) -> dict[str, Any]:
    """The record's checkpoint fields: ``last``, or ``best_val`` with the step, validation ``metric`` value
    (``best``) and the split of the weights kept by ``selector`` (a ``methods.training.BestCheckpoint``)."""
    if selector is None:
        return {"checkpoint": "last"}
    return {"checkpoint": "best_val", "checkpoint_step": selector.best_step, f"checkpoint_val_{metric}": best,
            "checkpoint_selected_on": f"{metric.upper() if metric in ('fid', 'mae') else metric} of {n_val} validation images held out of the training set (fixed, "
                                      f"seed {VAL_SPLIT_SEED}), scored every {selector.every} steps"}


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

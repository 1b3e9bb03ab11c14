"""The task registry (task name -> ``TaskInfo``), torch-free: tasks are declared lazily in
:mod:`datasets.entries` and their loader modules are imported on first ``TASKS.get(name)``.

This module imports one module of ``methods`` (``methods.registry``, the dependency-free
registries) and nothing of the harness.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from methods.registry import Registry

QUALITY_METRICS = ("fid", "miou", "accuracy", "mae")


@dataclass(frozen=True)
class TaskInfo:
    """A registered task: its loader and the defaults that go with it."""

    name: str
    family: str
    paired: bool
    loader: Callable[..., Any]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    fid_protocol: str = "target_test"
    description: str = ""
    quality_metric: str = "fid"      # "fid" or "miou"; "accuracy" / "mae" for classification / regression
    reported_as: str | None = None   # the task's name in the published results, if it has any
    dataset: str | None = None       # the real dataset it loads (datasets.catalog.DATASETS), None: built in


def task_meta(info: TaskInfo) -> dict[str, Any]:
    """A task's metadata: every ``TaskInfo`` field but its name and loader."""
    data = asdict(info)
    for key in ("name", "loader"):
        data.pop(key)
    return data


TASKS: Registry[TaskInfo] = Registry("task", task_meta)


def register_task(name: str, *, family: str = "i2i", paired: bool, fid_protocol: str, description: str = "",
                  quality_metric: str = "fid", reported_as: str | None = None, dataset: str | None = None,
                  **defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a loader ``fn(**args) -> ImageTranslationData`` as task ``name``."""
    if quality_metric not in QUALITY_METRICS:
        raise ValueError(f"task {name!r}: quality_metric must be one of {QUALITY_METRICS}, got {quality_metric!r}")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        TASKS.add(name, TaskInfo(name, family, paired, fn, dict(defaults), fid_protocol,
                                 description or (fn.__doc__ or "").strip().splitlines()[0],
                                 quality_metric, reported_as, dataset))
        return fn

    return decorator

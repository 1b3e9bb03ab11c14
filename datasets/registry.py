"""The task registry (task name -> ``TaskInfo``), torch-free: tasks are declared lazily in
:mod:`datasets.entries` and their loader modules are imported on first ``TASKS.get(name)``.

This module imports one module of ``methods`` (``methods.registry``, the dependency-free
registries) and nothing of the harness.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from methods.registry import Registry



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
    quality_metric: str = "fid"      # the headline: a quality metric spec's name (benchmarks.metrics.specs)
    reported_as: str | None = None   # the task's name in the published results, if it has any
    dataset: str | None = None       # the real dataset it loads (datasets.catalog.DATASETS), None: built in
    also_quality: tuple[str, ...] = ()  # quality metrics its jobs record as columns beside the headline


def quality_metrics(info: Any) -> tuple[str, ...]:
    """Every quality metric a task's jobs record, its headline first (``info``: a ``TaskInfo`` or
    ``TASKS.info(name)``)."""
    return (info.quality_metric, *info.also_quality)


def task_meta(info: TaskInfo) -> dict[str, Any]:
    """A task's metadata: every ``TaskInfo`` field but its name and loader."""
    data = asdict(info)
    for key in ("name", "loader"):
        data.pop(key)
    return data


TASKS: Registry[TaskInfo] = Registry("task", task_meta)


def register_task(name: str, *, family: str = "i2i", paired: bool, fid_protocol: str, description: str = "",
                  quality_metric: str = "fid", reported_as: str | None = None, dataset: str | None = None,
                  also_quality: tuple[str, ...] = (), **defaults: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a loader ``fn(**args) -> ImageTranslationData`` as task ``name``. ``quality_metric`` is
    the task's headline (the board ranks and tests by it), ``also_quality`` the other quality metrics its jobs
    record; each names a quality metric spec of the task's family (``tests/test_registry_conformance.py``)."""
    if not quality_metric or quality_metric in also_quality:
        raise ValueError(f"task {name!r}: quality_metric must name one metric spec, not repeated in also_quality "
                         f"(got {quality_metric!r}, also {also_quality!r})")

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        TASKS.add(name, TaskInfo(name, family, paired, fn, dict(defaults), fid_protocol,
                                 description or (fn.__doc__ or "").strip().splitlines()[0],
                                 quality_metric, reported_as, dataset, tuple(also_quality)))
        return fn

    return decorator

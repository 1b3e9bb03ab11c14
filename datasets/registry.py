"""The task registry (task name -> ``TaskInfo``), torch-free: tasks are declared lazily, once, in
:mod:`kd_gan_bench.datasets.entries` and their loader modules are imported on first ``TASKS.get(name)``.

This module imports one module of ``methods`` (``kd_gan_bench.benchmarks.core.registry``, the dependency-free
registries) and nothing of the harness.
"""
from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Callable, Mapping

from kd_gan_bench.benchmarks.core.registry import Registry



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
    quality_metric: str = "fid"      # the headline: a quality metric spec's name (kd_gan_bench.benchmarks.metrics.specs)
    reported_as: str | None = None   # the task's name in the published results, if it has any
    dataset: str | None = None       # the real dataset it loads (kd_gan_bench.datasets.catalog.DATASETS), None: built in
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


def check_quality(name: str, quality_metric: str, also_quality: tuple[str, ...]) -> None:
    """``ValueError`` unless ``quality_metric`` names one metric, not repeated in ``also_quality``."""
    if not quality_metric or quality_metric in also_quality:
        raise ValueError(f"task {name!r}: quality_metric must name one metric spec, not repeated in also_quality "
                         f"(got {quality_metric!r}, also {also_quality!r})")


def register_task(name: str, **meta: Any) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Decorator: register a loader ``fn(**args) -> ImageTranslationData`` as task ``name``, with the metadata of
    its declaration (:mod:`kd_gan_bench.datasets.entries`: family, pairing, defaults, FID protocol, description, headline
    metric...), which is written there once; a task that has none (a plugin's) passes the same keywords as
    :meth:`TASKS.declare <kd_gan_bench.benchmarks.core.registry.Registry.declare>`, its defaults under ``defaults``. ``quality_metric``
    is the task's headline (the board ranks and tests by it), ``also_quality`` the other quality metrics its jobs
    record; each names a quality metric spec of the task's family (``tests/test_registry_conformance.py``)."""

    def decorator(fn: Callable[..., Any]) -> Callable[..., Any]:
        declared = {**(TASKS.meta(name) if TASKS.is_lazy(name) else {}), **meta}
        info = TaskInfo(name=name, loader=fn, **declared)
        check_quality(name, info.quality_metric, info.also_quality)
        fn.__doc__ = fn.__doc__ or info.description
        TASKS.add(name, info)
        return fn

    return decorator

"""Metrics as specs: one module and one decorator per metric.

A metric is a :class:`Metric`: its record/DataFrame column ``name``, display label, unit, format,
direction (``higher_is_better``, as lm-evaluation-harness has it: the report's arrows, sorting and
Pareto fronts), the ``kind`` of column it is (``quality``, ``fidelity``, ``cost``), the task ``families``
whose jobs record it, the ``inputs`` its computation reads (:class:`MetricInputs` fields) and, when the
harness computes it generically, ``compute``. A metric module is torch-free at import (its function
imports what it needs when it runs), so listing metrics stays light::

    @metric("psnr_teacher", label="PSNR vs teacher", higher_is_better=True, unit="dB", kind="fidelity",
            families=("i2i",), inputs=("fake", "teacher_fake"), description="...")
    def teacher_fidelity(inputs: MetricInputs) -> dict[str, float]:
        ...  # returns its column(s)

Every module of :mod:`kd_gan_bench.benchmarks.metrics.specs` is imported on the first use of :data:`METRICS`, so a
new metric is its module there (and its test). Metrics a family's job body records itself (params,
MACs, latency...) are specs without ``compute``; ``also`` names extra columns a compute writes (FID writes KID
too), ``protocol`` the columns that say how it was measured (FID's N and extractor: every results frame has them,
:mod:`kd_gan_bench.benchmarks.records.collect`), and ``reported_as`` the names the published results give it
(:mod:`kd_gan_bench.benchmarks.records.published`). Every family's job body scores its network through :func:`compute_metrics`, so a
spec of a family is run by every job of it.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass
from typing import Any, Callable, Iterator, Mapping, Sequence

from kd_gan_bench.benchmarks.core.registry import Registry
from kd_gan_bench.benchmarks.core.timing import timed

KINDS = ("quality", "fidelity", "cost")
INPUTS = ("config", "data", "fake", "real", "labels", "teacher_fake", "network", "options", "device")


@dataclass(frozen=True)
class Metric:
    """One recorded quantity (see the module docstring)."""

    name: str
    label: str
    higher_is_better: bool
    unit: str = ""
    fmt: str = "{:.2f}"
    description: str = ""
    kind: str = "quality"
    families: tuple[str, ...] = ()
    inputs: tuple[str, ...] = ()
    task_metric: str | None = None     # computed only for tasks whose headline metric is this (fid, miou)
    compute: Callable[["MetricInputs"], Mapping[str, Any]] | None = None
    also: tuple[str, ...] = ()
    protocol: tuple[str, ...] = ()     # columns saying how it was measured (N, extractor, weights)
    reported_as: tuple[str, ...] = ()  # its names in the published results' ``metric`` column
    best: float | None = None          # the best value it can take (top-1 accuracy: 100), if it has one

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"metric {self.name!r}: kind must be one of {KINDS}, got {self.kind!r}")
        unknown = set(self.inputs) - set(INPUTS)
        if unknown:
            raise ValueError(f"metric {self.name!r}: unknown inputs {sorted(unknown)}; valid: {', '.join(INPUTS)}")

    @property
    def arrow(self) -> str:
        return "\u2191" if self.higher_is_better else "\u2193"

    def error(self, value: float) -> float:
        """``value`` as a lower-is-better score (what a checkpoint selection minimises): the value itself, else its
        distance to ``best`` (top-1 accuracy -> top-1 error), else its negative."""
        if not self.higher_is_better:
            return value
        return self.best - value if self.best is not None else -value

    def from_error(self, error: float) -> float:
        """The value whose :meth:`error` is ``error``."""
        return self.error(error) if self.higher_is_better else error


@dataclass
class MetricInputs:
    """What a job's evaluation hands a metric's ``compute``: ``fake``, the job's network's outputs on the test inputs,
    ``real``, the test targets (image-to-image: uint8 images N x 3 x H x W; classification/regression: the raw outputs,
    ``kd_gan_bench.methods.core.labelled_training.predict``, and the labels); ``teacher_fake``: the pretrained teacher on the same
    inputs, None without one; the network, the job's config and data, the grid's options, the device."""

    config: Any
    data: Any
    fake: Any = None
    real: Any = None
    labels: Any = None
    teacher_fake: Any = None
    network: Any = None
    options: Any = None
    device: Any = None


class MetricRegistry(Registry):
    """:class:`Registry` of metric specs that imports :mod:`kd_gan_bench.benchmarks.metrics.specs` on first use."""

    _loaded = False

    def _load(self) -> None:
        if not MetricRegistry._loaded:
            MetricRegistry._loaded = True
            from kd_gan_bench.benchmarks.metrics import specs

            for module in pkgutil.iter_modules(specs.__path__):
                importlib.import_module(f"{specs.__name__}.{module.name}")

    def get(self, name: str) -> Metric:
        self._load()
        return super().get(name)

    def names(self, pattern: str = "*") -> list[str]:
        self._load()
        return super().names(pattern)

    def __contains__(self, name: object) -> bool:
        self._load()
        return super().__contains__(name)

    def snapshot(self) -> dict[str, tuple[Any, Any]]:
        self._load()
        return super().snapshot()

    def in_order(self) -> list[Metric]:
        """Every spec in registration order (the order the report shows columns of one kind in)."""
        self._load()
        return list(self._entries.values())


METRICS: MetricRegistry = MetricRegistry("metric")


def metric(name: str, *, label: str, higher_is_better: bool, **spec: Any) -> Callable[[Callable], Callable]:
    """Decorator: register the function as the ``compute`` of metric ``name`` (see the module docstring)."""

    def decorator(fn: Callable) -> Callable:
        METRICS.add(name, Metric(name, label, higher_is_better, compute=fn, **spec))
        return fn

    return decorator


def describe_metric(name: str, *, label: str, higher_is_better: bool, **spec: Any) -> Metric:
    """Register a metric its family's job body records itself (no ``compute``)."""
    entry = Metric(name, label, higher_is_better, **spec)
    METRICS.add(name, entry)
    return entry


def applicable(config: Any, quality_metrics: Sequence[str], available: Mapping[str, Any]) -> Iterator[Metric]:
    """The computed metrics a job records: of its family, for one of its task's quality metrics (the headline and
    those it records beside it) where they are tied to one, and whose inputs the evaluation has (``available``:
    input name -> value or None)."""
    for spec in METRICS.in_order():
        if spec.compute is None or (spec.families and config.family not in spec.families):
            continue
        if spec.task_metric and spec.task_metric not in quality_metrics:
            continue
        if all(available.get(name) is not None for name in spec.inputs):
            yield spec


def compute_metrics(config: Any, quality_metrics: Sequence[str], inputs: MetricInputs,
                    timings: dict[str, float] | None = None) -> dict[str, Any]:
    """Every applicable metric's columns (:func:`applicable`), one spec after the other; the per-subset values
    each writes in ``test_resamples`` (:mod:`kd_gan_bench.benchmarks.metrics.resampling`) are merged into one record, and their
    ``eval_protocol`` texts joined, the headline's (``quality_metrics[0]``) first. With ``timings`` (a job's), each
    metric's time goes in it as ``metric_<name>_s`` and ``metric_<name>_cpu_s`` (:func:`timed`;
    ``benchmarks/perf/job_fixed_cost.py`` shows where a job's evaluation goes)."""
    out: dict[str, Any] = {}
    protocols: list[str] = []
    timings = {} if timings is None else timings
    for spec in applicable(config, quality_metrics, vars(inputs)):
        with timed(timings, f"metric_{spec.name}"):
            columns = dict(spec.compute(inputs))
        if "eval_protocol" in columns:
            position = 0 if spec.task_metric == quality_metrics[0] else len(protocols)
            protocols.insert(position, columns.pop("eval_protocol"))
        if "test_resamples" in columns and "test_resamples" in out:
            columns["test_resamples"] = {**out["test_resamples"], **columns["test_resamples"]}
        out.update(columns)
    return {**out, "eval_protocol": "; ".join(protocols)} if protocols else out

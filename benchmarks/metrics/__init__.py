"""Metric definitions: what each recorded number means and which direction is better.

Modelled on lm-evaluation-harness's ``higher_is_better``: the report uses it for arrows,
sorting and Pareto fronts. Computation lives in the submodules (``fid``, ``complexity``,
``latency``); this module only describes, so the report can import it cheaply.
"""
from __future__ import annotations

from dataclasses import dataclass

from methods.registry import Registry


@dataclass(frozen=True)
class Metric:
    """One recorded quantity: record/DataFrame column ``name``, display label and direction."""

    name: str
    label: str
    higher_is_better: bool
    unit: str = ""
    fmt: str = "{:.2f}"
    description: str = ""

    @property
    def arrow(self) -> str:
        return "\u2191" if self.higher_is_better else "\u2193"


METRICS: Registry[Metric] = Registry("metric")

for _m in (
    Metric("fid", "FID", False, description="Frechet distance of translated test images to real target-domain images, with the record's extractor"),
    Metric("kid", "KID x1e3", False, fmt="{:.2f}", description="Kernel Inception distance (x1000), same features as FID"),
    Metric("miou", "mIoU", True, unit="%", description="mean IoU of a segmenter on generated photos (Cityscapes protocol)"),
    Metric("accuracy", "Top-1", True, unit="%", description="top-1 classification accuracy"),
    Metric("mae", "MAE", False, description="mean absolute error in label units"),
    Metric("params", "Params (M)", False, unit="M", fmt="{:.3f}", description="trainable + buffer-free parameters of the generator, millions"),
    Metric("macs", "MACs (G)", False, unit="G", fmt="{:.3f}", description="multiply-accumulates of one forward at the task resolution, literature convention (torchprofile)"),
    Metric("latency_ms", "Latency (ms)", False, unit="ms", fmt="{:.2f}", description="median batch-1 forward time after warm-up"),
    Metric("macs_ratio", "MACs ratio", True, fmt="{:.1f}x", description="teacher MACs / student MACs"),
    Metric("params_ratio", "Params ratio", True, fmt="{:.1f}x", description="teacher params / student params"),
):
    METRICS.add(_m.name, _m)

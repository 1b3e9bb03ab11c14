"""The tasks' headline quality metrics: FID/KID or mIoU for image-to-image tasks, as the papers compute them
(:mod:`benchmarks.protocols`), and the classification/regression ones their job body records."""
from __future__ import annotations

from typing import Any

from benchmarks.metrics import MetricInputs, describe_metric, metric


@metric("fid", label="FID", higher_is_better=False, families=("i2i",), task_metric="fid", also=("kid", "kid_std"),
        inputs=("config", "data", "fake", "options", "device"),
        description="Frechet distance of translated test images to real target-domain images, with the record's "
                    "extractor (benchmarks.metrics.fid)")
def fid(inputs: MetricInputs) -> dict[str, Any]:
    from benchmarks.protocols import fid_metrics

    return fid_metrics(inputs.config, inputs.data, inputs.fake, inputs.options, inputs.device)


describe_metric("kid", label="KID x1e3", higher_is_better=False, families=("i2i",),
                description="Kernel Inception distance (x1000), same features as FID (written with FID)")


@metric("miou", label="mIoU", higher_is_better=True, unit="%", families=("i2i",), task_metric="miou",
        inputs=("data", "fake", "options", "device"),
        description="mean IoU of a segmenter on generated photos (Cityscapes protocol)")
def miou(inputs: MetricInputs) -> dict[str, Any]:
    from benchmarks.protocols import miou_metrics

    return miou_metrics(inputs.data, inputs.fake, inputs.options, inputs.device)


describe_metric("accuracy", label="Top-1", higher_is_better=True, unit="%", families=("classification",),
                description="top-1 classification accuracy")
describe_metric("mae", label="MAE", higher_is_better=False, families=("regression",),
                description="mean absolute error in label units")

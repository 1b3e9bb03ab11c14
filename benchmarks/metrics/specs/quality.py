"""The tasks' quality metrics: FID/KID, mIoU, colour-class or shape mIoU for image-to-image tasks, as the papers compute them
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


@metric("colour_miou", label="Colour mIoU", higher_is_better=True, unit="%", families=("i2i",),
        task_metric="colour_miou", inputs=("data", "fake"), also=("colour_accuracy",),
        description="mIoU of the generated pixels' colour classes against the ground truth, for tasks whose targets "
                    "paint each class in its colour (benchmarks.metrics.colour_miou)")
def colour_miou(inputs: MetricInputs) -> dict[str, Any]:
    from benchmarks.metrics.colour_miou import colour_class_metrics

    return colour_class_metrics(inputs.fake, *_colour_labels(inputs.data, "colour_miou"))


def _colour_labels(data: Any, metric_name: str) -> tuple[Any, Any]:
    """The test labels and class colours of a task scored by ``metric_name``; a clear error where it has none."""
    if data.test_labels is None or data.class_colours is None:
        raise ValueError(f"task {data.name!r} is scored by {metric_name} but its data has no test labels and class "
                         f"colours")
    return data.test_labels, data.class_colours


@metric("shape_miou", label="Shape mIoU", higher_is_better=True, unit="%", families=("i2i",),
        task_metric="shape_miou", inputs=("data", "fake"),
        description="2-class mIoU of the filled shapes (background vs shape, any colour class) against the ground "
                    "truth, from the same pixel classes as colour mIoU (benchmarks.metrics.colour_miou)")
def shape_miou(inputs: MetricInputs) -> dict[str, Any]:
    from benchmarks.metrics.colour_miou import shape_metrics

    return shape_metrics(inputs.fake, *_colour_labels(inputs.data, "shape_miou"))


describe_metric("colour_accuracy", label="Colour pixel acc.", higher_is_better=True, unit="%", families=("i2i",),
                description="fraction of generated pixels whose colour class is the ground truth's (written with "
                            "colour mIoU)")
describe_metric("accuracy", label="Top-1", higher_is_better=True, unit="%", families=("classification",),
                description="top-1 classification accuracy")
describe_metric("mae", label="MAE", higher_is_better=False, families=("regression",),
                description="mean absolute error in label units")

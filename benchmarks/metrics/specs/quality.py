"""The tasks' quality metrics: FID/KID, mIoU, colour-class or shape mIoU for image-to-image tasks, as the papers
compute them (:mod:`kd_gan_bench.benchmarks.metrics.protocols`), and top-1 accuracy or MAE for classification/regression (cGAN-KD's, Ding et al.,
arXiv 2104.03164: the mean over the whole test split)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.benchmarks.metrics import MetricInputs, describe_metric, metric


@metric("fid", label="FID", higher_is_better=False, families=("i2i",), task_metric="fid", also=("kid", "kid_std"),
        inputs=("config", "data", "fake", "options", "device"), reported_as=("FID",),
        protocol=("fid_n_fake", "fid_n_real", "fid_extractor", "fid_protocol", "fid_weights_origin",
                  "fid_weights_sha256", "kid_subset_size", "kid_subsets"),
        description="Frechet distance of translated test images to real target-domain images, with the record's "
                    "extractor (kd_gan_bench.benchmarks.metrics.fid)")
def fid(inputs: MetricInputs) -> dict[str, Any]:
    from kd_gan_bench.benchmarks.metrics.protocols import fid_metrics

    return fid_metrics(inputs.config, inputs.data, inputs.fake, inputs.options, inputs.device)


describe_metric("kid", label="KID x1e3", higher_is_better=False, families=("i2i",),
                description="Kernel Inception distance (x1000), same features as FID (written with FID)")


@metric("miou", label="mIoU", higher_is_better=True, unit="%", families=("i2i",), task_metric="miou",
        inputs=("data", "fake", "options", "device"), reported_as=("mIoU",), protocol=("miou_n",),
        description="mean IoU of a segmenter on generated photos (Cityscapes protocol)")
def miou(inputs: MetricInputs) -> dict[str, Any]:
    from kd_gan_bench.benchmarks.metrics.protocols import miou_metrics

    return miou_metrics(inputs.data, inputs.fake, inputs.options, inputs.device)


@metric("colour_miou", label="Colour mIoU", higher_is_better=True, unit="%", families=("i2i",),
        task_metric="colour_miou", inputs=("data", "fake"), also=("colour_accuracy",),
        description="mIoU of the generated pixels' colour classes against the ground truth, for tasks whose targets "
                    "paint each class in its colour (kd_gan_bench.benchmarks.metrics.colour_miou)")
def colour_miou(inputs: MetricInputs) -> dict[str, Any]:
    from kd_gan_bench.benchmarks.metrics.colour_miou import colour_class_metrics

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
                    "truth, from the same pixel classes as colour mIoU (kd_gan_bench.benchmarks.metrics.colour_miou)")
def shape_miou(inputs: MetricInputs) -> dict[str, Any]:
    from kd_gan_bench.benchmarks.metrics.colour_miou import shape_metrics

    return shape_metrics(inputs.fake, *_colour_labels(inputs.data, "shape_miou"))


describe_metric("colour_accuracy", label="Colour pixel acc.", higher_is_better=True, unit="%", families=("i2i",),
                description="fraction of generated pixels whose colour class is the ground truth's (written with "
                            "colour mIoU)")


def _test_mean(name: str, terms: Any, what: str, dataset: str) -> dict[str, Any]:
    """A per-test-image metric's record: its mean over the test split, its means on the fixed half-size test subsets
    (:mod:`kd_gan_bench.benchmarks.metrics.resampling`) and its protocol."""
    from kd_gan_bench.benchmarks.metrics import resampling

    return {name: terms.mean().item(),
            "test_resamples": resampling.record({name: resampling.subset_means(terms.cpu().numpy())}, len(terms)),
            "eval_protocol": f"{what} on the {len(terms)} test images of {dataset}"}


@metric("accuracy", label="Top-1", higher_is_better=True, unit="%", families=("classification",),
        task_metric="accuracy", inputs=("data", "fake", "real"), reported_as=("top1",), best=100.0,
        description="top-1 classification accuracy")
def accuracy(inputs: MetricInputs) -> dict[str, Any]:
    terms = 100.0 * (inputs.fake.argmax(1) == inputs.real).double()
    return _test_mean("accuracy", terms, "top-1 accuracy", inputs.data.name)


@metric("mae", label="MAE", higher_is_better=False, families=("regression",), task_metric="mae",
        inputs=("data", "fake", "real"), reported_as=("MAE",), description="mean absolute error in label units")
def mae(inputs: MetricInputs) -> dict[str, Any]:
    terms = (inputs.data.denormalise(inputs.fake[:, 0]) - inputs.real).abs().double()
    what = f"mean absolute error in label units ({inputs.data.label_unit or 'label units'})"
    return _test_mean("mae", terms, what, inputs.data.name)

"""Colour-class and shape mIoU (kd_gan_bench.benchmarks.metrics.colour_miou): synthetic_edges2shapes' headline (shape mIoU) and
the colour classes beside it, scored exactly against the ground truth its generator knows."""
from __future__ import annotations

import pytest
import torch

from kd_gan_bench.benchmarks.metrics import METRICS, MetricInputs, compute_metrics
from kd_gan_bench.benchmarks.metrics.colour_miou import colour_class_metrics, shape_metrics
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.datasets.base import load_task
from kd_gan_bench.datasets.colour_classes import nearest_colour_class
from kd_gan_bench.datasets.synthetic import COLOURS


@pytest.mark.parametrize("colours", COLOURS)
def test_the_targets_score_100_and_blank_images_do_not(colours):
    data = load_task("synthetic_edges2shapes", size=32, n_train=2, n_test=16, colours=colours)
    exact = colour_class_metrics(data.test_b, data.test_labels, data.class_colours)
    assert exact["colour_miou"] == 100.0 and exact["colour_accuracy"] == 100.0
    assert exact["test_resamples"]["n"] == 16 and set(exact["test_resamples"]["colour_miou"]) == {100.0}
    for blank in (torch.full_like(data.test_b, 255), data.test_a):  # all background; the outlines themselves
        scored = colour_class_metrics(blank, data.test_labels, data.class_colours)
        assert scored["colour_miou"] < 25 and scored["colour_accuracy"] < 100


def test_by_shape_labels_are_the_shapes_kinds_and_shading_keeps_the_class():
    data = load_task("synthetic_edges2shapes", size=32, n_train=2, n_test=64, colours="by_shape")
    inside = data.test_labels > 0
    per_image = [set(l[m].tolist()) for l, m in zip(data.test_labels, inside)]
    assert all(len(s) == 1 for s in per_image) and set().union(*per_image) == {1, 2, 3, 4}  # one kind per shape
    # the shapes' colours half as bright: the same classes (the background is unshaded: white)
    darker = torch.where(inside[:, None], (data.test_b.float() * 0.5).round().to(torch.uint8), data.test_b)
    assert torch.equal(nearest_colour_class(darker, data.class_colours), data.test_labels.long())


def test_a_wrong_kind_costs_its_pixels():
    data = load_task("synthetic_edges2shapes", size=32, n_train=2, n_test=8, colours="by_shape")
    wrong = data.test_b.clone()
    first = data.test_labels[0] > 0
    wrong[0][:, first] = (data.class_colours[1 + int(data.test_labels[0][first][0]) % 4] * 255).round().to(torch.uint8)[:, None]
    scored = colour_class_metrics(wrong, data.test_labels, data.class_colours)
    assert scored["colour_miou"] < 100
    assert scored["colour_accuracy"] == pytest.approx(100 * (1 - first.sum().item() / data.test_labels.numel()))


def test_the_task_declares_shape_miou_its_headline_and_records_colour_miou_and_fid_beside_it():
    info = TASKS.info("synthetic_edges2shapes")
    assert (info.quality_metric, info.also_quality) == ("shape_miou", ("colour_miou", "fid"))
    for name in ("shape_miou", "colour_miou"):
        assert METRICS.get(name).higher_is_better and METRICS.get(name).kind == "quality"


def test_shape_miou_scores_the_filled_extent_whatever_its_colour_class():
    data = load_task("synthetic_edges2shapes", size=32, n_train=2, n_test=8, colours="by_shape")
    inside = data.test_labels > 0
    # every shape painted in the next kind's colour: every colour class wrong, every shape's extent right
    recoloured = data.test_b.clone()
    for i in range(len(recoloured)):
        kind = int(data.test_labels[i][inside[i]][0])
        recoloured[i][:, inside[i]] = (data.class_colours[1 + kind % 4] * 255).round().to(torch.uint8)[:, None]
    assert shape_metrics(recoloured, data.test_labels, data.class_colours)["shape_miou"] == 100.0
    assert colour_class_metrics(recoloured, data.test_labels, data.class_colours)["colour_miou"] < 25
    # half of each shape left white: background IoU and shape IoU from the pixel counts
    eroded = data.test_b.clone()
    lost = inside & (torch.arange(32).view(1, 1, 32) % 2 == 0)
    eroded.permute(0, 2, 3, 1)[lost] = 255
    scored = shape_metrics(eroded, data.test_labels, data.class_colours)
    fg, lost_n, bg = inside.sum().item(), lost.sum().item(), (~inside).sum().item()
    expected = ((fg - lost_n) / fg + bg / (bg + lost_n)) / 2 * 100
    assert scored["shape_miou"] == pytest.approx(expected)
    assert scored["test_resamples"]["n"] == 8 and len(scored["test_resamples"]["shape_miou"]) > 1
    blank = shape_metrics(torch.full_like(data.test_b, 255), data.test_labels, data.class_colours)
    assert blank["shape_miou"] < 50


def test_compute_metrics_merges_each_metrics_resamples_and_puts_the_headline_protocol_first():
    data = load_task("synthetic_edges2shapes", size=32, n_train=2, n_test=4, colours="by_shape")
    config = type("C", (), {"family": "i2i"})()
    out = compute_metrics(config, ("colour_miou",), MetricInputs(config=config, data=data, fake=data.test_b))
    assert out["colour_miou"] == 100.0 and "fid" not in out and out["eval_protocol"].startswith("colour-class mIoU")
    no_labels = type(data)(**{**vars(data), "test_labels": None})
    with pytest.raises(ValueError, match="no test labels"):
        compute_metrics(config, ("colour_miou",), MetricInputs(config=config, data=no_labels, fake=data.test_b))

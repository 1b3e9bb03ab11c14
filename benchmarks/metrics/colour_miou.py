"""Colour-class and shape mIoU: a translation scored exactly against its ground truth, for tasks whose targets paint
each class in its own colour (``synthetic_edges2shapes``: white background, one colour per shape kind under
``colours="by_shape"``).

Each generated pixel is given the class whose colour ray it is nearest (:func:`kd_gan_bench.datasets.colour_classes.
nearest_colour_class`: shading moves a colour along its ray, so the targets themselves score 100%); a confusion
matrix per test image against ``test_labels`` (rows: label, columns: prediction; the confusion and IoU code is
the Cityscapes protocol's, :mod:`kd_gan_bench.benchmarks.metrics.segmentation`), summed over the split, gives IoU per class =
TP / (TP + FP + FN) and mIoU = their mean over the classes present in labels or predictions, in percent, as
DRN mIoU is for Cityscapes. Pixel accuracy (the fraction of pixels of the right class, in percent) is written
beside it. Shape mIoU collapses the shape classes into one: the 2-class mIoU of the filled shapes (background vs
shape), which scores the extent a translation fills whatever colour it paints it. Per-subset mIoUs
(:mod:`kd_gan_bench.benchmarks.metrics.resampling`) give the report its test-set intervals and paired tests.
"""
from __future__ import annotations

from typing import Any

import torch

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.benchmarks.metrics.segmentation import confusion_matrix, miou_of_images
from kd_gan_bench.datasets.colour_classes import nearest_colour_class


def _confusions(fake: torch.Tensor, labels: torch.Tensor, class_colours: torch.Tensor) -> torch.Tensor:
    """Each image's confusion matrix (N x C x C) of its generated pixels' colour classes against ``labels``."""
    if fake.shape[0] != labels.shape[0] or fake.shape[-2:] != labels.shape[-2:]:
        raise ValueError(f"images {tuple(fake.shape)} and labels {tuple(labels.shape)} differ in number or size")
    pred = nearest_colour_class(fake, class_colours)
    return torch.stack([confusion_matrix(p, t, len(class_colours)) for p, t in zip(pred, labels)])


def _scored(name: str, hists: torch.Tensor, protocol: str) -> dict[str, Any]:
    """``name`` (mIoU in percent), its per-class IoUs, N, the protocol and, from 2 images on, its per-subset values."""
    n = len(hists)
    subsets = resampling.subset_indices(n) if n >= 2 else None
    miou, per_class, subset_mious = miou_of_images(hists, subsets)
    out: dict[str, Any] = {name: miou, f"{name}_per_class": per_class, f"{name}_n": n, "eval_protocol": protocol}
    if subset_mious is not None:
        out["test_resamples"] = resampling.record({name: subset_mious}, n)
    return out


def colour_class_metrics(fake: torch.Tensor, labels: torch.Tensor, class_colours: torch.Tensor) -> dict[str, Any]:
    """``colour_miou`` (with its per-class IoUs and ``test_resamples``) and ``colour_accuracy`` of uint8
    N x 3 x H x W ``fake`` against uint8 N x H x W ``labels`` whose classes are painted in ``class_colours``."""
    hists = _confusions(fake, labels, class_colours)
    n, (h, w) = len(class_colours), labels.shape[-2:]
    out = _scored("colour_miou", hists, f"colour-class mIoU against the ground truth: {len(fake)} translated test "
                                        f"inputs, {n} classes (background + {n - 1} colours) at {w}x{h}, each pixel "
                                        f"to its nearest class colour ray")
    total = hists.sum(0).double()
    out["colour_accuracy"] = float(total.diag().sum() / total.sum() * 100)
    return out


def shape_metrics(fake: torch.Tensor, labels: torch.Tensor, class_colours: torch.Tensor) -> dict[str, Any]:
    """``shape_miou``: the 2-class mIoU of the filled shapes (background, class 0, against every other class taken
    as one: "shape"), from the same pixel classes as :func:`colour_class_metrics`. It scores whether each shape's
    extent is filled, whatever colour class it is painted in (with its per-class IoUs and ``test_resamples``)."""
    hists = _confusions(fake, labels, class_colours)
    collapsed = torch.stack([torch.stack([h[0, 0], h[0, 1:].sum(), h[1:, 0].sum(), h[1:, 1:].sum()]).view(2, 2)
                             for h in hists])
    h, w = labels.shape[-2:]
    return _scored("shape_miou", collapsed, f"shape mIoU against the ground truth: {len(fake)} translated test "
                                           f"inputs, background vs shape (any of {len(class_colours) - 1} colour "
                                           f"classes) at {w}x{h}, each pixel to its nearest class colour ray")

"""Colour-class mIoU: a translation scored exactly against its ground truth, for tasks whose targets paint each
class in its own colour (``synthetic_edges2shapes``: white background, one colour per shape kind under
``colours="by_shape"``).

Each generated pixel is given the class whose colour ray it is nearest (:func:`datasets.colour_classes.
nearest_colour_class`: shading moves a colour along its ray, so the targets themselves score 100%); a confusion
matrix per test image against ``test_labels`` (rows: label, columns: prediction; the confusion and IoU code is
the Cityscapes protocol's, :mod:`benchmarks.metrics.segmentation`), summed over the split, gives IoU per class =
TP / (TP + FP + FN) and mIoU = their mean over the classes present in labels or predictions, in percent, as
DRN mIoU is for Cityscapes. Pixel accuracy (the fraction of pixels of the right class, in percent) is written
beside it. Per-subset mIoUs (:mod:`benchmarks.resampling`) give the report its test-set intervals and paired tests.
"""
from __future__ import annotations

from typing import Any

import torch

from benchmarks import resampling
from benchmarks.metrics.segmentation import confusion_matrix, miou_of_images
from datasets.colour_classes import nearest_colour_class


def colour_class_metrics(fake: torch.Tensor, labels: torch.Tensor, class_colours: torch.Tensor) -> dict[str, Any]:
    """``colour_miou`` (with its per-class IoUs and ``test_resamples``) and ``colour_accuracy`` of uint8
    N x 3 x H x W ``fake`` against uint8 N x H x W ``labels`` whose classes are painted in ``class_colours``."""
    if fake.shape[0] != labels.shape[0] or fake.shape[-2:] != labels.shape[-2:]:
        raise ValueError(f"images {tuple(fake.shape)} and labels {tuple(labels.shape)} differ in number or size")
    n = len(class_colours)
    pred = nearest_colour_class(fake, class_colours)
    hists = torch.stack([confusion_matrix(p, t, n) for p, t in zip(pred, labels)])
    subsets = resampling.subset_indices(len(fake)) if len(fake) >= 2 else None
    miou, per_class, subset_mious = miou_of_images(hists, subsets)
    total = hists.sum(0).double()
    out = {"colour_miou": miou, "colour_miou_per_class": per_class,
           "colour_accuracy": float(total.diag().sum() / total.sum() * 100), "colour_miou_n": len(fake)}
    if subset_mious is not None:
        out["test_resamples"] = resampling.record({"colour_miou": subset_mious}, len(fake))
    h, w = labels.shape[-2:]
    out["eval_protocol"] = (f"colour-class mIoU against the ground truth: {len(fake)} translated test inputs, "
                            f"{n} classes (background + {n - 1} colours) at {w}x{h}, each pixel to its nearest "
                            f"class colour ray")
    return out

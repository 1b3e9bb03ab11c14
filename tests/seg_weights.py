"""Test helper (not product code): a stand-in for the DRN-D-105 Cityscapes weights file.

No weights can be downloaded here, but the real loading and scoring path must run. This writes a
file of exactly the format ``benchmarks.metrics.segmentation.load_segmenter`` reads (the state_dict
of fyu/drn's ``DRNSeg('drn_d_105', 19)``, keys ``base.*``, ``seg.*``, ``up.*``): seeded He-normal
conv weights, BatchNorm running_mean 0 / running_var 1 / weight 1 / bias 0, the fixed bilinear
``up`` kernel. The predictions are of course meaningless.
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from benchmarks.metrics.segmentation import DRNSeg


def make_drn_test_weights(path: str | os.PathLike, seed: int = 0, prefix: str = "") -> Path:
    """Write seeded DRN-D-105 weights to ``path`` (keys optionally prefixed, e.g. ``module.``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = DRNSeg()
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * math.prod(m.kernel_size)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_out))
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, path)
    return path

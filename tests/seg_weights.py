"""Test helper (not product code): a stand-in for the DRN-D-105 Cityscapes weights file.

No weights can be downloaded here, but the real loading and scoring path must run. This writes a
file of exactly the format ``kd_gan_bench.benchmarks.metrics.segmentation.load_segmenter`` reads (the state_dict
of fyu/drn's ``DRNSeg('drn_d_105', 19)``, keys ``base.*``, ``seg.*``, ``up.*``): seeded He-normal
conv weights, BatchNorm running_mean 0 / running_var 1 / weight 1 / bias 0, the fixed bilinear
``up`` kernel. The predictions are of course meaningless.
"""
from __future__ import annotations

import os
from pathlib import Path

import torch

from kd_gan_bench.benchmarks.metrics.segmentation import DRNSeg

try:
    from tests.fid_weights import released_format_init
except ImportError:  # tests/ itself on sys.path
    from fid_weights import released_format_init


def make_drn_test_weights(path: str | os.PathLike, seed: int = 0, prefix: str = "") -> Path:
    """Write seeded DRN-D-105 weights to ``path`` (keys optionally prefixed, e.g. ``module.``)."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = DRNSeg()
    gen = torch.Generator().manual_seed(seed)
    released_format_init(model, gen, fan="out")
    torch.save({prefix + k: v for k, v in model.state_dict().items()}, path)
    return path

"""Test helper (not product code): a stand-in for torch-fidelity's InceptionV3 weights file.

No weights can be downloaded here, but the real loading path must be exercised. This writes a file
of exactly the format ``inception-v3-compat`` loads (``torch.load`` -> ``load_state_dict(strict=True)``
on ``FeatureExtractorInceptionV3``): the state_dict of that very module, with seeded He-normal conv
weights, BatchNorm running_mean 0 / running_var 1 / weight 1 / bias 0, and a small random fc. Passed
as ``feature_extractor_weights_path`` it runs torch-fidelity's full InceptionV3 code path offline.
The features are of course meaningless (no ImageNet training).
"""
from __future__ import annotations

import math
import os
from pathlib import Path

import torch
from torch import nn

from kd_gan_bench.methods.weights.inception_wheel import inception_skeleton


def released_format_init(model: nn.Module, gen: torch.Generator, fan: str = "in") -> None:
    """Seeded weights shaped like a released checkpoint: He-normal convs (by fan-in, or fan-out as
    fyu/drn initialises), BatchNorm weight 1 / bias 0 / running_mean 0 / running_var 1, Linear
    scaled by 1/sqrt(fan-in), biases 0."""
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.Conv2d):
                fans = m.in_channels // m.groups if fan == "in" else m.out_channels
                std = math.sqrt(2.0 / (fans * math.prod(m.kernel_size)))
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * std)
                if m.bias is not None:
                    m.bias.zero_()
            elif isinstance(m, nn.BatchNorm2d):
                m.weight.fill_(1.0)
                m.bias.zero_()
                m.running_mean.zero_()
                m.running_var.fill_(1.0)
            elif isinstance(m, nn.Linear):
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(1.0 / m.in_features))
                m.bias.zero_()


def make_inception_test_weights(path: str | os.PathLike, seed: int = 0) -> Path:
    """Write a seeded random InceptionV3 weights file in torch-fidelity's format to ``path``."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = inception_skeleton()
    gen = torch.Generator(device="cpu").manual_seed(seed)
    released_format_init(model, gen, fan="in")
    state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    torch.save(state, path)
    return path

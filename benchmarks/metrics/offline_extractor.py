"""A deterministic offline feature extractor for FID/KID when InceptionV3 weights cannot be had.

THIS IS NOT INCEPTION FID. FID (Heusel et al., 2017) and KID (Binkowski et al., 2018) are defined
on the pool3 features of an ImageNet-trained InceptionV3 (the TF "2015-12-05" graph, as ported by
pytorch-fid / torch-fidelity). On a machine without those weights (no network, nothing in the
torch.hub cache) we still want a distribution distance that (a) runs anywhere, (b) is bit-for-bit
the same network on every machine, and (c) moves the right way when images get worse. This module
provides that: a small convolutional network with FIXED RANDOM weights. Random conv features still
respond to colour, texture and local structure, so the distance grows as images are corrupted (the
tests check this), but they carry none of ImageNet's semantics: numbers computed with it are only
comparable with other runs that use the same extractor (``offline-randconv-v1``), NEVER with
published (Inception) FID/KID.

Architecture (name ``offline-randconv-v1``; change the name if anything below changes):
    uint8 N x 3 x H x W -> float32 -> bilinear resize to 64 x 64 (antialias) -> scale to [-1, 1]
    -> 4 x [conv3x3 stride 2 pad 1, no bias, ReLU] with widths 64, 128, 256, 512 (64 -> 4 px)
    -> global average pool -> 512-d float32 features (feature name ``"512"``).
Weights: He-normal (std = sqrt(2 / fan_in)), drawn in layer order from a CPU ``torch.Generator``
seeded with ``SEED``, so they do not depend on the device, the global RNG state or the caller.

It implements torch-fidelity's v0.4 ``FeatureExtractorBase`` interface and is registered with
``torch_fidelity.register_feature_extractor`` by :func:`register_offline_extractor`.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_base import FeatureExtractorBase
from torch_fidelity.helpers import vassert

from kd_gan_bench.benchmarks.metrics.extractor import OFFLINE

NAME = OFFLINE  # the name the extractor resolution gives it (torch-free)
FEATURE = "512"
SEED = 20240613
INPUT_SIZE = 64
WIDTHS = (64, 128, 256, 512)

__all__ = ["NAME", "FEATURE", "OfflineRandConvExtractor", "register_offline_extractor"]


class OfflineRandConvExtractor(FeatureExtractorBase):
    """Fixed random conv net features (NOT Inception): see the module docstring."""

    def __init__(self, name: str = NAME, features_list: Sequence[str] = (FEATURE,), **kwargs: Any) -> None:
        # torch-fidelity passes every calculate_metrics kwarg (weights path, dtype, verbose...) to the
        # constructor; this extractor has no weights file, so they are accepted and ignored.
        super().__init__(name, list(features_list))
        generator = torch.Generator(device="cpu").manual_seed(SEED)
        layers: list[nn.Module] = []
        in_ch = 3
        for width in WIDTHS:
            conv = nn.Conv2d(in_ch, width, kernel_size=3, stride=2, padding=1, bias=False)
            fan_in = in_ch * 9
            with torch.no_grad():
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator, dtype=torch.float32)
                                  * math.sqrt(2.0 / fan_in))
            layers += [conv, nn.ReLU()]
            in_ch = width
        self.body = nn.Sequential(*layers)
        self.requires_grad_(False)
        self.eval()

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor, ...]:
        vassert(torch.is_tensor(x) and x.dtype == torch.uint8, "Expecting image as torch.Tensor with dtype=torch.uint8")
        vassert(x.dim() == 4 and x.shape[1] == 3, f"Input is not Bx3xHxW: {tuple(x.shape)}")
        x = x.to(torch.float32)
        if tuple(x.shape[-2:]) != (INPUT_SIZE, INPUT_SIZE):
            x = F.interpolate(x, size=(INPUT_SIZE, INPUT_SIZE), mode="bilinear", align_corners=False, antialias=True)
        x = x / 127.5 - 1.0
        feats = self.body(x).mean(dim=(2, 3)).to(torch.float32)
        return tuple(feats for _ in self.features_list)

    @staticmethod
    def get_provided_features_list() -> tuple[str, ...]:
        return (FEATURE,)

    @staticmethod
    def get_default_feature_layer_for_metric(metric: str) -> str:
        vassert(metric in ("fid", "kid", "prc"),
                f"{NAME} provides no class logits, so metric {metric!r} (e.g. Inception Score) is not supported")
        return FEATURE

    @staticmethod
    def can_be_compiled() -> bool:
        return False  # tiny network; compilation would only add start-up time and numerical drift

    @staticmethod
    def get_dummy_input_for_compile() -> torch.Tensor:
        return torch.zeros(1, 3, INPUT_SIZE, INPUT_SIZE, dtype=torch.uint8)


def register_offline_extractor() -> str:
    """Register the extractor with torch-fidelity under ``NAME`` (idempotent); returns the name."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    existing = FEATURE_EXTRACTORS_REGISTRY.get(NAME)
    if existing is None:
        register_feature_extractor(NAME, OfflineRandConvExtractor)
    elif getattr(existing, "__qualname__", None) != OfflineRandConvExtractor.__qualname__:
        raise ValueError(f"torch-fidelity feature extractor {NAME!r} is already registered as {existing!r}")
    return NAME

"""Classifiers and regressors for 32x32 (CIFAR-style) inputs, the architectures cGAN-KD distils between.

The architectures follow RepDistiller (HobbitLong/RepDistiller, the code base of CRD, Tian et al.
ICLR 2020), which cGAN-KD (Ding et al., arXiv 2104.03164) uses for its CIFAR-100 experiments:

* ``cifar_resnet`` (He et al., CVPR 2016, CIFAR variant): depth 6n+2, basic blocks, a 1x1 conv +
  BN shortcut where the shape changes (RepDistiller's; the paper's CIFAR nets pad with zeros,
  which saves about 3k parameters). Presets ``resnet20/56/110`` (widths 16-16-32-64) and
  ``resnet8x4/32x4`` (32-64-128-256).
* ``wrn`` (Zagoruyko & Komodakis, BMVC 2016): depth 6n+4, pre-activation blocks, widths
  16, 16k, 32k, 64k. Presets ``wrn_16_2``, ``wrn_40_1``, ``wrn_40_2``.
* ``cifar_vgg`` (Simonyan & Zisserman 2015 with BN, RepDistiller's CIFAR layout): five conv
  blocks, max-pooling after the first four, global average pooling, one linear layer.
  Presets ``vgg8`` (one conv per block), ``vgg11`` (VGG's configuration A: 1, 1, 2, 2, 2) and ``vgg13`` (two).
  cGAN-KD's UTKFace filtering network is a VGG-11 (its ``UTKFace/models/vgg.py``); that one ends in a
  three-layer MLP head with a ReLU output, ours in the architecture's pooled linear head.
* ``cifar_densenet`` (Huang et al., CVPR 2017, the CIFAR variant of kuangliu/pytorch-cifar that cGAN-KD's
  ``make_fake_datasets/models/densenet.py`` uses): a 3x3 stem of 2k channels, four dense blocks of
  bottleneck layers (BN-ReLU-1x1 conv to 4k, BN-ReLU-3x3 conv to k, concatenated), transitions
  BN-ReLU-1x1 conv halving the channels + 2x2 average pooling, a final BN-ReLU. Preset ``densenet121``
  (blocks 6-12-24-16, growth k = 32): cGAN-KD's CIFAR-100 filtering network.
* ``mobilenetv2`` (Sandler et al., CVPR 2018, RepDistiller's CIFAR variant: stride-2 stem, expansion
  ``t``=6): the width multiplier ``width_mult`` defaults to 0.5, which is what the KD literature's
  "MobileNetV2" student is (RepDistiller ``mobile_half``).

Every network maps a float image in [-1, 1] (N x 3 x H x W) to ``num_outputs`` values: one logit per
class, or 1 for regression (the label normalised to [0, 1]). ``embed(x)`` returns the pooled
penultimate features (``feature_dim`` wide): what cDR-RS's density-ratio model reads. Weights are
initialised as in RepDistiller (He-normal convs, unit BN, N(0, 0.01) linear layer).
"""
from __future__ import annotations

from typing import Sequence

import torch
from torch import nn

from kd_gan_bench.benchmarks.core.registry import NETWORKS


class LabelledNet(nn.Module):
    """A feature extractor (``features``) + global average pooling + a linear head (``fc``)."""

    def __init__(self, features: nn.Module, feature_dim: int, num_outputs: int) -> None:
        super().__init__()
        if num_outputs < 1:
            raise ValueError(f"num_outputs must be >= 1, got {num_outputs}")
        self.features = features
        self.pool = nn.AdaptiveAvgPool2d(1)
        self.feature_dim = feature_dim
        self.fc = nn.Linear(feature_dim, num_outputs)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")
            elif isinstance(m, nn.BatchNorm2d):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        nn.init.normal_(self.fc.weight, 0.0, 0.01)
        nn.init.zeros_(self.fc.bias)

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Pooled penultimate features, N x feature_dim."""
        return self.pool(self.features(x)).flatten(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.fc(self.embed(x))


def _conv_bn(c_in: int, c_out: int, kernel: int = 3, stride: int = 1, groups: int = 1) -> list[nn.Module]:
    return [nn.Conv2d(c_in, c_out, kernel, stride, kernel // 2, groups=groups, bias=False), nn.BatchNorm2d(c_out)]


# ------------------------------------------------------------------------------------------ ResNet
class BasicBlock(nn.Module):
    """Two 3x3 conv-BN layers and a shortcut (1x1 conv + BN where the shape changes)."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.body = nn.Sequential(*_conv_bn(c_in, c_out, 3, stride), nn.ReLU(inplace=True), *_conv_bn(c_out, c_out))
        reshape = stride != 1 or c_in != c_out
        self.shortcut = nn.Sequential(*_conv_bn(c_in, c_out, 1, stride)) if reshape else nn.Identity()
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.relu(self.body(x) + self.shortcut(x))


def _widths(widths: Sequence[int], count: int, arch: str) -> list[int]:
    widths = [int(w) for w in widths]
    if len(widths) != count or min(widths) < 1:
        raise ValueError(f"{arch}: widths must be {count} positive integers, got {widths}")
    return widths


@NETWORKS.register("cifar_resnet")
def cifar_resnet(num_outputs: int = 100, depth: int = 20, widths: Sequence[int] = (16, 16, 32, 64)) -> LabelledNet:
    """CIFAR ResNet of depth 6n+2: stem conv at widths[0], three stages of n basic blocks at widths[1:]."""
    if depth < 8 or (depth - 2) % 6:
        raise ValueError(f"cifar_resnet: depth must be 6n+2 with n >= 1 (20, 56, 110...), got {depth}")
    stem, *stages = _widths(widths, 4, "cifar_resnet")
    n = (depth - 2) // 6
    layers: list[nn.Module] = [*_conv_bn(3, stem), nn.ReLU(inplace=True)]
    c_in = stem
    for i, c_out in enumerate(stages):
        for j in range(n):
            layers.append(BasicBlock(c_in, c_out, 2 if i > 0 and j == 0 else 1))
            c_in = c_out
    return LabelledNet(nn.Sequential(*layers), c_in, num_outputs)


@NETWORKS.register("resnet20")
def resnet20(num_outputs: int = 100) -> LabelledNet:
    """CIFAR ResNet-20 (0.27M parameters at 10 classes)."""
    return cifar_resnet(num_outputs, 20, (16, 16, 32, 64))


@NETWORKS.register("resnet56")
def resnet56(num_outputs: int = 100) -> LabelledNet:
    """CIFAR ResNet-56 (0.85M parameters at 10 classes)."""
    return cifar_resnet(num_outputs, 56, (16, 16, 32, 64))


@NETWORKS.register("resnet110")
def resnet110(num_outputs: int = 100) -> LabelledNet:
    """CIFAR ResNet-110 (1.7M parameters at 10 classes)."""
    return cifar_resnet(num_outputs, 110, (16, 16, 32, 64))


@NETWORKS.register("resnet8x4")
def resnet8x4(num_outputs: int = 100) -> LabelledNet:
    """RepDistiller's ResNet-8x4: depth 8 at four times the width."""
    return cifar_resnet(num_outputs, 8, (32, 64, 128, 256))


@NETWORKS.register("resnet32x4")
def resnet32x4(num_outputs: int = 100) -> LabelledNet:
    """RepDistiller's ResNet-32x4 teacher: depth 32 at four times the width."""
    return cifar_resnet(num_outputs, 32, (32, 64, 128, 256))


# --------------------------------------------------------------------------------------------- WRN
class WideBlock(nn.Module):
    """Pre-activation block: BN-ReLU-conv3x3 twice; a 1x1 conv shortcut where the width or stride changes."""

    def __init__(self, c_in: int, c_out: int, stride: int) -> None:
        super().__init__()
        self.pre = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True))
        self.body = nn.Sequential(nn.Conv2d(c_in, c_out, 3, stride, 1, bias=False), nn.BatchNorm2d(c_out),
                                  nn.ReLU(inplace=True), nn.Conv2d(c_out, c_out, 3, 1, 1, bias=False))
        self.shortcut = None if c_in == c_out and stride == 1 else nn.Conv2d(c_in, c_out, 1, stride, 0, bias=False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        pre = self.pre(x)
        return self.body(pre) + (x if self.shortcut is None else self.shortcut(pre))


@NETWORKS.register("wrn")
def wrn(num_outputs: int = 100, depth: int = 40, widen_factor: int = 2) -> LabelledNet:
    """Wide ResNet WRN-depth-k: depth 6n+4, stages at widths 16k, 32k, 64k."""
    if depth < 10 or (depth - 4) % 6 or widen_factor < 1:
        raise ValueError(f"wrn: depth must be 6n+4 with n >= 1 and widen_factor >= 1, got {depth}, {widen_factor}")
    n = (depth - 4) // 6
    layers: list[nn.Module] = [nn.Conv2d(3, 16, 3, 1, 1, bias=False)]
    c_in = 16
    for i, c_out in enumerate((16 * widen_factor, 32 * widen_factor, 64 * widen_factor)):
        for j in range(n):
            layers.append(WideBlock(c_in, c_out, 2 if i > 0 and j == 0 else 1))
            c_in = c_out
    layers += [nn.BatchNorm2d(c_in), nn.ReLU(inplace=True)]
    return LabelledNet(nn.Sequential(*layers), c_in, num_outputs)


@NETWORKS.register("wrn_16_2")
def wrn_16_2(num_outputs: int = 100) -> LabelledNet:
    """WRN-16-2."""
    return wrn(num_outputs, 16, 2)


@NETWORKS.register("wrn_40_1")
def wrn_40_1(num_outputs: int = 100) -> LabelledNet:
    """WRN-40-1."""
    return wrn(num_outputs, 40, 1)


@NETWORKS.register("wrn_40_2")
def wrn_40_2(num_outputs: int = 100) -> LabelledNet:
    """WRN-40-2 (2.2M parameters)."""
    return wrn(num_outputs, 40, 2)


# --------------------------------------------------------------------------------------------- VGG
@NETWORKS.register("cifar_vgg")
def cifar_vgg(num_outputs: int = 100, convs_per_block: Sequence[int] = (1, 1, 1, 1, 1),
              widths: Sequence[int] = (64, 128, 256, 512, 512)) -> LabelledNet:
    """VGG with BN for 32x32: five blocks of 3x3 conv-BN-ReLU, max-pool after the first four."""
    counts = _widths(convs_per_block, 5, "cifar_vgg")
    layers: list[nn.Module] = []
    c_in = 3
    for i, (count, c_out) in enumerate(zip(counts, _widths(widths, 5, "cifar_vgg"))):
        for _ in range(count):
            layers += [*_conv_bn(c_in, c_out), nn.ReLU(inplace=True)]
            c_in = c_out
        if i < 4:
            layers.append(nn.MaxPool2d(2))
    return LabelledNet(nn.Sequential(*layers), c_in, num_outputs)


@NETWORKS.register("vgg8")
def vgg8(num_outputs: int = 100) -> LabelledNet:
    """VGG-8 with BN (RepDistiller ``vgg8_bn``): one conv per block."""
    return cifar_vgg(num_outputs, (1, 1, 1, 1, 1), (64, 128, 256, 512, 512))


@NETWORKS.register("vgg13")
def vgg13(num_outputs: int = 100) -> LabelledNet:
    """VGG-13 with BN (RepDistiller ``vgg13_bn``): two convs per block."""
    return cifar_vgg(num_outputs, (2, 2, 2, 2, 2), (64, 128, 256, 512, 512))


@NETWORKS.register("vgg11")
def vgg11(num_outputs: int = 100) -> LabelledNet:
    """VGG-11 with BN (configuration A), CIFAR layout: cGAN-KD's UTKFace filtering network."""
    return cifar_vgg(num_outputs, (1, 1, 2, 2, 2), (64, 128, 256, 512, 512))


# ---------------------------------------------------------------------------------------- DenseNet
class DenseLayer(nn.Module):
    """Bottleneck layer: BN-ReLU-1x1 conv (4k) - BN-ReLU-3x3 conv (k), output concatenated to the input."""

    def __init__(self, c_in: int, growth: int) -> None:
        super().__init__()
        self.body = nn.Sequential(nn.BatchNorm2d(c_in), nn.ReLU(inplace=True),
                                  nn.Conv2d(c_in, 4 * growth, 1, bias=False), nn.BatchNorm2d(4 * growth),
                                  nn.ReLU(inplace=True), nn.Conv2d(4 * growth, growth, 3, 1, 1, bias=False))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.body(x), x], 1)


@NETWORKS.register("cifar_densenet")
def cifar_densenet(num_outputs: int = 100, blocks: Sequence[int] = (6, 12, 24, 16), growth: int = 32,
                   reduction: float = 0.5) -> LabelledNet:
    """DenseNet-BC for 32x32 inputs (module docstring): dense blocks joined by halving transitions."""
    counts = _widths(blocks, 4, "cifar_densenet")
    if growth < 1 or not 0 < reduction <= 1:
        raise ValueError(f"cifar_densenet: growth must be >= 1 and reduction in (0, 1], got {growth}, {reduction}")
    c = 2 * growth
    layers: list[nn.Module] = [nn.Conv2d(3, c, 3, 1, 1, bias=False)]
    for i, count in enumerate(counts):
        for _ in range(count):
            layers.append(DenseLayer(c, growth))
            c += growth
        if i < 3:
            c_out = int(c * reduction)
            layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True), nn.Conv2d(c, c_out, 1, bias=False), nn.AvgPool2d(2)]
            c = c_out
    layers += [nn.BatchNorm2d(c), nn.ReLU(inplace=True)]
    return LabelledNet(nn.Sequential(*layers), c, num_outputs)


@NETWORKS.register("densenet121")
def densenet121(num_outputs: int = 100) -> LabelledNet:
    """DenseNet-121 (blocks 6-12-24-16, growth 32), CIFAR variant: cGAN-KD's CIFAR-100 filtering network."""
    return cifar_densenet(num_outputs, (6, 12, 24, 16), 32, 0.5)


# ------------------------------------------------------------------------------------- MobileNetV2
class InvertedResidual(nn.Module):
    """1x1 expansion, 3x3 depthwise, 1x1 linear projection; residual when the shape is kept."""

    def __init__(self, c_in: int, c_out: int, stride: int, expansion: int) -> None:
        super().__init__()
        mid = c_in * expansion
        self.body = nn.Sequential(*_conv_bn(c_in, mid, 1), nn.ReLU(inplace=True),
                                  *_conv_bn(mid, mid, 3, stride, groups=mid), nn.ReLU(inplace=True),
                                  *_conv_bn(mid, c_out, 1))
        self.residual = stride == 1 and c_in == c_out

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.body(x) if self.residual else self.body(x)


#: (expansion, channels, repeats, stride) of each stage; the expansion marked None is ``expansion``.
_MBV2_STAGES = ((1, 16, 1, 1), (None, 24, 2, 1), (None, 32, 3, 2), (None, 64, 4, 2), (None, 96, 3, 1),
                (None, 160, 3, 2), (None, 320, 1, 1))


@NETWORKS.register("mobilenetv2")
def mobilenetv2(num_outputs: int = 100, width_mult: float = 0.5, expansion: int = 6) -> LabelledNet:
    """MobileNetV2, CIFAR variant (stride-2 stem); width 0.5 is the KD literature's "MobileNetV2" student."""
    if width_mult <= 0 or expansion < 1:
        raise ValueError(f"mobilenetv2: width_mult must be > 0 and expansion >= 1, got {width_mult}, {expansion}")
    c_in = int(32 * width_mult)
    layers: list[nn.Module] = [*_conv_bn(3, c_in, 3, 2), nn.ReLU(inplace=True)]
    for t, c, n, s in _MBV2_STAGES:
        c_out = int(c * width_mult)
        for j in range(n):
            layers.append(InvertedResidual(c_in, c_out, s if j == 0 else 1, expansion if t is None else t))
            c_in = c_out
    last = int(1280 * width_mult) if width_mult > 1.0 else 1280
    layers += [*_conv_bn(c_in, last, 1), nn.ReLU(inplace=True)]
    return LabelledNet(nn.Sequential(*layers), last, num_outputs)

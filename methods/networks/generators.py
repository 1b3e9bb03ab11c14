"""Image-to-image generators in the public CycleGAN / pix2pix / GAN Compression module layout.

The module trees (and therefore the ``state_dict`` keys, ``model.<index>...``) follow
junyanz/pytorch-CycleGAN-and-pix2pix (``ResnetGenerator``, ``UnetGenerator``) and
mit-han-lab/gan-compression (``MobileResnetGenerator``), so published checkpoints of those
generators load with ``strict=True``. The width ``ngf`` is the compression knob.

Each generator names its distillation points: ``distill_points()`` maps a logical feature
name (``encoder``, ``block3``...) to the dotted module path whose output is that feature (the
layers GAN Compression distils); ``feature_points()`` adds every other named feature a method may
tap, and ``spatial_encoder()`` names the deepest encoder feature that keeps a spatial grid (what
position-relation methods such as SRPKD and ReKo need).
"""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.networks.geometry import (resnet_distill_points, spatial_encoder, unet_distill_points,
                                      unet_feature_points)
from kd_gan_bench.benchmarks.core.registry import NETWORKS


def dropout_rate(value: float) -> float:
    """A dropout probability in [0, 1): a number, never a flag (``True`` would read as 1.0 and drop everything;
    pix2pix's ``use_dropout`` is 0.5)."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value < 1.0:
        raise ValueError(f"dropout must be a rate in [0, 1) (pix2pix's use_dropout is 0.5, none is 0.0), got {value!r}")
    return float(value)


def norm_layer(kind: str):
    """CycleGAN's ``get_norm_layer``: instance norm without affine/stats, or affine batch norm."""
    if kind == "instance":
        return lambda c: nn.InstanceNorm2d(c, affine=False, track_running_stats=False)
    if kind == "batch":
        return lambda c: nn.BatchNorm2d(c, affine=True, track_running_stats=True)
    raise ValueError(f"unknown norm {kind!r}; valid: 'instance', 'batch'")


class ResnetBlock(nn.Module):
    """Residual block with two 3x3 convolutions, reflection padding (CycleGAN ``ResnetBlock``)."""

    def __init__(self, dim: int, norm, use_bias: bool, dropout: float = 0.0) -> None:
        super().__init__()
        layers: list[nn.Module] = [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim), nn.ReLU(True)]
        if dropout:
            layers.append(nn.Dropout(dropout))
        layers += [nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim)]
        self.conv_block = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class SeparableConv2d(nn.Module):
    """Depthwise k x k convolution, norm, pointwise 1x1 convolution (GAN Compression ``SeparableConv2d``)."""

    def __init__(self, in_ch: int, out_ch: int, kernel: int, norm, use_bias: bool, scale_factor: int = 1) -> None:
        super().__init__()
        mid = in_ch * scale_factor
        self.conv = nn.Sequential(
            nn.Conv2d(in_ch, mid, kernel, groups=in_ch, bias=use_bias),
            norm(mid),
            nn.Conv2d(mid, out_ch, 1, bias=use_bias),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.conv(x)


class MobileResnetBlock(nn.Module):
    """Residual block with depthwise-separable convolutions (GAN Compression ``MobileResnetBlock``)."""

    def __init__(self, dim: int, norm, use_bias: bool, dropout: float = 0.0) -> None:
        super().__init__()
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1), SeparableConv2d(dim, dim, 3, norm, use_bias), norm(dim), nn.ReLU(True),
            nn.Dropout(dropout),
            nn.ReflectionPad2d(1), SeparableConv2d(dim, dim, 3, norm, use_bias), norm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


class _ResnetArchitecture(nn.Module):
    """The ResNet architecture the plain and mobile generators share: c7s1-ngf, two stride-2 downsamplings,
    ``n_blocks`` residual blocks at 4*ngf, two stride-2 transposed convolutions, c7s1-3, tanh (Johnson et al.;
    CycleGAN's generator)."""

    block_type: type[nn.Module] = ResnetBlock

    def __init__(self, ngf: int = 64, n_blocks: int = 9, norm: str = "instance", dropout: float = 0.0,
                 input_nc: int = 3, output_nc: int = 3) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        norm_fn, dropout = norm_layer(norm), dropout_rate(dropout)
        use_bias = norm == "instance"
        layers: list[nn.Module] = [nn.ReflectionPad2d(3), nn.Conv2d(input_nc, ngf, 7, bias=use_bias), norm_fn(ngf), nn.ReLU(True)]
        for i in range(2):
            mult = 2 ** i
            layers += [nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                       norm_fn(ngf * mult * 2), nn.ReLU(True)]
        layers += [self.block_type(ngf * 4, norm_fn, use_bias, dropout) for _ in range(n_blocks)]
        for i in range(2):
            mult = 2 ** (2 - i)
            layers += [nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1, bias=use_bias),
                       norm_fn(ngf * mult // 2), nn.ReLU(True)]
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.ngf, self.n_blocks = ngf, n_blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def distill_points(self) -> dict[str, str]:
        """Encoder output (``model.9``) and three evenly spaced residual-block outputs.

        For 9 blocks these are GAN Compression's layers 9, 12, 15, 18."""
        return resnet_distill_points(self.n_blocks)

    def feature_points(self) -> dict[str, str]:
        """Every named feature: the distillation points (the encoder is already the deepest downsampling)."""
        return self.distill_points()

    def spatial_encoder(self) -> str:
        """``encoder``: the downsampling output, size/4 on a side (64 x 64 at 256 px), 4*ngf channels."""
        return spatial_encoder("resnet_generator")


@NETWORKS.register("resnet_generator")
class ResnetGenerator(_ResnetArchitecture):
    """CycleGAN ResNet generator (``resnet_9blocks`` at n_blocks=9): 11.38M params, 56.8G MACs at ngf 64, 256x256."""


@NETWORKS.register("mobile_resnet_generator")
class MobileResnetGenerator(_ResnetArchitecture):
    """ResNet generator with depthwise-separable residual blocks (GAN Compression / OMGD / CRD students)."""

    block_type = MobileResnetBlock


class UnetSkipConnectionBlock(nn.Module):
    """One U-Net level: down conv, the inner levels, up conv, concatenated with its input (pix2pix)."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm=None, use_bias: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.outermost = outermost
        input_nc = outer_nc if input_nc is None else input_nc
        downconv = nn.Conv2d(input_nc, inner_nc, 4, 2, 1, bias=use_bias)
        downrelu, uprelu = nn.LeakyReLU(0.2, True), nn.ReLU(True)
        if outermost:
            layers = [downconv, submodule, uprelu, nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1), nn.Tanh()]
        elif innermost:
            layers = [downrelu, downconv, uprelu, nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias), norm(outer_nc)]
        else:
            layers = [downrelu, downconv, norm(inner_nc), submodule, uprelu,
                      nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias), norm(outer_nc)]
            if dropout:
                layers.append(nn.Dropout(dropout))
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


@NETWORKS.register("unet_generator")
class UnetGenerator(nn.Module):
    """pix2pix U-Net (``unet_256`` at num_downs=8): 54.41M params at ngf 64.

    ``num_downs`` must satisfy 2**num_downs <= image size (6 for 64x64, 8 for 256x256). ``dropout`` is the
    rate of the dropout after the up path of each intermediate ngf*8 level (pix2pix's ``use_dropout``: 0.5,
    its default; OMGD/DCD/CRD's ``dropout_rate`` at the same levels, 0 in their students and online
    teachers); 0 adds no dropout layer."""

    def __init__(self, ngf: int = 64, num_downs: int = 8, norm: str = "batch", dropout: float = 0.5,
                 input_nc: int = 3, output_nc: int = 3) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (pix2pix layout), got {num_downs}")
        norm_fn = norm_layer(norm)
        use_bias = norm == "instance"
        kw = dict(norm=norm_fn, use_bias=use_bias)
        block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = UnetSkipConnectionBlock(ngf * 8, ngf * 8, submodule=block, dropout=dropout_rate(dropout), **kw)
        block = UnetSkipConnectionBlock(ngf * 4, ngf * 8, submodule=block, **kw)
        block = UnetSkipConnectionBlock(ngf * 2, ngf * 4, submodule=block, **kw)
        block = UnetSkipConnectionBlock(ngf, ngf * 2, submodule=block, **kw)
        self.model = UnetSkipConnectionBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, **kw)
        self.ngf, self.num_downs = ngf, num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

    def distill_points(self) -> dict[str, str]:
        """The bottleneck code (innermost down conv) and the up-path outputs of the three
        levels above it, the U-Net analogue of GAN Compression's ResNet layers."""
        return unet_distill_points(self.num_downs)

    def feature_points(self) -> dict[str, str]:
        """The distillation points plus ``down<k>``, the normalised down-path output of level k
        (size / 2^k on a side), for the levels between the outermost and the innermost one."""
        return unet_feature_points(self.num_downs)

    def spatial_encoder(self) -> str:
        """``down4``: level 4 of the down path, size/16 on a side (16 x 16 at 256 px), 8*ngf channels.

        The innermost code (``encoder``) is 1 x 1 at 256 px with 8 downsamplings, where a relation
        between positions is trivially [[1]]; level 4 is the deepest level with 8*ngf channels (the
        width of the code) that keeps a grid of 256 positions at 256 px (num_downs >= 5 always has it)."""
        return spatial_encoder("unet_generator")

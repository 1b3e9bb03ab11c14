"""OMGD's deeper teachers and its shared-trunk discriminator (Ren et al., "Online Multi-Granularity
Distillation for GAN Compression", ICCV 2021; public code github.com/bytedance/OMGD).

* ``mobile_resnet_deepest_generator`` (OMGD ``mobile_deepest_resnet``, models/modules/resnet_architecture/
  mobile_resnet_deepest_generator.py): the mobile ResNet at the student's width made deeper: after each
  stride-2 convolution (and each transposed convolution) a bottleneck "expansion" block and a 3x3
  convolution + norm + ReLU; two expansion blocks between the first ``n_blocks // 2`` mobile residual
  blocks and the rest.
* ``unet_deepest_generator`` (OMGD ``unet_deepest_256``, models/modules/unet_architecture/
  unet_deepest_generator.py): the pix2pix U-Net with two expansion blocks after every down path (but
  the innermost) and two after every up path (the outermost: at 2 x ngf, before its up-convolution).
* ``shared_patchgan_discriminator`` (OMGD ``MultiNLayerDiscriminator``, models/modules/discriminators.py):
  the 5-block PatchGAN (n_layers 3) whose first ``n_share`` blocks are shared by every teacher and whose
  deeper blocks are one head per teacher; ``forward(x, head)`` picks the head. OMGD selects the head
  through a global flag and builds two copies of every block, leaving the wide teacher's copy of a
  shared block unused; here only the used blocks exist (same function, fewer idle parameters).

The expansion block (OMGD's ``ExpansionResnetBlock``/U-Net ``ResnetBlock``): reflection pad 1,
1x1 conv to 4 x dim, norm, ReLU, 3x3 conv (no padding), norm, ReLU, 1x1 conv back to dim, norm, ReLU,
dropout, reflection pad 1, 3x3 conv, norm, plus the identity. Module orders follow OMGD's, so its
checkpoints' ``state_dict`` keys line up.
"""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.networks.generators import MobileResnetBlock, dropout_rate, norm_layer
from kd_gan_bench.benchmarks.core.registry import NETWORKS


class ExpansionResnetBlock(nn.Module):
    """OMGD's bottleneck residual block (1x1 expand x4, 3x3, 1x1 reduce, 3x3), reflection padding."""

    def __init__(self, dim: int, norm, use_bias: bool, dropout: float = 0.0) -> None:
        super().__init__()
        wide = 4 * dim
        self.conv_block = nn.Sequential(
            nn.ReflectionPad2d(1),
            nn.Conv2d(dim, wide, 1, bias=use_bias), norm(wide), nn.ReLU(True),
            nn.Conv2d(wide, wide, 3, bias=use_bias), norm(wide), nn.ReLU(True),
            nn.Conv2d(wide, dim, 1, bias=use_bias), norm(dim), nn.ReLU(True),
            nn.Dropout(dropout),
            nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3, bias=use_bias), norm(dim),
        )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x + self.conv_block(x)


@NETWORKS.register("mobile_resnet_deepest_generator")
class MobileResnetDeepestGenerator(nn.Module):
    """OMGD's deeper teacher for mobile ResNet students (``mobile_deepest_resnet``)."""

    def __init__(self, ngf: int = 16, n_blocks: int = 9, norm: str = "instance", dropout: float = 0.0,
                 input_nc: int = 3, output_nc: int = 3) -> None:
        super().__init__()
        if n_blocks < 1:
            raise ValueError(f"n_blocks must be >= 1, got {n_blocks}")
        norm_fn, use_bias, dropout = norm_layer(norm), norm == "instance", dropout_rate(dropout)

        def conv_norm_relu(conv: nn.Module, channels: int) -> list[nn.Module]:
            return [conv, norm_fn(channels), nn.ReLU(True)]

        def deepen(channels: int) -> list[nn.Module]:  # expansion block + 3x3 conv after a resolution change
            return [ExpansionResnetBlock(channels, norm_fn, use_bias, dropout),
                    *conv_norm_relu(nn.Conv2d(channels, channels, 3, padding=1, bias=use_bias), channels)]

        layers = [nn.ReflectionPad2d(3), *conv_norm_relu(nn.Conv2d(input_nc, ngf, 7, bias=use_bias), ngf)]
        for mult in (1, 2):
            layers += conv_norm_relu(nn.Conv2d(ngf * mult, ngf * mult * 2, 3, stride=2, padding=1, bias=use_bias),
                                     ngf * mult * 2) + deepen(ngf * mult * 2)
        dim = ngf * 4
        layers += [MobileResnetBlock(dim, norm_fn, use_bias, dropout) for _ in range(n_blocks // 2)]
        layers += [ExpansionResnetBlock(dim, norm_fn, use_bias, dropout) for _ in range(2)]
        layers += [MobileResnetBlock(dim, norm_fn, use_bias, dropout) for _ in range(n_blocks - n_blocks // 2)]
        for mult in (4, 2):
            up = nn.ConvTranspose2d(ngf * mult, ngf * mult // 2, 3, stride=2, padding=1, output_padding=1,
                                    bias=use_bias)
            layers += conv_norm_relu(up, ngf * mult // 2) + deepen(ngf * mult // 2)
        layers += [nn.ReflectionPad2d(3), nn.Conv2d(ngf, output_nc, 7), nn.Tanh()]
        self.model = nn.Sequential(*layers)
        self.ngf, self.n_blocks = ngf, n_blocks

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


class UnetDeepestBlock(nn.Module):
    """One level of OMGD's deeper U-Net: pix2pix's level with two expansion blocks on each path."""

    def __init__(self, outer_nc: int, inner_nc: int, input_nc: int | None = None, submodule: nn.Module | None = None,
                 outermost: bool = False, innermost: bool = False, norm=None, use_bias: bool = False,
                 dropout: float = 0.0) -> None:
        super().__init__()
        self.outermost = outermost
        downconv = nn.Conv2d(outer_nc if input_nc is None else input_nc, inner_nc, 4, 2, 1, bias=use_bias)

        def blocks(dim: int) -> list[nn.Module]:
            return [ExpansionResnetBlock(dim, norm, use_bias, dropout) for _ in range(2)]

        if outermost:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1)
            layers = [downconv, *blocks(inner_nc), submodule, *blocks(inner_nc * 2), nn.ReLU(True), upconv, nn.Tanh()]
        elif innermost:
            upconv = nn.ConvTranspose2d(inner_nc, outer_nc, 4, 2, 1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), downconv, nn.ReLU(True), upconv, norm(outer_nc)]
        else:
            upconv = nn.ConvTranspose2d(inner_nc * 2, outer_nc, 4, 2, 1, bias=use_bias)
            layers = [nn.LeakyReLU(0.2, True), downconv, norm(inner_nc), *blocks(inner_nc), submodule,
                      nn.ReLU(True), upconv, norm(outer_nc), *blocks(outer_nc), nn.Dropout(dropout)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x) if self.outermost else torch.cat([x, self.model(x)], 1)


@NETWORKS.register("unet_deepest_generator")
class UnetDeepestGenerator(nn.Module):
    """OMGD's deeper teacher for U-Net students (``unet_deepest_256`` at num_downs=8).

    As in OMGD's ``unet_deepest_generator.py``, ``dropout`` acts only at the intermediate ngf*8 levels (their
    expansion blocks and the dropout after their up path); every other level is built with rate 0. OMGD's
    default ``teacher_dropout_rate`` is 0, so its deep teacher has no active dropout at all."""

    def __init__(self, ngf: int = 16, num_downs: int = 8, norm: str = "batch", dropout: float = 0.0,
                 input_nc: int = 3, output_nc: int = 3) -> None:
        super().__init__()
        if num_downs < 5:
            raise ValueError(f"num_downs must be >= 5 (the deepest U-Net has pix2pix's layout), got {num_downs}")
        kw = dict(norm=norm_layer(norm), use_bias=norm == "instance")
        block = UnetDeepestBlock(ngf * 8, ngf * 8, innermost=True, **kw)
        for _ in range(num_downs - 5):
            block = UnetDeepestBlock(ngf * 8, ngf * 8, submodule=block, dropout=dropout_rate(dropout), **kw)
        for outer, inner in ((4, 8), (2, 4), (1, 2)):
            block = UnetDeepestBlock(ngf * outer, ngf * inner, submodule=block, **kw)
        self.model = UnetDeepestBlock(output_nc, ngf, input_nc=input_nc, submodule=block, outermost=True, **kw)
        self.ngf, self.num_downs = ngf, num_downs

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)


@NETWORKS.register("shared_patchgan_discriminator")
class SharedPatchGANDiscriminator(nn.Module):
    """PatchGAN (n_layers 3, 70x70) with ``n_share`` shared leading blocks and one head per teacher."""

    def __init__(self, input_nc: int = 6, ndf: int = 128, n_share: int = 3, n_heads: int = 2,
                 norm: str = "batch") -> None:
        super().__init__()
        if not 0 <= n_share <= 5 or n_heads < 1:
            raise ValueError(f"n_share must be in 0..5 (the PatchGAN has 5 blocks) and n_heads >= 1, "
                             f"got n_share={n_share}, n_heads={n_heads}")
        norm_fn, use_bias = norm_layer(norm), norm == "instance"
        widths = (input_nc, ndf, ndf * 2, ndf * 4, ndf * 8, 1)

        def block(level: int) -> nn.Sequential:
            stride = 2 if level < 3 else 1
            conv = nn.Conv2d(widths[level], widths[level + 1], 4, stride, 1, bias=use_bias or level in (0, 4))
            if level == 4:
                return nn.Sequential(conv)
            return nn.Sequential(conv, nn.LeakyReLU(0.2, True)) if level == 0 else \
                nn.Sequential(conv, norm_fn(widths[level + 1]), nn.LeakyReLU(0.2, True))

        self.n_share, self.n_heads = n_share, n_heads
        self.shared = nn.ModuleList(block(level) for level in range(n_share))
        self.heads = nn.ModuleList(nn.Sequential(*(block(level) for level in range(n_share, 5)))
                                   for _ in range(n_heads))

    def forward(self, x: torch.Tensor, head: int = 0) -> torch.Tensor:
        for layer in self.shared:
            x = layer(x)
        return self.heads[head](x)

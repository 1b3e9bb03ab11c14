"""PatchGAN discriminator in the public pix2pix/CycleGAN layout (``NLayerDiscriminator``)."""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.networks.generators import norm_layer
from kd_gan_bench.benchmarks.core.registry import NETWORKS


@NETWORKS.register("patchgan_discriminator")
class PatchGANDiscriminator(nn.Module):
    """70x70 PatchGAN at n_layers=3 (Isola et al. 2017): a grid of real/fake logits.

    ``input_nc`` is 3 for CycleGAN and 6 for pix2pix's conditional discriminator (input and
    output images concatenated)."""

    def __init__(self, input_nc: int = 3, ndf: int = 64, n_layers: int = 3, norm: str = "instance") -> None:
        super().__init__()
        norm_fn = norm_layer(norm)
        use_bias = norm == "instance"
        layers: list[nn.Module] = [nn.Conv2d(input_nc, ndf, 4, 2, 1), nn.LeakyReLU(0.2, True)]
        mult = 1
        for n in range(1, n_layers):
            prev, mult = mult, min(2 ** n, 8)
            layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 2, 1, bias=use_bias), norm_fn(ndf * mult), nn.LeakyReLU(0.2, True)]
        prev, mult = mult, min(2 ** n_layers, 8)
        layers += [nn.Conv2d(ndf * prev, ndf * mult, 4, 1, 1, bias=use_bias), norm_fn(ndf * mult), nn.LeakyReLU(0.2, True),
                   nn.Conv2d(ndf * mult, 1, 4, 1, 1)]
        self.model = nn.Sequential(*layers)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.model(x)

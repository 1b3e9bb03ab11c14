"""Weight initialisation of freshly built networks.

pytorch-CycleGAN-and-pix2pix and the GAN Compression codebases (gan-compression, OMGD, DCD, CAT, CRD) pass every
generator and discriminator through ``init_net`` (``models/networks.py``: ``init_type`` normal, ``init_gain``
0.02): the weight of every convolution (transposed too) and linear layer drawn from N(0, 0.02) and its bias set
to 0, the weight of every BatchNorm drawn from N(1, 0.02) and its bias set to 0. ``"pytorch"`` keeps PyTorch's
own per-layer default initialisation.
"""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.networks.network_spec import INITS
#: ``init_gain`` of the public code's ``init_net``.
NORMAL_GAIN = 0.02


@torch.no_grad()
def init_weights(net: nn.Module, kind: str, gain: float = NORMAL_GAIN) -> nn.Module:
    """Initialise ``net`` in place as ``kind`` says (see the module docstring); returns ``net``."""
    if kind not in INITS:
        raise ValueError(f"init must be one of {INITS} ('normal': the public code's init_net N(0, {NORMAL_GAIN}); "
                         f"'pytorch': PyTorch's default), got {kind!r}")
    if kind == "pytorch":
        return net
    for m in net.modules():
        if isinstance(m, (nn.modules.conv._ConvNd, nn.Linear)):
            nn.init.normal_(m.weight, 0.0, gain)
            if m.bias is not None:
                nn.init.zeros_(m.bias)
        elif isinstance(m, nn.BatchNorm2d) and m.weight is not None:
            nn.init.normal_(m.weight, 1.0, gain)
            nn.init.zeros_(m.bias)
    return net

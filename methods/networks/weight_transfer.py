"""GAN Compression's weight transfer: a narrower ResNet generator initialised from a wider one.

Li et al., "GAN Compression", CVPR 2020; public code mit-han-lab/gan-compression,
``utils/weight_transfer.py`` (``load_pretrained_weight``), which its ``distill.sh`` scripts use to start
the student from the pretrained network (``--restore_pretrained_G_path``). Layer by layer along
``model``, each convolution of the student takes the teacher's filters of the largest L1 norm (over the
input channels the previous layer kept), so the student's channels are a subset of the teacher's:

* the first convolution keeps all 3 input channels, the last one all 3 output channels;
* a residual block's inner convolution chooses its channels freely, its output convolution keeps the
  block's input channels (the residual sum needs the same channels on both sides);
* a transposed convolution chooses output channels by the L1 norm of its (input-selected) filters;
* a depthwise-separable convolution (mobile blocks) keeps the depthwise filters of the kept input
  channels, then transfers its pointwise convolution.

As in the code, it applies to two generators of the same ResNet architecture (plain or mobile) and depth.
Where the code has only parameter-free instance norms, a batch norm of ours takes the kept channels'
affine parameters and running statistics (our extension: the code never meets one).
"""
from __future__ import annotations

import torch
from torch import nn

from kd_gan_bench.methods.networks.generators import MobileResnetBlock, ResnetBlock, SeparableConv2d

Index = torch.Tensor | None


def _top(scores: torch.Tensor, k: int) -> torch.Tensor:
    return scores.topk(k, largest=True).indices


def _norm(src: nn.Module, dst: nn.Module, index: torch.Tensor) -> None:
    """Copy a batch norm's parameters and statistics at ``index`` (instance norms have none)."""
    for name in ("weight", "bias", "running_mean", "running_var"):
        value = getattr(src, name, None)
        if isinstance(value, torch.Tensor):
            getattr(dst, name).copy_(value[index])


def _conv(src: nn.Conv2d, dst: nn.Conv2d, in_index: Index, out_index: Index = None) -> torch.Tensor:
    weight = src.weight[:, in_index] if in_index is not None else src.weight
    if src.out_channels == 3:                                    # the output layer keeps its 3 channels
        out_index = torch.arange(3)
    elif out_index is None:
        out_index = _top(weight.abs().sum(dim=(1, 2, 3)), dst.out_channels)
    dst.weight.copy_(weight[out_index])
    if dst.bias is not None:
        dst.bias.copy_(src.bias[out_index])
    return out_index


def _conv_transpose(src: nn.ConvTranspose2d, dst: nn.ConvTranspose2d, in_index: torch.Tensor) -> torch.Tensor:
    weight = src.weight[in_index]                                  # in x out x k x k
    out_index = _top(weight.abs().sum(dim=(0, 2, 3)), dst.out_channels)
    dst.weight.copy_(weight[:, out_index])
    if dst.bias is not None:
        dst.bias.copy_(src.bias[out_index])
    return out_index


def _separable(src: SeparableConv2d, dst: SeparableConv2d, in_index: torch.Tensor,
               out_index: Index = None) -> torch.Tensor:
    dw_src, dw_dst = src.conv[0], dst.conv[0]
    dw_dst.weight.copy_(dw_src.weight[in_index])
    if dw_dst.bias is not None:
        dw_dst.bias.copy_(dw_src.bias[in_index])
    _norm(src.conv[1], dst.conv[1], in_index)
    return _conv(src.conv[2], dst.conv[2], in_index, out_index)


def _block(src: nn.Module, dst: nn.Module, in_index: torch.Tensor) -> torch.Tensor:
    """A residual block: the inner layer's channels chosen freely, the output layer's = the block's input."""
    convs = [(m, d) for m, d in zip(src.conv_block, dst.conv_block) if isinstance(m, (nn.Conv2d, SeparableConv2d))]
    norms = [(m, d) for m, d in zip(src.conv_block, dst.conv_block) if isinstance(m, nn.modules.batchnorm._NormBase)]
    (inner_src, inner_dst), (outer_src, outer_dst) = convs
    move = _separable if isinstance(inner_src, SeparableConv2d) else _conv
    mid = move(inner_src, inner_dst, in_index)
    move(outer_src, outer_dst, mid, in_index)
    for (n_src, n_dst), index in zip(norms, (mid, in_index)):
        _norm(n_src, n_dst, index)
    return in_index


@torch.no_grad()
def transfer_weights(teacher: nn.Module, student: nn.Module) -> None:
    """Initialise ``student`` from ``teacher`` (two generators of one ResNet architecture, see the module docstring)."""
    index: Index = None
    for src, dst in zip(teacher.model, student.model):
        if isinstance(src, nn.Conv2d):
            index = _conv(src, dst, index)
        elif isinstance(src, nn.ConvTranspose2d):
            index = _conv_transpose(src, dst, index)
        elif isinstance(src, (ResnetBlock, MobileResnetBlock)):
            index = _block(src, dst, index)
        elif isinstance(src, nn.modules.batchnorm._NormBase) and index is not None:
            _norm(src, dst, index)

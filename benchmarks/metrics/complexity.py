"""Model size and compute: parameter count and multiply-accumulates (MACs) of one forward pass.

MACs follow the convention of the GAN-compression literature (GAN Compression, CAT, OMGD, CRD...),
which counts with ``torchprofile`` (mit-han-lab/torchprofile) on one 256x256 image:

* ``Conv2d``:           output elements x (in_channels / groups) x kernel area
* ``ConvTranspose2d``:  OUTPUT elements x (in_channels / groups) x kernel area
* ``Linear``:           out_features x in_features x rows (batch x leading dims)

Normalisation layers, activations, padding, pooling and additions are not counted: convolutions
dominate, and counting only them reproduces the published teacher numbers (CycleGAN ResNet
generator, ngf 64, 9 blocks: 56.8G MACs, 11.38M params; GAN Compression's mobile ResNet at ngf 16:
1.41G, 0.137M). Recent torchprofile versions also count outputs of affine norms and LeakyReLU; for
these generators that is below 0.01G (instance norm without affine: zero).

The pix2pix U-Net-256 (ngf 64, 8 downsamplings, 54.41M params) costs 18.14G here. The "about 18.6G"
in the literature is DMAD's (SJLeo/DMAD README): its compression rates imply a teacher of 18.58-18.62G
(2.99G x 6.22, 3.96G x 4.70, 4.30G x 4.32, 4.39G x 4.24) and 54.3M params, counted with ``thop``
(its test.py/prune.py ``profile``) on the same layout. Run on our U-Net, the counters give:
torchprofile 0.1.0 18.143G (it adds affine BatchNorm outputs, +0.003G), thop 0.1.1 18.152G, thop
0.0.31 (what DMAD's unpinned requirement resolved to in 2020) 18.149G. No counting convention gives
18.6G for this architecture; the 0.46G gap equals the outermost level's two convolutions counted
twice (0.050G down + 0.403G up), but the public code does not show why. We report 18.14G, the
number torchprofile and thop agree on, and show DMAD's as reported.

Where this differs from ``torch.utils.flop_counter.FlopCounterMode``: that counter (besides
reporting FLOPs = 2 x MACs) costs a transposed convolution by its *input* size, i.e.
input elements x out_channels x kernel area / groups. For a stride-2 transposed conv the output has
4x the input's spatial positions, so the two conventions disagree, and only the torchprofile one
reproduces the published MACs. We count with forward hooks rather than tracing, so any module that
runs convolutions through ``nn.Conv2d`` / ``nn.ConvTranspose2d`` / ``nn.Linear`` is covered; direct
``F.conv2d`` calls on bare tensors would not be (none of our networks do that).

Every record names the counter (:func:`macs_protocol`: these hooks, the torch version they ran on, the
input shape), and the report shows it as a footnote of its MACs column.
"""
from __future__ import annotations

import copy
import math

import torch
from torch import nn

__all__ = ["count_params", "count_macs", "macs_protocol"]

#: The counter the records name (1 MAC = one multiply-add).
MACS_COUNTER = ("forward hooks of kd_gan_bench.benchmarks.metrics.complexity (torchprofile convention: Conv/ConvTranspose by "
                "output elements, Linear; norms, activations and additions not counted; 1 MAC = one multiply-add)")


def count_params(model: nn.Module) -> int:
    """Number of parameters (trainable or not; buffers such as BatchNorm running stats excluded)."""
    return sum(p.numel() for p in model.parameters())


def _conv_macs(module: nn.Module, inputs: tuple, output: torch.Tensor) -> int:
    # Same formula for Conv2d and ConvTranspose2d: both carry weight shapes that make
    # in_channels / groups x kernel area the per-output-element cost (torchprofile's convention).
    kernel_area = math.prod(module.kernel_size)
    return output.numel() * (module.in_channels // module.groups) * kernel_area


def _linear_macs(module: nn.Linear, inputs: tuple, output: torch.Tensor) -> int:
    return output.numel() * module.in_features


def _counter_for(module: nn.Module):
    """The MAC formula for a counted module type (subclasses included), else ``None``."""
    if isinstance(module, nn.modules.conv._ConvNd):  # Conv1d/2d/3d and their transposed forms
        return _conv_macs
    if isinstance(module, nn.Linear):
        return _linear_macs
    return None


def count_macs(model: nn.Module, input_shape: tuple[int, ...]) -> int:
    """MACs of one forward pass of ``model`` on a zero tensor of ``input_shape`` (torchprofile convention).

    ``input_shape`` is the full input shape, batch included (use batch 1, e.g. ``(1, 3, 256, 256)``;
    a shape without a batch dimension, e.g. ``(3, 256, 256)``, gets one prepended). The count runs
    a copy of the model on PyTorch's ``meta`` device, which propagates shapes without arithmetic
    (milliseconds for a 256x256 ResNet on any machine); a model that cannot run there is counted
    on its own device and dtype instead. Either way the model runs in eval mode, its train/eval mode
    is restored afterwards and all hooks are removed, even if the forward raises. See the module
    docstring for the convention and why it differs from ``FlopCounterMode``.
    """
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 3:
        shape = (1, *shape)
    try:
        return _count(copy.deepcopy(model).to("meta"), shape)
    except (NotImplementedError, RuntimeError):  # an op without a meta kernel
        return _count(model, shape)


@torch.no_grad()
def _count(model: nn.Module, shape: tuple[int, ...]) -> int:
    ref = next(iter(model.parameters()), None)
    device = ref.device if ref is not None else torch.device("cpu")
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    x = torch.zeros(shape, device=device, dtype=dtype)

    total = 0

    def make_hook(counter):
        def hook(module: nn.Module, inputs: tuple, output: torch.Tensor) -> None:
            nonlocal total
            total += counter(module, inputs, output)

        return hook

    handles = []
    for m in model.modules():
        counter = _counter_for(m)
        if counter is not None:
            handles.append(m.register_forward_hook(make_hook(counter)))
    was_training = model.training
    try:
        model.eval()
        model(x)
    finally:
        for h in handles:
            h.remove()
        model.train(was_training)
    return int(total)


def macs_protocol(input_shape: tuple[int, ...]) -> dict[str, str]:
    """How ``count_macs`` counted: the counter with the torch version it ran on, and the input shape."""
    shape = tuple(int(s) for s in input_shape)
    return {"macs_counter": f"{MACS_COUNTER}, torch {torch.__version__}",
            "macs_input": "x".join(str(s) for s in ((1, *shape) if len(shape) == 3 else shape))}

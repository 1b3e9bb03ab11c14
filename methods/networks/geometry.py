"""The named features of the generators (``feature_points()``), their module paths and their shapes,
from the network spec and the image size alone: no torch, no weights, no forward pass.

The generators' ``distill_points`` / ``feature_points`` / ``spatial_encoder`` read their names and paths
from here, and a planning check (``kd_gan_bench.methods.core.plan_checks``: SRPKD's and ReKo's "the layer has a grid of
positions") reads their shapes from here, so a grid is checked without importing torch.
``tests/test_network_geometry.py`` compares every shape with a dry forward of the built network.

The arithmetic is the layers' own (PyTorch's ``Conv2d`` / ``ConvTranspose2d`` output sizes): the ResNet's
two 3x3 stride-2 convolutions with padding 1 take a side ``s`` to ``(s - 1) // 2 + 1`` each; a U-Net
level's 4x4 stride-2 convolution with padding 1 halves it (``s // 2``) and its transposed convolution
doubles what the level below returns.
"""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.networks.network_spec import network_args

RESNETS = ("resnet_generator", "mobile_resnet_generator")
UNETS = ("unet_generator",)
#: The first residual block's index in the ResNet's ``model`` (after the stem and two downsamplings).
RESNET_ENCODER_INDEX = 9

Shape = tuple[int, int, int]


def resnet_distill_points(n_blocks: int) -> dict[str, str]:
    """Encoder output (``model.9``) and three evenly spaced residual-block outputs (GAN Compression's
    layers 9, 12, 15, 18 for 9 blocks): {name: module path}."""
    points = {"encoder": f"model.{RESNET_ENCODER_INDEX}"}
    for i in (1, 2, 3):
        k = max(1, round(i * n_blocks / 3))
        points.setdefault(f"block{k}", f"model.{RESNET_ENCODER_INDEX + k}")
    return points


def unet_level_paths(num_downs: int) -> list[str]:
    """Module path of each U-Net level's block, outermost first (the outermost block's submodule is at
    index 1 of its Sequential, every other level's at index 3)."""
    paths = ["model"]
    for _ in range(num_downs - 1):
        paths.append(f"{paths[-1]}.model.{1 if len(paths) == 1 else 3}")
    return paths


def unet_distill_points(num_downs: int) -> dict[str, str]:
    """The bottleneck code (innermost down conv) and the up-path outputs of the three levels above it."""
    paths = unet_level_paths(num_downs)
    points = {"encoder": f"{paths[-1]}.model.1"}
    for depth, path in enumerate(reversed(paths[-4:-1]), start=1):
        points[f"up{depth}"] = f"{path}.model.6"
    return points


def unet_feature_points(num_downs: int) -> dict[str, str]:
    """The distillation points plus ``down<k>``, the normalised down-path output of level k (size / 2^k
    on a side), for the levels between the outermost and the innermost one."""
    paths = unet_level_paths(num_downs)
    downs = {f"down{k}": f"{paths[k - 1]}.model.2" for k in range(2, num_downs)}
    return {**unet_distill_points(num_downs), **downs}


def spatial_encoder(arch: str) -> str:
    """The feature a position-relation method taps by default: the ResNet's downsampling output
    (``encoder``, size/4), the U-Net's level 4 (``down4``, size/16: its 1 x 1 code at 256 px has no grid)."""
    if arch in RESNETS:
        return "encoder"
    if arch in UNETS:
        return "down4"
    raise _no_features(arch)


def _no_features(arch: str) -> ValueError:
    return ValueError(f"network {arch!r} has no named features; networks with them: {', '.join(RESNETS + UNETS)}")


def _resnet_shapes(args: Mapping[str, Any], size: int) -> dict[str, Shape]:
    side = size
    for _ in range(2):
        side = (side - 1) // 2 + 1
    shape = (4 * args["ngf"], side, side)
    return {name: shape for name in resnet_distill_points(args["n_blocks"])}


def _unet_shapes(args: Mapping[str, Any], size: int) -> dict[str, Shape]:
    ngf, num_downs = args["ngf"], args["num_downs"]
    sides = [size]  # sides[k]: the side after level k's down convolution
    for _ in range(num_downs):
        sides.append(sides[-1] // 2)

    def inner(level: int) -> int:  # the channels of level ``level``'s down convolution
        return ngf * min(2 ** (level - 1), 8)

    shapes = {"encoder": (inner(num_downs), sides[num_downs], sides[num_downs])}
    for depth in (1, 2, 3):
        level = num_downs - depth
        shapes[f"up{depth}"] = (inner(level - 1), 2 * sides[level], 2 * sides[level])
    for level in range(2, num_downs):
        shapes[f"down{level}"] = (inner(level), sides[level], sides[level])
    return shapes


def feature_grids(spec: Mapping[str, Any], size: int) -> dict[str, Shape]:
    """(channels, height, width) of every named feature of the network ``spec`` on one ``size`` x ``size``
    image; a network without named features is a ``ValueError`` naming those that have them."""
    arch = str(spec["arch"])
    args = {**network_args(arch), **spec}
    if arch in RESNETS:
        return _resnet_shapes(args, size)
    if arch in UNETS:
        return _unet_shapes(args, size)
    raise _no_features(arch)


#: Generators whose two stride-2 convolutions are undone by two transposed ones (the output is the input's size
#: only when the side is a multiple of 4, and the residual blocks' reflection padding needs a side of 2 there).
RESNET_LAYOUTS = RESNETS + ("mobile_resnet_deepest_generator",)
#: Generators with ``num_downs`` halving levels whose skip connections need the side to halve exactly.
UNET_LAYOUTS = UNETS + ("unet_deepest_generator",)
#: The smallest side a classifier takes: VGG's four 2x2 max-pools, DenseNet's three 2x2 transitions (the
#: others end in adaptive pooling and take any side).
CLASSIFIER_MIN_SIDE = {"cifar_vgg": 16, "vgg8": 16, "vgg11": 16, "vgg13": 16, "cifar_densenet": 8, "densenet121": 8}
#: PatchGANs: ``n_layers`` 4x4 stride-2 convolutions (side // 2 each), then two 4x4 stride-1 ones (side - 1 each).
PATCHGAN_LAYERS = {"patchgan_discriminator": None, "shared_patchgan_discriminator": 3}


def size_problem(spec: Mapping[str, Any], size: int) -> str | None:
    """Why network ``spec`` cannot take (or, for a generator, give back) ``size`` x ``size`` images, with the
    valid sizes, or None. Torch-free; ``tests/test_network_geometry.py`` checks it against a forward pass."""
    arch = str(spec["arch"])
    args = {**network_args(arch), **spec}
    if not isinstance(size, int) or isinstance(size, bool) or size < 1:
        return f"the image size must be an integer >= 1, got {size!r}"
    if arch in RESNET_LAYOUTS and (size % 4 or size < 8):
        return f"{arch} needs a multiple of 4 that is at least 8 (8, 12, ..., 256), got {size}"
    if arch in UNET_LAYOUTS and size % 2 ** args["num_downs"]:
        step = 2 ** args["num_downs"]
        return f"{arch} with num_downs={args['num_downs']} needs a multiple of {step} ({step}, {2 * step}, ...), got {size}"
    if arch in CLASSIFIER_MIN_SIDE and size < CLASSIFIER_MIN_SIDE[arch]:
        return f"{arch} needs a size of at least {CLASSIFIER_MIN_SIDE[arch]}, got {size}"
    if arch in PATCHGAN_LAYERS:
        layers = PATCHGAN_LAYERS[arch] or args["n_layers"]
        if size // 2 ** layers < 3:
            return f"{arch} with {layers} layers needs a size of at least {3 * 2 ** layers}, got {size}"
    return None

"""The generators' named-feature shapes computed from their specs (``kd_gan_bench.methods.networks.geometry``, what the
torch-free planning checks read) equal those of a dry forward of the built network, for every named
feature, at sizes that do and do not divide evenly; and a network without named features says so."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from kd_gan_bench.methods.core.distill import feature_shapes
from kd_gan_bench.methods import NETWORKS
from kd_gan_bench.methods.networks.geometry import feature_grids, size_problem, spatial_encoder
from kd_gan_bench.methods.networks.network_spec import network_args, spec_problem
from kd_gan_bench.methods.networks.build import build_network

SPECS = [
    {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2},
    {"arch": "resnet_generator", "ngf": 8, "n_blocks": 7},
    {"arch": "mobile_resnet_generator", "ngf": 4},
    {"arch": "unet_generator", "ngf": 4, "num_downs": 5},
    {"arch": "unet_generator", "ngf": 2, "num_downs": 7},
    {"arch": "unet_generator"},
]
SIZES = (16, 33, 64, 256)


def runs_at(spec: dict[str, Any], size: int) -> bool:
    """A U-Net runs where every level halves the side exactly (its skips concatenate equal sides)."""
    downs = spec.get("num_downs", 8) if spec["arch"] == "unet_generator" else 0
    return size % (2 ** downs) == 0


@pytest.mark.parametrize("spec, size", [(spec, size) for spec in SPECS for size in SIZES if runs_at(spec, size)],
                         ids=lambda v: f"{v}px" if isinstance(v, int) else "-".join(f"{x}" for x in v.values()))
def test_feature_grids_equal_a_dry_forward(spec: dict[str, Any], size: int) -> None:
    with torch.device("meta"):
        net = build_network(spec)
    forward = feature_shapes(net, net.feature_points(), size, torch.device("meta"))
    assert feature_grids(spec, size) == {name: tuple(shape[1:]) for name, shape in forward.items()}
    assert spatial_encoder(spec["arch"]) == net.spatial_encoder()


def test_a_network_without_named_features_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="network 'cifar_resnet' has no named features; networks with them: "):
        feature_grids({"arch": "cifar_resnet"}, 32)


#: Small instances of the registered networks that take widths and depths (the others are built as they are).
SMALL = {"resnet_generator": {"ngf": 2, "n_blocks": 1}, "mobile_resnet_generator": {"ngf": 2, "n_blocks": 1},
         "mobile_resnet_deepest_generator": {"ngf": 2, "n_blocks": 1}, "unet_generator": {"ngf": 2, "num_downs": 5},
         "unet_deepest_generator": {"ngf": 2, "num_downs": 5}, "patchgan_discriminator": {"ndf": 2},
         "shared_patchgan_discriminator": {"ndf": 2}, "cifar_densenet": {"blocks": [1, 1, 1, 1], "growth": 4},
         "cifar_resnet": {"depth": 8}, "wrn": {"depth": 10, "widen_factor": 1}, "mobilenetv2": {"width_mult": 0.25}}
#: Sides on both edges of every rule: multiples of 4 from 8, of 32 from 32, classifiers' minimums 8 and 16,
#: PatchGANs' 24.
SIDES = (1, 7, 8, 15, 16, 23, 24, 32)


def _takes(net: torch.nn.Module, channels: int, size: int, generator: bool) -> bool:
    """Whether ``net`` runs on a ``size`` x ``size`` image (and a generator gives back that size), on the meta
    device: the layers' own shape checks, no arithmetic."""
    try:
        with torch.device("meta"):
            out = net(torch.zeros(1, channels, size, size))
    except (RuntimeError, ValueError):
        return False
    return not generator or tuple(out.shape[-2:]) == (size, size)


@pytest.mark.parametrize("arch", NETWORKS.names())
def test_size_problem_matches_a_forward_pass(arch: str) -> None:
    """The torch-free size rule a grid plans with (``--set task.size=7`` refused) against the built network."""
    spec = {"arch": arch, **SMALL.get(arch, {})}
    with torch.device("meta"):
        net = build_network(spec).eval()
    channels = network_args(arch).get("input_nc", 3)
    for size in SIDES:
        problem = size_problem(spec, size)
        assert (problem is None) == _takes(net, channels, size, arch.endswith("_generator")), (size, problem)


@pytest.mark.parametrize("arch", NETWORKS.names())
def test_spec_problem_refuses_what_cannot_be_built(arch: str) -> None:
    """Every registered network's defaults pass; every integer argument at 0 or -4 is refused by name, before torch."""
    assert spec_problem({"arch": arch}) is None
    for key, default in network_args(arch).items():
        if isinstance(default, int) and not isinstance(default, bool):
            for bad in (-4, -1) if key == "n_share" else (0, -4):
                assert spec_problem({"arch": arch, key: bad})[0] == key
    assert spec_problem({"arch": arch, "width": 3})[0] == "width"

"""The generators' named-feature shapes computed from their specs (``methods.network_geometry``, what the
torch-free planning checks read) equal those of a dry forward of the built network, for every named
feature, at sizes that do and do not divide evenly; and a network without named features says so."""
from __future__ import annotations

from typing import Any

import pytest
import torch

from methods.distill import feature_shapes
from methods.network_geometry import feature_grids, spatial_encoder
from methods.networks import build_network

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

"""Generators keep the public CycleGAN / pix2pix module layout, so published checkpoints load strictly."""
from __future__ import annotations

import torch

from kd_gan_bench.methods.networks.build import build_network


def test_resnet_generator_has_the_public_cyclegan_keys():
    net = build_network({"arch": "resnet_generator", "ngf": 64, "n_blocks": 9})
    keys = set(net.state_dict())
    # keys of junyanz/pytorch-CycleGAN-and-pix2pix latest_net_G.pth for resnet_9blocks (instance norm)
    expected = {"model.1.weight", "model.1.bias", "model.4.weight", "model.7.weight", "model.10.conv_block.1.weight",
                "model.10.conv_block.5.bias", "model.18.conv_block.5.weight", "model.19.weight", "model.22.weight",
                "model.26.weight", "model.26.bias"}
    assert expected <= keys
    assert len(keys) == 2 * (3 + 18 + 2 + 1)  # weight + bias per conv: 3 down, 18 in blocks, 2 up, 1 final
    assert net.state_dict()["model.19.weight"].shape == (256, 128, 3, 3)  # ConvTranspose2d(256 -> 128)


def test_unet_generator_has_the_public_pix2pix_keys():
    net = build_network({"arch": "unet_generator", "ngf": 64, "num_downs": 8})
    keys = set(net.state_dict())
    expected = {"model.model.0.weight", "model.model.1.model.1.weight", "model.model.1.model.2.running_var",
                "model.model.1.model.3.model.3.model.3.model.3.model.3.model.3.model.1.weight",
                "model.model.3.weight", "model.model.3.bias"}
    assert expected <= keys


def test_checkpoint_round_trip_is_strict(tmp_path):
    spec = {"arch": "mobile_resnet_generator", "ngf": 16, "n_blocks": 9}
    torch.manual_seed(0)
    net = build_network(spec)
    torch.save(net.state_dict(), tmp_path / "g.pth")
    other = build_network(spec)
    other.load_state_dict(torch.load(tmp_path / "g.pth"), strict=True)
    x = torch.randn(1, 3, 32, 32)
    assert torch.equal(net.eval()(x), other.eval()(x))


def test_distill_points_exist_and_match_between_widths():
    for spec in ({"arch": "resnet_generator", "n_blocks": 9}, {"arch": "unet_generator", "num_downs": 6}):
        teacher, student = build_network({**spec, "ngf": 16}), build_network({**spec, "ngf": 4})
        assert teacher.distill_points() == student.distill_points()
        modules = dict(teacher.named_modules())
        assert all(path in modules for path in teacher.distill_points().values())
    resnet = build_network({"arch": "resnet_generator", "ngf": 8, "n_blocks": 9})
    assert list(resnet.distill_points().values()) == ["model.9", "model.12", "model.15", "model.18"]

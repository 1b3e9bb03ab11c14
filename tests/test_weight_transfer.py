"""GAN Compression's weight transfer (``load_pretrained_weight``) and feature_kd's use of it and of the
code's pix2pix discriminator (hinge, ndf 128)."""
from __future__ import annotations

import pytest
import torch
from torch import nn

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.datasets import load_task
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule
from kd_gan_bench.methods.core.plan_checks import StudentPlan, transfer_problem
from kd_gan_bench.methods.networks.weight_transfer import transfer_weights

ARCHS = ("resnet_generator", "mobile_resnet_generator")


def randomised_norms(net: nn.Module) -> nn.Module:
    """Batch norms with non-trivial affine parameters and statistics, so copying them matters."""
    gen = torch.Generator().manual_seed(3)
    for m in net.modules():
        if isinstance(m, nn.BatchNorm2d):
            for t in (m.weight.data, m.bias.data, m.running_mean):
                t.copy_(torch.randn(t.shape, generator=gen))
            m.running_var.copy_(torch.rand(m.running_var.shape, generator=gen) + 0.5)
    return net


@pytest.mark.parametrize("norm", ["instance", "batch"])
@pytest.mark.parametrize("arch", ARCHS)
def test_transfer_at_equal_width_reproduces_the_teacher(arch: str, norm: str) -> None:
    # The transfer permutes channels consistently: at the teacher's own width it is the same function.
    torch.manual_seed(0)
    spec = {"arch": arch, "ngf": 8, "n_blocks": 3, "norm": norm}
    teacher, student = randomised_norms(build_network(spec)).eval(), build_network(spec).eval()
    transfer_weights(teacher, student)
    x = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    assert torch.allclose(student(x), teacher(x), atol=1e-5)


@pytest.mark.parametrize("arch", ARCHS)
def test_narrower_student_takes_the_largest_teacher_filters(arch: str) -> None:
    torch.manual_seed(0)
    teacher = build_network({"arch": arch, "ngf": 8, "n_blocks": 3})
    student = build_network({"arch": arch, "ngf": 4, "n_blocks": 3})
    transfer_weights(teacher, student)
    first_t, first_s = teacher.model[1].weight, student.model[1].weight          # 7x7 conv: 3 -> ngf
    want = first_t[first_t.abs().sum(dim=(1, 2, 3)).topk(4).indices]
    assert torch.equal(first_s, want)
    last_t, last_s = teacher.model[-2].weight, student.model[-2].weight            # ngf -> 3: all outputs kept
    assert last_s.shape == (3, 4, 7, 7) and all(any(torch.equal(last_s[:, i], last_t[:, j]) for j in range(8))
                                                 for i in range(4))


def test_transfer_conditions_are_the_codes() -> None:
    assert transfer_problem({"arch": "resnet_generator", "ngf": 64}, {"arch": "resnet_generator", "ngf": 16}) is None
    assert "architecture" in transfer_problem({"arch": "resnet_generator"}, {"arch": "mobile_resnet_generator"})
    assert "architecture" in transfer_problem({"arch": "unet_generator"}, {"arch": "unet_generator"})
    assert "n_blocks" in transfer_problem({"arch": "resnet_generator", "n_blocks": 9},
                                          {"arch": "resnet_generator", "n_blocks": 6})


def feature_kd(student: dict, teacher: dict, overrides: dict) -> dict:
    data = load_task("synthetic_edges2shapes", size=32, n_train=4, n_test=1)
    method = METHODS.get("feature_kd")()
    torch.manual_seed(0)
    setup = TrainSetup(data, student, teacher, method.resolve_hparams(overrides), Schedule(steps=1, batch_size=2),
                       torch.device("cpu"), 0, {"ndf": 8, "d_layers": 2}, teacher=build_network(teacher),
                       teacher_discriminator=build_network({"arch": "patchgan_discriminator", "input_nc": 6, "ndf": 8,
                                                            "n_layers": 2, "norm": "batch"}),
                       log=lambda _: None)
    out = method.train(setup)
    return {**out.extras, "ndf": out.discriminator.model[0].out_channels}


def test_feature_kd_starts_from_the_teacher_and_uses_the_codes_pix2pix_discriminator() -> None:
    resnet = {"arch": "resnet_generator", "n_blocks": 2}
    extras = feature_kd({**resnet, "ngf": 4}, {**resnet, "ngf": 8}, {})
    assert extras["student_init"].startswith("teacher") and extras["ndf"] == 128 and extras["d_init"] != "teacher"
    unet = {"arch": "unet_generator", "num_downs": 5}
    extras = feature_kd({**unet, "ngf": 4}, {**unet, "ngf": 8}, {"ndf": 8})
    assert extras["student_init"] == "scratch" and (extras["ndf"], extras["d_init"]) == (8, "teacher")
    with pytest.raises(ValueError, match="weight transfer needs teacher and student of one ResNet architecture"):
        METHODS.get("feature_kd").check_plan(StudentPlan({**unet, "ngf": 4}, {**unet, "ngf": 8}, 32,
                                                         {"student_init": "teacher"}))


def test_hinge_loss_is_gan_compressions() -> None:
    from kd_gan_bench.methods.core.training import gan_loss
    d = torch.tensor([[-2.0, 0.5], [1.5, 0.0]])
    assert torch.isclose(gan_loss(d, True, "hinge", for_discriminator=True), torch.relu(1 - d).mean())        # D on real
    assert torch.isclose(gan_loss(d, False, "hinge", for_discriminator=True), torch.relu(1 + d).mean())       # D on fake
    assert torch.isclose(gan_loss(d, True, "hinge", for_discriminator=False), -d.mean())  # G

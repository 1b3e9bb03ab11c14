"""OMGD (methods/omgd/method.py): its losses against the public code's formulas, its networks' structure, and a
short seeded training run on the built-in paired task at 32x32 in which the student distils from the two
online teachers it trains with. Seeded, CPU, random-init VGG16 (``empty_hub``)."""
from __future__ import annotations

import math
import statistics

import pytest
import torch
import torch.nn.functional as F
from torch import nn

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.datasets import ImageTranslationData, load_task
from kd_gan_bench.methods.core.base import TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.distill import feature_shapes
from kd_gan_bench.methods.losses.multi_granularity import cd_adaptor, channel_distillation, ssim_loss, tv_sum
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.networks.omgd_networks import ExpansionResnetBlock
from kd_gan_bench.methods.omgd.method import OMGD, cd_layers, omgd_vgg
from kd_gan_bench.methods.core.perceptual import gram_matrix
from kd_gan_bench.methods.core.plan_checks import StudentPlan
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule, to_float

CPU = torch.device("cpu")
SEED = 0
STEPS = 60
WINDOW = 5
TASK = {"size": 32, "n_train": 48, "n_test": 16}
TEACHER = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}
STUDENT = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2}
RECIPE = {"ndf": 8}


def omgd_ssim_float64(a: torch.Tensor, b: torch.Tensor) -> float:
    """OMGD's models/modules/pytorch_ssim.py formula in float64: 11x11 Gaussian (sigma 1.5), zero padding."""
    a, b = a.double(), b.double()
    g = torch.tensor([math.exp(-(x - 5) ** 2 / (2 * 1.5 ** 2)) for x in range(11)], dtype=torch.float64)
    g = g / g.sum()
    window = (g[:, None] @ g[None, :]).expand(a.shape[1], 1, 11, 11)

    def blur(x: torch.Tensor) -> torch.Tensor:
        return F.conv2d(x, window, padding=5, groups=a.shape[1])

    mu1, mu2 = blur(a), blur(b)
    s1, s2, s12 = blur(a * a) - mu1 ** 2, blur(b * b) - mu2 ** 2, blur(a * b) - mu1 * mu2
    c1, c2 = 0.01 ** 2, 0.03 ** 2
    return float((((2 * mu1 * mu2 + c1) * (2 * s12 + c2)) / ((mu1 ** 2 + mu2 ** 2 + c1) * (s1 + s2 + c2))).mean())


@pytest.mark.parametrize("size", [16, 48])
def test_ssim_matches_omgd_zero_padded_windows(size: int) -> None:
    gen = torch.Generator().manual_seed(size)
    a = torch.rand(2, 3, size, size, generator=gen) * 2 - 1
    b = (a + 0.4 * torch.randn(2, 3, size, size, generator=gen)).clamp(-1, 1)
    reference = 1 - omgd_ssim_float64(a, b)
    assert ssim_loss(a, b).item() == pytest.approx(reference, abs=2e-6)
    # torchmetrics' own border (reflection) differs: the zero padding is a real choice, not a no-op
    assert abs(ssim_loss(a, b, "reflect").item() - reference) > 1e-3
    assert ssim_loss(a, a).item() == pytest.approx(0.0, abs=1e-6)
    with pytest.raises(ValueError, match="zeros"):
        ssim_loss(a, b, "replicate")


def test_tv_is_a_plain_sum() -> None:
    ramp = torch.arange(4.0).view(1, 1, 1, 4).expand(2, 3, 5, 4)  # +1 per column step, constant down columns
    assert tv_sum(ramp).item() == 2 * 3 * 5 * 3                    # sum, not mean: N C H (W - 1) x 1
    assert tv_sum(ramp.transpose(2, 3)).item() == 2 * 3 * 5 * 3


def test_gram_normalisation_and_vgg_input() -> None:
    feats = torch.full((1, 8, 4, 5), 3.0)
    assert torch.allclose(gram_matrix(feats), torch.full((1, 8, 8), 9.0 / 8))  # f f^T / (C H W)
    vgg = omgd_vgg(None)
    x = torch.rand(1, 3, 16, 16) * 2 - 1
    assert torch.allclose(vgg(x)["relu1_2"], vgg.features[:4]((x + 1) / 2), atol=1e-6)  # (x + 1) / 2, no mean/std


def test_channel_distillation_compares_spatial_means_through_adaptors() -> None:
    adaptor = cd_adaptor(4, 6, torch.Generator().manual_seed(0))
    conv, bn, _ = adaptor
    assert conv.bias is None and conv.weight.shape == (6, 4, 1, 1) and conv.weight.std().item() < 0.05
    s, t = torch.randn(3, 4, 5, 5), torch.randn(3, 6, 5, 5)
    expected = ((adaptor(s).mean((2, 3)) - t.mean((2, 3))) ** 2).mean()
    assert torch.allclose(channel_distillation({"x": s}, {"x": t}, {"x": adaptor}), expected)
    rolled = t.roll(2, dims=3)  # the same spatial means: only the channel statistics are distilled
    assert torch.allclose(channel_distillation({"x": s}, {"x": rolled}, {"x": adaptor}), expected)


@pytest.mark.parametrize("architecture, student, teacher, channels", [
    ("resnet", {"arch": "mobile_resnet_generator", "ngf": 16, "n_blocks": 9},
     {"arch": "mobile_resnet_generator", "ngf": 64, "n_blocks": 9}, [(64, 256)] * 4),
    ("unet", {"arch": "unet_generator", "ngf": 16, "num_downs": 6}, {"arch": "unet_generator", "ngf": 64, "num_downs": 6},
     [(32, 128), (128, 512), (256, 1024), (64, 256)]),
])
def test_cd_layers_are_omgds(architecture: str, student: dict, teacher: dict, channels: list) -> None:
    s_net, t_net = build_network(student), build_network(teacher)
    s_points, t_points = cd_layers(s_net, architecture), cd_layers(t_net, architecture)
    if architecture == "resnet":
        assert list(s_points.values()) == ["model.9", "model.12", "model.15", "model.18"]
    s_shapes, t_shapes = feature_shapes(s_net, s_points, 64, CPU), feature_shapes(t_net, t_points, 64, CPU)
    assert [(s_shapes[k][1], t_shapes[k][1]) for k in s_points] == channels
    assert all(s_shapes[k][2:] == t_shapes[k][2:] for k in s_points)


def test_deep_teachers_and_shared_discriminator() -> None:
    def expansions(spec: dict) -> int:
        return sum(isinstance(m, ExpansionResnetBlock) for m in build_network(spec).modules())

    assert expansions({"arch": "mobile_resnet_deepest_generator", "ngf": 4, "n_blocks": 9}) == 6
    assert expansions({"arch": "unet_deepest_generator", "ngf": 4, "num_downs": 8}) == 4 + 4 * 6  # innermost: none
    x = torch.randn(2, 6, 32, 32)
    shared = build_network({"arch": "shared_patchgan_discriminator", "ndf": 8, "n_share": 5, "norm": "batch"})
    assert torch.equal(shared(x, 0), shared(x, 1))
    split = build_network({"arch": "shared_patchgan_discriminator", "ndf": 8, "n_share": 3, "norm": "batch"})
    assert len(split.shared) == 3 and not torch.equal(split(x, 0), split(x, 1))


def test_planning_check_rejects_networks_it_cannot_serve() -> None:
    with pytest.raises(ValueError, match="one architecture"):
        OMGD.check_plan(StudentPlan({"arch": "unet_generator", "ngf": 4}, {"arch": "resnet_generator", "ngf": 8}, 32))
    with pytest.raises(ValueError, match="cannot use a student"):
        OMGD.check_plan(StudentPlan({"arch": "cifar_resnet"}, {"arch": "resnet_generator"}, 32))
    OMGD.check_plan(StudentPlan({"arch": "mobile_resnet_generator"}, {"arch": "resnet_generator"}, 32))


@pytest.mark.parametrize("override, message", [({"ssim_padding": "same"}, "ssim_padding"),
                                               ({"deep_teacher": "wide"}, "deep_teacher"),
                                               ({"n_share": 6}, "n_share"),
                                               ({"teacher_arch": "unet_generator"}, "different architectures")])
def test_bad_hyperparameters_fail_before_training(override: dict, message: str) -> None:
    data = load_task("synthetic_edges2shapes", size=32, n_train=4, n_test=2)
    method = METHODS.get("omgd")()
    with pytest.raises(ValueError, match=message):  # when resolved (declared choices and ranges) or at train's start
        method.train(TrainSetup(data, STUDENT, TEACHER, method.resolve_hparams(override), Schedule(steps=1), CPU, SEED,
                                RECIPE))


@pytest.fixture(scope="module")
def paired() -> ImageTranslationData:
    return load_task("synthetic_edges2shapes", **TASK)


def distil(data: ImageTranslationData, overrides: dict, steps: int = STEPS) -> TrainOutcome:
    method = METHODS.get("omgd")()
    schedule = Schedule(steps=steps, batch_size=4, log_every=1)
    return method.train(TrainSetup(data, STUDENT, TEACHER, method.resolve_hparams(overrides), schedule, CPU, SEED,
                                   RECIPE, log=lambda _: None))


def fall(history: dict, term: str) -> float:
    """Mean of the last ``WINDOW`` logged values of ``term`` over the mean of its first ``WINDOW``."""
    values = history[term]
    return statistics.mean(values[-WINDOW:]) / statistics.mean(values[:WINDOW])


def held_out_ssim(student: nn.Module, teacher: nn.Module, data: ImageTranslationData) -> float:
    """1 - SSIM between the student's and a teacher's translations of the held-out test inputs."""
    x = to_float(data.test_a, CPU)
    with torch.no_grad():
        return ssim_loss(student.eval()(x), teacher.eval()(x)).item()


def test_student_follows_its_two_online_teachers(paired: ImageTranslationData) -> None:
    """Without the VGG terms (tested above; they cost most of a step at this size) the SSIM, TV and channel
    terms alone must pull the student towards both teachers, which learn from scratch meanwhile."""
    out = distil(paired, {"ndf": 8, "lambda_style": 0, "lambda_feature": 0, "init": "pytorch"})  # as calibrated
    extras = out.extras
    assert extras["teacher_steps"] == STEPS and len(extras["teacher_deep"]) == 1
    assert extras["teacher_specs"][1]["arch"] == "mobile_resnet_deepest_generator"
    assert {"ssim", "tv", "cd", "T_G_recon_w", "T_G_recon_d", "T_D_real_w", "T_D_fake_d"} <= set(out.history)
    assert "G_gan" not in out.history and "style" not in out.history  # no student discriminator; VGG off
    assert fall(out.history, "T_G_recon_w") < 0.5 and fall(out.history, "T_G_recon_d") < 0.7  # teachers learn
    assert fall(out.history, "ssim") < 0.85 and fall(out.history, "cd") < 0.85
    torch.manual_seed(SEED)
    untrained = build_network(STUDENT)
    for teacher, bound in ((extras["teacher"], 0.8), (extras["teacher_deep"][0], 0.9)):
        assert held_out_ssim(out.model, teacher, paired) < bound * held_out_ssim(untrained, teacher, paired)


def test_cyclegan_one_online_teacher_in_windows(empty_hub: object) -> None:
    unpaired = load_task("synthetic_plain2striped", **TASK)
    # steps count the student's; windows of one teacher step (0.01 epochs rounds to the one-step minimum)
    out = distil(unpaired, {"steps_count": "student", "window_epochs": 0.01, "teacher_select": "latest"}, steps=8)
    extras = out.extras
    # 8 student steps, n_dis 4: 2 teacher steps in 2 windows, each followed by a selection; no deep teacher
    assert (extras["n_dis"], extras["teacher_steps"], extras["teacher_selections"]) == (4, 2, 2)
    assert [s["arch"] for s in extras["teacher_specs"]] == [TEACHER["arch"]] and extras["loss_weights"]["cd"] == 500
    assert {"ssim", "style", "feature", "tv", "cd", "T_cycle_A", "T_D_B"} <= set(out.history)
    assert "NOT ImageNet" in extras["vgg_weights"]

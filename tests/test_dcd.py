"""``dcd``: the discriminator-cooperated term (connectors, the discriminator's penultimate activation,
its frozen state, the U-Net layers, tiny images), a short seeded CycleGAN run in which the online
teacher trains first and the DCD term alone then trains the student, and the pix2pix defaults. CPU."""
from __future__ import annotations

import statistics
from itertools import chain
from types import SimpleNamespace

import pytest
import torch
from torch import nn

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import load_task
from kd_gan_bench.datasets.official_counts import CITYSCAPES, CYCLEGAN as OFFICIAL, PIX2PIX
from kd_gan_bench.methods.core.base import TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.online_teacher import epoch_steps, plan_schedule
from kd_gan_bench.methods.dcd.method import Connectors, dcd_loss, dcd_points, dcd_recipe, discriminator_trunk, min_input_side
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.recipes import build_discriminator, resolve_recipe
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule, set_requires_grad, tap_features

CPU = torch.device("cpu")
STUDENT = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2}
TEACHER = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}


def discriminator(paired: bool, layers: int = 3) -> nn.Module:
    torch.manual_seed(0)
    return build_discriminator(resolve_recipe({"ndf": 8, "d_layers": layers}, paired), paired)


def test_trunk_is_the_penultimate_activation() -> None:
    net_d = discriminator(paired=False)
    trunk = discriminator_trunk(net_d)
    x = torch.randn(2, 3, 64, 64)
    assert isinstance(trunk[-1], nn.LeakyReLU) and trunk(x).shape == (2, 64, 7, 7)   # 8 x ndf channels
    assert torch.equal(net_d.model[-1](trunk(x)), net_d(x))
    assert (min_input_side(trunk), min_input_side(discriminator_trunk(discriminator(False, 2)))) == (24, 12)
    with pytest.raises(ValueError, match="PatchGAN-style"):
        discriminator_trunk(nn.Linear(2, 2))


def test_dcd_loss_zero_when_equal_and_only_the_student_side_learns() -> None:
    net_d = discriminator(paired=True)
    set_requires_grad(net_d, False)
    trunk = discriminator_trunk(net_d)
    gen = torch.Generator().manual_seed(0)
    maps = {"a": torch.rand(2, 6, 8, 8, generator=gen), "b": torch.rand(2, 6, 32, 32, generator=gen)}
    assert dcd_loss(trunk, maps, maps).item() == 0.0       # 8 x 8 maps are upsampled to the D's 24 px minimum
    student = {k: (v + 0.1 * torch.rand(v.shape, generator=gen)).requires_grad_() for k, v in maps.items()}
    loss = dcd_loss(trunk, student, maps)
    loss.backward()
    assert loss.item() > 0 and all(v.grad is not None and v.grad.abs().sum() > 0 for v in student.values())
    assert all(p.grad is None for p in net_d.parameters())


@pytest.mark.parametrize("mode, teacher_learns", [("frozen", False), ("trained", True)])
def test_connectors(mode: str, teacher_learns: bool) -> None:
    torch.manual_seed(0)
    conn = Connectors({"x": 32}, {"x": 8}, 3, mode)
    conn.train()
    assert conn.student.training and conn.teacher.training == teacher_learns
    assert all(p.requires_grad == teacher_learns for p in conn.teacher.parameters())
    conv = conn.student["x"][0]
    assert conv.bias is None and abs(conv.weight.std().item() - 0.02) < 0.01      # init N(0, 0.02)
    t_feat = torch.randn(2, 32, 4, 4, requires_grad=True)
    s_maps, t_maps = conn.maps({"x": torch.randn(2, 8, 4, 4)}, {"x": t_feat})
    assert s_maps["x"].shape == t_maps["x"].shape == (2, 3, 4, 4) and bool((t_maps["x"] >= 0).all())
    assert s_maps["x"].requires_grad and t_maps["x"].requires_grad == teacher_learns
    with pytest.raises(ValueError, match="teacher_connector"):
        Connectors({"x": 32}, {"x": 8}, 3, "half")


def test_unet_layers_are_omgds() -> None:
    """OMGD's four U-Net paths: 2, 8, 16 and 4 x ngf channels at 1/4, 1/16, 1/16 and 1/4 of the side."""
    net = build_network({"arch": "unet_generator", "ngf": 4, "num_downs": 6})
    with torch.no_grad(), tap_features(net.eval(), dcd_points(net)) as feats:
        net(torch.zeros(1, 3, 64, 64))
    assert {k: tuple(v.shape[1:]) for k, v in feats.items()} == {
        "down2": (8, 16, 16), "down4": (32, 4, 4), "up4": (64, 4, 4), "up2": (16, 16, 16)}
    resnet = build_network({"arch": "mobile_resnet_generator", "ngf": 4, "n_blocks": 9})
    assert list(dcd_points(resnet).values()) == ["model.9", "model.12", "model.15", "model.18"]


def planned_epochs(suite: str, method: str, paired: bool, n_train: tuple[int, ...]) -> tuple[float, float]:
    """(teacher epochs, student epochs) the expanded paper suite gives ``method``'s first student job, counted
    over a training split of ``n_train`` images per domain, as its online-teacher plan trains them."""
    job = next(j for j in expand(SUITES.get(suite), methods=[method]) if j.phase == "student")
    assert job.teacher_id is None                                           # online teacher
    data = SimpleNamespace(paired=paired, train_a=range(n_train[0]), train_b=range(n_train[-1]))
    plan = plan_schedule(METHODS.get(method).resolve_hparams(job.hparams), data, Schedule(**job.schedule), method)
    per_epoch = epoch_steps(data, job.schedule["batch_size"])
    teacher_iterations = plan.teacher_steps * plan.n_dis if paired else plan.teacher_steps  # pix2pix: every n_dis-th
    return teacher_iterations / per_epoch, plan.student.steps / per_epoch


@pytest.mark.parametrize("method", ["dcd", "crd", "omgd"])
def test_horse2zebra_plans_200_teacher_and_800_student_epochs(method: str) -> None:
    """The public scripts' --nepochs 100 --nepochs_decay 100 --n_dis 4 (DCD, CRD and OMGD alike): n_dis counted once."""
    h2z = OFFICIAL["horse2zebra"]
    assert planned_epochs("cyclegan_horse2zebra", method, False, (h2z["trainA"], h2z["trainB"])) == (200, 800)


@pytest.mark.parametrize("suite, epochs", [("pix2pix_edges2shoes", 200), ("pix2pix_cityscapes", 750)])
def test_omgd_pix2pix_suites_run_its_scripts_epochs(suite: str, epochs: int) -> None:
    """OMGD's distill.sh: edges2shoes 100 + 100 epochs at batch 4, cityscapes 300 + 450 at batch 1 (ResNet)."""
    n_train = PIX2PIX["edges2shoes"]["train"] if suite == "pix2pix_edges2shoes" else CITYSCAPES["train"]
    assert planned_epochs(suite, "omgd", True, (n_train,)) == (epochs, epochs)
    job = next(j for j in expand(SUITES.get(suite), methods=["omgd"]) if j.phase == "student")
    assert (job.schedule["batch_size"], job.schedule["decay_from"]) == \
        ((4, 0.5) if suite == "pix2pix_edges2shoes" else (1, 300 / 750))


def fall(values: list[float], window: int = 5) -> float:
    return statistics.mean(values[-window:]) / statistics.mean(values[:window])


def test_dcd_term_alone_trains_the_student() -> None:
    """CycleGAN schedule, one teacher window (8 teacher steps at step 0), then 30 student steps against
    the frozen teacher and its frozen discriminator with only the DCD term on: the term falls."""
    data = load_task("synthetic_plain2striped", size=32, n_train=32, n_test=4)
    method = METHODS.get("dcd")()
    # steps count the student's; one window of one epoch (32 pairs at batch 4): all 8 teacher steps at step 0
    hp = method.resolve_hparams({"steps_count": "student", "window_epochs": 1.0, "teacher_select": "latest",
                                 "lambda_style": 0,
                                 "lambda_feature": 0, "lambda_gan": 0, "init": "pytorch"})  # as calibrated
    out = method.train(TrainSetup(data, STUDENT, TEACHER, hp, Schedule(steps=30, batch_size=4, lr=1e-3, log_every=1),
                                  CPU, 0, {"ndf": 8}, log=lambda _: None))
    extras = out.extras
    assert (extras["n_dis"], extras["teacher_steps"], extras["teacher_selections"]) == (4, 8, 1)
    assert {"T_cycle_A", "T_D_B"} <= set(out.history) and set(out.history) & {"style", "G_gan"} == set()
    assert extras["vgg_weights"] == "not used" and all(v > 0 for v in out.history["dcd"])
    assert fall(out.history["dcd"]) < 0.9                                   # seeds 0-2: 0.80-0.84
    frozen = extras["connectors"].teacher
    assert not frozen.training and all(not p.requires_grad for p in frozen.parameters())


def test_pix2pix_defaults(empty_hub: object) -> None:
    """The paired variant: teacher step then student step each iteration, the public code's weights
    (no student GAN term, DCD x 1, style 1e4, feature 10), a trained teacher connector to the
    6-channel conditional discriminator."""
    data = load_task("synthetic_edges2shapes", size=32, n_train=8, n_test=2)
    method = METHODS.get("dcd")()
    out = method.train(TrainSetup(data, STUDENT, TEACHER, method.resolve_hparams({}),
                                  Schedule(steps=2, batch_size=2, log_every=1), CPU, 0, {"ndf": 8},
                                  log=lambda _: None))
    assert {"dcd", "style", "feature", "T_G_l1"} <= set(out.history) and "G_gan" not in out.history
    assert out.extras["teacher_steps"] == 2 and "NOT ImageNet" in out.extras["vgg_weights"]
    # the online teacher's D, DCD's feature extractor, is the code's: n_layers, ndf 128, instance norm (hinge)
    net_d = out.extras["teacher_discriminator"]
    assert net_d.model[0].out_channels == 128 and net_d.model[0].in_channels == 6
    assert any(isinstance(m, nn.InstanceNorm2d) for m in net_d.modules())
    assert not any(isinstance(m, nn.BatchNorm2d) for m in net_d.modules())
    conn = out.extras["connectors"]
    assert conn.trained_teacher and conn.teacher.training
    assert all(c[0].out_channels == 6 for c in chain(conn.teacher.values(), conn.student.values()))


@pytest.mark.parametrize("paired", [False, True])
def test_dcd_loss_is_the_sum_of_per_layer_l1(paired: bool) -> None:
    """Layers batched through an instance-norm D (or called one by one through a BatchNorm D) give the
    per-layer definition: sum over layers of L1(D(S_l), D(T_l)), each call on that layer's maps alone."""
    net_d = discriminator(paired)
    set_requires_grad(net_d, False)
    trunk = discriminator_trunk(net_d)
    channels = 6 if paired else 3
    gen = torch.Generator().manual_seed(0)
    shapes = {"a": 32, "b": 32, "c": 48, "d": 32}
    student = {k: torch.rand(2, channels, n, n, generator=gen) for k, n in shapes.items()}
    teacher = {k: torch.rand(2, channels, n, n, generator=gen) for k, n in shapes.items()}
    expected = sum(torch.nn.functional.l1_loss(trunk(student[k]), trunk(teacher[k])) for k in shapes)
    assert dcd_loss(trunk, student, teacher).item() == pytest.approx(expected.item(), rel=1e-5)


def test_teacher_recipe_is_the_codes() -> None:
    """pix2pix: hinge, ndf 128, instance-norm D (options/distill_options.py, --norm instance); CycleGAN: the
    suite's recipe (the code's LSGAN, ndf 64); ``gan_mode``/``ndf``/``d_norm`` replace either; ``init`` travels."""
    hp = METHODS.get("dcd").resolve_hparams({})
    paired = dcd_recipe(hp, resolve_recipe({"ndf": 8}, True), True)
    assert (paired["gan_mode"], paired["ndf"], paired["d_norm"], paired["init"]) == ("hinge", 128, "instance", "normal")
    unpaired = dcd_recipe(hp, resolve_recipe({"ndf": 8}, False), False)
    assert (unpaired["gan_mode"], unpaired["ndf"], unpaired["d_norm"]) == ("lsgan", 8, "instance")
    chosen = dcd_recipe({**hp, "gan_mode": "vanilla", "ndf": 16, "d_norm": "batch"}, resolve_recipe({}, True), True)
    assert (chosen["gan_mode"], chosen["ndf"], chosen["d_norm"]) == ("vanilla", 16, "batch")


@pytest.mark.parametrize("gan_on, moves", [("teacher_output", False), ("student", True)])
def test_cyclegan_gan_term_on_the_teachers_output_gives_the_student_nothing(gan_on: str, moves: bool) -> None:
    """The code judges the teacher's output (cycleganbest_distiller.py): the term is logged but the student,
    with every other term off, does not move; ``gan_on="student"`` (the intent) moves it."""
    data = load_task("synthetic_plain2striped", size=32, n_train=8, n_test=2)
    method = METHODS.get("dcd")()
    hp = method.resolve_hparams({"steps_count": "student", "window_epochs": 1.0, "teacher_select": "latest",
                                 "lambda_style": 0, "lambda_feature": 0, "lambda_dcd": 0, "gan_on": gan_on})
    def run(lr: float) -> TrainOutcome:
        return method.train(TrainSetup(data, STUDENT, TEACHER, hp, Schedule(steps=3, batch_size=2, lr=lr, log_every=1),
                                       CPU, 0, {"ndf": 8}, log=lambda _: None))

    start = run(0.0).model.state_dict()                                 # lr 0: the student as built
    out = run(1e-3)
    assert len(out.history["G_gan"]) == 3 and all(v > 0 for v in out.history["G_gan"])    # LSGAN, logged
    moved = [not torch.equal(start[k], v) for k, v in out.model.state_dict().items()]
    assert any(moved) == moves

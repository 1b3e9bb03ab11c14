"""``cat_ka``: CAT's kernel alignment (the loss, its float32 accuracy against float64 on inputs where
the public code's form over/underflows), the batch-size check at planning time, and a short seeded
training run in which the KA term alone brings the student's features into alignment with the
teacher's. Seeded, CPU, a few seconds."""
from __future__ import annotations

import statistics
from itertools import chain

import pytest
import torch

import kd_gan_bench.methods  # noqa: F401  (registration)
from kd_gan_bench.benchmarks.planning.grid import check_plans, expand
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import load_task
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.losses.kernel_alignment import kernel_alignment, kernel_alignment_loss
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.recipes import train_recipe
from kd_gan_bench.benchmarks.core.registry import METHODS
from kd_gan_bench.methods.core.training import Schedule, tap_features, to_float

CPU = torch.device("cpu")
TEACHER = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}
STUDENT = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2}


def ka_float64(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
    """The public code's formula (CAT ``utils/common.py: KA``), evaluated in float64."""
    gx = x.double().flatten(1) @ x.double().flatten(1).T
    gy = y.double().flatten(1) @ y.double().flatten(1).T
    return (gx * gy).sum() / ((gx ** 2).sum() * (gy ** 2).sum()).sqrt()


def hard_inputs() -> dict[str, tuple[torch.Tensor, torch.Tensor]]:
    """Activation-like batches (4 x 64 x 32 x 32) at scales where the fourth powers leave float32's range,
    and one with a sample 1e4 times larger than the others (an ill-conditioned Gram matrix)."""
    gen = torch.Generator().manual_seed(0)
    base = torch.randn(4, 64, 32, 32, generator=gen).relu()
    other = base + 0.3 * torch.rand(4, 64, 32, 32, generator=gen)
    mixed = base.clone()
    mixed[0] *= 1e4
    return {"large": (base * 3e3, other * 1e3), "small": (base * 1e-9, other * 1e-8), "mixed": (mixed, other)}


@pytest.mark.parametrize("case", ["large", "small", "mixed"])
def test_kernel_alignment_float32_matches_float64(case: str) -> None:
    x, y = hard_inputs()[case]
    x64 = x.double().requires_grad_()
    ref = ka_float64(x64, y)
    ref.backward()
    x32 = x.clone().requires_grad_()
    value = kernel_alignment(x32, y)
    value.backward()
    assert value.dtype == torch.float32
    assert abs(value.item() - ref.item()) <= 1e-5 * abs(ref.item())
    grad_error = (x32.grad.double() - x64.grad).norm() / x64.grad.norm()
    assert grad_error <= 1e-4, grad_error.item()


def test_public_form_fails_in_float32_where_ours_does_not() -> None:
    """The reason for the rescaled form: the public formula in float32 gives inf/NaN-driven nonsense here."""
    x, y = hard_inputs()["large"]
    gx, gy = x.flatten(1) @ x.flatten(1).T, y.flatten(1) @ y.flatten(1).T
    public = (gx * gy).sum() / ((gx ** 2).sum() * (gy ** 2).sum()) ** 0.5
    assert not torch.isfinite(public) or abs(public.item() - ka_float64(x, y).item()) > 0.1
    assert torch.isfinite(kernel_alignment(x, y))


def test_kernel_alignment_properties() -> None:
    gen = torch.Generator().manual_seed(1)
    x, y = torch.randn(6, 8, 5, 5, generator=gen), torch.randn(6, 3, 7, 7, generator=gen)  # channel counts differ
    assert kernel_alignment(x, y).item() == pytest.approx(ka_float64(x, y).item(), rel=1e-6)
    assert kernel_alignment(x, x).item() == pytest.approx(1.0, abs=1e-6)
    assert kernel_alignment(3.0 * x, 0.01 * y).item() == pytest.approx(kernel_alignment(x, y).item(), rel=1e-6)
    assert kernel_alignment(x[:1], y[:1]).item() == pytest.approx(1.0, abs=1e-6)   # batch 1: no signal
    assert kernel_alignment(torch.zeros_like(x), y).item() == 0.0                   # no direction: 0, not NaN
    loss = kernel_alignment_loss({"a": x, "b": 2 * x}, {"a": y, "b": x})
    assert loss.item() == pytest.approx(-(ka_float64(x, y).item() + 1.0), rel=1e-6)
    with pytest.raises(ValueError, match="same number of samples"):
        kernel_alignment(x, y[:3])


def test_batch_one_is_refused_at_planning_and_at_training() -> None:
    suite = SUITES.get("default_i2i")
    with pytest.raises(ValueError, match=r"cat_ka.*batch_size >= 2.*student_schedule\.batch_size"):
        check_plans(expand(suite, methods=["cat_ka"], tasks=["synthetic_edges2shapes"],
                           overrides=["schedule.batch_size=1"]))
    jobs = [j for j in expand(suite, methods=["cat_ka"], tasks=["synthetic_edges2shapes"]) if j.method == "cat_ka"]
    assert jobs and all(j.schedule["batch_size"] == 4 for j in jobs)
    data = load_task("synthetic_edges2shapes", size=32, n_train=8, n_test=2)
    method = METHODS.get("cat_ka")()
    setup = TrainSetup(data, STUDENT, TEACHER, method.resolve_hparams({}), Schedule(steps=1, batch_size=1), CPU, 0,
                       teacher=torch.nn.Identity())
    with pytest.raises(ValueError, match="batch_size >= 2"):
        method.train(setup)


def test_paper_suites_train_cat_ka_at_cats_batch() -> None:
    for name in ("cyclegan_horse2zebra", "pix2pix_cityscapes"):
        jobs = [j for j in expand(SUITES.get(name), methods=["cat_ka", "output_kd"]) if j.phase == "student"]
        batches = {j.method: j.schedule["batch_size"] for j in jobs}
        assert batches == {"cat_ka": 80, "output_kd": 1}, name


def test_ground_truth_target_needs_pairs() -> None:
    data = load_task("synthetic_plain2striped", size=32, n_train=8, n_test=2)
    method = METHODS.get("cat_ka")()
    setup = TrainSetup(data, STUDENT, TEACHER, method.resolve_hparams({"recon_target": "ground_truth"}),
                       Schedule(steps=1, batch_size=2), CPU, 0, teacher=torch.nn.Identity())
    with pytest.raises(ValueError, match="needs a paired task"):
        method.train(setup)


def held_out_misalignment(student: torch.nn.Module, teacher: torch.nn.Module, images: torch.Tensor) -> float:
    """Sum over the layer pairs of 1 - KA(student, teacher) on held-out images (0 when aligned)."""
    points = teacher.distill_points()
    with torch.no_grad(), tap_features(student.eval(), points) as s, tap_features(teacher.eval(), points) as t:
        student(images), teacher(images)
        return len(points) + kernel_alignment_loss(dict(s), dict(t)).item()


def test_ka_term_alone_aligns_the_student() -> None:
    """With the output L1 and the GAN term off, the KA term alone trains the student: its features
    align with the teacher's (in training and on held-out images), the teacher is untouched and gets
    no gradient. Non-centred KA of ReLU features starts near 1, so the test compares the gaps 1 - KA."""
    data = load_task("synthetic_edges2shapes", size=32, n_train=48, n_test=8)
    quiet = lambda _: None  # noqa: E731
    teacher = train_recipe(TrainSetup(data, TEACHER, TEACHER, {}, Schedule(steps=20, batch_size=4, log_every=20),
                                      CPU, 0, {"ndf": 8, "init": "pytorch"}, log=quiet), TEACHER)
    for net in (teacher.model, teacher.discriminator):
        net.zero_grad(set_to_none=True)
    before = {k: v.clone() for k, v in teacher.model.state_dict().items()}
    method = METHODS.get("cat_ka")()
    # one KA over the batch, from PyTorch's init: the term alone, as calibrated (CAT's defaults are tested below)
    hp = method.resolve_hparams({"lambda_recon": 0, "lambda_gan": 0, "ka_groups": 1, "student_init": "scratch",
                                 "init": "pytorch"})
    out = method.train(TrainSetup(data, STUDENT, TEACHER, hp, Schedule(steps=30, batch_size=4, log_every=1), CPU, 0,
                                  {"ndf": 8}, teacher=teacher.model,
                                  teacher_discriminator=teacher.discriminator, log=quiet))
    assert max(out.history["recon"]) == 0 and max(out.history["G_gan"]) == 0
    layers, weight = len(teacher.model.distill_points()), 0.5            # paired: CAT's lambda 0.5
    gaps = [layers + v / weight for v in out.history["ka"]]
    assert all(0 < g <= layers for g in gaps)
    assert statistics.mean(gaps[-5:]) < 0.75 * statistics.mean(gaps[:5])    # seeds 0-2: 0.43-0.55
    torch.manual_seed(0)
    untrained = build_network(STUDENT)                                      # the loop's student before step 1
    images = to_float(data.test_a, CPU)
    trained_gap = held_out_misalignment(out.model, teacher.model, images)
    assert trained_gap < 0.85 * held_out_misalignment(untrained, teacher.model, images)  # seeds 0-2: 0.40-0.78
    assert all(torch.equal(before[k], v) for k, v in teacher.model.state_dict().items())
    assert all(p.grad is None for p in chain(teacher.model.parameters(), teacher.discriminator.parameters()))


def test_layers_subset_and_unknown_layer() -> None:
    method = METHODS.get("cat_ka")()
    student = build_network(STUDENT)
    assert method.feature_names(method.resolve_hparams({}), student) == list(student.distill_points())
    assert method.feature_names(method.resolve_hparams({"layers": "encoder, block2"}), student) == ["encoder", "block2"]
    with pytest.raises(ValueError, match="unknown or empty.*encoder"):
        method.feature_names(method.resolve_hparams({"layers": "block9"}), student)


def test_ka_is_summed_over_cats_per_gpu_groups() -> None:
    """CAT's scripts: 4 GPUs, KA per GPU over its share of the batch, the four summed (inception_distiller.py,
    gather(...).sum()). ``ka_groups`` 4 does that; at most batch // 2 groups, so that no group has one sample."""
    from kd_gan_bench.methods.core.plan_checks import ka_groups
    gen = torch.Generator().manual_seed(0)
    s, t = torch.randn(8, 4, 5, 5, generator=gen), torch.randn(8, 6, 5, 5, generator=gen)
    per_group = sum(kernel_alignment(s[i:i + 2], t[i:i + 2]) for i in range(0, 8, 2))
    assert kernel_alignment_loss({"x": s}, {"x": t}, 4).item() == pytest.approx(-per_group.item(), rel=1e-6)
    assert kernel_alignment_loss({"x": s}, {"x": t}).item() == pytest.approx(-kernel_alignment(s, t).item(), rel=1e-6)
    assert (ka_groups(4, 80), ka_groups(4, 4), ka_groups(4, 3), ka_groups(1, 80)) == (4, 2, 1, 1)
    with pytest.raises(ValueError, match="ka_groups must be an integer >= 1"):
        ka_groups(0, 80)
    assert METHODS.get("cat_ka").resolve_hparams({})["ka_groups"] == 4


def test_student_starts_from_the_teacher_and_pix2pix_d_is_hinge_128() -> None:
    """``student_init`` auto: GAN Compression's weight transfer where it applies (load_pretrained_weight), so the
    student's first filters are the teacher's; the pix2pix student D: hinge, ndf 128 (distill_options.py)."""
    from kd_gan_bench.methods.cat_ka.method import CatKA
    from kd_gan_bench.methods.core.plan_checks import StudentPlan, check_student_plan
    from kd_gan_bench.methods.core.recipes import resolve_recipe
    method, data = CatKA(), load_task("synthetic_edges2shapes", size=32, n_train=8, n_test=2)
    hp = method.resolve_hparams({})
    torch.manual_seed(0)
    teacher, student = build_network(TEACHER), build_network(STUDENT)
    setup = TrainSetup(data, STUDENT, TEACHER, hp, Schedule(steps=1, batch_size=2), CPU, 0)
    assert method.init_student(hp, setup, student, teacher).startswith("teacher")
    first_t, first_s = teacher.model[1].weight, student.model[1].weight
    assert all(any(torch.equal(row, trow) for trow in first_t) for row in first_s)
    paired = method.student_recipe(hp, resolve_recipe({"ndf": 8}, True), True)
    assert (paired["gan_mode"], paired["ndf"]) == ("hinge", 128)
    assert method.student_recipe(hp, resolve_recipe({"ndf": 8}, False), False)["ndf"] == 8
    unet = {"arch": "unet_generator", "ngf": 4, "num_downs": 5}
    check_student_plan("cat_ka", StudentPlan(unet, {**unet, "ngf": 8}, 32, {}, {"batch_size": 4}))  # auto: scratch
    with pytest.raises(ValueError, match="cat_ka student_init='teacher'"):
        check_student_plan("cat_ka", StudentPlan(unet, {**unet, "ngf": 8}, 32, {"student_init": "teacher"},
                                                 {"batch_size": 4}))

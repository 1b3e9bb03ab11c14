"""cGAN-KD: each stage on its contract (networks, subsampling, filtering, labels, KD loss) and tiny
end-to-end runs for classification and regression. Seeded and small: seconds per test on 2 CPU cores."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from benchmarks.metrics.complexity import count_macs, count_params
from datasets import load_task
from methods import METHODS
from methods.cgan_kd import FakeSet, build_fake_set, generator_from, resolve_fake_hparams
from methods.cgan_kd.cgan import VicinalLabels, generate
from methods.cgan_kd.filtering import (filter_net_schedule, filter_net_spec, keep_below, quantile_cutoff,
                                       replace_labels, teacher_labels, teacher_losses)
from methods.cgan_kd.subsampling import (DRE_DEFAULTS, DensityRatioModel, RejectionSampler, dre_steps,
                                         penalized_softplus_loss, rejection_step, train_density_ratio)
from methods.labelled_training import (LabelledTrainSetup, SGDSchedule, augment, evaluate_labelled, fake_subset,
                                       predict, train_classifier)
from methods.networks import build_network
from methods.vanilla_kd import hinton_kd_loss

CPU = torch.device("cpu")
SILENT = lambda _msg: None  # noqa: E731


@pytest.fixture(autouse=True, scope="module")
def one_torch_thread():
    """These networks are tiny: on a shared 2-core machine torch's second thread only adds contention
    (measured 5-10x slower training with 2 threads under load)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


# ---------------------------------------------------------------------------------------- networks
@pytest.mark.parametrize("arch, classes, params_m", [
    ("resnet20", 10, 0.27),     # He et al., CVPR 2016, Table 6 (CIFAR-10)
    ("resnet110", 10, 1.73),    # ibid.: 1.7M
    ("resnet8x4", 100, 1.23),   # CRD (Tian et al., ICLR 2020) / RepDistiller: 1.2M
    ("wrn_40_2", 100, 2.26),    # CRD / RepDistiller: 2.26M
    ("vgg8", 100, 3.96),        # CRD / RepDistiller: 3.96M
    ("mobilenetv2", 100, 0.81),  # RepDistiller mobile_half: 0.81M
    ("densenet121", 10, 6.96),   # kuangliu/pytorch-cifar DenseNet121 (cGAN-KD's filtering network): 6.96M
])
def test_classifier_params_match_the_literature(arch: str, classes: int, params_m: float) -> None:
    net = build_network({"arch": arch, "num_outputs": classes})
    assert round(count_params(net) / 1e6, 2) == params_m


def test_classifier_macs_and_outputs() -> None:
    # Li et al., "Pruning Filters for Efficient ConvNets", ICLR 2017, Table 1: ResNet-56 1.25e8, ResNet-110 2.53e8
    assert round(count_macs(build_network({"arch": "resnet56", "num_outputs": 10}), (1, 3, 32, 32)) / 1e8, 2) == 1.26
    assert round(count_macs(build_network({"arch": "resnet110", "num_outputs": 10}), (1, 3, 32, 32)) / 1e8, 2) == 2.53
    for arch in ("resnet20", "wrn_16_2", "mobilenetv2", "vgg8", "vgg11", "densenet121"):
        net = build_network({"arch": arch, "num_outputs": 1}).eval()
        x = torch.zeros(2, 3, 32, 32)
        assert net(x).shape == (2, 1) and net.embed(x).shape == (2, net.feature_dim)


# ------------------------------------------------------------------------------------- subsampling
def _shifted_normal_sampler(gen: torch.Generator) -> RejectionSampler:
    """Proposal N(0, 1); target N(+0.5, 1) for label 0 and N(-0.5, 1) for label 1: r = exp(s x - 1/8)."""
    def propose(n: int) -> tuple[torch.Tensor, torch.Tensor]:
        return torch.randn(n, generator=gen), torch.arange(n) % 2

    def ratio(x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        return torch.exp(torch.where(y == 0, 0.5, -0.5) * x - 0.125)

    return RejectionSampler(propose, ratio, gen)


def test_rejection_sampling_with_the_exact_ratio_recovers_the_target() -> None:
    gen = torch.Generator().manual_seed(0)
    sampler = _shifted_normal_sampler(gen)
    sampler.burn_in(5000, 1000)
    x, y = sampler.sample(8000, 1000, max_proposals=200_000)
    assert len(x) == 8000
    before = sampler.n_proposed
    few, _ = sampler.sample(10**6, 1000, max_proposals=3000)  # the budget ends it: what was accepted comes back
    assert sampler.n_proposed - before == 3000 and 0 < len(few) < 3000
    for label, mean in ((0, 0.5), (1, -0.5)):
        xs = x[y == label].double()
        assert abs(float(xs.mean()) - mean) < 0.06 and abs(float(xs.std()) - 1) < 0.06
        # Kolmogorov-Smirnov distance to the target N(mean, 1)
        xs = xs.sort().values
        cdf = torch.special.ndtr(xs - mean)
        ks = torch.maximum(torch.arange(1, len(xs) + 1) / len(xs) - cdf, cdf - torch.arange(len(xs)) / len(xs)).max()
        assert float(ks) < 0.03


def test_rejection_step_accepts_in_proportion_to_the_ratio() -> None:
    gen = torch.Generator().manual_seed(1)
    ratios = torch.tensor([0.25, 1.0, 2.0, 4.0]).repeat_interleave(20_000)
    accept, m = rejection_step(ratios, 4.0, torch.rand(len(ratios), generator=gen))
    rates = accept.view(4, -1).float().mean(1)
    assert m == 4.0 and torch.allclose(rates, torch.tensor([0.0625, 0.25, 0.5, 1.0]), atol=0.01)
    _, m = rejection_step(torch.tensor([0.5, 8.0]), 4.0, torch.zeros(2))
    assert m == 8.0  # M is the running maximum
    with pytest.raises(ValueError, match="gives 0 to every proposal"):
        rejection_step(torch.zeros(3), 0.0, torch.zeros(3))


def test_penalized_softplus_objective_is_minimised_by_the_density_ratio() -> None:
    # three atoms, p = (.2, .5, .3) real, q = (.4, .4, .2) fake: the unpenalised minimiser is p / q
    real_idx, fake_idx = torch.tensor([0] * 2 + [1] * 5 + [2] * 3), torch.tensor([0] * 4 + [1] * 4 + [2] * 2)

    def loss(r: torch.Tensor, lam: float = 0.0) -> torch.Tensor:
        return penalized_softplus_loss(r[real_idx], r[fake_idx], lam)

    ratio = torch.tensor([0.5, 1.25, 1.5], dtype=torch.float64, requires_grad=True)
    (grad,) = torch.autograd.grad(loss(ratio), ratio)
    assert float(grad.abs().max()) < 1e-12  # stationary at p / q
    ratio = ratio.detach()
    for i in range(3):
        for delta in (-0.05, 0.05):
            moved = ratio.clone()
            moved[i] += delta
            assert float(loss(moved)) > float(loss(ratio))
    assert float(loss(ratio, lam=1.0)) == pytest.approx(float(loss(ratio)))  # E_q[p/q] = 1: the penalty is 0 there


def test_trained_ratio_model_approximates_the_true_conditional_ratio() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.randint(0, 2, (4000,), generator=gen)
    real = (torch.randn(4000, generator=gen) + torch.where(labels == 0, 0.5, -0.5))[:, None]
    torch.manual_seed(0)
    model = DensityRatioModel(1, nn.Embedding(2, 4), 4, hidden=(32, 32), dropout=0.0)
    hp = {**DRE_DEFAULTS, "dre_steps": 250, "dre_batch_size": 256, "dre_lr": 1e-3, "dre_lambda": 0.0}
    train_density_ratio(model, real, labels, lambda y, g: torch.randn(len(y), 1, generator=g), hp, CPU, 0, log=SILENT)
    x = torch.linspace(-1.5, 1.5, 31)
    with torch.no_grad():
        for label, shift in ((0, 0.5), (1, -0.5)):
            r = model(x[:, None], torch.full((31,), label))
            true = torch.exp(shift * x - 0.125)
            assert float(((r - true).abs() / true).mean()) < 0.2
            assert float(torch.corrcoef(torch.stack([r, true]))[0, 1]) > 0.95


def test_vicinal_batches_respect_the_vicinity() -> None:
    labels = torch.linspace(0, 1, 50)
    gen = torch.Generator().manual_seed(0)
    for vicinity in ("hard", "soft"):
        v = VicinalLabels(labels, vicinity, kappa_mult=2.0, sigma=None, soft_threshold=1e-3)
        b = v.sample(500, gen)
        assert ((labels[b.real_idx] - b.target).abs() <= v.width + 1e-6).all()
        assert ((b.fake - b.target).abs() <= v.width + 1e-6).all() and b.fake.min() >= 0 and b.fake.max() <= 1
        if vicinity == "soft":
            assert (b.w_real > 1e-3 - 1e-6).all() and (b.w_fake <= 1).all()


# ------------------------------------------------------------------------------- filtering, labels
def test_filtering_keeps_exactly_the_samples_below_the_quantile() -> None:
    losses = torch.tensor([0.5, 3.0, 1.0, 2.0, 2.0, 0.1, 4.0, 1.5, 2.5, 0.7])
    cutoff = quantile_cutoff(losses, 0.7)
    assert cutoff == pytest.approx(2.15)  # numpy.quantile(losses, 0.7)
    assert keep_below(losses, cutoff).tolist() == (losses < 2.15).tolist()
    assert int(keep_below(losses, cutoff).sum()) == 7
    ties = torch.full((5,), 2.0)
    assert not keep_below(ties, quantile_cutoff(ties, 0.9)).any()  # strictly below: nothing survives ties
    logits, y = torch.randn(6, 4), torch.tensor([0, 1, 2, 3, 0, 1])
    ce = nn.functional.cross_entropy(logits, y, reduction="none")
    assert torch.allclose(teacher_losses(logits, y, "classification"), ce)
    assert teacher_losses(torch.tensor([[0.3], [0.9]]), torch.tensor([0.5, 0.5]), "regression").tolist() == \
        pytest.approx([0.2, 0.4])


def test_label_replacement_changes_exactly_the_disagreeing_labels() -> None:
    logits = torch.tensor([[5.0, 0, 0], [0, 0, 5.0], [0, 5.0, 0], [0, 5.0, 0]])
    labels = torch.tensor([0, 1, 1, 2])
    new, changed = replace_labels(labels, teacher_labels(logits, "classification"))
    assert new.tolist() == [0, 2, 1, 1] and changed.tolist() == [False, True, False, True]
    assert labels.tolist() == [0, 1, 1, 2]  # the input is untouched
    new, changed = replace_labels(torch.tensor([0.2, 0.5]), teacher_labels(torch.tensor([[0.2], [0.4]]), "regression"))
    assert new.tolist() == pytest.approx([0.2, 0.4]) and changed.tolist() == [False, True]


def test_vanilla_kd_loss_is_zero_when_student_equals_teacher() -> None:
    logits = torch.randn(8, 10)
    assert float(hinton_kd_loss(logits, logits.clone(), 4.0)) == pytest.approx(0.0, abs=1e-6)
    other = torch.randn(8, 10)
    assert float(hinton_kd_loss(logits, other, 4.0)) > 0
    at_t2 = float(hinton_kd_loss(logits * 2, other * 2, 2.0))
    assert at_t2 == pytest.approx(4 * float(hinton_kd_loss(logits, other, 1.0)), rel=1e-5)  # the T^2 factor


def test_augment_keeps_shape_and_crop_stays_inside_the_padding() -> None:
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).view(2, 3, 8, 8).to(torch.uint8)
    gen = torch.Generator().manual_seed(0)
    for mode in ("crop_flip", "flip", "none"):
        out = augment(x, mode, gen)
        assert out.shape == x.shape and out.dtype == torch.uint8 and out.is_contiguous()
    assert torch.equal(augment(x, "none", gen), x)
    with pytest.raises(ValueError, match="unknown augmentation"):
        augment(x, "rotate", gen)


# ---------------------------------------------------------------------------------------- pipeline
TINY_FAKE = dict(gan_steps=8, gan_batch_size=16, gan_d_steps=1, gan_ch=4, gan_dim_z=16, gan_dim_embed=16,
                 dre_steps=8, dre_batch_size=32, dre_hidden=[16], dre_dim_embed=8, rs_burn_in=20, rs_batch_size=20,
                 filter_burn_in=10, n_per_label=4, max_label_points=5, fid_samples=0, log_every=4,
                 filter_net="teacher")
TEACHER = {"arch": "cifar_resnet", "depth": 8, "widths": [8, 8, 16, 32]}
STUDENT = {"arch": "cifar_resnet", "depth": 8, "widths": [8, 8, 8, 16]}  # (oneDNN is very slow at 4 channels)
SCHEDULE = SGDSchedule(steps=20, batch_size=16, log_every=10)


class MemoryCheckpointer:
    def __init__(self) -> None:
        self.state: dict | None = None

    def load(self) -> dict | None:
        return copy.deepcopy(self.state)

    def save(self, state: dict) -> None:
        self.state = copy.deepcopy(state)

    def requested(self) -> bool:
        return False


def _students(data, teacher: nn.Module, fake: FakeSet) -> dict[str, dict]:
    nokd = METHODS.get("nokd")().train(LabelledTrainSetup(data, STUDENT, {}, SCHEDULE, CPU, 0, log=SILENT)).model
    results = {"nokd": evaluate_labelled(nokd, data, CPU)}
    for name in ("vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd"):
        method = METHODS.get(name)()
        out = method.train(LabelledTrainSetup(data, STUDENT, method.resolve_hparams({}), SCHEDULE, CPU, 0,
                                              teacher=teacher, fake_set=fake, student_init=nokd.state_dict(),
                                              log=SILENT))
        results[name] = evaluate_labelled(out.model, data, CPU)
        assert out.extras["n_train_fake"] == (len(fake) if method.uses_fake_set else 0)
    return results


def _check_funnel(fake: FakeSet, n_points: int) -> None:
    s = fake.stats
    assert s["n_generated"] >= s["n_after_subsampling"] >= s["n_after_filtering"] >= s["n_final"] == len(fake) > 0
    assert s["n_label_points"] == n_points and s["n_final"] <= n_points * s["n_per_label"]
    assert (s["n_final"] == n_points * s["n_per_label"]) == (s["n_short_labels"] == 0)


def test_end_to_end_classification(tmp_path: Path) -> None:
    from benchmarks.metrics.fid import compute_fid_kid, resolve_extractor

    data = load_task("synthetic_shapes10", size=16, n_train=120, n_test=40)
    teacher = train_classifier(data, TEACHER, SCHEDULE, CPU, 0, log=SILENT).model
    extractor = resolve_extractor(prefer="offline")
    fid_calls = []

    def fid_fn(fake: torch.Tensor, real: torch.Tensor) -> dict:  # what the harness will pass
        fid_calls.append(len(fake))
        return compute_fid_kid(fake, real, real_cache_name="shapes10_train_16px_n120_offline", cache_root=tmp_path,
                               extractor=extractor, device=CPU)

    ckpt = MemoryCheckpointer()
    fake = build_fake_set(data, teacher, {**TINY_FAKE, "fid_samples": 20}, CPU, 0, fid_fn=fid_fn,
                          checkpointer=ckpt, log=SILENT)
    _check_funnel(fake, 10)
    assert fake.stats["n_short_labels"] == 0  # every class filled
    assert fid_calls == [20, 40] and math.isfinite(fake.stats["fid_raw"]["fid"])
    assert fake.stats["fid_final"]["fid_extractor"] == "offline-randconv-v1"
    assert len(fake.stats["filter_cutoffs"]) == 10  # one cut-off per class
    # replaced labels are the teacher's arg-max on the kept images
    assert torch.equal(fake.labels, predict(teacher, fake.images, CPU).argmax(1))
    # the saved file round-trips, and its generator draws more samples
    fake.save(tmp_path / "fake.pt")
    loaded = FakeSet.load(tmp_path / "fake.pt")
    assert torch.equal(loaded.images, fake.images) and loaded.stats == fake.stats
    more = generate(generator_from(loaded), torch.tensor([3, 7]), CPU, torch.Generator().manual_seed(0))
    assert more.shape == (2, 3, 16, 16) and more.dtype == torch.uint8
    # a resumed job reuses the finished cGAN and ratio model and draws the same images; without label
    # replacement every class keeps its n_per_label fakes, and exactly the counted labels differ
    again = build_fake_set(data, teacher, {**TINY_FAKE, "replace_labels": False}, CPU, 0, checkpointer=ckpt,
                           log=SILENT)
    assert torch.equal(again.images, fake.images) and again.history == fake.history
    assert torch.bincount(again.labels, minlength=10).tolist() == [4] * 10
    assert int((again.labels != fake.labels).sum()) == fake.stats["n_labels_replaced"] > 0
    results = _students(data, teacher, fake)
    assert all(0 <= r["accuracy"] <= 100 for r in results.values())


def test_end_to_end_regression() -> None:
    data = load_task("synthetic_rotation", size=16, n_train=120, n_test=40)
    teacher = train_classifier(data, TEACHER, SCHEDULE, CPU, 0, log=SILENT).model
    fake = build_fake_set(data, teacher, {**TINY_FAKE, "ccgan_vicinity": "soft"}, CPU, 0, log=SILENT)
    _check_funnel(fake, 5)
    assert len(set(fake.stats["filter_cutoffs"])) == 1 and fake.stats["filter_rho"] == 0.7  # one cut-off for all labels
    assert fake.labels.dtype == torch.float32 and float(fake.labels.min()) >= 0 and float(fake.labels.max()) <= 90
    no_replace = build_fake_set(data, teacher, {**TINY_FAKE, "replace_labels": False}, CPU, 0, log=SILENT)
    assert no_replace.stats["n_labels_replaced"] == 0 and len(torch.unique(no_replace.labels)) <= 5  # the label points
    results = _students(data, teacher, fake)
    assert all(math.isfinite(r["mae"]) and r["mae"] >= 0 for r in results.values())


# --------------------------------------------------------------------------------------- bad input
def test_an_empty_class_after_filtering_is_named() -> None:
    data = load_task("synthetic_shapes10", size=16, n_train=40, n_test=10)
    torch.manual_seed(0)
    teacher = build_network({**TEACHER, "num_outputs": 10})
    nn.init.zeros_(teacher.fc.weight)  # constant logits: every loss ties, nothing lies strictly below the quantile
    with pytest.raises(ValueError, match="no fake sample of class 0 survived"):
        build_fake_set(data, teacher, {**TINY_FAKE, "subsample": False, "gan_steps": 1}, CPU, 0, log=SILENT)


def test_methods_say_what_they_are_missing() -> None:
    data = load_task("synthetic_shapes10", size=16, n_train=20, n_test=10)
    setup = LabelledTrainSetup(data, STUDENT, {}, SCHEDULE, CPU, 0, log=SILENT)
    with pytest.raises(ValueError, match="needs|distils from a pretrained teacher"):
        METHODS.get("vanilla_kd")().train(setup)
    with pytest.raises(ValueError, match="run the fake-set phase"):
        METHODS.get("cgan_kd")().train(setup)
    fake = FakeSet("classification", data.train_x[:4], data.train_y[:4], {})
    with pytest.raises(ValueError, match="student_init"):
        METHODS.get("cgan_kd")().train(LabelledTrainSetup(data, STUDENT, {}, SCHEDULE, CPU, 0, fake_set=fake,
                                                          log=SILENT))
    with pytest.raises(ValueError, match="no hyperparameter"):
        METHODS.get("cgan_kd").resolve_hparams({"rho": 0.5})
    with pytest.raises(ValueError, match="cGAN-KD fake set has no hyperparameter"):
        build_fake_set(data, nn.Identity(), {"n_fake": 3}, CPU, 0)
    with pytest.raises(ValueError, match="unknown schedule key"):
        SGDSchedule.from_mapping({"epochs": 3})


# ------------------------------------------------------------------------ the public code's settings
def test_fine_tuning_runs_at_lr_001_with_epochs_over_real_plus_fake() -> None:
    method = METHODS.get("cgan_kd")()
    hp = method.resolve_hparams({})
    suite = SGDSchedule(steps=1000, batch_size=50, lr=0.05, milestones=(0.5,))  # 10 epochs of 5,000 real images
    run = method.run_schedule(hp, suite, n_real=5000, n_fake=10000)
    # the public code's lr 0.01 and batch 128 whatever the suite's; the suite's 10 epochs over 15,000 images
    assert (run.lr, run.batch_size, run.steps, run.milestones) == (0.01, 128, round(10 * 15000 / 128), (0.5,))
    explicit = method.run_schedule({**hp, "epochs": 240, "milestones": [0.625, 0.75, 0.875]}, suite, 50000, 100000)
    assert explicit.steps == 240 * 1172 and explicit.milestones == (0.625, 0.75, 0.875)  # CIFAR-100: 150k per epoch
    on_real = {"epochs_over": "real", "batch_size": None, "lr": None}
    assert method.run_schedule({**hp, **on_real}, suite, 5000, 10000) == suite  # the suite's, as before them
    small = SGDSchedule(steps=300, batch_size=32)  # the default suite's: 9.6 epochs of 1,000 real images
    assert method.run_schedule({**hp, **on_real}, small, 1000, 300) == small
    with pytest.raises(ValueError, match="epochs_over must be one of"):
        method.run_schedule({**hp, "epochs_over": "fake"}, suite, 5000, 10000)
    with pytest.raises(ValueError, match="n_fake must be >= 1"):
        method.n_fake({**hp, "n_fake": 0})


def test_fake_subset_takes_n_over_c_per_class_and_a_uniform_subset_for_regression() -> None:
    gen = torch.Generator().manual_seed(0)
    labels = torch.arange(10).repeat_interleave(torch.tensor([5, 5, 5, 5, 5, 5, 5, 5, 5, 12]))
    fake = FakeSet("classification", torch.zeros(len(labels), 3, 4, 4, dtype=torch.uint8), labels, {})
    idx = fake_subset(fake, 25, 10, gen)
    # 25 // 10 = 2 per class, the last class the remainder 7 (as RepDistiller/dataset/cifar100.py), no repeats
    assert torch.bincount(labels[idx], minlength=10).tolist() == [2] * 9 + [7] and len(set(idx.tolist())) == 25
    assert torch.equal(fake_subset(fake, None, 10, gen), torch.arange(len(fake)))
    assert torch.equal(fake_subset(fake, 10 ** 6, 10, gen), torch.arange(len(fake)))
    reg = FakeSet("regression", torch.zeros(40, 3, 4, 4, dtype=torch.uint8), torch.linspace(1, 60, 40), {})
    picked = fake_subset(reg, 7, None, gen)
    assert len(picked) == len(set(picked.tolist())) == 7 and int(picked.max()) < 40


class RecordingTeacher(nn.Module):
    """A teacher that remembers every batch it is shown (cgan_kd+vanilla_kd shows it each training batch)."""

    def __init__(self, net: nn.Module) -> None:
        super().__init__()
        self.net, self.batches = net, []

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        self.batches.append(x.detach().clone())
        return self.net(x)


def test_students_learn_from_real_plus_the_fake_subset_in_the_codes_proportion() -> None:
    data = load_task("synthetic_shapes10", size=16, n_train=100, n_test=10)
    n_fake_all = 400
    white = torch.full((n_fake_all, 3, 16, 16), 255, dtype=torch.uint8)  # fakes recognisable in a batch
    fake = FakeSet("classification", white, torch.arange(n_fake_all) % 10, {})
    torch.manual_seed(0)
    teacher = RecordingTeacher(build_network({**TEACHER, "num_outputs": 10}))
    init = build_network({**STUDENT, "num_outputs": 10}).state_dict()
    method = METHODS.get("cgan_kd+vanilla_kd")()
    hp = method.resolve_hparams({"n_fake": 200, "batch_size": 32, "epochs": 2, "augment": "none"})
    out = method.train(LabelledTrainSetup(data, STUDENT, hp, SCHEDULE, CPU, 0, teacher=teacher, fake_set=fake,
                                          student_init=init, log=SILENT))
    steps = 2 * math.ceil(300 / 32)  # 2 epochs over 100 real + 200 fake
    assert out.extras == {"n_train_real": 100, "n_train_fake": 200, "steps": steps, "batch_size": 32, "lr": 0.01}
    batches = [b for b in teacher.batches if len(b) == 32]
    assert len(batches) == steps
    is_fake = torch.cat([(b == 1.0).flatten(1).all(1) for b in batches]).float()
    assert abs(float(is_fake.mean()) - 2 / 3) < 0.06  # 200 of 300 images: two thirds of every batch on average


def test_density_ratio_model_trains_for_epochs_with_lr_decays() -> None:
    assert dre_steps({**DRE_DEFAULTS}, 50000) == 200 * 196  # the public code: 200 epochs at batch 256, ~39k steps
    assert dre_steps({**DRE_DEFAULTS, "dre_steps": 7}, 50000) == 7
    with pytest.raises(ValueError, match="dre_milestones are fractions"):
        dre_steps({**DRE_DEFAULTS, "dre_milestones": [80, 150]}, 100)
    gen = torch.Generator().manual_seed(0)
    real = torch.randn(100, 4, generator=gen)
    hp = {**DRE_DEFAULTS, "dre_epochs": 5, "dre_batch_size": 20, "dre_hidden": [8], "dre_dim_embed": 4}
    model = DensityRatioModel(4, nn.Embedding(2, 4), 4, [8], 0.0)
    ckpt = MemoryCheckpointer()
    history = train_density_ratio(model, real, torch.arange(100) % 2, lambda y, g: torch.randn(len(y), 4, generator=g),
                                  hp, CPU, 0, log_every=1, checkpointer=ckpt, log=SILENT)
    assert history["steps"][-1] == 25  # 5 epochs of 100 / 20
    sched = ckpt.state["schedulers"]["dre"]
    assert dict(sched["milestones"]) == {10: 1, 18: 1}  # epochs 2 and 3.75 of 5: 0.4 and 0.75 of the run
    assert sched["_last_lr"] == [pytest.approx(1e-4 * 0.01)]  # decayed twice by 0.1


def test_filtering_network_is_the_codes_and_is_trained_on_the_real_data() -> None:
    assert filter_net_spec({"filter_net": None}, "classification") == {"arch": "densenet121"}
    assert filter_net_spec({"filter_net": None}, "regression") == {"arch": "vgg11"}
    assert filter_net_spec({"filter_net": "teacher"}, "regression") is None
    assert filter_net_schedule({"filter_net_schedule": None}, "classification", 50000).steps == 240 * 782
    utk = filter_net_schedule({"filter_net_schedule": None}, "regression", 11808)
    assert (utk.steps, utk.batch_size, utk.lr) == (350 * 93, 128, 0.01)
    with pytest.raises(ValueError, match="filter_net must be"):
        resolve_fake_hparams({"filter_net": "densenet"})
    data = load_task("synthetic_shapes10", size=16, n_train=60, n_test=20)
    tiny = {**TINY_FAKE, "subsample": False, "filter_net": STUDENT,
            "filter_net_schedule": {"steps": 6, "batch_size": 16}}
    ckpt = MemoryCheckpointer()
    fake = build_fake_set(data, None, tiny, CPU, 0, checkpointer=ckpt, log=SILENT)  # no teacher needed
    assert fake.stats["filter_net"] == STUDENT and fake.stats["filter_net_steps"] == 6
    assert 0 <= fake.stats["accuracy"] <= 100  # the filtering network's test quality, for the record
    assert ckpt.state["stages"]["filter_net"]["step"] == 6  # its own stage: a resumed job does not retrain it
    # the labels are the filtering network's predictions: retrain it alone (same seed) and compare
    net = train_classifier(data, STUDENT, SGDSchedule(steps=6, batch_size=16), CPU, 3, log=SILENT).model
    assert torch.equal(fake.labels, predict(net, fake.images, CPU).argmax(1))
    with pytest.raises(ValueError, match="needs the pair's teacher"):
        build_fake_set(data, None, {**tiny, "filter_net": "teacher"}, CPU, 0, log=SILENT)

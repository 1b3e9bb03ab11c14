"""cGAN-KD: each stage on its contract (networks, subsampling, filtering, labels, KD loss) and tiny
end-to-end runs for classification and regression. Seeded and small: seconds per test on 2 CPU cores."""
from __future__ import annotations

import copy
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from kd_gan_bench.benchmarks.metrics.complexity import count_macs, count_params
from kd_gan_bench.datasets import load_task
from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet
from kd_gan_bench.methods.cgan_kd.pipeline import build_fake_set, generator_from
from kd_gan_bench.methods.cgan_kd.cgan import VicinalLabels, generate
from kd_gan_bench.methods.cgan_kd.filtering import keep_below, quantile_cutoff, replace_labels, teacher_labels, teacher_losses
from kd_gan_bench.methods.cgan_kd.settings import DRE_DEFAULTS
from kd_gan_bench.methods.cgan_kd.subsampling import (DensityRatioModel, RejectionSampler, penalized_softplus_loss,
                                         rejection_step, train_density_ratio)
from kd_gan_bench.methods.core.labelled_training import (SGDSchedule, augment, evaluate_labelled, predict,
                                       train_classifier)
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.vanilla_kd.method import hinton_kd_loss

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
    nokd = METHODS.get("nokd")().train(TrainSetup(data, STUDENT, {}, {}, SCHEDULE, CPU, 0, log=SILENT)).model
    results = {"nokd": evaluate_labelled(nokd, data, CPU)}
    for name in ("vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd"):
        method = METHODS.get(name)()
        out = method.train(TrainSetup(data, STUDENT, {}, method.resolve_hparams({}), SCHEDULE, CPU, 0,
                                      teacher=teacher, inputs={"fake_set": fake, "student_init": nokd.state_dict()},
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
    from kd_gan_bench.benchmarks.metrics.fid import compute_fid_kid, resolve_extractor

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
    setup = TrainSetup(data, STUDENT, {}, {}, SCHEDULE, CPU, 0, log=SILENT)
    with pytest.raises(ValueError, match="needs|distils from a pretrained teacher"):
        METHODS.get("vanilla_kd")().train(setup)
    with pytest.raises(ValueError, match="run the fake-set phase"):
        METHODS.get("cgan_kd")().train(setup)
    fake = FakeSet("classification", data.train_x[:4], data.train_y[:4], {})
    with pytest.raises(ValueError, match="student_init"):
        METHODS.get("cgan_kd")().train(TrainSetup(data, STUDENT, {}, {}, SCHEDULE, CPU, 0, inputs={"fake_set": fake},
                                                  log=SILENT))
    with pytest.raises(ValueError, match="no hyperparameter"):
        METHODS.get("cgan_kd").resolve_hparams({"rho": 0.5})
    with pytest.raises(ValueError, match="cGAN-KD fake set has no hyperparameter"):
        build_fake_set(data, nn.Identity(), {"n_fake": 3}, CPU, 0)
    with pytest.raises(ValueError, match="unknown schedule key"):
        SGDSchedule.from_mapping({"epochs": 3})


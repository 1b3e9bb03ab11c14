"""Every method's own loss terms against golden figures computed by running the public code.

tests/golden/losses.json holds, per figure, the value and the input gradients that the public repositories'
code gave on the seeded float64 inputs of :mod:`tests.golden_inputs` (CRD ``relation_kd.py``; OMGD's
``MultiTeacherDistiller.backward_G_student`` and ``calc_CD_loss``; CAT's ``KA``; DCD's ``calc_DCD_loss``;
``GANLoss``; cGAN-KD's density-ratio loss and filtering cut-off), with the repository commit, file and function
each came from and the patch, if any, that current PyTorch needed. The public code itself is not stored. Our
functions, called through the methods' public loss functions, must give the same value and gradients within
1e-6 relative in float64 (a gradient: ||ours - golden|| <= 1e-6 ||golden||).

Patches the public side needed are recorded with each figure; one concerns precision: OMGD's ``create_window``
builds its Gaussian window in float32 (``torch.Tensor`` then ``.float()``), which alone moves the float64 SSIM
gradient by 1.5e-7 (random images) to 2.3e-5 (flat halves) relative, so its window was built in float64; our
torchmetrics-based ``ssim_loss`` equals that to 6e-15.

SRPKD and ReKo have no public code: their terms are checked against direct float64 references written here
from the formulas of METHODS.md (loops over positions), independent of the vectorised implementation.
"""
from __future__ import annotations

import json
import math
from pathlib import Path

import pytest
import torch
from torch import nn

from kd_gan_bench.methods.cgan_kd.filtering import keep_below, quantile_cutoff, teacher_losses
from kd_gan_bench.methods.cgan_kd.subsampling import penalized_softplus_loss
from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.crd.method import content_relation_losses
from kd_gan_bench.methods.dcd.method import Connectors, dcd_term, discriminator_trunk
from kd_gan_bench.methods.core.distill import StepTensors
from kd_gan_bench.methods.losses.contrastive import attention_map, gather_positions, patch_nce_loss, select_regions
from kd_gan_bench.methods.losses.kernel_alignment import kernel_alignment, kernel_alignment_loss
from kd_gan_bench.methods.losses.multi_granularity import cd_adaptor, channel_distillation
from kd_gan_bench.methods.losses.relation_matrix import relation_loss
from kd_gan_bench.methods.networks.discriminators import PatchGANDiscriminator
from kd_gan_bench.methods.omgd.method import image_losses, omgd_vgg
from kd_gan_bench.methods.core.training import gan_loss

try:
    from tests.golden_inputs import flat_halves, images, randn, seeded_state, unpack
except ImportError:  # pytest's rootdir-relative import mode
    from golden_inputs import flat_halves, images, randn, seeded_state, unpack

GOLDEN = json.loads((Path(__file__).parent / "golden" / "losses.json").read_text())["figures"]
RTOL = 1e-6
PAIRS = {"random": (lambda: images(11, 2, 3, 16, 16), lambda: images(12, 2, 3, 16, 16)),
         "flat": (lambda: flat_halves(13, 2, 3, 16, 16), lambda: flat_halves(14, 2, 3, 16, 16))}
SECOND_TEACHER = {"random": lambda: images(15, 2, 3, 16, 16), "flat": lambda: flat_halves(16, 2, 3, 16, 16)}


def leaf(x: torch.Tensor) -> torch.Tensor:
    return x.clone().requires_grad_(True)


def assert_golden(name: str, value: torch.Tensor | float, grads: dict[str, torch.Tensor | None]) -> None:
    """Value within RTOL relative, each gradient within RTOL of the golden gradient's norm."""
    golden = GOLDEN[name]
    value = float(value.detach()) if torch.is_tensor(value) else float(value)
    assert math.isfinite(value)
    assert abs(value - golden["value"]) <= RTOL * abs(golden["value"]), \
        f"{name}: {value!r} != public code's {golden['value']!r} ({golden['source']['file']})"
    assert set(grads) == set(golden["grads"]), name
    for key, grad in grads.items():
        want = unpack(golden["grads"][key])
        assert grad is not None and grad.shape == want.shape, (name, key)
        err = float((grad - want).norm())
        assert err <= RTOL * golden["grads"][key]["norm"], \
            f"{name} d/d{key}: |diff| {err:.3g} against |grad| {golden['grads'][key]['norm']:.3g}"


def test_golden_file_records_where_each_figure_came_from() -> None:
    for name, figure in GOLDEN.items():
        source = figure["source"]
        assert len(source["commit"]) == 40 and source["repo"] and source["file"] and source["function"], name
        assert figure["inputs"], name


# ---------------------------------------------------------------- CRD: RKD on rows, columns and patches

RKD_CASES = [(slicing, wd, wa, kind) for kind in PAIRS for slicing, wd, wa in
             (("row", 1, 2), ("row", 1, 0), ("row", 0, 1), ("column", 1, 2), ("patch", 1, 2))]


@pytest.mark.parametrize("slicing,wd,wa,kind", RKD_CASES)
def test_crd_rkd_terms_equal_the_public_relation_kd(slicing: str, wd: int, wa: int, kind: str) -> None:
    s, t = leaf(PAIRS[kind][0]()), PAIRS[kind][1]()
    weights = {"row": 0.0, "column": 0.0, "patch": 0.0, slicing: 1.0}
    loss = content_relation_losses(s, t, weights, patch_size=4, distance_weight=wd, angle_weight=wa)[slicing]
    loss.backward()
    assert_golden(f"crd_rkd_{slicing}_d{wd}_a{wa}_{kind}", loss, {"student": s.grad})


# ---------------------------------------------------------------- OMGD: SSIM, style, feature, TV; CD

def seeded_vgg():
    vgg = omgd_vgg(None).double()
    vgg.features.load_state_dict(seeded_state(vgg.features, 21, 0.05))
    return vgg


@pytest.fixture(scope="module")
def vgg():
    return seeded_vgg()


@pytest.mark.parametrize("kind", PAIRS)
@pytest.mark.parametrize("term", ["ssim", "style", "feature", "tv"])
def test_omgd_image_terms_equal_the_public_student_loss(vgg, term: str, kind: str) -> None:
    s = leaf(PAIRS[kind][0]())
    teachers = [PAIRS[kind][1](), SECOND_TEACHER[kind]()]
    weights = {"ssim": 0.0, "style": 0.0, "feature": 0.0, "tv": 0.0, term: 1.0}
    loss = image_losses(vgg, s, teachers, weights, padding="zeros")[term]
    loss.backward()
    assert_golden(f"omgd_{term}_{kind}", loss, {"student": s.grad})


def test_omgd_channel_distillation_equals_calc_cd_loss() -> None:
    s_shapes, t_shapes = [(2, 4, 8, 8), (2, 8, 4, 4)], [(2, 8, 8, 8), (2, 16, 4, 4)]
    adaptors = {}
    for i, (ss, ts) in enumerate(zip(s_shapes, t_shapes)):
        adaptors[f"l{i}"] = cd_adaptor(ss[1], ts[1]).double().train()
        adaptors[f"l{i}"].load_state_dict(seeded_state(adaptors[f"l{i}"], 31 + i, 0.3))
    s_feats = {f"l{i}": leaf(randn(41 + i, *s)) for i, s in enumerate(s_shapes)}
    t_feats = {f"l{i}": randn(51 + i, *s) for i, s in enumerate(t_shapes)}
    loss = channel_distillation(s_feats, t_feats, adaptors)
    loss.backward()
    assert_golden("omgd_cd", loss, {f"student_{i}": s_feats[f"l{i}"].grad for i in range(2)})


# ---------------------------------------------------------------- CAT: kernel alignment

CAT_S, CAT_T = [(8, 4, 4, 4), (8, 8, 2, 2), (8, 6, 4, 4)], [(8, 8, 4, 4), (8, 16, 2, 2), (8, 6, 4, 4)]


def cat_features() -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
    return ({f"l{i}": leaf(randn(61 + i, *s)) for i, s in enumerate(CAT_S)},
            {f"l{i}": randn(71 + i, *s) for i, s in enumerate(CAT_T)})


def test_cat_kernel_alignment_equals_the_public_ka() -> None:
    s, t = cat_features()
    ka = kernel_alignment(s["l0"], t["l0"])
    ka.backward()
    assert_golden("cat_ka_single", ka, {"student_0": s["l0"].grad})


def test_cat_ka_loss_sums_minus_ka_over_layers() -> None:
    s, t = cat_features()
    loss = kernel_alignment_loss(s, t)
    loss.backward()
    assert_golden("cat_ka_loss", loss, {f"student_{i}": s[f"l{i}"].grad for i in range(3)})


def test_cat_ka_per_group_sum_equals_the_public_multi_gpu_loss() -> None:
    """CAT's scripts run 4 GPUs: DataParallel splits the batch in 4 chunks and the per-replica -KA are summed.
    ``cat_ka``'s term, computed by the method with its default ``ka_groups`` (4), must equal it."""
    s, t = cat_features()
    method = METHODS.get("cat_ka")()
    hp = {**method.defaults, "lambda_ka": 1.0}
    assert hp["ka_groups"] == 4
    images = torch.zeros(CAT_S[0][0], 3, 4, 4, dtype=torch.float64)  # the batch size the groups are drawn from
    loss = method.losses(hp, StepTensors(images, images, images, images, s, t, paired=False), nn.ModuleDict())["ka"]
    loss.backward()
    assert_golden("cat_ka_loss_4_groups", loss, {f"student_{i}": s[f"l{i}"].grad for i in range(3)})


# ---------------------------------------------------------------- DCD: connector maps through the teacher D

def test_dcd_map_loss_equals_calc_dcd_loss() -> None:
    s_shapes = [(2, 4, 24, 24)] * 2 + [(2, 4, 26, 26)]
    t_shapes = [(2, 8, 24, 24)] * 2 + [(2, 8, 26, 26)]
    names = [f"layer{i}" for i in range(3)]
    net_d = PatchGANDiscriminator(3, ndf=4, n_layers=3, norm="instance").double()
    net_d.load_state_dict(seeded_state(net_d, 81, 0.2))
    connectors = Connectors({k: 8 for k in names}, {k: 4 for k in names}, 3, "frozen").double()
    for i, k in enumerate(names):
        connectors.teacher[k].load_state_dict(seeded_state(connectors.teacher[k], 91 + i, 0.3))
        connectors.student[k].load_state_dict(seeded_state(connectors.student[k], 101 + i, 0.3))
    s_feats = {k: leaf(randn(111 + i, *s)) for i, (k, s) in enumerate(zip(names, s_shapes))}
    t_feats = {k: randn(121 + i, *s) for i, (k, s) in enumerate(zip(names, t_shapes))}
    loss = dcd_term(discriminator_trunk(net_d), connectors, s_feats, t_feats)
    loss.backward()
    assert_golden("dcd_map_loss", loss, {f"student_{i}": s_feats[k].grad for i, k in enumerate(names)})


# ---------------------------------------------------------------- GAN losses

@pytest.mark.parametrize("mode", ["lsgan", "vanilla", "hinge"])
@pytest.mark.parametrize("case,real,for_d", [("d_real", True, True), ("d_fake", False, True), ("g", True, False)])
def test_gan_loss_equals_the_public_ganloss(mode: str, case: str, real: bool, for_d: bool) -> None:
    p = leaf(randn(131, 2, 1, 6, 6) * 1.5)
    loss = gan_loss(p, real, mode, for_discriminator=for_d)
    loss.backward()
    assert_golden(f"gan_{mode}_{case}", loss, {"prediction": p.grad})


# ---------------------------------------------------------------- cGAN-KD

def test_cgan_kd_density_ratio_loss_equals_train_cdre() -> None:
    r_real, r_fake = leaf(randn(141, 64).abs() * 8), leaf(randn(142, 64).abs() * 8)
    assert float(r_fake.max()) > 20  # crosses Softplus' threshold
    loss = penalized_softplus_loss(r_real, r_fake, 0.01)
    loss.backward()
    assert_golden("cgan_kd_dre_loss", loss, {"r_real": r_real.grad, "r_fake": r_fake.grad})


def test_cgan_kd_filtering_cutoff_equals_the_public_quantile() -> None:
    logits = randn(151, 200, 10) * 2
    labels = torch.randint(0, 10, (200,), generator=torch.Generator().manual_seed(152))
    losses = teacher_losses(logits, labels, "classification")
    cutoff = quantile_cutoff(losses, 0.9)
    golden = GOLDEN["cgan_kd_cutoff_classification"]
    assert abs(cutoff - golden["value"]) <= RTOL * golden["value"]
    assert int(keep_below(losses, cutoff).sum()) == golden["kept"]

    pred = torch.rand(200, 1, generator=torch.Generator().manual_seed(153), dtype=torch.float64)
    target = torch.rand(200, generator=torch.Generator().manual_seed(154), dtype=torch.float64)
    losses = teacher_losses(pred, target, "regression")
    cutoff = quantile_cutoff(losses, 0.9)
    golden = GOLDEN["cgan_kd_cutoff_regression"]
    assert abs(cutoff - golden["value"]) <= RTOL * golden["value"]
    assert int(keep_below(losses, cutoff).sum()) == golden["kept"]


# ---------------------------------------------------------------- SRPKD and ReKo (no public code)

def direct_relation_loss(student: torch.Tensor, teacher: torch.Tensor, pool: int) -> torch.Tensor:
    """METHODS.md's SRPKD formula, position by position: average-pool by ``pool``, cosine of every pair of
    positions' C-vectors, mean squared difference between student and teacher."""
    def pooled(f: torch.Tensor) -> torch.Tensor:
        b, c, h, w = f.shape
        return f.reshape(b, c, h // pool, pool, w // pool, pool).mean(dim=(3, 5))

    def relations(f: torch.Tensor) -> list[list[list[torch.Tensor]]]:
        vectors = [[f[i, :, y, x] for y in range(f.shape[2]) for x in range(f.shape[3])] for i in range(f.shape[0])]
        return [[[torch.dot(p, q) / (p.norm() * q.norm()) for q in image] for p in image] for image in vectors]

    rs, rt = relations(pooled(student)), relations(pooled(teacher).detach())
    diffs = [(a - b) ** 2 for i in range(len(rs)) for row_s, row_t in zip(rs[i], rt[i]) for a, b in zip(row_s, row_t)]
    return torch.stack(diffs).mean()


@pytest.mark.parametrize("max_side,pool", [(None, 1), (2, 2)])
def test_srpkd_relation_loss_equals_a_direct_reference(max_side, pool: int) -> None:
    s, t = leaf(randn(161, 2, 5, 4, 4)), randn(162, 2, 7, 4, 4)
    s_ref = leaf(s.detach())
    loss, ref = relation_loss(s, t, max_side), direct_relation_loss(s_ref, t, pool)
    loss.backward()
    ref.backward()
    assert abs(float(loss) - float(ref)) <= RTOL * abs(float(ref))
    assert float((s.grad - s_ref.grad).norm()) <= RTOL * float(s_ref.grad.norm())


def direct_reko_loss(s_feat: torch.Tensor, t_feat: torch.Tensor, k: int, tau: float, kind: str) -> torch.Tensor:
    """METHODS.md's ReKo formula, position by position: teacher energy per position (mean over channels of
    F^2 or |F|), the k most energetic positions, InfoNCE at each with the teacher feature at the same
    position as the positive and those at the other kept positions as negatives (unit vectors, / tau)."""
    terms = []
    for i in range(s_feat.shape[0]):
        positions = [(y, x) for y in range(t_feat.shape[2]) for x in range(t_feat.shape[3])]
        energy = [float((t_feat[i, :, y, x] ** 2).mean() if kind == "l2" else t_feat[i, :, y, x].abs().mean())
                  for y, x in positions]
        kept = [positions[j] for j in sorted(range(len(positions)), key=lambda j: -energy[j])[:k]]
        queries = [s_feat[i, :, y, x] / s_feat[i, :, y, x].norm() for y, x in kept]
        keys = [t_feat[i, :, y, x] / t_feat[i, :, y, x].norm() for y, x in kept]
        for a, q in enumerate(queries):
            logits = torch.stack([torch.dot(q, key) / tau for key in keys])
            terms.append(torch.logsumexp(logits, 0) - logits[a])
    return torch.stack(terms).mean()


@pytest.mark.parametrize("kind", ["l2", "l1"])
def test_reko_region_contrastive_loss_equals_a_direct_reference(kind: str) -> None:
    s, t = leaf(randn(171, 2, 6, 4, 4)), randn(172, 2, 6, 4, 4)
    s_ref = leaf(s.detach())
    index = select_regions(attention_map(t, kind), 5)
    energy = t.flatten(2).pow(2).mean(1) if kind == "l2" else t.flatten(2).abs().mean(1)
    assert torch.allclose(attention_map(t, kind), energy / energy.sum(1, keepdim=True), rtol=1e-12, atol=0)
    loss = patch_nce_loss(gather_positions(s, index), gather_positions(t, index), tau=0.07)
    ref = direct_reko_loss(s_ref, t, 5, 0.07, kind)
    loss.backward()
    ref.backward()
    assert abs(float(loss) - float(ref)) <= RTOL * abs(float(ref))
    assert float((s.grad - s_ref.grad).norm()) <= RTOL * float(s_ref.grad.norm())

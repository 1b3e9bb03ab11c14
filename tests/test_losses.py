"""The methods' loss functions: RKD distance/angle and CRD's slicing, SRPKD's relation matrix,
ReKo's attention and InfoNCE, VGG16 perceptual features and their weights loading.

Every loss is checked for the properties that make it the loss it claims to be: zero (or minimal)
when student and teacher agree, growing as they diverge, its invariances, gradients that reach the
student and never the teacher, and bounded memory at 256x256. Seeded, CPU, small.
"""
from __future__ import annotations

import logging
import math
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
import torchvision

from kd_gan_bench.methods.core import perceptual
from kd_gan_bench.methods.losses.contrastive import attention_map, gather_positions, patch_nce_loss, select_regions
from kd_gan_bench.methods.losses.relation_matrix import relation_loss, relation_matrix
from kd_gan_bench.methods.losses.relational import (angle_cosines, column_slices, pairwise_distances, patch_slices, rkd_angle_loss,
                                       rkd_angle_loss_reference, rkd_distance_loss, rkd_loss, row_slices)
from kd_gan_bench.methods.weights.resolver import WeightsError
from kd_gan_bench.methods.core.perceptual import (VGG16_WEIGHTS_FILENAME, VGG16Features, frechet_distance, gram_matrix, style_loss,
                                vgg_cache_path)


def rand(*shape: int, seed: int = 0, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    return torch.randn(*shape, generator=torch.Generator().manual_seed(seed), dtype=dtype)


def direct_cosines(x: torch.Tensor) -> torch.Tensor:
    """The textbook angle cosines of one set (N x D): normalised difference vectors, all pairs."""
    unit = F.normalize(x[None, :, :] - x[:, None, :], dim=2)
    return unit @ unit.transpose(1, 2)


def saved_bytes(fn) -> int:
    """Bytes of the tensors autograd keeps for the backward of ``fn()``'s graph."""
    total = 0

    def pack(t: torch.Tensor) -> torch.Tensor:
        nonlocal total
        total += t.numel() * t.element_size()
        return t

    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        fn().backward()
    return total


# ---- RKD angle: the Gram form equals the direct formula -----------------------------------------------

def test_angle_cosines_equal_direct_formula_float64() -> None:
    x = rand(3, 17, 11, dtype=torch.float64)
    got = angle_cosines(x)
    want = torch.stack([direct_cosines(s) for s in x])
    assert torch.allclose(got, want, rtol=0, atol=1e-12)


@pytest.mark.parametrize("chunk_elements", [1, 300, 1 << 18])
def test_angle_loss_and_gradient_equal_direct_formula_float64(chunk_elements: int) -> None:
    s = rand(2, 15, 6, seed=1, dtype=torch.float64).requires_grad_()
    t = 3 * rand(2, 15, 9, seed=2, dtype=torch.float64)
    ours = rkd_angle_loss(s, t, chunk_elements)
    (g_ours,) = torch.autograd.grad(ours, s)
    ref = rkd_angle_loss_reference(s, t)
    (g_ref,) = torch.autograd.grad(ref, s)
    assert abs(ours.item() - ref.item()) < 1e-14
    assert torch.allclose(g_ours, g_ref, rtol=1e-9, atol=1e-15)


def test_angle_gradient_passes_gradcheck() -> None:
    s = rand(1, 7, 4, seed=3, dtype=torch.float64).requires_grad_()
    t = rand(1, 7, 5, seed=4, dtype=torch.float64)
    assert torch.autograd.gradcheck(lambda x: rkd_angle_loss(x, t, chunk_elements=60), (s,))


def test_angle_loss_survives_duplicate_rows_in_float32() -> None:
    # Flat backgrounds give identical rows; the Gram form must not turn their zero distance into noise.
    image = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(5)) * 2 - 1
    image[:, :, 5:20] = 1.0
    other = torch.rand(1, 3, 48, 48, generator=torch.Generator().manual_seed(6)) * 2 - 1
    for s, t in ((row_slices(other), row_slices(image)), (row_slices(image), row_slices(other))):
        ours, ref = rkd_angle_loss(s, t), rkd_angle_loss_reference(s.double(), t.double())
        assert abs(ours.item() - ref.item()) < 1e-6 * ref.item()


def flat_halves(seed: int, size: int = 256, noise: float = 1e-4) -> torch.Tensor:
    """1 x 3 x size x size: two flat halves of random colours (a white background, a sky) plus tiny noise."""
    gen = torch.Generator().manual_seed(seed)
    image = torch.empty(1, 3, size, size)
    image[..., : size // 2, :] = torch.rand(1, 3, 1, 1, generator=gen) * 2 - 1
    image[..., size // 2:, :] = torch.rand(1, 3, 1, 1, generator=gen) * 2 - 1
    return image + noise * torch.randn(image.shape, generator=gen)


# seed 44: the hardest float32 gradient seen (4.2e-5 when the gradient took every (b, c) sum as symmetric; 7e-6 now)
@pytest.mark.parametrize(("slicing", "seed"), [("rows", 40), ("patches", 40), ("patches", 44)])
def test_angle_loss_float32_matches_float64_on_nearly_equal_slices(slicing: str, seed: int) -> None:
    # Issue 12 bug 2: on flat halves + 1e-4 noise the float32 Gram form was 5x-50x off; within 1e-4 now.
    slicer = row_slices if slicing == "rows" else (lambda x: patch_slices(x, 32))
    s, t = slicer(flat_halves(seed)), slicer(flat_halves(seed + 1))
    s32, s64 = s.clone().requires_grad_(), s.double().requires_grad_()
    loss32, loss64 = rkd_angle_loss(s32, t), rkd_angle_loss(s64, t.double())
    loss32.backward()
    loss64.backward()
    assert loss32.dtype == torch.float32 and loss64.item() > 0
    assert abs(loss32.item() - loss64.item()) < 1e-4 * loss64.item()
    assert (s32.grad.double() - s64.grad).norm() < 1e-4 * s64.grad.norm()


# ---- RKD: zero when equal, invariances, growth, gradients ---------------------------------------------

def test_rkd_terms_zero_when_equal_and_grow_with_divergence() -> None:
    t = rand(2, 32, 24, seed=7)
    noise = rand(2, 32, 24, seed=8)
    distance = [rkd_distance_loss(t + a * noise, t).item() for a in (0.0, 0.1, 0.5, 2.0)]
    angle = [rkd_angle_loss(t + a * noise, t).item() for a in (0.0, 0.1, 0.5, 2.0)]
    assert distance[0] < 1e-10 and angle[0] < 1e-10
    assert distance == sorted(distance) and angle == sorted(angle)
    assert distance[-1] > 1e-3 and angle[-1] > 1e-3


def test_rkd_invariant_to_uniform_scaling_and_translation() -> None:
    s, t = rand(2, 20, 12, seed=9), rand(2, 20, 12, seed=10)
    base_d, base_a = rkd_distance_loss(s, t), rkd_angle_loss(s, t)
    for scale, shift in ((3.7, 0.0), (0.05, 0.0), (1.0, 5.0)):
        assert torch.isclose(rkd_distance_loss(scale * s + shift, t), base_d, rtol=1e-4)
        assert torch.isclose(rkd_distance_loss(s, scale * t + shift), base_d, rtol=1e-4)
        assert torch.isclose(rkd_angle_loss(scale * s + shift, t), base_a, rtol=1e-4)
    d = pairwise_distances(s)
    assert torch.all(d.diagonal(dim1=1, dim2=2) == 0) and torch.allclose(d, torch.cdist(s, s), atol=1e-4)


def test_rkd_gradients_reach_student_never_teacher() -> None:
    s = rand(2, 16, 8, seed=11).requires_grad_()
    t = rand(2, 16, 8, seed=12).requires_grad_()
    rkd_loss(s, t).backward()
    assert s.grad is not None and s.grad.abs().sum() > 0
    assert t.grad is None


def test_angle_term_memory_is_quadratic_not_cubic() -> None:
    # Rows of a 256x256 image: N = 256 samples of 768 values. The direct form keeps N x N x D
    # (201 MB) and N^3 tensors for backward; ours keeps O(N^2 + N D).
    s, t = rand(1, 256, 768, seed=13).requires_grad_(), rand(1, 256, 768, seed=14)
    kept = saved_bytes(lambda: rkd_angle_loss(s, t))
    assert kept < 8 * (256 * 256 * 8 + 256 * 768 * 8)            # a few N^2 / N D float64 tensors
    small = saved_bytes(lambda: rkd_angle_loss_reference(s[:, :64], t[:, :64]))
    assert small > 64 ** 2 * 768 * 4                                # the direct form keeps N^2 D even at N = 64


# ---- CRD's slicing ------------------------------------------------------------------------------------

def test_row_column_patch_slices() -> None:
    images = rand(2, 3, 64, 64, seed=15)
    rows, cols, patches = row_slices(images), column_slices(images), patch_slices(images, 32)
    assert rows.shape == (2, 64, 3 * 64) and cols.shape == (2, 64, 3 * 64) and patches.shape == (2, 4, 3 * 32 * 32)
    assert torch.equal(rows[1, 5], images[1, :, 5, :].reshape(-1))
    assert torch.equal(cols[0, 7], images[0, :, :, 7].reshape(-1))
    assert torch.equal(patches[1, 1], images[1, :, :32, 32:].reshape(-1))   # patches in row-major order
    assert patch_slices(rand(1, 3, 256, 256), 32).shape[1] == 64             # CRD: 64 patches at 256x256
    with pytest.raises(ValueError, match="does not tile"):
        patch_slices(images, 24)


# ---- SRPKD's relation matrix --------------------------------------------------------------------------

def test_relation_matrix_is_position_cosine_similarity() -> None:
    f = rand(2, 5, 3, 4, seed=16)
    r = relation_matrix(f)
    flat = f.flatten(2)
    want = F.cosine_similarity(flat[:, :, :, None], flat[:, :, None, :], dim=1)
    assert r.shape == (2, 12, 12) and torch.allclose(r, want, atol=1e-6)


def test_relation_matrix_invariant_to_per_position_rescaling() -> None:
    f = rand(2, 8, 6, 6, seed=17)
    scale = torch.rand(2, 1, 6, 6, generator=torch.Generator().manual_seed(18)) * 10 + 0.1
    assert torch.allclose(relation_matrix(f * scale), relation_matrix(f), atol=1e-5)


def test_relation_loss_zero_when_equal_grows_and_needs_no_adapter() -> None:
    t = rand(2, 64, 8, 8, seed=19)
    noise = rand(2, 64, 8, 8, seed=20)
    losses = [relation_loss(t + a * noise, t).item() for a in (0.0, 0.2, 1.0, 5.0)]
    assert losses[0] < 1e-10 and losses == sorted(losses) and losses[-1] > 1e-2
    student = rand(2, 16, 8, 8, seed=21).requires_grad_()   # another width: R is HW x HW either way
    teacher = t.clone().requires_grad_()
    relation_loss(student, teacher).backward()
    assert student.grad is not None and student.grad.abs().sum() > 0 and teacher.grad is None


def test_relation_matrix_memory_bounded_by_pooling() -> None:
    # The ResNet encoder at 256x256 input: 64x64 positions -> a 4096^2 matrix per image unpooled.
    s, t = rand(1, 64, 64, 64, seed=22).requires_grad_(), rand(1, 256, 64, 64, seed=23)
    assert relation_matrix(s.detach(), max_side=32).shape == (1, 1024, 1024)
    kept = saved_bytes(lambda: relation_loss(s, t, max_side=32))
    assert kept < 4 * 1024 * 1024 * 4 + 4 * 64 * 64 * 64 * 4   # a few 1024^2 matrices, not 4096^2 (64 MiB each)


# ---- ReKo's attention and InfoNCE ---------------------------------------------------------------------

def test_attention_selects_highest_energy_positions() -> None:
    f = rand(2, 4, 5, 5, seed=24) * 0.01
    f[0, :, 1, 2] += 3.0
    f[0, :, 4, 0] += 2.0
    f[1, :, 3, 3] -= 4.0      # energy is sign-blind
    attn = attention_map(f)
    assert torch.allclose(attn.sum(1), torch.ones(2))
    idx = select_regions(attn, 2)
    assert idx[0].tolist() == [1 * 5 + 2, 4 * 5 + 0] and idx[1, 0].item() == 3 * 5 + 3
    assert select_regions(attention_map(f, "l1"), 100).shape == (2, 25)    # K capped at H*W
    picked = gather_positions(f, idx)
    assert picked.shape == (2, 2, 4) and torch.equal(picked[0, 0], f[0, :, 1, 2])


def test_patch_nce_falls_as_the_student_aligns() -> None:
    key = rand(2, 32, 16, seed=25)
    other = rand(2, 32, 16, seed=26)
    losses = [patch_nce_loss((1 - a) * other + a * key, key).item() for a in (0.0, 0.25, 0.5, 0.75, 1.0)]
    assert losses == sorted(losses, reverse=True)
    assert losses[0] > math.log(32) - 1 and losses[-1] < 0.05   # chance level vs near zero


def test_patch_nce_gradient_reaches_query_only() -> None:
    q, k = rand(1, 8, 4, seed=27).requires_grad_(), rand(1, 8, 4, seed=28).requires_grad_()
    with torch.no_grad():
        key = k.clone()
    patch_nce_loss(q, key).backward()
    assert q.grad is not None and q.grad.abs().sum() > 0 and k.grad is None


# ---- VGG16 perceptual features and weights --------------------------------------------------------------

@pytest.fixture(scope="module")
def vgg_weights_file(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, torch.nn.Module]:
    """A weights file in torchvision's exact format: the state_dict of ``torchvision.models.vgg16()``
    with its own (seeded) init, plus that model for comparison."""
    torch.manual_seed(0)
    model = torchvision.models.vgg16().eval()
    path = tmp_path_factory.mktemp("vgg") / "vgg16-seeded-test.pth"  # not the official name: that one is hash-checked
    torch.save(model.state_dict(), path)
    return path, model


def test_vgg_loads_torchvision_weights_from_env_and_matches_torchvision(
        vgg_weights_file: tuple[Path, torch.nn.Module], empty_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path, model = vgg_weights_file
    monkeypatch.setenv(perceptual.WEIGHTS_ENV, str(path))
    vgg = VGG16Features()
    assert str(path) in vgg.source and "ImageNet" in vgg.source
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(29)) * 2 - 1
    feats = vgg(images)
    mean = torch.tensor(perceptual.IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(perceptual.IMAGENET_STD).view(1, 3, 1, 1)
    with torch.no_grad():
        x = ((images + 1) / 2 - mean) / std
        for name, index in perceptual.LAYERS.items():
            want = model.features[: index + 1](x)
            assert feats[name].shape == want.shape and torch.allclose(feats[name], want, atol=1e-5), name
    assert not any(p.requires_grad for p in vgg.parameters())


def test_vgg_gradient_matches_torchvision(vgg_weights_file: tuple[Path, torch.nn.Module], empty_hub: Path,
                                         monkeypatch: pytest.MonkeyPatch) -> None:
    # The features run channels-last with in-place ReLUs: the student's gradient must be torchvision's.
    path, model = vgg_weights_file
    monkeypatch.setenv(perceptual.WEIGHTS_ENV, str(path))
    images = torch.rand(2, 3, 32, 32, generator=torch.Generator().manual_seed(31)) * 2 - 1
    targets = VGG16Features(imagenet_norm=False)(torch.zeros_like(images))
    ours, plain = images.clone().requires_grad_(), images.clone().requires_grad_()
    style_loss(VGG16Features(imagenet_norm=False)(ours), targets).backward()
    style_loss({name: model.features[: index + 1]((plain + 1) / 2) for name, index in perceptual.LAYERS.items()},
               targets).backward()
    assert (ours.grad - plain.grad).norm() < 1e-4 * plain.grad.norm()


def test_vgg_unit_input_skips_imagenet_normalisation(
        vgg_weights_file: tuple[Path, torch.nn.Module], empty_hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # CRD's and OMGD's code feed VGG16 (x + 1) / 2 without ImageNet's mean and std (utils/vgg_feature.py).
    path, model = vgg_weights_file
    monkeypatch.setenv(perceptual.WEIGHTS_ENV, str(path))
    images = torch.rand(1, 3, 32, 32, generator=torch.Generator().manual_seed(30)) * 2 - 1
    feats = VGG16Features(layers=("relu2_2",), imagenet_norm=False)(images)
    with torch.no_grad():
        want = model.features[: perceptual.LAYERS["relu2_2"] + 1]((images + 1) / 2)
    assert torch.allclose(feats["relu2_2"], want, atol=1e-5)


def test_vgg_in_torch_hub_cache_is_verified(vgg_weights_file: tuple[Path, torch.nn.Module], empty_hub: Path) -> None:
    cache = vgg_cache_path()
    assert cache == empty_hub / "hub" / "checkpoints" / VGG16_WEIGHTS_FILENAME
    cache.parent.mkdir(parents=True)
    cache.write_bytes(vgg_weights_file[0].read_bytes())  # the official name, but not the official file's sha256
    with pytest.raises(WeightsError, match=f"{cache}.*vgg16-397923af.pth has 397923af8e79cdbb"):
        VGG16Features(layers=("relu2_2",))


def test_vgg_explicit_missing_path_is_an_error(empty_hub: Path, tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError, match=VGG16_WEIGHTS_FILENAME):
        VGG16Features(tmp_path / "nope.pth")


def test_vgg_fallback_is_loud_once_deterministic_and_visible(empty_hub: Path, capsys: pytest.CaptureFixture,
                                                             caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        a = VGG16Features(layers=("relu1_2", "relu2_2"))
        b = VGG16Features(layers=("relu1_2", "relu2_2"))
    err = capsys.readouterr().err
    assert err.count("RANDOMLY INITIALISED VGG16") == 1 and "vgg16-397923af.pth" in err
    assert "NOT ImageNet" in a.source
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters()))
    state = torch.get_rng_state()
    VGG16Features(layers=("relu1_2",))
    assert torch.equal(state, torch.get_rng_state())    # the fallback init leaves the global RNG alone


def test_gram_style_and_frechet() -> None:
    f = rand(2, 4, 3, 5, seed=30)
    g = gram_matrix(f)
    flat = f.flatten(2)
    assert torch.allclose(g, flat @ flat.transpose(1, 2) / (4 * 3 * 5))
    feats = {"a": f, "b": rand(2, 6, 2, 2, seed=31)}
    assert style_loss(feats, feats).item() == 0
    assert style_loss({k: v * 1.5 for k, v in feats.items()}, feats).item() > 0
    x, y = rand(200, 3, seed=32, dtype=torch.float64), rand(200, 3, seed=33, dtype=torch.float64)
    assert abs(frechet_distance(x, x)) < 1e-9
    shifted = frechet_distance(x, x + torch.tensor([3.0, 0.0, 4.0], dtype=torch.float64))
    assert abs(shifted - 25.0) < 1e-6                      # same covariance: |mu_x - mu_y|^2
    assert frechet_distance(x, 2 * y) > frechet_distance(x, y) > 0
    assert frechet_distance(rand(8, 50, seed=34), rand(8, 50, seed=35)) > 0   # N < D: singular covariances

"""FID/KID: offline extractor, caching of real statistics, weight resolution, real Inception path.

Everything offline and seeded. The InceptionV3 test uses a generated weights file of the exact
format torch-fidelity loads (tests/fid_weights.py), so its real code path runs without a download.
"""
from __future__ import annotations

import hashlib
import logging
import threading
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F

from kd_gan_bench.benchmarks.metrics import extractor, fid
from kd_gan_bench.benchmarks.metrics.fid import (
    INCEPTION, INCEPTION_WEIGHTS_FILENAME, OFFLINE, Extractor, compute_fid_kid, fid_cache_name,
    inception_cache_path, resolve_extractor,
)
from kd_gan_bench.benchmarks.metrics.offline_extractor import OfflineRandConvExtractor, register_offline_extractor
from kd_gan_bench.methods.core import loud_warning
from kd_gan_bench.methods.weights.resolver import INCEPTION_SHA256, WeightsError

try:
    from tests.fid_weights import make_inception_test_weights
except ImportError:  # tests/ itself on sys.path (pytest's rootdir-less import mode)
    from fid_weights import make_inception_test_weights

CPU = torch.device("cpu")
OFF = Extractor(OFFLINE, None, False)


def smooth_images(n: int, size: int = 64, seed: int = 0) -> torch.Tensor:
    """Seeded smooth random colour fields (uint8 N x 3 x size x size), a stand-in for photos."""
    g = torch.Generator().manual_seed(seed)
    low = torch.rand(n, 3, 8, 8, generator=g)
    return (F.interpolate(low, size=(size, size), mode="bilinear", align_corners=False) * 255).round().to(torch.uint8)


def add_noise(x: torch.Tensor, sigma: float, seed: int = 1) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    y = x.float() / 255 + sigma * torch.randn(x.shape, generator=g)
    return (y.clamp(0, 1) * 255).round().to(torch.uint8)


@pytest.fixture
def empty_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch.hub pointed at an empty TORCH_HOME, and the once-per-process warning re-armed."""
    home = tmp_path / "torch_home"
    monkeypatch.setenv("TORCH_HOME", str(home))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.setattr(loud_warning, "WARNED", set())
    return home


# ---- offline extractor ------------------------------------------------------------------------

def test_offline_extractor_is_deterministic_and_registered() -> None:
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    assert register_offline_extractor() == OFFLINE
    assert register_offline_extractor() == OFFLINE  # idempotent
    assert FEATURE_EXTRACTORS_REGISTRY[OFFLINE] is OfflineRandConvExtractor
    x = smooth_images(4, size=48)
    torch.manual_seed(123)  # the global RNG must not matter
    a = OfflineRandConvExtractor(OFFLINE, ["512"])(x)
    torch.manual_seed(456)
    b = OfflineRandConvExtractor(OFFLINE, ["512"], feature_extractor_weights_path=None)(x)
    assert len(a) == 1 and a[0].shape == (4, 512) and a[0].dtype == torch.float32
    assert torch.equal(a[0], b[0])
    # pin the weights themselves, so a change of torch's RNG stream would be noticed
    w = OfflineRandConvExtractor().body[0].weight
    assert w.shape == (64, 3, 3, 3)
    assert abs(float(w.std()) - (2 / 27) ** 0.5) < 0.03


def test_offline_extractor_rejects_inception_score() -> None:
    with pytest.raises(ValueError, match="logits"):
        OfflineRandConvExtractor.get_default_feature_layer_for_metric("isc")


# ---- FID / KID values and caching -------------------------------------------------------------

def test_fid_zero_on_identical_and_grows_with_noise(tmp_path: Path) -> None:
    real = smooth_images(48, seed=0)
    name = fid_cache_name("toy", "test", 64, 48, OFF)
    res = {s: compute_fid_kid(add_noise(real, s) if s else real, real, real_cache_name=name,
                              cache_root=tmp_path, extractor=OFF, device=CPU, batch_size=16)
           for s in (0.0, 0.1, 0.3)}
    print({s: round(r["fid"], 5) for s, r in res.items()})
    assert abs(res[0.0]["fid"]) < 1e-6 * max(1.0, res[0.1]["fid"]) + 1e-6
    assert res[0.0]["fid"] < res[0.1]["fid"] < res[0.3]["fid"]
    assert res[0.1]["kid"] < res[0.3]["kid"]
    r = res[0.1]
    assert set(r) == {"fid", "kid", "kid_std", "kid_subset_size", "kid_subsets", "fid_n_fake", "fid_n_real",
                      "fid_extractor", "fid_weights_origin", "fid_weights_sha256"}
    assert r["fid_n_fake"] == 48 and r["fid_n_real"] == 48 and r["fid_extractor"] == OFFLINE
    assert r["kid_subset_size"] == 24 and r["kid_subsets"] == 100 and r["kid_std"] > 0


def test_real_statistics_are_cached_and_reused(tmp_path: Path) -> None:
    real = smooth_images(32, seed=0)
    other_real = smooth_images(32, seed=7)
    fake = add_noise(real, 0.2)
    name = fid_cache_name("toy", "train+test", 64, 32, OFF)
    assert name == "toy_train-test_64px_n32_offline-randconv-v1"
    first = compute_fid_kid(fake, real, real_cache_name=name, cache_root=tmp_path, extractor=OFF, device=CPU)
    files = sorted(p.name for p in tmp_path.glob(f"{name}-*.pt"))
    assert files == [f"{name}-{OFFLINE}-features-512.pt"]
    mtimes = {p: p.stat().st_mtime_ns for p in tmp_path.glob(f"{name}-*.pt")}
    # same name, different real tensor: the cache answers, so the value is unchanged
    again = compute_fid_kid(fake, other_real, real_cache_name=name, cache_root=tmp_path, extractor=OFF, device=CPU)
    assert again["fid"] == first["fid"] and again["kid"] == first["kid"]
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    # a different name really uses the other tensor
    other = compute_fid_kid(fake, other_real, real_cache_name=name + "-b", cache_root=tmp_path, extractor=OFF,
                            device=CPU)
    assert other["fid"] != first["fid"]


def test_concurrent_first_use_of_a_cache_entry(tmp_path: Path) -> None:
    real, fake = smooth_images(24, seed=3), smooth_images(24, seed=4)
    results: list[dict] = []
    errors: list[BaseException] = []

    def job() -> None:
        try:
            results.append(compute_fid_kid(fake, real, real_cache_name="shared", cache_root=tmp_path,
                                           extractor=OFF, device=CPU))
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=job) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors and len(results) == 2
    assert results[0]["fid"] == results[1]["fid"]
    for p in tmp_path.glob("shared-*.pt"):
        torch.load(p, weights_only=False)  # complete, loadable files
    assert not [p for p in tmp_path.iterdir() if p.name.startswith("tmp")]  # no temp leftovers


def test_bad_inputs_are_rejected(tmp_path: Path) -> None:
    x = smooth_images(4)
    with pytest.raises(ValueError, match="uint8"):
        compute_fid_kid(x.float(), x, real_cache_name="n", cache_root=tmp_path, extractor=OFF, device=CPU)
    with pytest.raises(ValueError, match="real_cache_name"):
        compute_fid_kid(x, x, real_cache_name="a/b", cache_root=tmp_path, extractor=OFF, device=CPU)


# ---- choosing the extractor -------------------------------------------------------------------

def test_fallback_to_offline_warns_once(empty_hub: Path, capsys: pytest.CaptureFixture,
                                        caplog: pytest.LogCaptureFixture) -> None:
    assert inception_cache_path().is_relative_to(empty_hub)
    with caplog.at_level(logging.WARNING, logger=extractor.__name__):
        first = resolve_extractor()
        second = resolve_extractor()
    assert first == second == Extractor(OFFLINE, None, False)
    assert not first.is_inception and "NOT Inception" in first.label
    err = capsys.readouterr().err
    assert err.count("NOT comparable to published FID") == 1
    assert "--fid-weights" in err and INCEPTION_WEIGHTS_FILENAME in err and str(inception_cache_path()) in err
    assert len([r for r in caplog.records if r.name == extractor.__name__]) == 1


def test_prefer_offline_is_silent(empty_hub: Path, capsys: pytest.CaptureFixture) -> None:
    assert resolve_extractor(prefer="offline").name == OFFLINE
    assert capsys.readouterr().err == ""
    with pytest.raises(FileNotFoundError):
        resolve_extractor(prefer="inception")


def test_inception_weights_in_torch_hub_cache_are_verified(empty_hub: Path, tmp_path: Path) -> None:
    cached = empty_hub / "hub" / "checkpoints" / INCEPTION_WEIGHTS_FILENAME
    cached.parent.mkdir(parents=True)
    make_inception_test_weights(cached)  # the official name, but not the official file's sha256 (6726825d...)
    with pytest.raises(WeightsError, match=f"{cached}.*{INCEPTION_WEIGHTS_FILENAME} has {INCEPTION_SHA256}"):
        resolve_extractor()
    # a canonical-named file keeps the plain cache tag (no fingerprint)
    assert Extractor(INCEPTION, str(cached), True).cache_tag == INCEPTION


def test_missing_fid_weights_file_is_a_clear_error(empty_hub: Path) -> None:
    missing = empty_hub / "nowhere" / "inception.pth"
    with pytest.raises(FileNotFoundError) as info:
        resolve_extractor(fid_weights=missing)
    msg = str(info.value)
    assert str(missing) in msg and INCEPTION_WEIGHTS_FILENAME in msg and "--fid-weights" in msg
    assert "weights fetch inception" in msg


# ---- the real InceptionV3 code path -----------------------------------------------------------

def test_inception_path_with_generated_weights(tmp_path: Path, empty_hub: Path) -> None:
    weights = make_inception_test_weights(tmp_path / "inception-test.pth", seed=0)
    ext = resolve_extractor(fid_weights=weights)
    assert ext.is_inception and ext.name == INCEPTION and ext.weights_path == str(weights.resolve())
    assert ext.cache_tag.startswith(f"{INCEPTION}-w")  # non-canonical weights get a fingerprint
    real = smooth_images(4, size=32, seed=0)
    fake = add_noise(real, 0.3)
    name = fid_cache_name("toy", "test", 32, 4, ext)
    out = compute_fid_kid(fake, real, real_cache_name=name, cache_root=tmp_path / "cache", extractor=ext,
                          device=CPU, batch_size=8)
    print("inception-path FID", out)
    assert out["fid_extractor"] == INCEPTION and out["fid_n_fake"] == 4
    assert out["fid_weights_origin"] == "user file inception-test.pth (unpinned)"
    assert out["fid_weights_sha256"] == hashlib.sha256(weights.read_bytes()).hexdigest()
    assert out["fid"] > 0 and torch.isfinite(torch.tensor(out["fid"]))
    assert (tmp_path / "cache" / f"{name}-{INCEPTION}-features-2048.pt").is_file()


def test_fast_features_equal_torch_fidelity_path(tmp_path: Path) -> None:
    """channels-last, batched extraction with the batch norms folded = torch-fidelity's own module called plainly,
    within 1e-5."""
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    weights = make_inception_test_weights(tmp_path / "inception-test.pth", seed=1)
    images = smooth_images(3, size=40, seed=5)
    plain = FeatureExtractorInceptionV3(INCEPTION, ["2048"], feature_extractor_weights_path=str(weights))
    with torch.no_grad():
        want = plain(images)[0]
    extractor = Extractor(INCEPTION, str(weights), True)
    got = fid.extract_features(images, extractor, CPU, batch_size=2)
    scale = float(want.abs().max())
    assert float((got - want).abs().max()) <= 1e-5 * max(1.0, scale)
    net, _ = fid._network(INCEPTION, str(weights), hashlib.sha256(weights.read_bytes()).hexdigest(), str(CPU))
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())  # all 94 folded into their convs
    with pytest.raises(ValueError, match="eval mode"):
        fid.fold_batch_norms(torch.nn.Sequential(torch.nn.BatchNorm2d(3)))


@pytest.mark.parametrize("n_fake", [12, 40])  # n <= d (n x n route) and n > d (covariance square root route)
def test_fid_equals_scipy_frechet(n_fake: int) -> None:
    import numpy as np
    from scipy import linalg

    g = torch.Generator().manual_seed(n_fake)
    d = 16 if n_fake > 16 else 32  # n_fake = 12 < d = 32: singular fake covariance
    real = torch.randn(50, d, generator=g) * torch.linspace(0.5, 2.0, d)
    fake = torch.randn(n_fake, d, generator=g) + 0.3
    x, y = fake.double().numpy(), real.double().numpy()
    mu1, mu2, s1, s2 = x.mean(0), y.mean(0), np.cov(x, rowvar=False), np.cov(y, rowvar=False)
    root = linalg.sqrtm(s1 @ s2).real
    want = float(((mu1 - mu2) ** 2).sum() + np.trace(s1) + np.trace(s2) - 2 * np.trace(root))
    assert fid.frechet_distance(fake, real) == pytest.approx(want, rel=1e-6, abs=1e-8)


def test_kid_equals_torch_fidelity() -> None:
    from torch_fidelity.metric_kid import KEY_METRIC_KID_MEAN, KEY_METRIC_KID_STD, kid_features_to_metric

    g = torch.Generator().manual_seed(3)
    fake, real = torch.rand(30, 64, generator=g), torch.rand(40, 64, generator=g) * 1.1
    want = kid_features_to_metric(fake, real, kid_subset_size=15, kid_subsets=25, verbose=False)
    got = fid.kid(fake, real, 15, 25)
    assert got[0] == pytest.approx(want[KEY_METRIC_KID_MEAN] * 1000, rel=1e-4)
    assert got[1] == pytest.approx(want[KEY_METRIC_KID_STD] * 1000, rel=1e-3)


def test_kid_subset_size_fits_small_test_sets() -> None:
    assert fid.kid_subset_size(120, 140) == 60  # horse2zebra's test domains
    assert fid.kid_subset_size(140, 1334) == 70
    assert fid.kid_subset_size(5000, 10000) == 1000  # torch-fidelity's default where the sets allow it
    assert fid.kid_subset_size(2, 3) == 2

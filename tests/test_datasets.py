"""Real datasets on small archives of the exact formats: download, checksum, safe extraction,
preparation, validation, loading, and the messages bad input gets. Through public APIs and the CLI."""
from __future__ import annotations

import io
import json
import tarfile
import urllib.error
import zipfile
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.execution.runner import RunOptions, run_job
from kd_gan_bench.datasets import DATASETS, TASKS, load_task
from kd_gan_bench.datasets.archives import ArchiveSource, download, extract, sha256_file, verify_checksum
from kd_gan_bench.datasets.catalog import verify
from kd_gan_bench.datasets.cityscapes import label_ids_to_train_ids
from kd_gan_bench.datasets.errors import ArchiveError, ChecksumError, ImageFileError, LayoutError

try:
    from tests.dataset_archives import cityscapes_zips, cyclegan_zip, image_bytes, pix2pix_tar, unpin
except ImportError:  # tests/ itself on sys.path
    from dataset_archives import cityscapes_zips, cyclegan_zip, image_bytes, pix2pix_tar, unpin

H2Z = {"trainA": 4, "trainB": 5, "testA": 3, "testB": 2}


@pytest.fixture
def root(tmp_path: Path) -> Path:
    (tmp_path / "data" / "archives").mkdir(parents=True)
    return tmp_path / "data"


def _prepare(name: str, root: Path, *extra: str) -> int:
    return main(["datasets", "prepare", name, "--data-root", str(root), *extra])


# ------------------------------------------------------------------------------------------ archives


def test_extract_zip_and_tar_gz(tmp_path: Path) -> None:
    z = cyclegan_zip(tmp_path / "h.zip", "h", {"trainA": 2})
    t = pix2pix_tar(tmp_path / "p.tar.gz", "p", {"train": 2})
    assert extract(z, tmp_path / "z") == 2 and (tmp_path / "z/h/trainA/0001.jpg").is_file()
    assert extract(t, tmp_path / "t") == 2 and (tmp_path / "t/p/train/2_AB.jpg").is_file()


@pytest.mark.parametrize("fmt", ["zip", "tar.gz"])
def test_truncated_archive_is_a_specific_error(tmp_path: Path, fmt: str) -> None:
    good = (cyclegan_zip(tmp_path / "a.zip", "a", {"trainA": 3}) if fmt == "zip"
            else pix2pix_tar(tmp_path / "a.tar.gz", "a", {"train": 3}))
    cut = tmp_path / f"cut.{fmt}"
    cut.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    with pytest.raises(ArchiveError, match=r"truncated or corrupt.*download it again"):
        extract(cut, tmp_path / "out")


def test_wrong_file_is_recognised(tmp_path: Path) -> None:
    page = tmp_path / "horse2zebra.zip"
    page.write_text("<!DOCTYPE html><html><body>404</body></html>")
    with pytest.raises(ArchiveError, match="HTML page"):
        extract(page, tmp_path / "out")


def test_path_traversal_and_links_are_refused(tmp_path: Path) -> None:
    evil_zip = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil_zip, "w") as zf:
        zf.writestr("ok/a.txt", "a")
        zf.writestr("../../escaped.txt", "boom")
    with pytest.raises(ArchiveError, match=r"unsafe member path '\.\./\.\./escaped\.txt'"):
        extract(evil_zip, tmp_path / "out")
    assert not (tmp_path / "escaped.txt").exists()
    for name, kind in (("/etc/passwd-copy", tarfile.REGTYPE), ("data/link", tarfile.SYMTYPE)):
        evil_tar = tmp_path / "evil.tar.gz"
        with tarfile.open(evil_tar, "w:gz") as tf:
            info = tarfile.TarInfo(name)
            info.type = kind
            info.linkname = "/etc/passwd" if kind == tarfile.SYMTYPE else ""
            tf.addfile(info, io.BytesIO(b"") if kind == tarfile.REGTYPE else None)
        with pytest.raises(ArchiveError, match="unsafe member path|refusing to extract links"):
            extract(evil_tar, tmp_path / "out2")


def test_checksum_and_download_offline(tmp_path: Path) -> None:
    src = cyclegan_zip(tmp_path / "src.zip", "x", {"trainA": 1})
    digest = sha256_file(src)
    assert verify_checksum(src, digest) == digest
    with pytest.raises(ChecksumError, match="expected 0000"):
        verify_checksum(src, "0000")
    # the real download code, through a file:// URL (no network needed)
    dest = download(ArchiveSource("x.zip", src.as_uri(), digest), tmp_path / "dl" / "x.zip")
    assert sha256_file(dest) == digest and not (tmp_path / "dl" / "x.zip.part").exists()
    with pytest.raises(ChecksumError):
        download(ArchiveSource("y.zip", src.as_uri(), "ff" * 32), tmp_path / "dl" / "y.zip")
    assert not list((tmp_path / "dl").glob("y.zip*"))  # nothing half-downloaded left behind


def test_download_failure_says_where_to_place_the_file(root: Path, monkeypatch: pytest.MonkeyPatch,
                                                        capsys: pytest.CaptureFixture) -> None:
    def unreachable(url, timeout):
        raise urllib.error.URLError("Temporary failure in name resolution")

    monkeypatch.setattr("urllib.request.urlopen", unreachable)
    assert main(["datasets", "download", "horse2zebra", "cityscapes", "--data-root", str(root)]) == 2
    err = capsys.readouterr().err
    assert ("cannot download horse2zebra.zip from "
            "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/horse2zebra.zip "
            "(Temporary failure in name resolution); download it by other means and place it at "
            f"{root / 'archives' / 'horse2zebra.zip'} (sha256 a74d9d392eec") in err
    assert "gtFine_trainvaltest.zip cannot be downloaded automatically" in err and "cityscapes-dataset.com" in err


# ------------------------------------------------------------------------------------------ prepare + load


def test_cyclegan_prepare_verify_load(root: Path, capsys: pytest.CaptureFixture,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    cyclegan_zip(root / "archives" / "horse2zebra.zip", "horse2zebra", H2Z)
    assert _prepare("horse2zebra", root) == 2  # the release's sha256 is pinned: a generated archive is refused
    assert "expected a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1" in capsys.readouterr().err
    assert not (root / "horse2zebra").exists()
    unpin(monkeypatch, "horse2zebra")
    assert _prepare("horse2zebra", root) == 0
    assert sorted(p.name for p in (root / "horse2zebra").iterdir()) == [".kdgan-prepared.json", "testA", "testB",
                                                                       "trainA", "trainB"]
    marker = json.loads((root / "horse2zebra" / ".kdgan-prepared.json").read_text())
    assert marker["archives"]["horse2zebra.zip"]["sha256"] == sha256_file(root / "archives" / "horse2zebra.zip")
    assert main(["datasets", "verify", "horse2zebra", "--data-root", str(root)]) == 0
    out = capsys.readouterr().out
    assert "horse2zebra: ok" in out and "the official release has 1067" in out  # counts are noted, not fatal
    data = load_task("horse2zebra", data_root=str(root), size=16)
    assert (data.paired, data.size, data.name) == (False, 16, "horse2zebra")
    assert [len(t) for t in (data.train_a, data.train_b, data.test_a, data.test_b)] == [4, 5, 3, 2]
    assert data.train_a.dtype == torch.uint8 and data.train_a.shape[1:] == (3, 16, 16)
    back = load_task("zebra2horse", data_root=str(root), size=16)  # same set, domains swapped, from the cache
    assert torch.equal(back.train_a, data.train_b) and torch.equal(back.test_b, data.test_a)
    assert len(list((root / ".cache").glob("*/complete.json"))) == 4
    sub = load_task("horse2zebra", data_root=str(root), size=16, max_train=2, max_test=2)
    assert len(sub.train_a) == 2 and torch.equal(sub.train_a, data.train_a[:2])
    with pytest.raises(ValueError, match="max_test.*>= 2"):
        load_task("horse2zebra", data_root=str(root), size=16, max_test=1)
    info = TASKS.get("horse2zebra")
    assert (info.fid_protocol, info.quality_metric, info.reported_as) == ("target_train_test", "fid", "horse2zebra")
    assert TASKS.get("winter2summer_yosemite").reported_as == "winter2summer"


def test_pix2pix_prepare_split_and_directions(root: Path) -> None:
    # an archive whose evaluation split is called "test" (GAN Compression's script links it to val)
    pix2pix_tar(root / "archives" / "maps.tar.gz", "maps", {"train": 3, "val": 2}, eval_split="test")
    assert _prepare("maps", root) == 0
    assert (root / "maps" / "val").is_dir() and len(list((root / "maps" / "val").iterdir())) == 2
    sat2map = load_task("sat2map", data_root=str(root), size=32)
    map2sat = load_task("map2sat", data_root=str(root), size=32)
    assert sat2map.paired and torch.equal(sat2map.train_a, map2sat.train_b)
    first = np.asarray(Image.open(sorted((root / "maps" / "train").iterdir())[0]).convert("RGB"))
    assert torch.equal(sat2map.train_a[0], torch.from_numpy(first[:, :32].copy()).permute(2, 0, 1))  # A = left half
    assert torch.equal(map2sat.train_a[0], torch.from_numpy(first[:, 32:].copy()).permute(2, 0, 1))


def test_cityscapes_from_official_archives(root: Path) -> None:
    cityscapes_zips(root / "archives", {"train": 3, "val": 2})
    assert _prepare("cityscapes", root) == 0
    folder = root / "cityscapes"
    assert sorted(p.name for p in folder.iterdir()) == [".kdgan-prepared.json", "table.txt", "train", "val",
                                                        "val_trainIds"]
    pair = Image.open(folder / "val" / "0.jpg")
    assert pair.size == (512, 256)
    table = (folder / "table.txt").read_text().splitlines()
    assert table[-2].startswith("val 0 gtFine/val/aachen/aachen_000000_000019_gtFine_color.png")
    with zipfile.ZipFile(root / "archives" / "gtFine_trainvaltest.zip") as zf:
        ids = np.asarray(Image.open(zf.open("gtFine/val/aachen/aachen_000000_000019_gtFine_labelIds.png")))
    train_ids = np.asarray(Image.open(folder / "val_trainIds" / "0.png"))
    assert train_ids.shape == (32, 64)  # native label resolution, not resized
    assert np.array_equal(train_ids, label_ids_to_train_ids(ids))
    assert label_ids_to_train_ids(np.array([0, 7, 8, 24, 26, 33, 34, 40], dtype=np.uint8)).tolist() == \
        [255, 0, 1, 11, 13, 18, 255, 255]
    data = load_task("cityscapes", data_root=str(root), size=32)
    assert data.paired and data.test_labels is not None and data.test_labels.shape == (2, 32, 64)
    assert TASKS.get("cityscapes").quality_metric == "miou"
    # labels -> photo: the input is the right half (the colour label rendering)
    right = np.asarray(pair.convert("RGB").resize((64, 32), Image.BICUBIC))
    assert data.test_a.shape == (2, 3, 32, 32) and right.shape == (32, 64, 3)


def test_cityscapes_unmatched_archives(root: Path, capsys: pytest.CaptureFixture) -> None:
    gt, photos = cityscapes_zips(root / "archives", {"train": 2, "val": 1})
    with zipfile.ZipFile(photos) as zf:
        kept = [(i, zf.read(i)) for i in zf.infolist() if "bonn_000001" not in i.filename]
    with zipfile.ZipFile(photos, "w") as zf:
        for info, data in kept:
            zf.writestr(info, data)
    assert _prepare("cityscapes", root) == 2
    err = capsys.readouterr().err
    assert "unmatched identifiers: bonn_000001_000019" in err and not (root / "cityscapes").exists()


# ------------------------------------------------------------------------------------------ bad input


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)


def test_bad_prepared_folders_name_the_file(root: Path, capsys: pytest.CaptureFixture) -> None:
    rng = np.random.default_rng(0)
    folder = root / "horse2zebra"
    for split in ("trainA", "testA", "testB"):
        for i in range(2):
            _write(folder / split / f"{i}.jpg", image_bytes(rng, 16, 16))
    assert main(["datasets", "verify", "horse2zebra", "--data-root", str(root)]) == 2
    assert f"horse2zebra trainB: folder {folder / 'trainB'} is missing" in capsys.readouterr().err
    with pytest.raises(LayoutError, match="trainB: folder .* is missing"):
        load_task("horse2zebra", data_root=str(root))
    good = (folder / "trainA" / "0.jpg").read_bytes()
    _write(folder / "trainB" / "0.jpg", good)
    _write(folder / "trainB" / "1.jpg", good[: len(good) // 3])  # truncated
    _write(folder / "testA" / "2.png", image_bytes(rng, 16, 16, "PNG", "RGBA"))
    _write(folder / "testB" / "2.jpg", image_bytes(rng, 20, 16))
    result = verify(DATASETS.get("horse2zebra"), root)
    text = "\n".join(result.problems)
    assert f"cannot read image {folder / 'trainB' / '1.jpg'}" in text
    assert f"image {folder / 'testA' / '2.png'} has mode RGBA (4 channels: R, G, B, A)" in text
    assert "testB: images of" in text and "20x16" in text and "16x16" in text
    with pytest.raises(ImageFileError, match=r"cannot read image .*trainB/1\.jpg.*truncated"):
        load_task("horse2zebra", data_root=str(root), size=16)
    (folder / "trainB" / "1.jpg").unlink()
    with pytest.raises(ImageFileError, match=r"testA/2\.png has mode RGBA"):
        load_task("horse2zebra", data_root=str(root), size=16)
    (folder / "testA" / "2.png").unlink()
    with pytest.raises(ImageFileError, match=r"testB/2\.jpg is 20x16 but 0\.jpg and the others .* are 16x16"):
        load_task("horse2zebra", data_root=str(root), size=16)
    # grayscale images are expanded to RGB, as the papers' loaders do
    (folder / "testB" / "2.jpg").write_bytes(image_bytes(rng, 16, 16, "JPEG", "L"))
    assert load_task("horse2zebra", data_root=str(root), size=16).test_b.shape == (3, 3, 16, 16)


def test_pix2pix_shapes_and_labels_are_checked(root: Path) -> None:
    rng = np.random.default_rng(1)
    for split in ("train", "val"):
        for i in range(2):
            _write(root / "edges2shoes" / split / f"{i}.jpg", image_bytes(rng, 32, 16))
    _write(root / "edges2shoes" / "val" / "9.jpg", image_bytes(rng, 30, 16))
    with pytest.raises(ImageFileError, match=r"val/9\.jpg is 30x16: a pix2pix A\|B image must be twice as wide"):
        load_task("edges2shoes", data_root=str(root), size=16)
    cityscapes_zips(root / "archives", {"train": 2, "val": 2})
    assert _prepare("cityscapes", root) == 0
    colour = root / "cityscapes" / "val_trainIds" / "1.png"
    Image.fromarray(rng.integers(0, 255, (32, 64, 3), dtype=np.uint8)).save(colour)
    result = verify(DATASETS.get("cityscapes"), root)
    assert any(f"label map {colour} has mode RGB" in p and "_color.png" in p for p in result.problems)


def test_missing_dataset_fails_only_its_jobs(tmp_path: Path) -> None:
    common = dict(family="i2i", teacher={"arch": "resnet_generator", "ngf": 4, "n_blocks": 1}, student=None,
                  method="teacher", hparams={}, recipe={"ndf": 4, "d_layers": 1},
                  schedule={"steps": 1, "batch_size": 2, "log_every": 1},
                  evaluation={"fid_extractor": "offline", "fid_protocol": "task", "n_samples": 2, "latency_warmup": 0,
                              "latency_repeats": 1}, seed=0)
    real = JobConfig(phase="teacher", task="horse2zebra", task_args={"data_root": str(tmp_path / "nowhere"), "size": 16},
                     **common)
    built_in = JobConfig(phase="teacher", task="synthetic_edges2shapes",
                         task_args={"size": 16, "n_train": 4, "n_test": 2}, **common)
    options = RunOptions(results_root=str(tmp_path / "res"), device="cpu")
    failed = run_job(real, options)
    assert failed["status"] == "failed"
    assert "dataset 'horse2zebra' is not prepared" in failed["error"] and "datasets prepare horse2zebra" in failed["error"]
    assert run_job(built_in, options)["status"] == "done"

"""Labelled tasks: the built-in generators, and the real loaders on tiny files of the exact on-disk formats."""
from __future__ import annotations

import pickle
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from kd_gan_bench.datasets import TASKS, DatasetError, LabelledImageData, load_task
from kd_gan_bench.benchmarks.core.registry import UnknownNameError


def _png(path: Path, size: int = 8, value: int = 100) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((size, size, 3), value, dtype=np.uint8)).save(path)


# ---------------------------------------------------------------------------------------- built-in
def test_shapes10_is_deterministic_balanced_and_classification() -> None:
    a = load_task("synthetic_shapes10", n_train=40, n_test=20, seed=3)
    b = load_task("synthetic_shapes10", n_train=40, n_test=20, seed=3)
    c = load_task("synthetic_shapes10", n_train=40, n_test=20, seed=4)
    assert isinstance(a, LabelledImageData) and a.family == TASKS.get("synthetic_shapes10").family == "classification"
    assert torch.equal(a.train_x, b.train_x) and torch.equal(a.train_y, b.train_y)
    assert not torch.equal(a.train_x, c.train_x)
    assert a.train_x.shape == (40, 3, 32, 32) and a.train_x.dtype == torch.uint8
    assert a.train_y.dtype == torch.int64 and torch.bincount(a.train_y, minlength=10).tolist() == [4] * 10
    assert a.num_classes == 10 and a.num_outputs == 10 and a.augment == "crop_flip"


def test_rotation_labels_are_angles_on_the_rc49_grid() -> None:
    data = load_task("synthetic_rotation", n_train=50, n_test=10, seed=0)
    assert data.family == "regression" and data.label_unit == "degrees" and data.num_outputs == 1
    y = data.train_y
    assert y.dtype == torch.float32 and float(y.min()) >= 0 and float(y.max()) < 90
    assert torch.allclose(y * 10, (y * 10).round(), atol=1e-3)
    assert torch.allclose(data.denormalise(data.normalise(y)), y, atol=1e-4)
    assert data.augment == "none"  # a flip changes the angle


def test_unknown_task_names_the_nearest() -> None:
    with pytest.raises(UnknownNameError, match="Did you mean 'cifar10'"):
        load_task("cifar_10")


def test_labelled_data_rejects_inconsistent_labels() -> None:
    x = torch.zeros(2, 3, 16, 16, dtype=torch.uint8)
    with pytest.raises(ValueError, match="labels must lie in"):
        LabelledImageData("t", "classification", 16, x, torch.tensor([0, 5]), x, torch.tensor([0, 1]), num_classes=3)
    with pytest.raises(ValueError, match="train_y must be torch.float32"):
        LabelledImageData("t", "regression", 16, x, torch.tensor([0, 1]), x, torch.tensor([0.0, 1.0]),
                          label_range=(0.0, 1.0))


# ------------------------------------------------------------------------------------------- CIFAR
def _cifar_batch(path: Path, n: int, label_key: str, num_classes: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = np.arange(n * 3072, dtype=np.int64).reshape(n, 3072).astype(np.uint8)
    with open(path, "wb") as f:
        pickle.dump({"data": data, label_key: [i % num_classes for i in range(n)]}, f)


def test_cifar10_and_100_from_the_torchvision_layout(tmp_path: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    for name in [f"data_batch_{i}" for i in range(1, 6)]:
        _cifar_batch(folder / name, 2, "labels", 10)
    _cifar_batch(folder / "test_batch", 3, "labels", 10)
    data = load_task("cifar10", root=str(tmp_path))
    assert data.train_x.shape == (10, 3, 32, 32) and data.test_x.shape == (3, 3, 32, 32)
    # the row layout is R plane, G plane, B plane of 32 x 32 each
    assert int(data.train_x[0, 1, 0, 0]) == 1024 % 256
    _cifar_batch(tmp_path / "cifar-100-python" / "train", 4, "fine_labels", 100)
    _cifar_batch(tmp_path / "cifar-100-python" / "test", 2, "fine_labels", 100)
    assert load_task("cifar100", root=str(tmp_path)).num_classes == 100


def test_cifar_missing_and_corrupt_files_are_named(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(DatasetError, match=r"cifar-10-batches-py.*data_batch_1.*download=True"):
        load_task("cifar10", root=str(tmp_path))
    import torchvision.datasets.utils as tv_utils

    def offline(*_args, **_kwargs):
        raise OSError("network is unreachable")

    monkeypatch.setattr(tv_utils.urllib.request, "urlopen", offline)
    with pytest.raises(DatasetError, match=r"downloading CIFAR-10 failed .*unreachable.*cifar-10-batches-py"):
        load_task("cifar10", root=str(tmp_path / "dl"), download=True)
    folder = tmp_path / "cifar-100-python"
    _cifar_batch(folder / "train", 4, "fine_labels", 100)
    (folder / "test").write_bytes(b"not a pickle at all")
    with pytest.raises(DatasetError, match=r"corrupt CIFAR file .*test"):
        load_task("cifar100", root=str(tmp_path))
    with open(folder / "test", "wb") as f:
        pickle.dump({"data": np.zeros((2, 100), np.uint8), "fine_labels": [0, 1]}, f)
    with pytest.raises(DatasetError, match=r"malformed CIFAR file .*N x 3072"):
        load_task("cifar100", root=str(tmp_path))


# ------------------------------------------------------------------------------------ Tiny-ImageNet
def test_tiny_imagenet_layout_and_bad_annotations(tmp_path: Path) -> None:
    base = tmp_path / "tiny-imagenet-200"
    base.mkdir()
    (base / "wnids.txt").write_text("n02\nn01\n")
    for wnid in ("n01", "n02"):
        for i in range(2):
            _png(base / "train" / wnid / "images" / f"{wnid}_{i}.JPEG", size=64)
    _png(base / "val" / "images" / "val_0.JPEG", size=64)
    _png(base / "val" / "images" / "val_1.JPEG", size=64)
    (base / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn02\t0\t0\t10\t10\nval_1.JPEG\tn01\t0\t0\t9\t9\n")
    data = load_task("tiny_imagenet", root=str(tmp_path), size=32)
    assert data.num_classes == 2 and data.train_x.shape == (4, 3, 32, 32)
    assert data.train_y.tolist() == [0, 0, 1, 1] and data.test_y.tolist() == [1, 0]  # sorted wnids
    (base / "val" / "val_annotations.txt").write_text("val_0.JPEG\tn99\t0\t0\t1\t1\n")
    with pytest.raises(DatasetError, match=r"malformed line 1 of .*val_annotations.txt"):
        load_task("tiny_imagenet", root=str(tmp_path))


# ------------------------------------------------------------------------------------------ UTKFace
def test_utkface_parses_ages_and_names_a_malformed_file(tmp_path: Path) -> None:
    folder = tmp_path / "UTKFace"
    for name in ("25_0_1_20170116174525125.jpg.chip.jpg", "61_1_20170109150557335.jpg.chip.jpg",
                 "3_1_2_20161219140623097.jpg.chip.jpg", "40_0_0_20170104201443273.jpg.chip.jpg"):
        _png(folder / name)
    data = load_task("utkface", root=str(tmp_path), size=16, test_fraction=0.34)
    assert data.label_unit == "years" and data.label_range == (1.0, 60.0)
    assert sorted(torch.cat([data.train_y, data.test_y]).tolist()) == [3.0, 25.0, 40.0]  # 61 is outside 1..60
    _png(folder / "face_of_someone.jpg")
    with pytest.raises(DatasetError, match=r"malformed UTKFace file name .*face_of_someone.jpg"):
        load_task("utkface", root=str(tmp_path), size=16)


# -------------------------------------------------------------------------------------------- RC-49
def test_rc49_from_an_npz_export(tmp_path: Path) -> None:
    images = np.random.default_rng(0).integers(0, 255, (6, 3, 64, 64), dtype=np.uint8)
    np.savez(tmp_path / "RC-49_64x64.npz", images=images, labels=np.array([0.1, 10, 20, 30, 45.5, 89.9]),
             indx_train=np.array([0, 2, 4, 5]))
    data = load_task("rc49", root=str(tmp_path), size=32)
    assert data.train_y.tolist() == pytest.approx([0.1, 20, 45.5, 89.9]) and data.test_y.tolist() == [10, 30]
    assert data.train_x.shape == (4, 3, 32, 32)
    (tmp_path / "RC-49_64x64.npz").write_bytes(b"garbage")
    with pytest.raises(DatasetError, match=r"corrupt RC-49 file .*RC-49_64x64.npz"):
        load_task("rc49", root=str(tmp_path))


def test_rc49_csv_with_a_bad_label_names_row_and_file(tmp_path: Path) -> None:
    folder = tmp_path / "RC-49"
    for i in range(3):
        _png(folder / f"{i}.png", size=64)
    (folder / "labels.csv").write_text("filename,angle,split\n0.png,12.5,train\n1.png,44.0,train\n2.png,7.1,test\n")
    data = load_task("rc49", root=str(tmp_path), size=32)
    assert data.train_y.tolist() == [12.5, 44.0] and data.test_y.tolist() == pytest.approx([7.1])
    (folder / "labels.csv").write_text("filename,angle\n0.png,12.5\n1.png,forty\n")
    with pytest.raises(DatasetError, match=r"labels.csv, row 3: the angle 'forty' is not a number"):
        load_task("rc49", root=str(tmp_path))


def test_rc49_h5_is_read_with_h5py_or_explained_without(tmp_path: Path) -> None:
    with pytest.raises(DatasetError, match=r"RC-49 not found .*RC-49_64x64.h5.*npz.*labels.csv"):
        load_task("rc49", root=str(tmp_path))
    path = tmp_path / "RC-49_64x64.h5"
    try:
        import h5py
    except ImportError:  # h5py is not a dependency: the error must say how to get an npz export
        path.write_bytes(b"\x89HDF\r\n")
        with pytest.raises(DatasetError, match=r"h5py is not installed.*np.savez"):
            load_task("rc49", root=str(tmp_path))
        return
    with h5py.File(path, "w") as f:  # the layout of CcGAN's RC-49_64x64.h5
        f.create_dataset("images", data=np.zeros((4, 3, 64, 64), np.uint8))
        f.create_dataset("labels", data=np.array([1.0, 2.0, 3.0, 4.0]))
        f.create_dataset("indx_train", data=np.array([1, 3]))
    data = load_task("rc49", root=str(tmp_path), size=32)
    assert data.train_y.tolist() == [2.0, 4.0] and data.test_y.tolist() == [1.0, 3.0]

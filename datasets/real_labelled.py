"""Loaders for the real datasets of cGAN-KD (Ding et al., arXiv 2104.03164) and CcGAN (Ding et al., ICLR 2021).

Every loader reads from ``root`` (a local data folder; ``None``, the default, is the harness's data
root: ``--data-root``, else ``$KDGAN_DATA_ROOT``, else ``./data``), checks the layout first and fails with a
``DatasetError`` naming the missing or malformed file and the expected layout; nothing falls back
silently. Downloads happen only with ``download=True`` and only where the source allows it.

* ``cifar10`` / ``cifar100``: torchvision's on-disk format (``root/cifar-10-batches-py/data_batch_1..5,
  test_batch``; ``root/cifar-100-python/train, test``: pickled dicts with ``data`` N x 3072 uint8 and
  ``labels`` / ``fine_labels``). The pickles are read here (not through torchvision's class, whose
  md5 check rejects anything but the exact release files), so shapes and keys are checked instead,
  and with a restricted unpickler (:mod:`kd_gan_bench.datasets.restricted_pickle`: numpy arrays and plain data only, a
  file naming any other callable is refused before anything runs); ``download=True`` uses torchvision's
  downloader, which does verify the md5 of the archive.
* ``tiny_imagenet``: ``root/tiny-imagenet-200`` as released (``wnids.txt``, ``train/<wnid>/images/*.JPEG``,
  ``val/images/*.JPEG`` + ``val/val_annotations.txt``); the labelled val split is the test split.
  Classes are numbered in sorted wnid order. ``download=True`` fetches the cs231n archive.
* ``utkface``: ``root/UTKFace/*.jpg`` named ``age_gender_race_date.jpg[.chip.jpg]``; the age is the
  label (years). As in cGAN-KD, ages outside ``[min_age, max_age]`` (default 1..60) are left out.
  UTKFace ships without a split: a seeded ``test_fraction`` split is made. No download (the files
  are behind a Google Drive form): the error says where to get them.
* ``rc49``: the rotated-chairs set of CcGAN (angle in degrees is the label), in one of three forms:
  ``root/RC-49_64x64.h5`` as published with CcGAN (keys ``images`` N x 3 x 64 x 64, ``labels``,
  ``indx_train``; the rest is the test split), read only if ``h5py`` is installed (it is not a
  dependency of this project); ``root/RC-49_64x64.npz`` with the same arrays (export it once where
  h5py is available, see ``RC49_EXPORT_HINT``); or ``root/RC-49/labels.csv`` (``filename,angle``
  with an optional ``split`` column of ``train``/``test``) next to the image files. No download
  (OneDrive link in the CcGAN README).
"""
from __future__ import annotations

import csv
import pickle
import re
import zipfile
from pathlib import Path
from typing import Callable, Iterable

import numpy as np
import torch
import torch.nn.functional as F

from kd_gan_bench.datasets.base import register_task
from kd_gan_bench.datasets.catalog import resolve_data_root
from kd_gan_bench.datasets.labelled import DatasetError, LabelledImageData, split_indices
from kd_gan_bench.datasets.restricted_pickle import UntrustedPickleError, load_numpy_pickle

TINY_IMAGENET_URL = "https://cs231n.stanford.edu/tiny-imagenet-200.zip"
#: md5 of the cs231n archive, as the public Tiny-ImageNet loaders pin it (e.g. avalanche's tiny_imagenet.py)
TINY_IMAGENET_MD5 = "90528d7ca1a48142e341f4ef8d21d0de"
UTKFACE_SOURCE = "https://susanqq.github.io/UTKFace/ (the 'Aligned&Cropped Faces' archive, UTKFace.tar.gz)"
RC49_SOURCE = "the CcGAN README (https://github.com/UBCDingXin/improved_CcGAN, 'RC-49_64x64.h5')"
RC49_EXPORT_HINT = ("where h5py is available: import h5py, numpy as np; f = h5py.File('RC-49_64x64.h5'); "
                    "np.savez('RC-49_64x64.npz', images=f['images'][:], labels=f['labels'][:], "
                    "indx_train=f['indx_train'][:])")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")


def _resize(images: torch.Tensor, size: int) -> torch.Tensor:
    """uint8 N x 3 x h x w -> uint8 N x 3 x size x size (antialiased bilinear); unchanged if already that size."""
    if tuple(images.shape[2:]) == (size, size):
        return images
    out = F.interpolate(images.float(), size=(size, size), mode="bilinear", antialias=True, align_corners=False)
    return out.round().clamp(0, 255).to(torch.uint8)


def _read_image(path: Path) -> torch.Tensor:
    """One RGB image file as uint8 3 x H x W; an unreadable file is named in the error."""
    from PIL import Image, UnidentifiedImageError

    from kd_gan_bench.datasets.image_folder import no_bombs

    try:
        with no_bombs(path), Image.open(path) as img:
            array = np.asarray(img.convert("RGB"), dtype=np.uint8)
    except (UnidentifiedImageError, OSError, SyntaxError) as exc:
        raise DatasetError(f"cannot read image {path}: {exc}") from None
    return torch.from_numpy(array.copy()).permute(2, 0, 1)


def _stack_images(paths: Iterable[Path], size: int) -> torch.Tensor:
    return torch.cat([_resize(_read_image(p)[None], size) for p in paths])


def _download(fetch: Callable[[], object], what: str, target: Path) -> None:
    """Run a download; a failure (offline, server down, bad checksum) becomes a DatasetError saying where
    the files are expected instead."""
    try:
        fetch()
    except Exception as exc:  # urllib, socket, checksum and archive errors all end here
        raise DatasetError(f"downloading {what} failed ({type(exc).__name__}: {exc}); without network, put the "
                           f"files at {target} yourself") from None


def _require(path: Path, what: str, hint: str) -> Path:
    if not path.exists():
        raise DatasetError(f"{what} not found: expected {path}. {hint}")
    return path


# ---------------------------------------------------------------------------------------------- CIFAR
_CIFAR = {
    10: ("cifar-10-batches-py", [f"data_batch_{i}" for i in range(1, 6)], ["test_batch"], "labels"),
    100: ("cifar-100-python", ["train"], ["test"], "fine_labels"),
}


def _read_cifar_batch(path: Path, label_key: str) -> tuple[torch.Tensor, torch.Tensor]:
    try:
        with open(path, "rb") as f:
            entry = load_numpy_pickle(f, encoding="latin1")
    except UntrustedPickleError as exc:
        raise DatasetError(f"untrusted CIFAR file {path}: {exc}. CIFAR's batches hold only numpy arrays, lists and "
                           f"strings; replace the file with the release's (cifar-10-python.tar.gz / "
                           f"cifar-100-python.tar.gz, md5 checked by download=True).") from None
    except (pickle.UnpicklingError, EOFError, ValueError, TypeError, AttributeError, ImportError, IndexError) as exc:
        raise DatasetError(f"corrupt CIFAR file {path}: cannot unpickle it ({type(exc).__name__}: {exc})") from None
    if not isinstance(entry, dict) or "data" not in entry or label_key not in entry:
        keys = sorted(entry) if isinstance(entry, dict) else type(entry).__name__
        raise DatasetError(f"malformed CIFAR file {path}: expected a dict with 'data' and {label_key!r}, got {keys}")
    data, labels = np.asarray(entry["data"]), np.asarray(entry[label_key])
    if data.dtype != np.uint8 or data.ndim != 2 or data.shape[1] != 3 * 32 * 32 or labels.shape != (len(data),):
        raise DatasetError(f"malformed CIFAR file {path}: 'data' must be uint8 N x 3072 with N labels, "
                           f"got {data.dtype} {data.shape} and {labels.shape} labels")
    return torch.from_numpy(data.reshape(-1, 3, 32, 32).copy()), torch.from_numpy(labels.astype(np.int64))


def load_cifar(root: str | None, num_classes: int, download: bool, size: int) -> LabelledImageData:
    """CIFAR-10 or CIFAR-100 from torchvision's on-disk layout under ``root``."""
    folder_name, train_files, test_files, label_key = _CIFAR[num_classes]
    root = str(resolve_data_root(root))
    folder = Path(root) / folder_name
    if download and not folder.is_dir():
        import torchvision

        cls = torchvision.datasets.CIFAR10 if num_classes == 10 else torchvision.datasets.CIFAR100
        _download(lambda: cls(root=str(Path(root).expanduser()), train=True, download=True), f"CIFAR-{num_classes}",
                  folder)
    hint = (f"Put the python version of CIFAR-{num_classes} there (the {folder_name} folder of "
            f"{'cifar-10-python.tar.gz' if num_classes == 10 else 'cifar-100-python.tar.gz'}), "
            f"or pass download=True (task argument) where the network allows it.")
    for name in train_files + test_files:
        _require(folder / name, f"CIFAR-{num_classes} file", hint)
    train = [_read_cifar_batch(folder / f, label_key) for f in train_files]
    test = [_read_cifar_batch(folder / f, label_key) for f in test_files]
    train_x, train_y = torch.cat([x for x, _ in train]), torch.cat([y for _, y in train])
    test_x, test_y = torch.cat([x for x, _ in test]), torch.cat([y for _, y in test])
    for split, y in (("train", train_y), ("test", test_y)):
        if int(y.min()) < 0 or int(y.max()) >= num_classes:
            raise DatasetError(f"malformed CIFAR-{num_classes} {split} labels in {folder}: "
                               f"range [{int(y.min())}, {int(y.max())}] is outside [0, {num_classes})")
    return LabelledImageData(f"cifar{num_classes}", "classification", size, _resize(train_x, size), train_y,
                             _resize(test_x, size), test_y, num_classes=num_classes, augment="crop_flip")


@register_task("cifar10")
def cifar10(root: str | None, download: bool, size: int) -> LabelledImageData:
    return load_cifar(root, 10, download, size)


@register_task("cifar100")
def cifar100(root: str | None, download: bool, size: int) -> LabelledImageData:
    return load_cifar(root, 100, download, size)


# -------------------------------------------------------------------------------------- Tiny-ImageNet
def _tiny_val_annotations(path: Path, classes: dict[str, int]) -> list[tuple[str, int]]:
    rows = []
    for number, line in enumerate(path.read_text().splitlines(), 1):
        if not line.strip():
            continue
        fields = line.split("\t")
        if len(fields) < 2 or fields[1] not in classes:
            raise DatasetError(f"malformed line {number} of {path}: expected "
                               f"'filename<TAB>wnid<TAB>x<TAB>y<TAB>w<TAB>h' with a wnid from wnids.txt, got {line!r}")
        rows.append((fields[0], classes[fields[1]]))
    return rows


@register_task("tiny_imagenet")
def tiny_imagenet(root: str | None, download: bool, size: int) -> LabelledImageData:
    base = resolve_data_root(root)
    folder = base / "tiny-imagenet-200"
    if download and not folder.is_dir():
        from torchvision.datasets.utils import download_and_extract_archive

        _download(lambda: download_and_extract_archive(TINY_IMAGENET_URL, str(base), md5=TINY_IMAGENET_MD5),
                  "Tiny-ImageNet", folder)
    hint = f"Unpack {TINY_IMAGENET_URL} under {base}, or pass download=True where the network allows it."
    wnids = [w.strip() for w in _require(folder / "wnids.txt", "Tiny-ImageNet class list", hint).read_text().split()
             if w.strip()]
    if len(wnids) < 2 or len(set(wnids)) != len(wnids):
        raise DatasetError(f"malformed {folder / 'wnids.txt'}: expected distinct wnids, one per line, got {len(wnids)}")
    classes = {w: i for i, w in enumerate(sorted(wnids))}
    train_paths, train_labels = [], []
    for wnid, label in classes.items():
        images = _require(folder / "train" / wnid / "images", f"Tiny-ImageNet training folder of {wnid}", hint)
        files = sorted(p for p in images.iterdir() if p.suffix.lower() in (".jpeg", ".jpg", ".png"))
        if not files:
            raise DatasetError(f"no images in {images}")
        train_paths += files
        train_labels += [label] * len(files)
    annotations = _require(folder / "val" / "val_annotations.txt", "Tiny-ImageNet val annotations", hint)
    val = _tiny_val_annotations(annotations, classes)
    val_paths = [_require(folder / "val" / "images" / name, "Tiny-ImageNet val image", f"listed in {annotations}")
                 for name, _ in val]
    return LabelledImageData("tiny_imagenet", "classification", size, _stack_images(train_paths, size),
                             torch.tensor(train_labels, dtype=torch.int64), _stack_images(val_paths, size),
                             torch.tensor([label for _, label in val], dtype=torch.int64),
                             num_classes=len(classes), augment="crop_flip")


# -------------------------------------------------------------------------------------------- UTKFace
_UTK_NAME = re.compile(r"^(?P<age>\d+)_(?P<gender>[01])_")


def utkface_age(path: Path) -> int:
    """The age encoded in a UTKFace file name (``age_gender_race_date.jpg``); a malformed name is an error."""
    match = _UTK_NAME.match(path.name)
    if match is None:
        raise DatasetError(f"malformed UTKFace file name {path}: expected 'age_gender_race_date.jpg' with an integer "
                           f"age and gender 0 or 1, e.g. '25_0_1_20170116174525125.jpg.chip.jpg'")
    return int(match["age"])


@register_task("utkface")
def utkface(root: str | None, size: int, min_age: int, max_age: int, test_fraction: float,
            split_seed: int) -> LabelledImageData:
    folder = _require(resolve_data_root(root) / "UTKFace", "UTKFace folder", f"Get it from {UTKFACE_SOURCE} and "
                      f"unpack it so that the images lie in that folder.")
    paths = sorted(p for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
    if not paths:
        raise DatasetError(f"no .jpg/.png images in {folder}")
    ages = [utkface_age(p) for p in paths]
    kept = [(p, a) for p, a in zip(paths, ages) if min_age <= a <= max_age]
    if len(kept) < 2:
        raise DatasetError(f"{folder}: only {len(kept)} image(s) with ages in [{min_age}, {max_age}]")
    train_idx, test_idx = split_indices(len(kept), test_fraction, split_seed)
    images = _stack_images([p for p, _ in kept], size)
    labels = torch.tensor([a for _, a in kept], dtype=torch.float32)
    return LabelledImageData("utkface", "regression", size, images[train_idx], labels[train_idx], images[test_idx],
                             labels[test_idx], label_range=(float(min_age), float(max_age)), label_unit="years",
                             augment="flip")


# ---------------------------------------------------------------------------------------------- RC-49
def _rc49_arrays(get: Callable[[str], np.ndarray], source: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    images, labels = get("images"), get("labels")
    if images is None or labels is None:
        raise DatasetError(f"malformed RC-49 file {source}: needs arrays 'images' and 'labels' "
                           f"(and optionally 'indx_train')")
    if images.dtype != np.uint8 or images.ndim != 4 or images.shape[1] != 3 or labels.shape != (len(images),):
        raise DatasetError(f"malformed RC-49 file {source}: 'images' must be uint8 N x 3 x H x W with N 'labels', "
                           f"got {images.dtype} {images.shape} and {labels.shape}")
    return images, labels, get("indx_train")


def _rc49_h5(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        import h5py
    except ImportError:
        raise DatasetError(f"{path} is an HDF5 file and h5py is not installed (it is not a dependency of this "
                           f"project). Either pip install h5py, or export it once to {path.with_suffix('.npz')} "
                           f"{RC49_EXPORT_HINT}") from None
    try:
        with h5py.File(path, "r") as f:
            return _rc49_arrays(lambda k: f[k][:] if k in f else None, path)
    except OSError as exc:
        raise DatasetError(f"corrupt RC-49 file {path}: {exc}") from None


def _rc49_npz(path: Path) -> tuple[np.ndarray, np.ndarray, np.ndarray | None]:
    try:
        with np.load(path, allow_pickle=False) as f:
            return _rc49_arrays(lambda k: f[k] if k in f.files else None, path)
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as exc:
        raise DatasetError(f"corrupt RC-49 file {path}: {exc}") from None


def _parse_angle(text: str, where: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise DatasetError(f"{where}: the angle {text!r} is not a number") from None
    if not np.isfinite(value):
        raise DatasetError(f"{where}: the angle {text!r} is not finite")
    return value


def _rc49_csv(folder: Path, size: int, split_seed: int, test_fraction: float) -> tuple[torch.Tensor, ...]:
    path = folder / "labels.csv"
    with open(path, newline="") as f:
        reader = csv.DictReader(f)
        if reader.fieldnames is None or not {"filename", "angle"} <= set(reader.fieldnames):
            raise DatasetError(f"malformed {path}: the header must name the columns 'filename' and 'angle' "
                               f"(and optionally 'split'), got {reader.fieldnames}")
        rows = list(reader)
    if not rows:
        raise DatasetError(f"{path} lists no images")
    angles = [_parse_angle(row["angle"] or "", f"{path}, row {i}") for i, row in enumerate(rows, 2)]
    paths = [_require(folder / row["filename"], "RC-49 image", f"listed in {path}") for row in rows]
    images = _stack_images(paths, size)
    labels = torch.tensor(angles, dtype=torch.float32)
    if "split" in (reader.fieldnames or []):
        splits = [row["split"] for row in rows]
        bad = [(i, s) for i, s in enumerate(splits, 2) if s not in ("train", "test")]
        if bad:
            raise DatasetError(f"{path}, row {bad[0][0]}: split must be 'train' or 'test', got {bad[0][1]!r}")
        train_idx = torch.tensor([i for i, s in enumerate(splits) if s == "train"], dtype=torch.long)
        test_idx = torch.tensor([i for i, s in enumerate(splits) if s == "test"], dtype=torch.long)
    else:
        train_idx, test_idx = split_indices(len(rows), test_fraction, split_seed)
    return images[train_idx], labels[train_idx], images[test_idx], labels[test_idx]


@register_task("rc49")
def rc49(root: str | None, size: int, test_fraction: float, split_seed: int) -> LabelledImageData:
    base = resolve_data_root(root)
    h5, npz, csv_folder = base / "RC-49_64x64.h5", base / "RC-49_64x64.npz", base / "RC-49"
    if npz.exists() or h5.exists():
        source = npz if npz.exists() else h5
        images, labels, indx_train = (_rc49_npz if source == npz else _rc49_h5)(source)
        labels = labels.astype(np.float64)
        bad = np.flatnonzero(~np.isfinite(labels))
        if len(bad):
            raise DatasetError(f"{source}: label {int(bad[0])} is {labels[bad[0]]}, not a finite angle")
        x, y = torch.from_numpy(np.ascontiguousarray(images)), torch.from_numpy(labels.astype(np.float32))
        if indx_train is None:
            train_idx, test_idx = split_indices(len(y), test_fraction, split_seed)
        else:
            train_mask = torch.zeros(len(y), dtype=torch.bool)
            train_mask[torch.from_numpy(np.asarray(indx_train, dtype=np.int64))] = True
            train_idx, test_idx = train_mask.nonzero()[:, 0], (~train_mask).nonzero()[:, 0]
        train_x, test_x = _resize(x[train_idx], size), _resize(x[test_idx], size)
        train_y, test_y = y[train_idx], y[test_idx]
    elif (csv_folder / "labels.csv").exists():
        train_x, train_y, test_x, test_y = _rc49_csv(csv_folder, size, split_seed, test_fraction)
    else:
        raise DatasetError(f"RC-49 not found under {base}: expected {h5} (needs h5py), {npz} (arrays images, labels, "
                           f"indx_train) or {csv_folder / 'labels.csv'} (columns filename, angle[, split]) next to "
                           f"the images. The h5 file is linked from {RC49_SOURCE}.")
    return LabelledImageData("rc49", "regression", size, train_x, train_y, test_x, test_y, label_range=(0.0, 90.0),
                             label_unit="degrees", augment="none")

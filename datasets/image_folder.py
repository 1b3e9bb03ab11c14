"""Prepared image folders -> uint8 tensors, with checks that name the offending file.

The conventions follow junyanz/pytorch-CycleGAN-and-pix2pix's data loaders at test time:

* image files are those with CycleGAN's ``IMG_EXTENSIONS`` (case-insensitive), sorted by name;
* images are converted to RGB (grayscale and palette images are expanded, as ``.convert('RGB')``
  does there) and resized to the task size with bicubic interpolation (``--preprocess resize``;
  the papers' training-time jitter, resize to 286 then random crop 256, is augmentation and not
  part of the data layer);
* a pix2pix image holds A (left half) and B (right half) side by side (``AlignedDataset``).

Checks, each failing with ``ImageFileError`` naming the file: unreadable or truncated files, images of more
pixels than PIL's decompression-bomb limit (``Image.MAX_IMAGE_PIXELS``: its warning is an error here too),
channel layouts that are not RGB/grayscale (an alpha channel, CMYK, 16-bit), a folder whose
images do not all share one size, an A|B image that is not twice as wide as high, and label maps
that are not single-channel. Label maps (Cityscapes trainIds) keep their native resolution.

Decoded arrays go through ``kd_gan_bench.datasets.tensor_cache`` so a large dataset is decoded once per data
root and memory-mapped by every job.
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from pathlib import Path
from typing import Callable, Iterator

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError

from kd_gan_bench.datasets.errors import ImageFileError, LayoutError
from kd_gan_bench.datasets.tensor_cache import cached_arrays, file_fingerprint

#: CycleGAN/pix2pix ``data/image_folder.py`` IMG_EXTENSIONS, compared case-insensitively.
IMG_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff", ".webp")
#: PIL modes that convert to RGB without losing information (as the papers' loaders do).
RGB_CONVERTIBLE = {"RGB": "RGB", "L": "grayscale", "P": "palette"}
LABEL_MODES = ("L", "P")


def list_images(folder: Path, what: str) -> list[Path]:
    """Sorted image files of ``folder``; ``LayoutError`` if it is missing or holds none."""
    if not folder.is_dir():
        raise LayoutError(f"{what}: folder {folder} is missing")
    files = sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMG_EXTENSIONS)
    if not files:
        raise LayoutError(f"{what}: folder {folder} holds no images ({', '.join(IMG_EXTENSIONS)})")
    return files


@contextmanager
def no_bombs(name: object) -> Iterator[None]:
    """Decode images inside this block: PIL's ``DecompressionBombWarning`` (more than ``Image.MAX_IMAGE_PIXELS``
    pixels) and ``DecompressionBombError`` (twice that) become an ``ImageFileError`` naming the file ``name``."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            yield
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageFileError(f"image {name} is too large to decode: {exc} Dataset images are far smaller (at "
                                 f"most {Image.MAX_IMAGE_PIXELS:,} pixels, PIL's Image.MAX_IMAGE_PIXELS): the file is "
                                 f"not a dataset image; prepare the dataset again from the published archive or "
                                 f"remove the file.") from None


def open_image(path: Path) -> Image.Image:
    """A fully decoded PIL image; ``ImageFileError`` for unreadable, truncated or oversized files."""
    try:
        with no_bombs(path), Image.open(path) as img:
            img.load()
            return img.copy() if img.mode != "P" or "transparency" not in img.info else img.convert("RGBA")
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError) as exc:
        raise ImageFileError(f"cannot read image {path}: {exc}. The file is truncated or not an image: prepare the "
                             f"dataset again (python -m kd_gan_bench.benchmarks.run datasets prepare NAME) or replace the file.") from None


def rgb_image(path: Path) -> Image.Image:
    """The image as RGB; ``ImageFileError`` for layouts that do not convert losslessly (alpha, CMYK, 16-bit)."""
    img = open_image(path)
    if img.mode not in RGB_CONVERTIBLE:
        raise ImageFileError(f"image {path} has mode {img.mode} ({len(img.getbands())} channels: "
                             f"{', '.join(img.getbands())}); expected RGB (3 channels) or grayscale (1 channel). "
                             f"Convert it to RGB, e.g. Image.open(p).convert('RGB').save(p).")
    return img if img.mode == "RGB" else img.convert("RGB")


def _to_chw(img: Image.Image, size: int) -> np.ndarray:
    if img.size != (size, size):
        img = img.resize((size, size), Image.BICUBIC)
    return np.asarray(img, dtype=np.uint8).transpose(2, 0, 1)


class _SizeCheck:
    """All images of one set must share the first one's size (an odd one out means a broken set)."""

    def __init__(self, what: str) -> None:
        self.what, self.first = what, None

    def __call__(self, path: Path, size: tuple[int, int]) -> None:
        if self.first is None:
            self.first = (path, size)
        elif size != self.first[1]:
            (w, h), (fw, fh) = size, self.first[1]
            raise ImageFileError(f"image {path} is {w}x{h} but {self.first[0].name} and the others of {self.what} "
                                 f"are {fw}x{fh}: the set is mixed up or a file is damaged; prepare the dataset again.")


def _key(kind: str, files: list[Path], root: Path, **extra) -> dict:
    return {"kind": kind, "files": file_fingerprint(files, root), **extra}


def load_images(files: list[Path], size: int, what: str, cache_root: Path | None, root: Path) -> torch.Tensor:
    """uint8 N x 3 x size x size of RGB images (one set: they must share one size)."""

    def fill(arrays: dict[str, np.ndarray]) -> None:
        check = _SizeCheck(what)
        for i, path in enumerate(files):
            img = rgb_image(path)
            check(path, img.size)
            arrays["images"][i] = _to_chw(img, size)

    return cached_arrays(cache_root, _key("rgb", files, root, size=size), {"images": (len(files), 3, size, size)},
                         fill)["images"]


def load_side_by_side(files: list[Path], size: int, what: str, cache_root: Path | None,
                      root: Path) -> tuple[torch.Tensor, torch.Tensor]:
    """The A (left) and B (right) halves of pix2pix A|B images, each uint8 N x 3 x size x size."""

    def fill(arrays: dict[str, np.ndarray]) -> None:
        check = _SizeCheck(what)
        for i, path in enumerate(files):
            img = rgb_image(path)
            w, h = img.size
            if w != 2 * h:
                raise ImageFileError(f"image {path} is {w}x{h}: a pix2pix A|B image must be twice as wide as high "
                                     f"(A on the left, B on the right). Is this a pix2pix dataset?")
            check(path, img.size)
            arrays["A"][i] = _to_chw(img.crop((0, 0, h, h)), size)
            arrays["B"][i] = _to_chw(img.crop((h, 0, w, h)), size)

    shape = (len(files), 3, size, size)
    out = cached_arrays(cache_root, _key("aligned", files, root, size=size), {"A": shape, "B": shape}, fill)
    return out["A"], out["B"]


def label_array(path: Path) -> np.ndarray:
    """A single-channel label map as uint8 H x W; ``ImageFileError`` for colour or 16-bit maps."""
    img = open_image(path)
    if img.mode not in LABEL_MODES:
        raise ImageFileError(f"label map {path} has mode {img.mode} ({len(img.getbands())} channels); expected a "
                             f"single-channel 8-bit map of class ids (a *_labelIds.png or trainIds PNG, not the "
                             f"*_color.png rendering)")
    return np.asarray(img, dtype=np.uint8)


def load_label_maps(files: list[Path], what: str, cache_root: Path | None, root: Path,
                    transform: Callable[[np.ndarray], np.ndarray] | None = None) -> torch.Tensor:
    """uint8 N x H x W label maps at their native resolution (they must share one size)."""
    first = label_array(files[0])

    def fill(arrays: dict[str, np.ndarray]) -> None:
        check = _SizeCheck(what)
        for i, path in enumerate(files):
            arr = label_array(path)
            check(path, (arr.shape[1], arr.shape[0]))
            arrays["labels"][i] = transform(arr) if transform else arr

    return cached_arrays(cache_root, _key("labels", files, root, transform=getattr(transform, "__name__", None)),
                         {"labels": (len(files), *first.shape)}, fill)["labels"]


def take(files: list[Path], limit: int | None, what: str, minimum: int = 1) -> list[Path]:
    """The first ``limit`` files (all when None): a deterministic subset for quick runs."""
    if limit is not None and (not isinstance(limit, int) or limit < minimum):
        raise ValueError(f"{what}: the limit must be None (all) or an integer >= {minimum}, got {limit!r}")
    return files[:limit] if limit else files

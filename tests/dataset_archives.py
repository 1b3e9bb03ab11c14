"""Test helper (not product code): tiny archives in the exact formats of the real datasets.

* CycleGAN: ``<name>.zip`` holding ``<name>/{trainA,trainB,testA,testB}/*.jpg``;
* pix2pix: ``<name>.tar.gz`` holding ``<name>/{train,val}/*.jpg`` of A|B images (A left, B right);
* Cityscapes: ``gtFine_trainvaltest.zip`` (``gtFine/{train,val}/<city>/<id>_gtFine_{color,labelIds}.png``)
  and ``leftImg8bit_trainvaltest.zip`` (``leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png``), with
  top-level licence files like the real ones.

Images are small, seeded and deterministic; the real extraction, preparation and loading code runs on them.
"""
from __future__ import annotations

import io
import tarfile
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image


def image_bytes(rng: np.random.Generator, width: int, height: int, fmt: str = "JPEG", mode: str = "RGB") -> bytes:
    channels = {"RGB": 3, "RGBA": 4, "L": 1}[mode]
    arr = rng.integers(0, 256, (height, width, channels), dtype=np.uint8)
    img = Image.fromarray(arr[..., 0] if channels == 1 else arr, mode)
    buf = io.BytesIO()
    img.save(buf, format=fmt)
    return buf.getvalue()


def cyclegan_zip(path: Path, name: str, counts: dict[str, int], size: int = 32, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with zipfile.ZipFile(path, "w") as zf:
        for split, n in counts.items():
            zf.writestr(f"{name}/{split}/", "")
            for i in range(n):
                zf.writestr(f"{name}/{split}/{i:04d}.jpg", image_bytes(rng, size, size))
    return path


def pix2pix_tar(path: Path, name: str, counts: dict[str, int], size: int = 32, seed: int = 0,
                eval_split: str = "val") -> Path:
    rng = np.random.default_rng(seed)
    with tarfile.open(path, "w:gz") as tf:
        for split, n in counts.items():
            for i in range(n):
                data = image_bytes(rng, 2 * size, size)
                info = tarfile.TarInfo(f"{name}/{split if split != 'val' else eval_split}/{i + 1}_AB.jpg")
                info.size = len(data)
                tf.addfile(info, io.BytesIO(data))
    return path


def _label_png(rng: np.random.Generator, width: int, height: int) -> bytes:
    ids = rng.choice(np.array([0, 1, 7, 8, 11, 21, 23, 24, 26, 33, 40], dtype=np.uint8), size=(height, width))
    buf = io.BytesIO()
    Image.fromarray(ids, "L").save(buf, format="PNG")
    return buf.getvalue()


def cityscapes_zips(folder: Path, counts: dict[str, int] | None = None, width: int = 64, height: int = 32,
                    seed: int = 0) -> tuple[Path, Path]:
    """The two official archives with ``counts`` images per split (cities ``aachen`` and ``bonn``)."""
    counts = counts or {"train": 3, "val": 2}
    rng = np.random.default_rng(seed)
    gt, photos = folder / "gtFine_trainvaltest.zip", folder / "leftImg8bit_trainvaltest.zip"
    with zipfile.ZipFile(gt, "w") as zg, zipfile.ZipFile(photos, "w") as zp:
        zg.writestr("license.txt", "test")
        zp.writestr("README", "test")
        for split, n in counts.items():
            for i in range(n):
                city = ("aachen", "bonn")[i % 2]
                ident = f"{city}_{i:06d}_000019"
                zg.writestr(f"gtFine/{split}/{city}/{ident}_gtFine_color.png", image_bytes(rng, width, height, "PNG"))
                zg.writestr(f"gtFine/{split}/{city}/{ident}_gtFine_labelIds.png", _label_png(rng, width, height))
                zp.writestr(f"leftImg8bit/{split}/{city}/{ident}_leftImg8bit.png", image_bytes(rng, width, height, "PNG"))
    return gt, photos

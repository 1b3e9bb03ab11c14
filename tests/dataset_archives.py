"""Test helper (not product code): tiny archives in the exact formats of the real datasets.

* CycleGAN: ``<name>.zip`` holding ``<name>/{trainA,trainB,testA,testB}/*.jpg``;
* pix2pix: ``<name>.tar.gz`` holding ``<name>/{train,val}/*.jpg`` of A|B images (A left, B right);
* Cityscapes: ``gtFine_trainvaltest.zip`` (``gtFine/{train,val}/<city>/<id>_gtFine_{color,labelIds}.png``)
  and ``leftImg8bit_trainvaltest.zip`` (``leftImg8bit/{train,val}/<city>/<id>_leftImg8bit.png``), with
  top-level licence files like the real ones.

Images are small, seeded and deterministic; the real extraction, preparation and loading code runs on them.
"""
from __future__ import annotations

import dataclasses
import io
import struct
import tarfile
import zipfile
import zlib
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image

from kd_gan_bench.datasets import DATASETS  # loads every task module, so the real datasets are registered


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


def _repeated_deflate(prefix: bytes, chunk: bytes, repeats: int) -> bytes:
    """A raw deflate stream of ``prefix`` then ``chunk`` ``repeats`` times, made without compressing every copy: a
    full flush after a block resets the compressor, so the same input block compresses to the same bytes."""
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(prefix) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    return head + block * repeats + co.flush()


def zip_bomb(path: Path, small: dict[str, bytes], big_name: str, big_size: int) -> Path:
    """A zip holding the ``small`` members and one member ``big_name`` of ``big_size`` zero bytes (a multiple of
    16 MiB, below 4 GiB), deflated: about a thousandth of its size. Written by hand (zipfile would compress every
    byte); the real zipfile module reads it back."""
    chunk = bytes(16 << 20)
    assert big_size % len(chunk) == 0 and big_size < 1 << 32
    crc = 0
    for _ in range(big_size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    data = _repeated_deflate(b"", chunk, big_size // len(chunk))
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as zf:
        for name, content in small.items():
            zf.writestr(name, content)
    with zipfile.ZipFile(path) as zf:  # the central directory of the small members, rewritten after the big one
        infos = zf.infolist()
        cd_offset = zf.start_dir
    raw = path.read_bytes()
    name = big_name.encode()
    local = struct.pack("<IHHHHHIIIHH", 0x04034B50, 20, 0, 8, 0, 0x21, crc, len(data), big_size, len(name), 0)
    entries = raw[cd_offset:raw.rindex(b"PK\x05\x06")]
    big_entry = struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 20, 20, 0, 8, 0, 0x21, crc, len(data), big_size,
                            len(name), 0, 0, 0, 0, 0o100644 << 16, cd_offset) + name
    central = entries + big_entry
    end = struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(infos) + 1, len(infos) + 1, len(central),
                      cd_offset + len(local) + len(name) + len(data), 0)
    path.write_bytes(raw[:cd_offset] + local + name + data + central + end)
    return path


def tar_gz_bomb(path: Path, big_name: str, big_size: int) -> Path:
    """A tar.gz of one member ``big_name`` of ``big_size`` zero bytes (a multiple of 16 MiB), gzip by hand."""
    chunk = bytes(16 << 20)
    info = tarfile.TarInfo(big_name)
    info.size = big_size
    header = info.tobuf(format=tarfile.GNU_FORMAT)
    tail = bytes(1024)  # the end-of-archive blocks
    crc = zlib.crc32(header)
    for _ in range(big_size // len(chunk)):
        crc = zlib.crc32(chunk, crc)
    crc = zlib.crc32(tail, crc)
    co = zlib.compressobj(9, zlib.DEFLATED, -15)
    head = co.compress(header) + co.flush(zlib.Z_FULL_FLUSH)
    block = co.compress(chunk) + co.flush(zlib.Z_FULL_FLUSH)
    body = head + block * (big_size // len(chunk)) + co.compress(tail) + co.flush()
    total = len(header) + big_size + len(tail)
    path.write_bytes(b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x02\xff" + body + struct.pack("<II", crc, total & 0xFFFFFFFF))
    return path


def png_header_only(width: int, height: int) -> bytes:
    """A PNG that declares ``width`` x ``height`` RGB pixels and holds no pixel data: what PIL's decompression-bomb
    check reads (the size) without a large file."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))


def unpin(monkeypatch: Any, name: str) -> None:
    """Drop the sha256 pins of ``name``'s archives for this test (``monkeypatch``: pytest's): the tests' archives are
    generated, not the release."""
    spec = DATASETS.get(name)
    unpinned = dataclasses.replace(spec, archives=tuple(dataclasses.replace(a, sha256=None) for a in spec.archives))
    monkeypatch.setitem(DATASETS._entries, name, unpinned)

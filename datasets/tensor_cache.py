"""A disk cache of decoded images as memory-mapped uint8 arrays, shared by every job on a data root.

Real datasets are large (edges2shoes: about 50k pairs, 19.6 GB as uint8 at 256x256), and the
harness hands tasks around as uint8 tensors. Decoding every JPEG in every job would cost minutes
and, worse, that much RAM per job. So the first job decodes into ``.npy`` files under
``<data_root>/.cache/<digest>/`` (written in place through ``numpy.lib.format.open_memmap``, so
the full array never sits in memory) and every job then maps them copy-on-write: pages are read
on demand, shared through the OS page cache, and tensors behave as ordinary writable tensors.

The digest covers the cache format version, what was decoded (file names, sizes and
modification times) and how (target size, split direction...), so a re-prepared dataset or a
different resolution gets a fresh entry. Entries are built under an exclusive ``fcntl`` lock in
a temporary folder and renamed into place, so concurrent jobs never read half an entry.
"""
from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from pathlib import Path
from typing import Any, Callable, Iterator, Mapping

import numpy as np
import torch

VERSION = 1


def file_fingerprint(paths: list[Path], root: Path) -> list[list[Any]]:
    """Names (relative to ``root``), sizes and mtimes of the source files: what makes an entry stale."""
    out = []
    for p in paths:
        st = p.stat()
        out.append([str(p.relative_to(root)) if p.is_relative_to(root) else str(p), st.st_size, st.st_mtime_ns])
    return out


@contextlib.contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """An exclusive ``fcntl`` lock on ``path`` (created if missing) for the ``with`` block: one process
    at a time builds a shared cache entry."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as fh:
        fcntl.flock(fh.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh.fileno(), fcntl.LOCK_UN)


def _as_tensors(arrays: Mapping[str, np.ndarray]) -> dict[str, torch.Tensor]:
    return {name: torch.from_numpy(arr) for name, arr in arrays.items()}


def cached_arrays(cache_root: Path | None, key: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]],
                  fill: Callable[[dict[str, np.ndarray]], None]) -> dict[str, torch.Tensor]:
    """uint8 tensors of the given ``shapes``, filled once by ``fill(arrays)`` and cached under ``cache_root``.

    Without a cache root, or when it cannot be written (a read-only data root), the arrays live in
    memory and ``fill`` runs every time."""
    if cache_root is not None:
        try:
            cache_root.mkdir(parents=True, exist_ok=True)
            writable = os.access(cache_root, os.W_OK)
        except OSError:
            writable = False
        cache_root = cache_root if writable else None
    if cache_root is None:
        arrays = {name: np.empty(shape, dtype=np.uint8) for name, shape in shapes.items()}
        fill(arrays)
        return _as_tensors(arrays)
    digest = hashlib.sha256(json.dumps({"v": VERSION, **key}, sort_keys=True).encode()).hexdigest()[:20]
    entry = cache_root / digest
    done = entry / "complete.json"
    if not done.is_file():
        with file_lock(cache_root / f".{digest}.lock"):
            if not done.is_file():
                _build(cache_root, entry, key, shapes, fill)
    return _as_tensors({name: np.load(entry / f"{name}.npy", mmap_mode="c") for name in shapes})


def _build(cache_root: Path, entry: Path, key: Mapping[str, Any], shapes: Mapping[str, tuple[int, ...]],
           fill: Callable[[dict[str, np.ndarray]], None]) -> None:
    tmp = Path(tempfile.mkdtemp(dir=cache_root, prefix=f".{entry.name}-"))
    try:
        arrays = {name: np.lib.format.open_memmap(tmp / f"{name}.npy", mode="w+", dtype=np.uint8, shape=shape)
                  for name, shape in shapes.items()}
        fill(arrays)
        for arr in arrays.values():
            arr.flush()
        del arrays
        summary = {k: v for k, v in key.items() if k != "files"}
        (tmp / "complete.json").write_text(json.dumps({**summary, "shapes": shapes}, indent=1, default=str))
        if entry.exists():  # a stale, incomplete entry left by a killed job
            shutil.rmtree(entry)
        os.replace(tmp, entry)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise

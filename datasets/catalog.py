"""The real datasets: where their archives come from, how they are prepared, how a prepared
folder is validated. Used by the ``datasets`` CLI and by the task loaders.

Layout under a data root (``--data-root``, else ``$KDGAN_DATA_ROOT``, else ``./data``)::

    <root>/archives/<archive file>     downloaded or hand-placed archives
    <root>/<dataset>/...               the prepared dataset (``DatasetSpec.folder``)
    <root>/<dataset>/.kdgan-prepared.json   what it was prepared from (archives and their sha256)
    <root>/.cache/                     decoded, memory-mapped tensors (kd_gan_bench.datasets.tensor_cache)

``prepare`` extracts into a staging folder next to the target, builds the prepared layout
there, validates it, and only then swaps it into place: an interrupted or failed preparation
never leaves a half-prepared dataset that a job could pick up.
"""
from __future__ import annotations

import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Callable, Mapping, Sequence

from kd_gan_bench.datasets.archives import (ArchiveSource, check_free_space, download, extract, inspect_archive,
                               verify_checksum)
from kd_gan_bench.datasets.errors import ArchiveError, ImageFileError, LayoutError
from kd_gan_bench.benchmarks.core.registry import Registry

DATA_ROOT_ENV = "KDGAN_DATA_ROOT"
MARKER = ".kdgan-prepared.json"
MAX_LISTED_PROBLEMS = 20


def resolve_data_root(explicit: str | os.PathLike | None = None) -> Path:
    """``explicit``, else ``$KDGAN_DATA_ROOT``, else ``./data``, as an absolute path."""
    return Path(explicit or os.environ.get(DATA_ROOT_ENV) or "data").expanduser().absolute()


@dataclass
class PrepareInputs:
    """What a dataset's build step gets: its archives (by file name) and, unless the dataset
    streams from its archives, the folder they were extracted into."""

    archives: dict[str, Path]
    extracted: Path | None
    log: Callable[[str], None] = print


@dataclass
class Validation:
    """Result of validating a prepared folder: problems make it unusable, notes are informative."""

    problems: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def dataset_folder(root: Path, name: str) -> Path:
    """Where dataset ``name`` is prepared under the data root (known without importing its module)."""
    return Path(root) / name


@dataclass(frozen=True)
class DatasetSpec:
    """A real dataset: archives, preparation (``build``) and validation (``validate``) of its folder."""

    name: str
    description: str
    source: str
    archives: tuple[ArchiveSource, ...]
    build: Callable[[PrepareInputs, Path], None]
    validate: Callable[[Path, Validation], None]
    official_counts: Mapping[str, int] = field(default_factory=dict)
    extract: bool = True  # False: ``build`` streams from the archives itself (Cityscapes)

    def folder(self, root: Path) -> Path:
        return dataset_folder(root, self.name)

    def archive_path(self, root: Path, source: ArchiveSource) -> Path:
        return root / "archives" / source.filename

    def not_prepared(self, root: Path, missing: Path) -> LayoutError:
        return LayoutError(
            f"dataset {self.name!r} is not prepared under {root} ({missing} is missing). Prepare it with "
            f"`python -m kd_gan_bench.benchmarks.run datasets download {self.name} --data-root {root}` then "
            f"`python -m kd_gan_bench.benchmarks.run datasets prepare {self.name} --data-root {root}`, or point "
            f"{DATA_ROOT_ENV} at the data root that holds it.")


DATASETS: Registry[DatasetSpec] = Registry("dataset")


def register_dataset(spec: DatasetSpec) -> DatasetSpec:
    DATASETS.add(spec.name, spec)
    return spec


# ------------------------------------------------------------------------------------------ download


def fetch(spec: DatasetSpec, root: Path, log: Callable[[str], None] = print) -> list[Path]:
    """Make every archive of ``spec`` present under ``root/archives`` (downloading what is missing)."""
    paths = []
    for source in spec.archives:
        dest = spec.archive_path(root, source)
        if dest.is_file():
            verify_checksum(dest, source.sha256)
            log(f"{dest}: present" + (" (sha256 ok)" if source.sha256 else ""))
        else:
            log(f"downloading {source.url or source.filename} -> {dest}")
            download(source, dest)
        paths.append(dest)
    return paths


# ------------------------------------------------------------------------------------------ prepare


def _locate_archives(spec: DatasetSpec, root: Path, explicit: Sequence[Path]) -> dict[str, Path]:
    """Archive paths by file name: ``explicit`` ones (matched by name, or the only archive), else root/archives."""
    by_name = {s.filename: s for s in spec.archives}
    chosen: dict[str, Path] = {}
    for path in explicit:
        path = Path(path).expanduser().absolute()
        if path.name in by_name:
            name = path.name
        elif len(spec.archives) == 1:
            name = spec.archives[0].filename
        else:
            raise ArchiveError(f"--archive {path}: dataset {spec.name!r} needs {', '.join(by_name)}; name the file "
                               f"like the archive it is")
        if name in chosen:
            raise ArchiveError(f"--archive {chosen[name]} and --archive {path} both give {spec.name!r}'s archive "
                               f"{name}: pass one --archive per archive ({', '.join(by_name)})")
        chosen[name] = path
    for source in spec.archives:
        path = chosen.setdefault(source.filename, spec.archive_path(root, source))
        if not path.is_file():
            raise ArchiveError(f"archive {source.filename} of dataset {spec.name!r} not found at {path}: "
                               f"{source.how_to_get(spec.archive_path(root, source))} (or pass --archive PATH)")
    return chosen


def prepare(spec: DatasetSpec, root: Path, explicit_archives: Sequence[Path] = (),
            log: Callable[[str], None] = print) -> Path:
    """Verify, extract and build ``spec`` under ``root``; returns the prepared folder."""
    archives = _locate_archives(spec, root, explicit_archives)
    hashes = {}
    for source in spec.archives:
        path = archives[source.filename]
        log(f"checking {path}")
        hashes[source.filename] = verify_checksum(path, source.sha256)
        if not source.sha256:
            log(f"  no published sha256 for {source.filename}; this file has {hashes[source.filename]}")
    contents = {name: inspect_archive(path) for name, path in archives.items()}  # limits: before anything is written
    if spec.extract:
        check_free_space(root, sum(c.unpacked_bytes for c in contents.values()), f"preparing {spec.name!r}")
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(dir=root, prefix=f".staging-{spec.name}-"))
    try:
        extracted = None
        if spec.extract:
            extracted = staging / "extracted"
            for name, path in archives.items():
                log(f"extracting {path}")
                extract(path, extracted, contents[name])
        out = staging / spec.name
        out.mkdir()
        spec.build(PrepareInputs(archives, extracted, log), out)
        result = Validation()
        spec.validate(out, result)
        if not result.ok:
            raise LayoutError(f"preparing {spec.name!r} from {', '.join(map(str, archives.values()))} gave an "
                              f"invalid layout:\n  " + "\n  ".join(result.problems))
        (out / MARKER).write_text(json.dumps({
            "dataset": spec.name, "prepared_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "archives": {name: {"path": str(p), "sha256": hashes[name]} for name, p in archives.items()},
        }, indent=1))
        target = spec.folder(root)
        if target.exists():  # the previous preparation goes with the staging folder
            os.replace(target, staging / "previous")
        os.replace(out, target)
        for note in result.notes:
            log(f"note: {note}")
        return target
    finally:
        shutil.rmtree(staging, ignore_errors=True)


# ------------------------------------------------------------------------------------------ validate


def verify(spec: DatasetSpec, root: Path) -> Validation:
    """Validate the prepared folder of ``spec`` under ``root`` (every image decoded)."""
    result = Validation()
    folder = spec.folder(root)
    if not folder.is_dir():
        result.problems.append(str(spec.not_prepared(root, folder)))
        return result
    if not (folder / MARKER).is_file():
        result.notes.append(f"{folder / MARKER} is missing: the folder was not made by `datasets prepare` "
                            f"(fine if you laid it out by hand)")
    spec.validate(folder, result)
    return result


def _add(result: Validation, message: str) -> None:
    if len(result.problems) < MAX_LISTED_PROBLEMS:
        result.problems.append(message)
    elif len(result.problems) == MAX_LISTED_PROBLEMS:
        result.problems.append("... (more problems not listed)")


def check_image_folder(folder: Path, what: str, result: Validation, official: int | None = None,
                       side_by_side: bool = False) -> list[Path]:
    """Validate one split folder: present, non-empty, every image readable RGB of one size
    (twice as wide as high for pix2pix A|B images); compare the count with the official one."""
    from kd_gan_bench.datasets.image_folder import list_images, rgb_image  # numpy, PIL and torch: only when validating

    try:
        files = list_images(folder, what)
    except LayoutError as exc:
        _add(result, str(exc))
        return []
    sizes: dict[tuple[int, int], Path] = {}
    for path in files:
        try:
            img = rgb_image(path)
        except ImageFileError as exc:
            _add(result, str(exc))
            continue
        w, h = img.size
        if side_by_side and w != 2 * h:
            _add(result, f"image {path} is {w}x{h}: a pix2pix A|B image must be twice as wide as high")
        sizes.setdefault(img.size, path)
    if len(sizes) > 1:
        listed = ", ".join(f"{w}x{h} (e.g. {p.name})" for (w, h), p in sizes.items())
        _add(result, f"{what}: images of {folder} have different sizes: {listed}")
    if official is not None and len(files) != official:
        result.notes.append(f"{what}: {len(files)} images in {folder}, the official release has {official} "
                            f"(a subset, or an incomplete extraction?)")
    return files


def check_label_folder(folder: Path, what: str, result: Validation, expected: int, valid_ids: set[int]) -> None:
    """Validate single-channel label maps: one per image, values within ``valid_ids``."""
    from kd_gan_bench.datasets.image_folder import label_array, list_images  # numpy, PIL and torch: only when validating

    try:
        files = list_images(folder, what)
    except LayoutError as exc:
        _add(result, str(exc))
        return
    if len(files) != expected:
        _add(result, f"{what}: {len(files)} label maps in {folder} for {expected} images")
    for path in files:
        try:
            values = set(label_array(path).ravel().tolist())
        except ImageFileError as exc:
            _add(result, str(exc))
            continue
        bad = sorted(values - valid_ids)
        if bad:
            _add(result, f"label map {path} holds ids {bad[:10]} outside the valid set (0..18 and 255)")


def find_dir_with(root: Path, children: Sequence[str], archive: str) -> Path:
    """The shallowest folder under ``root`` holding all ``children`` (archives differ in top folders)."""
    candidates = sorted((p for p in [root, *root.rglob("*")] if p.is_dir()), key=lambda p: len(p.parts))
    for cand in candidates:
        if all((cand / c).is_dir() for c in children):
            return cand
    top = sorted(p.name for p in root.iterdir())
    raise LayoutError(f"archive {archive} holds no folder with {', '.join(children)} (top level: "
                      f"{', '.join(top) or 'nothing'}): is it the right archive?")


__all__ = ["DATASETS", "DATA_ROOT_ENV", "DatasetSpec", "PrepareInputs", "Validation",
           "check_image_folder", "check_label_folder", "fetch", "find_dir_with", "prepare", "register_dataset",
           "resolve_data_root", "verify"]

"""pix2pix's paired datasets (Isola et al., "Image-to-Image Translation with Conditional
Adversarial Networks", CVPR 2017) and GAN Compression's redistribution edges2shoes-r.

Sources: junyanz/pytorch-CycleGAN-and-pix2pix ``datasets/download_pix2pix_dataset.sh``
(``http://efrosgans.eecs.berkeley.edu/pix2pix/datasets/<name>.tar.gz``, fetched here over HTTPS) and
mit-han-lab/gan-compression ``datasets/download_pix2pix_dataset.sh`` (``edges2shoes-r``: "the redistributed dataset of edges2shoes
which has a large validation set", ``https://huggingface.co/mit-han-lab/gan-compression/resolve/main/datasets/``).
Each archive holds ``<name>/train`` and ``<name>/val`` (or ``test``) of A|B images: A on the left half,
B on the right. Preparing keeps ``train`` and ``val`` (a ``test`` folder stands in for a missing ``val``,
as GAN Compression's script does); the papers evaluate on ``val``. No checksums are published (nor
found in public loaders), so none is pinned: ``prepare`` records each archive's sha256 in the prepared folder.

Tasks: ``edges2shoes`` and ``edges2shoes-r`` (A -> B), ``map2sat`` (maps B -> A: the map is the right
half) and ``sat2map``. FID follows the pix2pix convention: real statistics from the test (val) images.
"""
from __future__ import annotations

import shutil
from pathlib import Path

import torch

from kd_gan_bench.datasets.archives import ArchiveSource
from kd_gan_bench.datasets.base import ImageTranslationData, register_task
from kd_gan_bench.datasets.registry import TASKS
from kd_gan_bench.datasets.catalog import (DATASETS, DatasetSpec, PrepareInputs, Validation, check_image_folder, find_dir_with,
                              register_dataset, resolve_data_root)
from kd_gan_bench.datasets.errors import LayoutError
from kd_gan_bench.datasets.image_folder import list_images, load_side_by_side, take
from kd_gan_bench.datasets import official_counts

PIX2PIX_URL = "https://efrosgans.eecs.berkeley.edu/pix2pix/datasets/{name}.tar.gz"
GAN_COMPRESSION_URL = "https://huggingface.co/mit-han-lab/gan-compression/resolve/main/datasets/{name}.tar.gz"
SPLITS = ("train", "val")
#: Image counts of the official archives (informative); edges2shoes-r's are not documented.
OFFICIAL_COUNTS = official_counts.PIX2PIX
URLS = {"edges2shoes": PIX2PIX_URL, "maps": PIX2PIX_URL, "edges2shoes-r": GAN_COMPRESSION_URL}


def _build(inputs: PrepareInputs, out: Path) -> None:
    assert inputs.extracted is not None
    (archive,) = inputs.archives
    src = find_dir_with(inputs.extracted, ("train",), archive)
    evaluation = next((src / s for s in ("val", "test") if (src / s).is_dir()), None)
    if evaluation is None:
        raise LayoutError(f"archive {archive} holds {src.name}/train but neither val nor test: is it a complete "
                          f"pix2pix archive?")
    shutil.move(str(src / "train"), str(out / "train"))
    shutil.move(str(evaluation), str(out / "val"))


def validate_aligned(name: str, folder: Path, result: Validation, counts: dict[str, int]) -> None:
    """Both splits present, every image a readable A|B pair of one size."""
    for split in SPLITS:
        check_image_folder(folder / split, f"{name} {split}", result, counts.get(split), side_by_side=True)


for _name, _counts in OFFICIAL_COUNTS.items():
    register_dataset(DatasetSpec(
        name=_name, description=f"pix2pix paired set {_name} (train/val of A|B images)",
        source="Isola et al., CVPR 2017" + ("; GAN Compression (Li et al., CVPR 2020)" if _name.endswith("-r") else ""),
        archives=(ArchiveSource(f"{_name}.tar.gz", URLS[_name].format(name=_name)),),
        build=_build, validate=lambda folder, result, n=_name, c=_counts: validate_aligned(n, folder, result, c),
        official_counts=_counts))


def load_aligned(dataset: str, task: str, direction: str, size: int, data_root: str | None, max_train: int | None,
                 max_test: int | None) -> tuple[ImageTranslationData, list[Path], Path]:
    """A prepared pix2pix folder as a paired task (``BtoA``: right half -> left half), plus the
    test files it used and the data root (for tasks that load more, e.g. Cityscapes' labels)."""
    spec = DATASETS.get(dataset)
    root = resolve_data_root(data_root)
    folder = spec.folder(root)
    if not folder.is_dir():
        raise spec.not_prepared(root, folder)
    halves: dict[str, tuple[torch.Tensor, torch.Tensor]] = {}
    used: list[Path] = []
    for split, limit, minimum in (("train", max_train, 1), ("val", max_test, 2)):
        files = take(list_images(folder / split, f"{dataset} {split}"), limit,
                     f"task {task}: max_{'train' if split == 'train' else 'test'}", minimum)
        halves[split] = load_side_by_side(files, size, f"{dataset}/{split}", root / ".cache", root)
        used = files
    (tr_l, tr_r), (te_l, te_r) = halves["train"], halves["val"]
    if direction == "BtoA":
        tr_l, tr_r, te_l, te_r = tr_r, tr_l, te_r, te_l
    return ImageTranslationData(task, True, size, tr_l, tr_r, te_l, te_r), used, root


def _register(task: str, direction: str) -> None:
    """Register the loader of ``task`` (declared in :mod:`kd_gan_bench.datasets.entries`, with its dataset), reading A->B as
    ``direction`` says."""
    dataset = TASKS.meta(task)["dataset"]

    def loader(size: int, data_root: str | None, max_train: int | None, max_test: int | None) -> ImageTranslationData:
        return load_aligned(dataset, task, direction, size, data_root, max_train, max_test)[0]

    register_task(task)(loader)


_register("edges2shoes", "AtoB")
_register("edges2shoes-r", "AtoB")
_register("map2sat", "BtoA")
_register("sat2map", "AtoB")

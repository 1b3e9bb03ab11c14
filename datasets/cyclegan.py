"""CycleGAN's unpaired datasets (Zhu et al., "Unpaired Image-to-Image Translation using
Cycle-Consistent Adversarial Networks", ICCV 2017), from the authors' zip archives.

Source: junyanz/pytorch-CycleGAN-and-pix2pix, ``datasets/download_cyclegan_dataset.sh``:
``http://efrosgans.eecs.berkeley.edu/cyclegan/datasets/<name>.zip``; we fetch the HTTPS mirror that GAN
Compression's copy of the script and TensorFlow Datasets use,
``https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/``. Each archive holds
``<name>/{trainA,trainB,testA,testB}``; preparing keeps exactly that layout. The authors publish no
checksums; the sha256 pins (``SHA256``) are TensorFlow Datasets' for the same mirror URLs
(tensorflow/datasets ``tensorflow_datasets/url_checksums/cycle_gan.txt``).

Tasks: ``horse2zebra``/``zebra2horse`` and ``summer2winter_yosemite``/``winter2summer_yosemite``
(both directions of each set). FID follows the CycleGAN convention used by GAN Compression: real
statistics from the target domain's train+test images.
"""
from __future__ import annotations

import shutil
from pathlib import Path

from kd_gan_bench.datasets.archives import ArchiveSource
from kd_gan_bench.datasets.base import ImageTranslationData, register_task
from kd_gan_bench.datasets.registry import TASKS
from kd_gan_bench.datasets.catalog import (DATASETS, DatasetSpec, PrepareInputs, Validation, check_image_folder, find_dir_with,
                              register_dataset, resolve_data_root)
from kd_gan_bench.datasets.image_folder import list_images, load_images, take
from kd_gan_bench.datasets import official_counts

URL = "https://people.eecs.berkeley.edu/~taesung_park/CycleGAN/datasets/{name}.zip"
#: sha256 of each archive at ``URL`` (TensorFlow Datasets' url_checksums/cycle_gan.txt)
SHA256 = {"horse2zebra": "a74d9d392eecca9966b51287a76ca126af473d9de4f3e8fc0e9cda08fa1730a1",
          "summer2winter_yosemite": "167fe1726807a9d22bd106b4a6c0bd7953b688af924ac1bf967439c4961e49f9"}
SPLITS = ("trainA", "trainB", "testA", "testB")
#: Image counts of the official archives (informative: ``verify`` notes a difference).
OFFICIAL_COUNTS = official_counts.CYCLEGAN


def _build(inputs: PrepareInputs, out: Path) -> None:
    assert inputs.extracted is not None
    (archive,) = inputs.archives
    src = find_dir_with(inputs.extracted, SPLITS, archive)
    for split in SPLITS:
        shutil.move(str(src / split), str(out / split))


def _validator(name: str):
    def validate(folder: Path, result: Validation) -> None:
        for split in SPLITS:
            check_image_folder(folder / split, f"{name} {split}", result, OFFICIAL_COUNTS[name].get(split))
    return validate


for _name in OFFICIAL_COUNTS:
    register_dataset(DatasetSpec(
        name=_name, description=f"CycleGAN unpaired set {_name} (trainA/trainB/testA/testB)",
        source="Zhu et al., ICCV 2017; junyanz/pytorch-CycleGAN-and-pix2pix",
        archives=(ArchiveSource(f"{_name}.zip", URL.format(name=_name), SHA256[_name]),),
        build=_build, validate=_validator(_name), official_counts=OFFICIAL_COUNTS[_name]))


def load_unpaired(dataset: str, task: str, direction: str, size: int, data_root: str | None,
                  max_train: int | None, max_test: int | None) -> ImageTranslationData:
    """A prepared CycleGAN folder as an unpaired task; ``BtoA`` swaps the domains."""
    spec = DATASETS.get(dataset)
    root = resolve_data_root(data_root)
    folder = spec.folder(root)
    if not folder.is_dir():
        raise spec.not_prepared(root, folder)
    sets = {}
    for split in SPLITS:
        files = list_images(folder / split, f"{dataset} {split}")
        train = split.startswith("train")
        files = take(files, max_train if train else max_test, f"task {task}: max_{'train' if train else 'test'}",
                     1 if train else 2)
        sets[split] = load_images(files, size, f"{dataset}/{split}", root / ".cache", root)
    a, b = ("A", "B") if direction == "AtoB" else ("B", "A")
    return ImageTranslationData(task, False, size, sets[f"train{a}"], sets[f"train{b}"], sets[f"test{a}"],
                                sets[f"test{b}"])


def _register(task: str, direction: str) -> None:
    """Register the loader of unpaired ``task`` (its dataset: the declaration's), domain A first for ``AtoB``."""
    dataset = TASKS.meta(task)["dataset"]

    def loader(size: int, data_root: str | None, max_train: int | None, max_test: int | None) -> ImageTranslationData:
        return load_unpaired(dataset, task, direction, size, data_root, max_train, max_test)

    register_task(task)(loader)


_register("horse2zebra", "AtoB")
_register("zebra2horse", "BtoA")
_register("summer2winter_yosemite", "AtoB")
_register("winter2summer_yosemite", "BtoA")

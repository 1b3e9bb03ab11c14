"""Every built-in and real task's declaration, written once: its family, pairing, defaults, FID protocol,
description, headline metric and where its data comes from.

A listing or a grid expansion reads these and imports no loader (nor torch); ``TASKS.get(name)`` imports the
task's module, whose ``register_task(name)`` adds the loader to this declaration and restates none of it.
Adding a task means its loader module with ``register_task(name)`` and one declaration here.
"""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.datasets.registry import TASKS, check_quality

#: The settings of every real image-to-image task: 256 px as the papers, the data root (None: the default one)
#: and the number of training and test images to use (None: all of them).
REAL_I2I_DEFAULTS: Mapping[str, Any] = {"size": 256, "data_root": None, "max_train": None, "max_test": None}
#: The synthetic tasks' settings: how many training and test examples to draw, from which seed.
SYNTHETIC_DEFAULTS: Mapping[str, Any] = {"n_train": 400, "n_test": 64, "seed": 0}
SYNTHETIC_LABELLED_DEFAULTS: Mapping[str, Any] = {"size": 32, "n_train": 2000, "n_test": 500, "seed": 0}
#: Where a real labelled dataset lies (None: the default data root) and whether torchvision may download it.
TORCHVISION_DEFAULTS: Mapping[str, Any] = {"root": None, "download": False}
#: The seeded train/test split of a real regression dataset that ships none.
SPLIT_DEFAULTS: Mapping[str, Any] = {"test_fraction": 0.2, "split_seed": 0}
PREPARE = "real data, needs `datasets prepare`"


def _task(name: str, module: str, family: str, paired: bool, defaults: Mapping[str, Any], fid_protocol: str,
          description: str, quality_metric: str, reported_as: str | None = None, dataset: str | None = None,
          also_quality: tuple[str, ...] = ()) -> None:
    check_quality(name, quality_metric, also_quality)
    TASKS.declare(name, module, family=family, paired=paired, defaults=dict(defaults), fid_protocol=fid_protocol,
                  description=description, quality_metric=quality_metric, reported_as=reported_as, dataset=dataset,
                  also_quality=also_quality)


def _real_i2i(name: str, module: str, paired: bool, what: str, source: str, dataset: str,
              reported_as: str | None = None) -> None:
    """A real image-to-image task of pix2pix's (paired) or CycleGAN's (unpaired) datasets, its FID against the test
    targets (paired) or the training and test targets (unpaired, as CycleGAN's papers)."""
    _task(name, module, "i2i", paired, REAL_I2I_DEFAULTS, "target_test" if paired else "target_train_test",
          f"{'Paired' if paired else 'Unpaired'}: {what} ({source}; {PREPARE}).", "fid",
          reported_as=reported_as or name, dataset=dataset)


_task("cifar10", "kd_gan_bench.datasets.real_labelled", "classification", False, {**TORCHVISION_DEFAULTS, "size": 32}, "none",
      "Classification: CIFAR-10 (torchvision layout under a local data root).", "accuracy")
_task("cifar100", "kd_gan_bench.datasets.real_labelled", "classification", False, {**TORCHVISION_DEFAULTS, "size": 32}, "none",
      "Classification: CIFAR-100 (torchvision layout under a local data root).", "accuracy")
_task("tiny_imagenet", "kd_gan_bench.datasets.real_labelled", "classification", False, {**TORCHVISION_DEFAULTS, "size": 64},
      "none", "Classification: Tiny-ImageNet, 200 classes at 64x64 (the labelled val split is the test split).",
      "accuracy")
_task("rc49", "kd_gan_bench.datasets.real_labelled", "regression", False, {"root": None, "size": 64, **SPLIT_DEFAULTS}, "none",
      "Regression: RC-49 chair yaw angles in [0, 90) degrees, from CcGAN's h5, an npz export or a CSV folder.", "mae")
_task("utkface", "kd_gan_bench.datasets.real_labelled", "regression", False,
      {"root": None, "size": 64, "min_age": 1, "max_age": 60, **SPLIT_DEFAULTS}, "none",
      "Regression: UTKFace ages (years) from the aligned-and-cropped faces, seeded train/test split.", "mae")
_task("cityscapes", "kd_gan_bench.datasets.cityscapes", "i2i", True, REAL_I2I_DEFAULTS, "target_test",
      f"Paired: Cityscapes label maps -> street photos, scored by DRN-D-105 mIoU ({PREPARE}).", "miou",
      reported_as="cityscapes", dataset="cityscapes")
_real_i2i("edges2shoes", "kd_gan_bench.datasets.pix2pix", True, "shoe edge maps -> photos", "pix2pix's edges2shoes, AtoB",
          "edges2shoes")
_real_i2i("edges2shoes-r", "kd_gan_bench.datasets.pix2pix", True, "shoe edge maps -> photos, GAN Compression's split",
          "pix2pix's edges2shoes-r, AtoB", "edges2shoes-r")
_real_i2i("map2sat", "kd_gan_bench.datasets.pix2pix", True, "Google maps -> aerial photos", "pix2pix's maps, BtoA", "maps")
_real_i2i("sat2map", "kd_gan_bench.datasets.pix2pix", True, "aerial photos -> Google maps", "pix2pix's maps, AtoB", "maps")
_real_i2i("horse2zebra", "kd_gan_bench.datasets.cyclegan", False, "horses -> zebras", "CycleGAN's horse2zebra, AtoB",
          "horse2zebra")
_real_i2i("zebra2horse", "kd_gan_bench.datasets.cyclegan", False, "zebras -> horses", "CycleGAN's horse2zebra, BtoA",
          "horse2zebra")
_real_i2i("summer2winter_yosemite", "kd_gan_bench.datasets.cyclegan", False, "Yosemite summer -> winter",
          "CycleGAN's summer2winter_yosemite, AtoB", "summer2winter_yosemite", reported_as="summer2winter")
_real_i2i("winter2summer_yosemite", "kd_gan_bench.datasets.cyclegan", False, "Yosemite winter -> summer",
          "CycleGAN's summer2winter_yosemite, BtoA", "summer2winter_yosemite", reported_as="winter2summer")
_task("synthetic_edges2shapes", "kd_gan_bench.datasets.synthetic", "i2i", True,
      {"size": 64, **SYNTHETIC_DEFAULTS, "colours": "random"}, "target_test",
      "Paired: outline maps -> filled, shaded shapes (built-in, edges2shoes-like).", "shape_miou",
      also_quality=("colour_miou", "fid"))
_task("synthetic_plain2striped", "kd_gan_bench.datasets.synthetic", "i2i", False, {"size": 64, **SYNTHETIC_DEFAULTS},
      "target_train_test", "Unpaired: plain blobs <-> striped blobs on grass, unaligned sets (built-in, "
      "horse2zebra-like).", "fid")
_task("synthetic_rotation", "kd_gan_bench.datasets.synthetic_labelled", "regression", False, SYNTHETIC_LABELLED_DEFAULTS, "none",
      "Regression: an arrow rotated by 0-90 degrees, the angle is the label (built-in, RC-49-like).", "mae")
_task("synthetic_shapes10", "kd_gan_bench.datasets.synthetic_labelled", "classification", False, SYNTHETIC_LABELLED_DEFAULTS,
      "none", "Classification: ten shape classes at random pose, colour and light (built-in, CIFAR-10-like).",
      "accuracy")

"""The interface every labelled-image task has (classification or scalar regression), built-in or real.

A labelled task yields train/test images as uint8 tensors (N x 3 x H x W) with their labels:
int64 class ids in ``[0, num_classes)`` for ``classification``, float32 values in label units
(degrees, years) inside ``label_range`` for ``regression``. It is declared (:mod:`kd_gan_bench.datasets.entries`) and
registered (``register_task``) as the image-to-image tasks are, with ``family="classification"`` or
``"regression"``, ``paired=False`` and ``fid_protocol="none"`` (neither applies to these tasks;
the FID of a cGAN's samples is taken against ``train_x``).

``augment`` says which label-preserving augmentation suits the task: ``"crop_flip"`` (random
crop from a 4-pixel zero padding + horizontal flip, the CIFAR recipe), ``"flip"`` (faces), or
``"none"`` (a rotation angle changes under a flip).
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

LABELLED_FAMILIES = ("classification", "regression")
AUGMENTATIONS = ("crop_flip", "flip", "none")


class DatasetError(ValueError):
    """A dataset's files are missing, malformed or inconsistent; the message names the file and the fix."""


@dataclass(frozen=True)
class LabelledImageData:
    """Images and labels of one classification or regression task (checked on construction)."""

    name: str
    family: str
    size: int
    train_x: torch.Tensor
    train_y: torch.Tensor
    test_x: torch.Tensor
    test_y: torch.Tensor
    num_classes: int | None = None
    label_range: tuple[float, float] | None = None
    label_unit: str = ""
    augment: str = "none"

    def __post_init__(self) -> None:
        if self.family not in LABELLED_FAMILIES:
            raise ValueError(f"{self.name}: family must be one of {LABELLED_FAMILIES}, got {self.family!r}")
        if self.augment not in AUGMENTATIONS:
            raise ValueError(f"{self.name}: augment must be one of {AUGMENTATIONS}, got {self.augment!r}")
        for split in ("train", "test"):
            self._check_split(split, getattr(self, f"{split}_x"), getattr(self, f"{split}_y"))
        if self.family == "classification":
            self._check_classes()
        else:
            self._check_range()

    def _check_split(self, split: str, x: torch.Tensor, y: torch.Tensor) -> None:
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3 or tuple(x.shape[2:]) != (self.size, self.size):
            raise ValueError(f"{self.name}: {split}_x must be uint8 N x 3 x {self.size} x {self.size}, "
                             f"got {x.dtype} {tuple(x.shape)}")
        if len(x) == 0:
            raise ValueError(f"{self.name}: the {split} split is empty")
        want = torch.int64 if self.family == "classification" else torch.float32
        if y.dtype != want or y.shape != (len(x),):
            raise ValueError(f"{self.name}: {split}_y must be {want} of shape ({len(x)},), "
                             f"got {y.dtype} {tuple(y.shape)}")

    def _check_classes(self) -> None:
        if not self.num_classes or self.num_classes < 2:
            raise ValueError(f"{self.name}: a classification task needs num_classes >= 2, got {self.num_classes}")
        for split, y in (("train", self.train_y), ("test", self.test_y)):
            if int(y.min()) < 0 or int(y.max()) >= self.num_classes:
                raise ValueError(f"{self.name}: {split} labels must lie in [0, {self.num_classes}), "
                                 f"got [{int(y.min())}, {int(y.max())}]")

    def _check_range(self) -> None:
        if self.label_range is None or not self.label_range[0] < self.label_range[1]:
            raise ValueError(f"{self.name}: a regression task needs label_range (min, max) with min < max, "
                             f"got {self.label_range}")
        lo, hi = self.label_range
        for split, y in (("train", self.train_y), ("test", self.test_y)):
            if not torch.isfinite(y).all() or float(y.min()) < lo or float(y.max()) > hi:
                raise ValueError(f"{self.name}: {split} labels must be finite and inside {self.label_range}, "
                                 f"got [{float(y.min())}, {float(y.max())}]")

    # Regression labels are learnt in [0, 1] (CcGAN and cGAN-KD normalise by the label range).
    def normalise(self, y: torch.Tensor) -> torch.Tensor:
        """Labels in label units -> [0, 1] (regression only)."""
        lo, hi = self._range()
        return (y.float() - lo) / (hi - lo)

    def denormalise(self, y: torch.Tensor) -> torch.Tensor:
        """[0, 1] -> labels in label units (regression only)."""
        lo, hi = self._range()
        return y.float() * (hi - lo) + lo

    def _range(self) -> tuple[float, float]:
        if self.label_range is None:
            raise ValueError(f"{self.name}: label normalisation applies to regression tasks only")
        return float(self.label_range[0]), float(self.label_range[1])

    @property
    def num_outputs(self) -> int:
        """Width of a network's last layer: one logit per class, or one value for regression."""
        return int(self.num_classes) if self.family == "classification" else 1


def split_indices(n: int, test_fraction: float, seed: int) -> tuple[torch.Tensor, torch.Tensor]:
    """A seeded random train/test split of ``n`` items (for datasets that ship without one)."""
    if not 0.0 < test_fraction < 1.0:
        raise ValueError(f"test_fraction must be in (0, 1), got {test_fraction}")
    n_test = int(round(n * test_fraction))
    if n_test < 1 or n - n_test < 1:
        raise DatasetError(f"cannot split {n} item(s) with test_fraction {test_fraction}: a split would be empty")
    perm = torch.randperm(n, generator=torch.Generator().manual_seed(seed))
    return perm[n_test:].sort().values, perm[:n_test].sort().values

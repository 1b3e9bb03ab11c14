"""The fake set of cGAN-KD: processed cGAN samples shared by every student of one task and teacher.

Saved as one ``.pt`` file (written atomically): images, labels (class ids, or values in the
task's label units), the funnel statistics of how they were made, the training histories, and the
cGAN generator's weights and config, so more samples can be drawn later.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

FORMAT = "cgan_kd.fake_set.v1"


@dataclass
class FakeSet:
    """uint8 N x 3 x H x W images with their labels (int64 classes / float32 label units) and stats."""

    family: str
    images: torch.Tensor
    labels: torch.Tensor
    stats: dict[str, Any]
    history: dict[str, Any] = field(default_factory=dict)
    generator_config: dict[str, Any] | None = None
    generator_state: dict[str, torch.Tensor] | None = None

    def __post_init__(self) -> None:
        x, y = self.images, self.labels
        if x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
            raise ValueError(f"fake images must be uint8 N x 3 x H x W, got {x.dtype} {tuple(x.shape)}")
        want = {"classification": torch.int64, "regression": torch.float32}.get(self.family)
        if want is None:
            raise ValueError(f"fake set family must be 'classification' or 'regression', got {self.family!r}")
        if y.dtype != want or y.shape != (len(x),):
            raise ValueError(f"fake labels must be {want} of shape ({len(x)},), got {y.dtype} {tuple(y.shape)}")

    def __len__(self) -> int:
        return len(self.images)

    def save(self, path: str | os.PathLike) -> None:
        path = Path(path)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(path.name + ".tmp")
        torch.save({"format": FORMAT, "family": self.family, "images": self.images, "labels": self.labels,
                    "stats": self.stats, "history": self.history, "generator_config": self.generator_config,
                    "generator_state": self.generator_state}, tmp)
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: str | os.PathLike) -> "FakeSet":
        path = Path(path)
        if not path.is_file():
            raise FileNotFoundError(f"no fake set at {path}: run the cGAN-KD fake-set phase first")
        try:
            # plain data only (weights_only): a tampered file on a shared filesystem runs no code
            saved = torch.load(path, map_location="cpu", weights_only=True)
        except Exception as exc:  # a truncated or foreign file: say which
            raise ValueError(f"corrupt fake set file {path}: {type(exc).__name__}: {exc}") from None
        if not isinstance(saved, dict) or saved.get("format") != FORMAT:
            raise ValueError(f"{path} is not a cGAN-KD fake set ({FORMAT})")
        return cls(saved["family"], saved["images"], saved["labels"], saved["stats"], saved["history"],
                   saved["generator_config"], saved["generator_state"])

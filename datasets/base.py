"""The interface every image-to-image task has, built-in or real.

A task yields train/test splits of domains A and B as uint8 tensors (N x 3 x H x W), the
image size, whether A and B are paired (pix2pix) or unaligned sets (CycleGAN), and the FID
protocol that goes with it (which real target-domain images the statistics come from).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable, Mapping

import torch

from datasets.registry import TASKS


@dataclass(frozen=True)
class ImageTranslationData:
    """Images of one task, uint8 N x 3 x H x W; ``paired`` means train_a[i] <-> train_b[i]."""

    name: str
    paired: bool
    size: int
    train_a: torch.Tensor
    train_b: torch.Tensor
    test_a: torch.Tensor
    test_b: torch.Tensor

    def fid_reference(self, protocol: str) -> tuple[torch.Tensor, str]:
        """Real target-domain (B) images for FID and the split label that names them.

        ``target_test``: the test split (pix2pix papers). ``target_train_test``: train+test of
        the target domain (CycleGAN / GAN Compression convention)."""
        if protocol == "target_test":
            return self.test_b, "test"
        if protocol == "target_train_test":
            return torch.cat([self.train_b, self.test_b]), "train+test"
        raise ValueError(f"unknown FID protocol {protocol!r}; valid: 'target_test', 'target_train_test'")


@dataclass(frozen=True)
class TaskInfo:
    """A registered task: its loader and the defaults that go with it."""

    name: str
    family: str
    paired: bool
    loader: Callable[..., ImageTranslationData]
    defaults: Mapping[str, Any] = field(default_factory=dict)
    fid_protocol: str = "target_test"
    description: str = ""


def register_task(name: str, *, family: str = "i2i", paired: bool, fid_protocol: str, description: str = "",
                  **defaults: Any) -> Callable[[Callable[..., ImageTranslationData]], Callable[..., ImageTranslationData]]:
    """Decorator: register a loader ``fn(**args) -> ImageTranslationData`` as task ``name``."""

    def decorator(fn: Callable[..., ImageTranslationData]) -> Callable[..., ImageTranslationData]:
        TASKS.add(name, TaskInfo(name, family, paired, fn, dict(defaults), fid_protocol,
                                 description or (fn.__doc__ or "").strip().splitlines()[0]))
        return fn

    return decorator


def load_task(name: str, **args: Any) -> ImageTranslationData:
    """Load a registered task with its defaults overridden by ``args``; bad arguments name the valid ones."""
    info = TASKS.get(name)
    unknown = set(args) - set(info.defaults)
    if unknown:
        raise ValueError(f"task {name!r} got unknown argument(s) {sorted(unknown)}; valid: {sorted(info.defaults)}")
    return info.loader(**{**info.defaults, **args})

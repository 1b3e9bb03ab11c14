"""The interface every image-to-image task has, built-in or real.

A task yields train/test splits of domains A and B as uint8 tensors (N x 3 x H x W), the
image size, whether A and B are paired (pix2pix) or unaligned sets (CycleGAN), and the
evaluation protocol that goes with it: its headline ``quality_metric``, ``"fid"`` with its FID protocol (which
real target-domain images the statistics come from), ``"miou"`` (Cityscapes: a segmenter on the
generated photos against ``test_labels``) or ``"colour_miou"`` (targets that paint ``test_labels``' classes in
``class_colours``), and ``also_quality``, the quality metrics recorded beside it. ``reported_as`` names the task in the published
results (``results/published_results.csv``), ``dataset`` the real dataset it needs (None: built in).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import torch

from kd_gan_bench.datasets.registry import TASKS, TaskInfo, register_task  # noqa: F401  (their old home)


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
    test_labels: torch.Tensor | None = None  # uint8 N x H x W class ids of test B (255: ignore), for mIoU
    class_colours: torch.Tensor | None = None  # C x 3 colours of test_labels' classes when B paints them (colour_miou)

    def fid_reference(self, protocol: str) -> tuple[torch.Tensor, str]:
        """Real target-domain (B) images for FID and the split label that names them.

        ``target_test``: the test split (pix2pix papers). ``target_train_test``: train+test of
        the target domain (CycleGAN / GAN Compression convention)."""
        if protocol == "target_test":
            return self.test_b, "test"
        if protocol == "target_train_test":
            return torch.cat([self.train_b, self.test_b]), "train+test"
        raise ValueError(f"unknown FID protocol {protocol!r}; valid: 'target_test', 'target_train_test'")


def load_task(name: str, **args: Any) -> ImageTranslationData:
    """Load a registered task with its defaults overridden by ``args``; bad arguments name the valid ones."""
    info = TASKS.get(name)
    unknown = set(args) - set(info.defaults)
    if unknown:
        raise ValueError(f"task {name!r} got unknown argument(s) {sorted(unknown)}; valid: {sorted(info.defaults)}")
    return info.loader(**{**info.defaults, **args})

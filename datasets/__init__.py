"""Tasks: dataset loaders and the built-in procedurally generated tasks that need no download.

Importing this package declares every task (``kd_gan_bench.datasets.entries``: the built-in tasks, the real
datasets of CycleGAN, pix2pix, GAN Compression's edges2shoes-r and Cityscapes, and cGAN-KD's
labelled tasks) and the dataset catalogue without importing torch; a task's loader module is
imported the first time the task itself is needed (``TASKS.get``, ``load_task``). Real data is only
read when a task is loaded. The torch-backed names (``ImageTranslationData``, ``LabelledImageData``,
``load_task``) are imported on first access.
"""
from __future__ import annotations

from typing import Any

from kd_gan_bench.datasets import entries  # noqa: F401  (declares the lazy task entries)
from kd_gan_bench.datasets.registry import TASKS, TaskInfo

__all__ = ["DATASETS", "DatasetError", "ImageTranslationData", "LabelledImageData", "TaskInfo", "TASKS", "load_task"]

_LAZY = {"ImageTranslationData": "kd_gan_bench.datasets.base", "load_task": "kd_gan_bench.datasets.base", "DATASETS": "kd_gan_bench.datasets.catalog",
         "LabelledImageData": "kd_gan_bench.datasets.labelled", "DatasetError": "kd_gan_bench.datasets.labelled"}


def __getattr__(name: str) -> Any:
    if name == "DATASETS":  # real datasets register their specs in their tasks' modules: load them all
        for task in TASKS:
            TASKS.get(task)
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'datasets' has no attribute {name!r}")

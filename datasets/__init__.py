"""Tasks: dataset loaders and the built-in procedurally generated tasks that need no download.

Importing this package registers the built-in tasks and the real datasets (CycleGAN's, pix2pix's,
GAN Compression's edges2shoes-r, Cityscapes) with their tasks; real data is only read when a
task is loaded.
"""
from datasets import cityscapes, cyclegan, pix2pix, synthetic  # noqa: F401  (registration)
from datasets.base import ImageTranslationData, TaskInfo, load_task
from datasets.catalog import DATASETS
from datasets.registry import TASKS

__all__ = ["DATASETS", "ImageTranslationData", "TaskInfo", "TASKS", "load_task"]

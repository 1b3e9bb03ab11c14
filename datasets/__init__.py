"""Tasks: dataset loaders and the built-in procedurally generated tasks that need no download.

Importing this package registers the built-in tasks and the real datasets (CycleGAN's, pix2pix's,
GAN Compression's edges2shoes-r, Cityscapes) with their tasks, and the labelled
(classification/regression) tasks of cGAN-KD; real data is only read when a task is loaded.
"""
from datasets import cityscapes, cyclegan, pix2pix, synthetic  # noqa: F401  (registration)
from datasets import real_labelled, synthetic_labelled  # noqa: F401  (registration: labelled tasks)
from datasets.base import ImageTranslationData, TaskInfo, load_task
from datasets.catalog import DATASETS
from datasets.labelled import DatasetError, LabelledImageData
from datasets.registry import TASKS

__all__ = ["DATASETS", "DatasetError", "ImageTranslationData", "LabelledImageData", "TaskInfo", "TASKS", "load_task"]

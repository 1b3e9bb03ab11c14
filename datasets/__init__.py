"""Tasks: dataset loaders and the built-in procedurally generated tasks that need no download."""
from datasets import synthetic  # noqa: F401  (registration)
from datasets import real_labelled, synthetic_labelled  # noqa: F401  (registration: labelled tasks)
from datasets.base import ImageTranslationData, TaskInfo, load_task
from datasets.labelled import DatasetError, LabelledImageData
from datasets.registry import TASKS

__all__ = ["DatasetError", "ImageTranslationData", "LabelledImageData", "TaskInfo", "TASKS", "load_task"]

"""Tasks: dataset loaders and the built-in procedurally generated tasks that need no download."""
from datasets import synthetic  # noqa: F401  (registration)
from datasets.base import ImageTranslationData, TaskInfo, load_task
from datasets.registry import TASKS

__all__ = ["ImageTranslationData", "TaskInfo", "TASKS", "load_task"]

"""The task registry (task name -> TaskInfo)."""
from methods.registry import Registry

TASKS: Registry = Registry("task")

"""Distillation methods, the baselines, the networks they train and the losses they share.

Importing this package declares every method and artifact (each folder's ``spec.py``, found by
:func:`kd_gan_bench.methods.core.declaration.declare_folders`) and every network (read off its factory's source by
:func:`kd_gan_bench.methods.networks.catalog.declare_networks`) in the registries of ``kd_gan_bench.benchmarks.core.registry`` without importing
torch; a method's module is imported the first time the method itself is needed (``METHODS.get(name)``). ``Method``, ``TrainOutcome`` and
``TrainSetup`` (torch) are imported on first access. A method never imports the harness
(``benchmarks``) or the report.
"""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.declaration import declare_folders
from kd_gan_bench.methods.networks.catalog import declare_networks
from kd_gan_bench.benchmarks.core.registry import ARTIFACTS, METHODS, NETWORKS

declare_folders()
declare_networks()

__all__ = ["ARTIFACTS", "METHODS", "NETWORKS", "Method", "TrainOutcome", "TrainSetup"]


def __getattr__(name: str) -> Any:
    if name in ("Method", "TrainOutcome", "TrainSetup"):
        from kd_gan_bench.methods.core import base
        return getattr(base, name)
    raise AttributeError(f"module 'methods' has no attribute {name!r}")

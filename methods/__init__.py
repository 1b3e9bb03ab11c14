"""Distillation methods, the baselines, the networks they train and the losses they share.

Importing this package registers every method in ``methods.registry.METHODS``.
A method never imports the harness (``benchmarks``).
"""
from methods import crd, feature_kd, output_kd, reko, scratch, srpkd  # noqa: F401  (registration)
from methods import omgd  # noqa: F401  (registration: online multi-granularity distillation)
from methods import cgan_kd, classifiers, nokd, vanilla_kd  # noqa: F401  (registration: labelled methods, networks)
from methods import cat_ka, dcd  # noqa: F401  (registration: issue 12 methods)
from methods.base import Method, TrainOutcome, TrainSetup
from methods.registry import METHODS, NETWORKS

__all__ = ["METHODS", "NETWORKS", "Method", "TrainOutcome", "TrainSetup"]

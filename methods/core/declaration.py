"""A method's declaration, written once in its own folder, and the discovery of every folder's declaration.

Each method lives in a folder of :mod:`methods` (``methods/crd/``): ``spec.py`` declares it, torch-free, as a
:class:`MethodSpec` (its summary, citation, task families, teacher mode, defaults, hyperparameter declarations
(``hparams_declared``), the other jobs' outputs it ``needs``, cluster resources, and its planning, weights and training-plan functions), and
``method.py`` holds the class, which reads that declaration (``class CRD(Method, spec=SPEC)``) and restates none
of it. A folder may also declare an :class:`kd_gan_bench.benchmarks.core.registry.Artifact` (cGAN-KD's fake set) and more than one
method (``cgan_kd`` and ``cgan_kd+vanilla_kd``).

:func:`declare_folders` imports every ``methods/<folder>/spec.py`` (never a ``method.py``, so never torch) and
declares what it finds as lazy registry entries, whose module is the folder's ``method`` (``spec.module``
overrides it; an artifact's is the folder's ``artifact``), the way :mod:`kd_gan_bench.benchmarks.metrics.specs` is discovered:
adding a method means adding its folder.
"""
from __future__ import annotations

import importlib
import pkgutil
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping

from kd_gan_bench.benchmarks.core.registry import ARTIFACTS, METHODS, Artifact, Need, HParam, artifact_meta, hparam_declarations

#: The module of a folder that declares its entries; the modules that register them by default.
SPEC_MODULE, METHOD_MODULE, ARTIFACT_MODULE = "spec", "method", "artifact"
#: The package whose folders declare the methods (``kd_gan_bench.methods``).
METHODS_PACKAGE = __name__.rpartition(".core.")[0]


@dataclass(frozen=True)
class MethodSpec:
    """One method's metadata: what ``list``, the grid, the plan and the class all read.

    ``summary`` is the class's docstring's first line when the class has none of its own; ``hparams_declared``:
    the hyperparameter declarations (:class:`kd_gan_bench.benchmarks.core.registry.HParam`: types, choices and ranges) where a default
    (``None``: the paper's value for the kind of task) does not tell them (the others follow their defaults' types;
    ``--set`` values are checked against them before anything runs); ``check``: its torch-free planning check, a function of a
    :class:`kd_gan_bench.methods.core.plan_checks.StudentPlan` that raises ``ValueError`` (``None``: every plan works);
    ``weights``: a torch-free function of (hyperparameters, paired) naming the :mod:`kd_gan_bench.methods.weights.resolver`
    files its runs read, which ``grid`` fetches before its jobs start; ``plan``: its training plan, a function of a
    :class:`kd_gan_bench.methods.core.plan_specs.JobFacts` (:mod:`kd_gan_bench.methods.core.plan_specs`)."""

    name: str
    summary: str
    citation: str
    families: tuple[str, ...]
    teacher_mode: str
    defaults: Mapping[str, Any]
    plan: Callable[[Any], dict[str, Any]]
    hparams_declared: Mapping[str, HParam] = field(default_factory=dict)
    needs: tuple[Need, ...] = ()
    resources: Mapping[str, Any] = field(default_factory=dict)
    check: Callable[[Any], None] | None = None
    weights: Callable[[Mapping[str, Any], bool], tuple[str, ...]] | None = None
    module: str = ""

    def meta(self) -> dict[str, Any]:
        """The lazy registry entry's metadata (``METHODS.info(name)``)."""
        return {"families": tuple(self.families), "teacher_mode": self.teacher_mode, "summary": self.summary,
                "citation": self.citation, "defaults": dict(self.defaults), "resources": dict(self.resources),
                "needs": tuple(self.needs),
                "hparams_declared": hparam_declarations(self.defaults, self.hparams_declared), "check": self.check,
                "weights": self.weights, "plan": self.plan}


def spec_folders() -> list[str]:
    """The folders of :mod:`methods` that hold a ``spec.py``, sorted."""
    package = importlib.import_module(METHODS_PACKAGE)  # while it is being imported too (its __init__ declares)
    return sorted(m.name for m in pkgutil.iter_modules(package.__path__)
                  if m.ispkg and (Path(m.module_finder.path) / m.name / f"{SPEC_MODULE}.py").is_file())


def folder_entries(folder: str) -> list[MethodSpec | Artifact]:
    """The method specs and artifacts ``methods/<folder>/spec.py`` declares (its top-level values)."""
    module = importlib.import_module(f"{METHODS_PACKAGE}.{folder}.{SPEC_MODULE}")
    return [v for v in vars(module).values() if isinstance(v, (MethodSpec, Artifact))]


def declare_method(spec: MethodSpec, module: str = "") -> None:
    """Declare ``spec`` as a lazy registry entry whose class is in ``spec.module`` (else ``module``): how a folder's
    method is declared, and how a plugin declares its own (its entry-point module, torch-free)."""
    if not (spec.module or module):
        raise ValueError(f"method {spec.name!r}: its MethodSpec names no module holding its class (module=...)")
    METHODS.declare(spec.name, spec.module or module, **spec.meta())


def declare_folders() -> None:
    """Declare every folder's methods and artifacts as lazy registry entries (imports no ``method.py``)."""
    for folder in spec_folders():
        for entry in folder_entries(folder):
            if isinstance(entry, MethodSpec):
                declare_method(entry, f"{METHODS_PACKAGE}.{folder}.{METHOD_MODULE}")
            else:
                ARTIFACTS.declare(entry.name, f"{METHODS_PACKAGE}.{folder}.{ARTIFACT_MODULE}", **artifact_meta(entry))


"""The interface every method implements, and what the harness hands it.

A method of any task family turns a ``TrainSetup`` (data, the student's network spec, a frozen pretrained
teacher where it asks for one, its hyperparameters, the suite's recipe settings shared with the
teacher such as the discriminator's width, schedule, device, seed, the other jobs' outputs it ``needs``,
a checkpointer and a log) into a ``TrainOutcome`` (the trained student and its loss history). The family
supplies the data and the schedule (image-to-image: ``ImageTranslationData`` and ``Schedule``;
classification/regression: ``LabelledImageData`` and ``SGDSchedule``); the contract is the same.
It never touches the harness: records, metrics, files and scheduling are the harness's job.

``teacher_mode`` tells the harness how to build the job graph:
* ``"pretrained"``: the student job depends on a teacher job and gets its generator (frozen);
* ``"none"``: no teacher at all (the scratch / NOKD baseline);
* ``"online"``: the method trains its own teacher inside its job (CRD, OMGD).
"""
from __future__ import annotations

import dataclasses
from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Callable, ClassVar, Mapping

import torch
from torch import nn

from kd_gan_bench.methods.core.schedule_math import by_pairing  # noqa: F401  (its old home; torch-free there)
from kd_gan_bench.methods.core.plan_checks import StudentPlan, run_plan_check
from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.benchmarks.core.registry import METHODS, Need, HParam, resolve_settings
from kd_gan_bench.methods.core.training import Checkpointer, Schedule

if TYPE_CHECKING:  # datasets registers itself through kd_gan_bench.benchmarks.core.registry: import for types only
    from kd_gan_bench.datasets.base import ImageTranslationData
    from kd_gan_bench.datasets.labelled import LabelledImageData

TEACHER_MODES = ("pretrained", "none", "online")


@dataclass
class TrainSetup:
    """Inputs of one training run, of any family (the family's data and schedule types).

    ``inputs``: the other jobs' outputs the method's ``needs`` name, by role, as the harness loaded them
    (cGAN-KD: ``fake_set``, its artifact's ``FakeSet``; ``student_init``, the NOKD student's state dict)."""

    data: ImageTranslationData | LabelledImageData
    student_spec: Mapping[str, Any]
    teacher_spec: Mapping[str, Any]
    hparams: Mapping[str, Any]
    schedule: Schedule | Any  # Schedule; kd_gan_bench.methods.core.labelled_training.SGDSchedule for labelled tasks (it builds on this)
    device: torch.device
    seed: int
    recipe: Mapping[str, Any] = field(default_factory=dict)
    teacher: nn.Module | None = None
    teacher_discriminator: nn.Module | None = None
    checkpointer: Checkpointer | None = None
    log: Callable[[str], None] = print
    inputs: Mapping[str, Any] = field(default_factory=dict)


@dataclass
class TrainOutcome:
    """What training produced: the student to evaluate (an A->B generator, a classifier or regressor), its
    per-term loss history, its discriminator where it has one, and what else the method reports."""

    model: nn.Module
    history: dict
    discriminator: nn.Module | None = None
    extras: dict[str, Any] = field(default_factory=dict)


class Method(ABC):
    """A registered method. A concrete subclass names its declaration, ``class CRD(Method, spec=SPEC)`` (a
    :class:`kd_gan_bench.methods.core.declaration.MethodSpec` from its folder's torch-free ``spec.py``), which registers it and
    gives it its name, families, teacher mode, citation, defaults, hyperparameter declarations (``hparams_declared``),
    ``needs`` and ``resources``
    (read from the declaration, never restated), and implements ``train``."""

    spec: ClassVar[MethodSpec]
    name: ClassVar[str]
    family: ClassVar[str]
    families: ClassVar[tuple[str, ...]]
    teacher_mode: ClassVar[str]
    citation: ClassVar[str]
    defaults: ClassVar[Mapping[str, Any]]
    #: Cluster resources this method needs beyond its phase's defaults (keys of the harness's SLURM settings, e.g.
    #: ``{"time_min": 240, "mem_gb": 32}``); a user's config file and command line still override them.
    resources: ClassVar[Mapping[str, Any]]
    #: Other jobs' outputs the student reads (``kd_gan_bench.benchmarks.core.registry.Need``): an artifact such as cGAN-KD's
    #: fake set, or another method's student; the grid adds those jobs and passes their ids as inputs.
    needs: ClassVar[tuple[Need, ...]]
    #: Every hyperparameter's declared type, choices and range (the declaration's, completed by the defaults' types).
    hparams_declared: ClassVar[Mapping[str, HParam]]

    def __init_subclass__(cls, spec: MethodSpec | None = None, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if spec is None:
            return
        if spec.teacher_mode not in TEACHER_MODES:
            raise ValueError(f"method {spec.name!r}: teacher_mode must be one of {TEACHER_MODES}, "
                             f"got {spec.teacher_mode!r}")
        meta = spec.meta()
        cls.spec, cls.name, cls.family = spec, spec.name, spec.families[0]
        for key in ("families", "teacher_mode", "citation", "defaults", "resources", "needs", "hparams_declared"):
            setattr(cls, key, meta[key])
        if cls.__doc__ is None:
            cls.__doc__ = spec.summary
        METHODS.add(spec.name, cls)

    @classmethod
    def resolve_hparams(cls, overrides: Mapping[str, Any]) -> dict[str, Any]:
        """Defaults overridden by ``overrides``; an unknown key or a value of the wrong type (against
        ``hparams_declared``) says what is valid."""
        return resolve_settings(f"method {cls.name!r}", cls.defaults, cls.hparams_declared, overrides)

    @classmethod
    def check_plan(cls, plan: StudentPlan) -> None:
        """Raise ``ValueError`` (what is wrong, what would work) when this method cannot work on the plan's
        networks, image size, hyperparameters (missing ones: its defaults) and schedule, so the harness fails
        at planning instead of training another method silently (its declaration's ``check``; none: every plan
        works)."""
        run_plan_check(cls.spec.check, cls.defaults, plan)

    @classmethod
    def check_setup(cls, setup: TrainSetup) -> None:
        """:meth:`check_plan` on what a training run was given (a job that bypassed the grid's check)."""
        cls.check_plan(StudentPlan(setup.student_spec, setup.teacher_spec, setup.data.size, setup.hparams,
                                   dataclasses.asdict(setup.schedule)))

    @abstractmethod
    def train(self, setup: TrainSetup) -> TrainOutcome:
        """Train the student and return it with its loss history."""

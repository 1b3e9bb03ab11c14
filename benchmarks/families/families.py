"""Task families as a registry: what the harness does differently for image-to-image translation,
classification and regression, declared once per family and read by the grid, the runner, the
estimate and the report (no code branches on a family's name).

A family declares:

* ``job``: ``"module:function"``, the body that sets up, trains and evaluates one job of the family
  (``function(ctx) -> JobResult``); imported only inside a job. A body scores its network through the metric
  specs (``kd_gan_bench.benchmarks.metrics.compute_metrics``), so a metric declared for the family is run by every job of it;
* ``teacher_plan``: ``"module:function"``, the torch-free training plan of its teacher jobs
  (``function(facts: kd_gan_bench.methods.core.plan_specs.JobFacts) -> dict``, :mod:`kd_gan_bench.benchmarks.planning.training_plan`);
* ``data``: ``"module:Class"``, the kind of data its tasks' loaders return (a job checks it before training);
* ``schedule``: ``"module:Class"``, the schedule dataclass its jobs train with, and
  ``schedule_defaults``, that class's defaults as plain data (a grid checks ``--set schedule.*``
  against them without importing torch; ``tests/test_registries.py`` checks that they agree);
* ``recipe_defaults``: the GAN recipe shared by a teacher and its students (``{}``: none), and
  ``recipe_declared``, its settings' declared types and choices (``--set recipe.*`` is checked against them);
* ``metrics``: the quality metrics its tables show while no job has recorded any, its usual headline first (a task
  declares its own headline, ``TaskInfo.quality_metric``, the one the records carry: Cityscapes is scored by mIoU);
* ``reported_as``: the family's name in the published results (``results/published_results.csv``);
* ``by_pairing``: whether its tasks' pairing (paired pix2pix / unpaired CycleGAN) changes what a step runs
  (the recipe), so listings and step-time estimates tell paired from unpaired tasks;
* ``calibrated``: whether ``calibrate`` can time its training steps on synthetic data (else its step times
  come from finished jobs).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Mapping

from kd_gan_bench.methods.core.recipe_settings import RECIPE_DEFAULTS, RECIPE_HPARAMS
from kd_gan_bench.benchmarks.core.registry import HParam, Registry


@dataclass(frozen=True)
class Family:
    """One task family (see the module docstring)."""

    name: str
    description: str
    job: str
    data: str
    teacher_plan: str
    schedule: str
    schedule_defaults: Mapping[str, Any]
    metrics: tuple[str, ...]
    recipe_defaults: Mapping[str, Any] = field(default_factory=dict)
    by_pairing: bool = False
    calibrated: bool = False
    #: the methods every student of the family is compared with in the report (besides its teacher)
    baselines: tuple[str, ...] = ()
    #: declared types/choices of schedule keys, checked by ``--set`` (others: the default's type)
    schedule_declared: Mapping[str, HParam] = field(default_factory=dict)
    #: declared types/choices of recipe keys, checked by ``--set recipe.<key>``
    recipe_declared: Mapping[str, HParam] = field(default_factory=dict)
    #: its name in the published results' ``family`` column ("": the same as ours)
    reported_as: str = ""


FAMILIES: Registry[Family] = Registry("family")

_SGD_DEFAULTS = {"steps": 2000, "batch_size": 64, "lr": 0.05, "momentum": 0.9, "weight_decay": 0.0005,
                 "lr_policy": "step", "milestones": (0.625, 0.75, 0.875), "gamma": 0.1, "log_every": 50,
                 "checkpoint_every": 0, "select": "last", "val_every": 0, "val_size": 0}
#: the checkpoint policy (kd_gan_bench.methods.core.training.SELECT; tests/test_checkpoint_policy checks they agree) and the ranges
#: the schedules' ``from_mapping`` would refuse inside a job (steps 0, a log interval of 0...), checked by ``--set``
_SHARED = {"select": HParam("str", choices=("last", "best_val")), "steps": HParam("int", low=1),
           "batch_size": HParam("int", low=1), "log_every": HParam("int", low=1),
           "checkpoint_every": HParam("int", low=0), "val_every": HParam("int", low=0), "val_size": HParam("int", low=0)}
_I2I_SCHEDULE = {**_SHARED, "lr": HParam("float", low=0.0), "beta1": HParam("float", low=0.0, high=1.0),
                 "decay_from": HParam("float", low=0.0, high=1.0)}
_SGD_SCHEDULE = {**_SHARED, "lr": HParam("float", low=1e-12), "momentum": HParam("float", low=0.0),
                 "weight_decay": HParam("float", low=0.0), "gamma": HParam("float", low=0.0),
                 "lr_policy": HParam("str", choices=("step", "cosine"))}

for _family in (
    Family("i2i", "image-to-image translation (paired pix2pix or unpaired CycleGAN tasks)",
           job="kd_gan_bench.benchmarks.families.i2i_jobs:run_i2i_job", data="kd_gan_bench.datasets.base:ImageTranslationData",
           teacher_plan="kd_gan_bench.methods.core.plan_specs:teacher_plan", schedule="kd_gan_bench.methods.core.training:Schedule",
           schedule_defaults={"steps": 200, "batch_size": 4, "lr": 0.0002, "beta1": 0.5, "decay_from": 0.5,
                              "log_every": 50, "checkpoint_every": 0, "select": "last", "val_every": 0,
                              "val_size": 0},
           recipe_defaults=RECIPE_DEFAULTS, recipe_declared=RECIPE_HPARAMS,
           metrics=("fid", "kid"), by_pairing=True, calibrated=True, baselines=("scratch", "output_kd"),
           schedule_declared=_I2I_SCHEDULE),
    *(Family(name, description, job="kd_gan_bench.benchmarks.families.labelled_jobs:run_labelled_job",
             data="kd_gan_bench.datasets.labelled:LabelledImageData", teacher_plan="kd_gan_bench.methods.core.plan_specs:labelled_plan",
             schedule="kd_gan_bench.methods.core.labelled_training:SGDSchedule", schedule_defaults=_SGD_DEFAULTS, metrics=(metric,),
             baselines=("nokd", "vanilla_kd"), schedule_declared=_SGD_SCHEDULE, reported_as=reported_as)
      for name, description, metric, reported_as in (
          ("classification", "image classification (cGAN-KD's CIFAR / Tiny-ImageNet setting)", "accuracy", "cls"),
          ("regression", "image regression (cGAN-KD's RC-49 / UTKFace setting)", "mae", "reg"))),
):
    FAMILIES.add(_family.name, _family)

#: The family of records written before jobs named theirs (and of tasks that name none:
#: ``kd_gan_bench.datasets.registry.register_task``'s default), read as this one.
UNNAMED_FAMILY = "i2i"


def load_object(path: str) -> Any:
    """The object a ``"module:name"`` path names (a family's job body or schedule class)."""
    import importlib

    module, _, name = path.partition(":")
    return getattr(importlib.import_module(module), name)

"""Suites: named grids over tasks x teacher x student networks x methods x seeds x hyperparameters.

A suite is data. ``hparams`` maps a method to lists of values (a Cartesian grid, in the style of
benchopt's ``parameters``); ``zipped`` names groups of keys that advance together instead.
``recipe`` holds settings shared by the teacher and every student (the discriminator's width,
GAN mode...), so a comparison never differs in them by accident. ``resources`` holds the suite's
cluster requests per phase (``{"teacher": {"time_min": 240}, "student": {"time_min": 60}}``,
see :mod:`benchmarks.cluster_config`); they are not part of any job's identity.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from methods.registry import Registry

EVALUATION_DEFAULTS: Mapping[str, Any] = {
    "fid_extractor": "auto",   # auto: InceptionV3 if its weights are available, else offline; or inception / offline
    "fid_protocol": "task",    # task: the task's own protocol (target_test or target_train_test)
    "n_samples": 6,            # test images shown per job in the report's sample grid
    "latency_warmup": 3,
    "latency_repeats": 10,
}


@dataclass(frozen=True)
class Suite:
    """A named grid of jobs."""

    name: str
    description: str
    tasks: tuple[Mapping[str, Any], ...]
    teacher: Mapping[str, Any]
    students: tuple[Mapping[str, Any], ...]
    methods: tuple[str, ...]
    seeds: tuple[int, ...] = (0,)
    hparams: Mapping[str, Mapping[str, list]] = field(default_factory=dict)
    zipped: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    recipe: Mapping[str, Any] = field(default_factory=dict)
    teacher_schedule: Mapping[str, Any] = field(default_factory=dict)
    student_schedule: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> "Suite":
        return replace(self, **changes)


SUITES: Registry[Suite] = Registry("suite")


def register_suite(suite: Suite) -> Suite:
    SUITES.add(suite.name, suite)
    return suite


_TINY_RESNET = {"arch": "resnet_generator", "n_blocks": 3}

register_suite(Suite(
    name="default",
    description="Built-in tasks at 64x64, ResNet teacher (ngf 16) vs scratch / output_kd / feature_kd "
                "students at ngf 8 and 4; runs offline on a laptop-class CPU in minutes.",
    tasks=({"name": "synthetic_edges2shapes"}, {"name": "synthetic_plain2striped"}),
    teacher={**_TINY_RESNET, "ngf": 16},
    students=({**_TINY_RESNET, "ngf": 8}, {**_TINY_RESNET, "ngf": 4}),
    methods=("scratch", "output_kd", "feature_kd"),
    seeds=(0,),
    recipe={"ndf": 16},
    teacher_schedule={"steps": 300, "batch_size": 4, "log_every": 50},
    student_schedule={"steps": 300, "batch_size": 4, "log_every": 50},
    resources={"teacher": {"time_min": 60}, "student": {"time_min": 30}},
))

register_suite(Suite(
    name="smoke",
    description="Tiny and fast (32x32, a few steps): checks that every part of the pipeline runs.",
    tasks=({"name": "synthetic_edges2shapes", "size": 32, "n_train": 32, "n_test": 8},
           {"name": "synthetic_plain2striped", "size": 32, "n_train": 32, "n_test": 8}),
    teacher={"arch": "resnet_generator", "ngf": 8, "n_blocks": 2},
    students=({"arch": "resnet_generator", "ngf": 4, "n_blocks": 2},),
    methods=("scratch", "output_kd", "feature_kd"),
    seeds=(0,),
    recipe={"ndf": 8, "d_layers": 2},
    teacher_schedule={"steps": 4, "batch_size": 2, "log_every": 2},
    student_schedule={"steps": 4, "batch_size": 2, "log_every": 2},
    evaluation={"n_samples": 3, "latency_warmup": 1, "latency_repeats": 3},
    resources={"teacher": {"time_min": 10}, "student": {"time_min": 10}},
))

from benchmarks import paper_suites  # noqa: E402,F401  (registers the papers' suites)

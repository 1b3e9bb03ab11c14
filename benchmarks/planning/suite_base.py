"""The ``Suite`` data type and the suite registry (see :mod:`kd_gan_bench.benchmarks.planning.suites` for what a suite holds).

The built-in suites (:mod:`kd_gan_bench.benchmarks.planning.suites`) and the papers' suites (:mod:`kd_gan_bench.benchmarks.planning.paper_suites`)
both register here, so neither imports the other's module for the type.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any, Mapping

from kd_gan_bench.benchmarks.core.registry import Registry

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
    tasks: tuple[Mapping[str, Any], ...] = ()
    teacher: Mapping[str, Any] = field(default_factory=dict)
    students: tuple[Mapping[str, Any], ...] = ()
    methods: tuple[str, ...] = ()
    #: every student configuration runs each seed (issue 13: at least 3 per leaderboard row); a smoke suite
    #: that only checks that the pipeline runs says ``(0,)``
    seeds: tuple[int, ...] = (0, 1, 2)
    #: the seed of the suite's one teacher per task, shared by the students of every seed (the papers distil
    #: every student run from one teacher); None trains a teacher per student seed instead
    teacher_seed: int | None = 0
    hparams: Mapping[str, Mapping[str, list]] = field(default_factory=dict)
    zipped: Mapping[str, tuple[tuple[str, ...], ...]] = field(default_factory=dict)
    recipe: Mapping[str, Any] = field(default_factory=dict)
    teacher_schedule: Mapping[str, Any] = field(default_factory=dict)
    student_schedule: Mapping[str, Any] = field(default_factory=dict)
    evaluation: Mapping[str, Any] = field(default_factory=dict)
    resources: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    fake_set: Mapping[str, Any] = field(default_factory=dict)
    parts: tuple[str, ...] = ()
    #: per method, changes to ``student_schedule`` for its students (a paper that trains at another batch size
    #: or length, e.g. CAT's batch 80); a ``--set`` of a schedule key still applies to them too
    method_schedules: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)

    def with_changes(self, **changes: Any) -> "Suite":
        return replace(self, **changes)


SUITES: Registry[Suite] = Registry("suite")


def suite_resources(suite: Suite) -> dict[str, dict[str, Any]]:
    """A suite's per-phase cluster requests; a composite suite's are its parts', the largest number
    winning where parts differ (a time limit must fit the slowest part)."""
    if not suite.parts:
        return {phase: dict(values) for phase, values in suite.resources.items()}
    merged: dict[str, dict[str, Any]] = {}
    for part in (SUITES.get(name) for name in suite.parts):
        for phase, values in suite_resources(part).items():
            for key, value in values.items():
                old = merged.setdefault(phase, {}).get(key)
                both_numbers = isinstance(value, (int, float)) and isinstance(old, (int, float))
                merged[phase][key] = max(old, value) if both_numbers else value
    return merged


def register_suite(suite: Suite) -> Suite:
    SUITES.add(suite.name, suite)
    return suite

"""Expand a suite into job configs, after CLI filters and ``--set key=value`` overrides.

Override keys (values are JSON; a bare word is a string; a list on a method hyperparameter
makes it a grid axis):

* ``task.<arg>``            every task's argument (``task.size=32``)
* ``teacher.<key>``         the teacher network (``teacher.ngf=32``); ``teacher.checkpoint=NAME|PATH``
                            loads published weights instead of training (``null`` trains it)
* ``student.<key>``         every student network (``student.n_blocks=6``)
* ``recipe.<key>``          settings shared by teacher and students (``recipe.ndf=32``)
* ``schedule.<key>``        both schedules; ``teacher_schedule.<key>``/``student_schedule.<key>`` one
* ``evaluation.<key>``      evaluation settings (``evaluation.n_samples=4``)
* ``<method>.<hparam>``     a method hyperparameter (``output_kd.lambda_recon=[1,10]``)

A suite's ``methods`` may hold shell-style patterns (``"*"``): they expand, per task, to every
registered method of the task's family, so a suite picks up methods registered after it was written.
"""
from __future__ import annotations

import inspect
import itertools
import json
from dataclasses import fields
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from benchmarks.config import JobConfig
from benchmarks.suites import EVALUATION_DEFAULTS, Suite
from benchmarks.teachers import CHECKPOINTS, CheckpointError, check_spec
from datasets import TASKS
from methods import METHODS, NETWORKS
from methods.recipes import RECIPE_DEFAULTS
from methods.training import Schedule


class OverrideError(ValueError):
    """A malformed or unknown ``--set`` override; the message says what is valid."""


def parse_value(text: str) -> Any:
    """JSON value, or the bare text as a string when it is a plain word (``mobile_resnet_generator``)."""
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        if text and all(c.isalnum() or c in "_-./" for c in text):
            return text
        raise OverrideError(f"cannot parse value {text!r}: use JSON (3, 0.5, true, null, \"text\", [1, 2]) "
                            f"or a plain word") from None


def parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise OverrideError(f"malformed --set {item!r}: expected KEY=VALUE, e.g. teacher.ngf=32 or output_kd.lambda_recon=10")
    return key.strip(), parse_value(value.strip())


def _check_type(key: str, current: Any, value: Any) -> None:
    """Reject a value whose type contradicts the default (int where a float is fine)."""
    if current is None or value is None:
        return
    numbers = (int, float)
    ok = (isinstance(value, bool) == isinstance(current, bool)
          and (isinstance(value, type(current)) or (isinstance(current, float) and isinstance(value, numbers))))
    if not ok:
        raise OverrideError(f"--set {key}: expected a {type(current).__name__} like {current!r}, got {value!r}")


def _network_keys(spec: Mapping[str, Any]) -> dict[str, Any]:
    params = inspect.signature(NETWORKS.get(spec["arch"])).parameters
    return {k: p.default for k, p in params.items() if p.default is not inspect.Parameter.empty}


def _set_checkpoint(key: str, spec: Mapping[str, Any], value: Any) -> dict[str, Any]:
    if not key.startswith("teacher."):
        raise OverrideError(f"--set {key}: only the teacher can start from a checkpoint (teacher.checkpoint=NAME|PATH)")
    spec = {k: v for k, v in spec.items() if k != "checkpoint"}
    if isinstance(value, str) and value not in CHECKPOINTS:  # a file: absolute, so every job finds it
        value = str(Path(value).expanduser().absolute())
    if value is not None:
        spec["checkpoint"] = value
    try:
        check_spec(spec)
    except CheckpointError as exc:
        raise OverrideError(f"--set {key}: {exc}") from None
    return spec


def _set_network(key: str, spec: Mapping[str, Any], field_name: str, value: Any) -> dict[str, Any]:
    if field_name == "checkpoint":
        return _set_checkpoint(key, spec, value)
    if field_name == "arch":
        NETWORKS.get(value)
        return {**spec, "arch": value}
    valid = _network_keys(spec)
    if field_name not in valid:
        raise OverrideError(f"--set {key}: network {spec['arch']!r} has no argument {field_name!r}; "
                            f"valid: arch, {', '.join(sorted(valid))}" + (", checkpoint" if key.startswith("teacher.") else ""))
    _check_type(key, spec.get(field_name, valid[field_name]), value)
    return {**spec, field_name: value}


def _set_in(key: str, mapping: Mapping[str, Any], defaults: Mapping[str, Any], field_name: str, value: Any) -> dict:
    if field_name not in defaults:
        raise OverrideError(f"--set {key}: unknown key {field_name!r}; valid: {', '.join(sorted(defaults))}")
    _check_type(key, mapping.get(field_name, defaults[field_name]), value)
    return {**mapping, field_name: value}


SCHEDULE_DEFAULTS = {f.name: f.default for f in fields(Schedule)}


def apply_overrides(suite: Suite, overrides: Iterable[str]) -> Suite:
    """The suite with every ``--set`` applied, or an ``OverrideError`` naming the bad one."""
    for item in overrides:
        key, value = parse_override(item)
        section, _, name = key.partition(".")
        if not name:
            raise OverrideError(f"--set {key}: expected SECTION.KEY (sections: task, teacher, student, recipe, schedule, "
                                f"teacher_schedule, student_schedule, evaluation, or a method name)")
        if section == "task":
            tasks = []
            for task in suite.tasks:
                defaults = TASKS.get(task["name"]).defaults
                tasks.append({**_set_in(key, task, defaults, name, value), "name": task["name"]})
            suite = suite.with_changes(tasks=tuple(tasks))
        elif section == "teacher":
            suite = suite.with_changes(teacher=_set_network(key, suite.teacher, name, value))
        elif section == "student":
            suite = suite.with_changes(students=tuple(_set_network(key, s, name, value) for s in suite.students))
        elif section == "recipe":
            suite = suite.with_changes(recipe=_set_in(key, suite.recipe, RECIPE_DEFAULTS, name, value))
        elif section in ("schedule", "teacher_schedule", "student_schedule"):
            for part in ("teacher_schedule", "student_schedule"):
                if section in ("schedule", part):
                    suite = suite.with_changes(**{part: _set_in(key, getattr(suite, part), SCHEDULE_DEFAULTS, name, value)})
        elif section == "evaluation":
            suite = suite.with_changes(evaluation=_set_in(key, suite.evaluation, EVALUATION_DEFAULTS, name, value))
        elif section in METHODS:
            method = METHODS.get(section)
            if name not in method.defaults:
                raise OverrideError(f"--set {key}: method {section!r} has no hyperparameter {name!r}; "
                                    f"valid: {', '.join(sorted(method.defaults)) or '(none)'}")
            values = value if isinstance(value, list) else [value]
            for v in values:
                _check_type(key, method.defaults[name], v)
            grid = {**suite.hparams.get(section, {}), name: values}
            suite = suite.with_changes(hparams={**suite.hparams, section: grid})
        else:
            raise OverrideError(f"--set {key}: unknown section {section!r}. "
                                f"{METHODS.unknown_message(section)} Other sections: task, teacher, student, recipe, "
                                f"schedule, teacher_schedule, student_schedule, evaluation.")
    return suite


def expand_hparams(method: str, grid: Mapping[str, Sequence[Any]],
                   zipped: Sequence[Sequence[str]] = ()) -> list[dict[str, Any]]:
    """Cartesian product of the grid's value lists; keys in one ``zipped`` group advance together."""
    groups = [tuple(g) for g in zipped]
    grouped = {k for g in groups for k in g}
    unknown = grouped - set(grid)
    if unknown:
        raise ValueError(f"zipped keys {sorted(unknown)} of method {method!r} have no values in the grid")
    axes: list[list[dict[str, Any]]] = []
    for group in groups:
        lengths = {len(grid[k]) for k in group}
        if len(lengths) != 1:
            raise ValueError(f"zipped keys {group} of method {method!r} need lists of equal length, got {lengths}")
        axes.append([dict(zip(group, values)) for values in zip(*(grid[k] for k in group))])
    for key in sorted(set(grid) - grouped):
        axes.append([{key: v} for v in grid[key]])
    return [dict(kv for part in combo for kv in part.items()) for combo in itertools.product(*axes)]


def resolve_methods(names: Sequence[str], family: str) -> list[str]:
    """Method names with patterns (``*``, ``*_kd``) expanded to the registered methods of ``family``."""
    out: list[str] = []
    for name in names:
        if any(c in name for c in "*?["):
            matched = [m for m in METHODS.names(name) if METHODS.get(m).family == family]
            if not matched:
                raise ValueError(f"method pattern {name!r} matches no registered {family} method; "
                                 f"registered: {', '.join(METHODS)}")
            out += [m for m in matched if m not in out]
        elif name not in out:
            out.append(name)
    return out


def _teacher_job(suite: Suite, task: Mapping[str, Any], seed: int) -> JobConfig:
    info = TASKS.get(task["name"])
    try:
        check_spec(suite.teacher)
    except CheckpointError as exc:
        raise ValueError(f"suite {suite.name!r}: {exc}") from None
    return JobConfig(
        phase="teacher", family=info.family, task=info.name, task_args={k: v for k, v in task.items() if k != "name"},
        teacher=dict(suite.teacher), student=None, method="teacher", hparams={}, recipe=dict(suite.recipe),
        schedule=dict(suite.teacher_schedule), evaluation={**EVALUATION_DEFAULTS, **suite.evaluation}, seed=seed,
        suite=suite.name)


def expand(suite: Suite, *, tasks: Sequence[str] | None = None, methods: Sequence[str] | None = None,
           seeds: Sequence[int] | None = None, overrides: Iterable[str] = ()) -> list[JobConfig]:
    """All jobs of the suite (teachers first), narrowed by the filters, with overrides applied.

    ``tasks``/``methods`` may name registered entries outside the suite (the suite's defaults
    are used); ``seeds`` replaces the suite's seeds."""
    suite = apply_overrides(suite, overrides)
    task_specs = {t["name"]: t for t in suite.tasks}
    for name in tasks or ():
        TASKS.get(name)
    for name in methods or ():
        if not any(c in name for c in "*?["):
            METHODS.get(name)
    selected_tasks = [task_specs.get(n, {"name": n}) for n in tasks] if tasks else list(suite.tasks)
    selected_methods = list(methods) if methods else list(suite.methods)
    selected_seeds = list(seeds) if seeds is not None else list(suite.seeds)
    teachers, students = [], []
    for task in selected_tasks:
        for seed in selected_seeds:
            teacher = _teacher_job(suite, task, seed)
            teachers.append(teacher)  # always: the leaderboard compares every student with it
            for student in suite.students:
                for method_name in resolve_methods(selected_methods, teacher.family):
                    method = METHODS.get(method_name)
                    for hp in expand_hparams(method_name, suite.hparams.get(method_name, {}),
                                             suite.zipped.get(method_name, ())):
                        pretrained = method.teacher_mode == "pretrained"
                        students.append(JobConfig(
                            phase="student", family=teacher.family, task=teacher.task, task_args=teacher.task_args,
                            teacher=teacher.teacher, student=dict(student), method=method_name,
                            hparams=method.resolve_hparams(hp), recipe=teacher.recipe,
                            schedule=dict(suite.student_schedule), evaluation=teacher.evaluation, seed=seed,
                            teacher_id=teacher.job_id if pretrained else None, suite=suite.name))
    return teachers + students

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
* ``fake_set.<key>``        cGAN-KD's fake-set phase (``fake_set.gan_steps=2000``), classification/regression
* ``<method>.<hparam>``     a method hyperparameter (``output_kd.lambda_recon=[1,10]``)

In a composite suite (``parts``) an override applies to every part it makes sense for
(``teacher.ngf`` to the image-to-image part, ``fake_set.*`` to the labelled ones, ``schedule.steps``
to all); one that applies to no part is an error.

A suite's ``methods`` may hold shell-style patterns (``"*"``): they expand, per task, to every
registered method of the task's family, so a suite picks up methods registered after it was written.
"""
from __future__ import annotations

import inspect
import itertools
import json
from dataclasses import fields, replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from benchmarks.config import JobConfig
from benchmarks.labelled_jobs import FAKE_SET_ARTIFACT
from benchmarks.suites import EVALUATION_DEFAULTS, SUITES, Suite
from benchmarks.teachers import CHECKPOINTS, CheckpointError, check_spec
from datasets import TASKS
from datasets.labelled import LABELLED_FAMILIES
from methods import METHODS, NETWORKS
from methods.cgan_kd import FAKESET_DEFAULTS, fake_set_network, resolve_fake_hparams
from methods.labelled_training import SGDSchedule
from methods.recipes import RECIPE_DEFAULTS
from methods.training import Schedule

#: The method whose student a fine-tuning method (``needs_student_init``) starts from.
STUDENT_INIT_METHOD = "nokd"


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
    if isinstance(current, tuple):
        current = list(current)
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
SGD_SCHEDULE_DEFAULTS = {f.name: f.default for f in fields(SGDSchedule)}


def suite_family(suite: Suite) -> str:
    """The family of the suite's tasks (one per suite); an error names the tasks when they mix."""
    families = {TASKS.get(t["name"]).family for t in suite.tasks}
    if len(families) != 1:
        raise ValueError(f"suite {suite.name!r} must have tasks of exactly one family, got "
                         f"{', '.join(sorted(families)) or 'no task'}: make one suite per family and join them with "
                         f"a composite suite (parts=...)")
    return families.pop()


def method_families(name: str) -> tuple[str, ...]:
    """The task families a registered method serves."""
    method = METHODS.get(name)
    return tuple(getattr(method, "families", (method.family,)))


def apply_overrides(suite: Suite, overrides: Iterable[str]) -> Suite:
    """The suite with every ``--set`` applied, or an ``OverrideError`` naming the bad one (one-family suites;
    :func:`expand` spreads overrides over a composite suite's parts)."""
    for item in overrides:
        suite = _apply_override(suite, item)
    return suite


def _apply_override(suite: Suite, item: str) -> Suite:
    key, value = parse_override(item)
    section, _, name = key.partition(".")
    if not name:
        raise OverrideError(f"--set {key}: expected SECTION.KEY (sections: task, teacher, student, recipe, schedule, "
                            f"teacher_schedule, student_schedule, evaluation, fake_set, or a method name)")
    labelled = suite_family(suite) in LABELLED_FAMILIES
    if section == "task":
        tasks = []
        for task in suite.tasks:
            defaults = TASKS.get(task["name"]).defaults
            tasks.append({**_set_in(key, task, defaults, name, value), "name": task["name"]})
        return suite.with_changes(tasks=tuple(tasks))
    if section == "teacher":
        return suite.with_changes(teacher=_set_network(key, suite.teacher, name, value))
    if section == "student":
        return suite.with_changes(students=tuple(_set_network(key, s, name, value) for s in suite.students))
    if section == "recipe":
        if labelled:
            raise OverrideError(f"--set {key}: suite {suite.name!r} ({suite_family(suite)}) has no GAN recipe")
        return suite.with_changes(recipe=_set_in(key, suite.recipe, RECIPE_DEFAULTS, name, value))
    if section in ("schedule", "teacher_schedule", "student_schedule"):
        defaults = SGD_SCHEDULE_DEFAULTS if labelled else SCHEDULE_DEFAULTS
        for part in ("teacher_schedule", "student_schedule"):
            if section in ("schedule", part):
                suite = suite.with_changes(**{part: _set_in(key, getattr(suite, part), defaults, name, value)})
        if section != "teacher_schedule":
            suite = suite.with_changes(method_schedules={m: {**s, name: value} if name in s else s
                                                         for m, s in suite.method_schedules.items()})
        return suite
    if section == "evaluation":
        return suite.with_changes(evaluation=_set_in(key, suite.evaluation, EVALUATION_DEFAULTS, name, value))
    if section == "fake_set":
        if not labelled:
            raise OverrideError(f"--set {key}: suite {suite.name!r} has no cGAN-KD fake set (image-to-image tasks)")
        return suite.with_changes(fake_set=_set_in(key, suite.fake_set, FAKESET_DEFAULTS, name, value))
    if section in METHODS:
        method = METHODS.get(section)
        if suite_family(suite) not in method_families(section):
            raise OverrideError(f"--set {key}: method {section!r} does not serve the {suite_family(suite)} tasks of "
                                f"suite {suite.name!r}")
        if name not in method.defaults:
            raise OverrideError(f"--set {key}: method {section!r} has no hyperparameter {name!r}; "
                                f"valid: {', '.join(sorted(method.defaults)) or '(none)'}")
        values = value if isinstance(value, list) else [value]
        for v in values:
            _check_type(key, method.defaults[name], v)
        grid = {**suite.hparams.get(section, {}), name: values}
        return suite.with_changes(hparams={**suite.hparams, section: grid})
    raise OverrideError(f"--set {key}: unknown section {section!r}. "
                        f"{METHODS.unknown_message(section)} Other sections: task, teacher, student, recipe, "
                        f"schedule, teacher_schedule, student_schedule, evaluation, fake_set.")


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
            matched = [m for m in METHODS.names(name) if family in method_families(m)]
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


def _fake_set_job(suite: Suite, teacher: JobConfig, overrides: Mapping[str, Any]) -> JobConfig:
    """cGAN-KD's fake set of ``teacher``'s task (the suite's ``fake_set`` with the method's ``overrides``), made
    once for every student reading the same settings: of that teacher when it filters, else of every teacher
    (the job's network is then the filtering network, and it depends on no teacher job)."""
    hparams = resolve_fake_hparams({**suite.fake_set, **overrides})
    network = fake_set_network(hparams, teacher.family)
    return replace(teacher, phase="artifact", method=FAKE_SET_ARTIFACT, hparams=hparams, schedule={},
                   teacher=teacher.teacher if network is None else network,
                   teacher_id=teacher.job_id if network is None else None)


def _student_jobs(suite: Suite, teacher: JobConfig, student: Mapping[str, Any], method_name: str,
                  hp: Mapping[str, Any]) -> list[JobConfig]:
    """The student job, preceded by the jobs whose output it reads (its ``inputs``) when it has any."""
    method = METHODS.get(method_name)
    schedule = {**suite.student_schedule, **suite.method_schedules.get(method_name, {})}
    if hasattr(method, "check_schedule"):  # a method that cannot learn with this schedule says so before anything runs
        try:
            method.check_schedule(schedule)
        except ValueError as exc:
            raise ValueError(f"suite {suite.name!r}, task {teacher.task!r}: {exc}") from None
    job = JobConfig(
        phase="student", family=teacher.family, task=teacher.task, task_args=teacher.task_args,
        teacher=teacher.teacher, student=dict(student), method=method_name, hparams=method.resolve_hparams(hp),
        recipe=teacher.recipe, schedule=schedule, evaluation=teacher.evaluation,
        seed=teacher.seed, teacher_id=teacher.job_id if method.teacher_mode == "pretrained" else None,
        suite=suite.name)
    if hasattr(method, "check_network"):  # a method that cannot work on these networks fails here, at planning
        size = teacher.task_args.get("size", TASKS.get(teacher.task).defaults.get("size"))
        method.check_network(job.student, job.teacher, size, job.hparams)
    needed: list[JobConfig] = []
    if getattr(method, "uses_fake_set", False):
        needed.append(_fake_set_job(suite, teacher, method().fake_set_overrides(job.hparams)))
    if getattr(method, "uses_fake_set", False) and method().needs_student_init(job.hparams):
        needed += _student_jobs(suite, teacher, student, STUDENT_INIT_METHOD, {})
    inputs = {role: dep.job_id for role, dep in zip(("fake_set", "student_init"), needed)}
    return needed + [replace(job, inputs=inputs)] if inputs else [job]


def _expand_one(suite: Suite, tasks: Sequence[str] | None, methods: Sequence[str] | None,
                seeds: Sequence[int] | None) -> list[JobConfig]:
    task_specs = {t["name"]: t for t in suite.tasks}
    selected_tasks = [task_specs.get(n, {"name": n}) for n in tasks] if tasks else list(suite.tasks)
    selected_methods = list(methods) if methods else list(suite.methods)
    selected_seeds = list(seeds) if seeds is not None else list(suite.seeds)
    jobs = []
    for task in selected_tasks:
        for seed in selected_seeds:
            teacher = _teacher_job(suite, task, seed)
            jobs.append(teacher)  # always: the leaderboard compares every student with it
            for student in suite.students:
                for method_name in resolve_methods(selected_methods, teacher.family):
                    for hp in expand_hparams(method_name, suite.hparams.get(method_name, {}),
                                             suite.zipped.get(method_name, ())):
                        jobs += _student_jobs(suite, teacher, student, method_name, hp)
    return jobs


def _parts(suite: Suite, overrides: Sequence[str]) -> list[Suite]:
    """A composite suite's parts with the overrides that apply to each (an override that applies to no
    part is an error: the first part's message says why); a plain suite with all its overrides."""
    if not suite.parts:
        return [apply_overrides(suite, overrides)]
    parts = [SUITES.get(name) for name in suite.parts]
    for item in overrides:
        errors, applied = [], False
        for i, part in enumerate(parts):
            try:
                parts[i] = _apply_override(part, item)
                applied = True
            except OverrideError as exc:
                errors.append(exc)
        if not applied:
            raise errors[0]
    return parts


def _route_tasks(suite: Suite, parts: Sequence[Suite], tasks: Sequence[str]) -> list[list[str]]:
    """Per part, the ``--tasks`` it runs: a task goes to every part that lists it; a task no part lists
    goes to the first part of its family (and its defaults); a family without a part is an error."""
    routed: list[list[str]] = [[] for _ in parts]
    for name in tasks:
        homes = [i for i, p in enumerate(parts) if name in {t["name"] for t in p.tasks}]
        if not homes:
            family = TASKS.get(name).family
            homes = [i for i, p in enumerate(parts) if suite_family(p) == family][:1]
            if not homes:
                raise ValueError(f"suite {suite.name!r} has no {family} part for task {name!r} (its families: "
                                 f"{', '.join(sorted({suite_family(p) for p in parts}))}); pick a suite with "
                                 f"{family} tasks (`python -m benchmarks.run list suites`)")
        for i in homes:
            routed[i].append(name)
    return routed


def expand(suite: Suite, *, tasks: Sequence[str] | None = None, methods: Sequence[str] | None = None,
           seeds: Sequence[int] | None = None, overrides: Iterable[str] = ()) -> list[JobConfig]:
    """All jobs of the suite (teachers, then artefacts, then students), narrowed by the filters, with
    overrides applied; each job once, even when two configurations resolve to the same job.

    ``tasks``/``methods`` may name registered entries outside the suite (the suite's defaults are used;
    in a composite suite, those of the first part of the task's family); ``seeds`` replaces the suite's
    seeds. A student whose method reads another job's output (cGAN-KD: the fake set and the NOKD
    student it fine-tunes) brings that job along even when the filters leave it out."""
    for name in tasks or ():
        TASKS.get(name)
    for name in methods or ():
        if not any(c in name for c in "*?["):
            METHODS.get(name)
    jobs: list[JobConfig] = []
    parts = _parts(suite, list(overrides))
    routed = _route_tasks(suite, parts, tasks) if tasks else [None] * len(parts)
    for part, part_tasks in zip(parts, routed):
        family = suite_family(part)
        part_methods = None
        if methods:
            part_methods = [m for m in methods if any(c in m for c in "*?[") or family in method_families(m)]
            if not part_methods:
                continue
        if part_tasks != []:
            jobs += _expand_one(part, part_tasks, part_methods, seeds)
    order = {"teacher": 0, "artifact": 1, "student": 2}
    unique: dict[str, JobConfig] = {}
    for job in jobs:
        unique.setdefault(job.job_id, replace(job, suite=suite.name))  # a composite's jobs carry its name
    return sorted(unique.values(), key=lambda j: order[j.phase])

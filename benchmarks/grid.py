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

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from benchmarks.config import JobConfig
from benchmarks.families import FAMILIES
from benchmarks.suites import EVALUATION_DEFAULTS, SUITES, Suite
from benchmarks.teacher_catalog import CHECKPOINTS, CheckpointError, check_spec
from datasets import TASKS
from methods import ARTIFACTS, METHODS, NETWORKS
from methods.network_spec import network_args
from methods.registry import Need, Param, param_of, resolve_settings


class OverrideError(ValueError):
    """A malformed or unknown ``--set`` override; the message says what is valid."""


class NotApplicableError(OverrideError):
    """An override for another family's part of a composite suite (a classification method's hyperparameter
    on the image-to-image part): an error only when no part takes it."""


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


def _check_value(key: str, param: Param, value: Any) -> None:
    """``OverrideError`` when ``value`` does not fit the setting it overrides (its type, choices, range)."""
    if param.kind == "any":
        return
    problem = param.problem(value)
    if problem:
        raise OverrideError(f"--set {key}: {problem}")


def _check_type(key: str, current: Any, value: Any) -> None:
    """Reject a value whose type contradicts the current value (an int where a float is fine)."""
    if current is not None and value is not None:
        _check_value(key, param_of(current), value)


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
        NETWORKS.meta(value)  # an unknown name lists the valid ones
        return {**spec, "arch": value}
    valid = network_args(spec["arch"])
    if field_name not in valid:
        raise OverrideError(f"--set {key}: network {spec['arch']!r} has no argument {field_name!r}; "
                            f"valid: arch, {', '.join(sorted(valid))}" + (", checkpoint" if key.startswith("teacher.") else ""))
    _check_type(key, spec.get(field_name, valid[field_name]), value)
    return {**spec, field_name: value}


def _set_in(key: str, mapping: Mapping[str, Any], defaults: Mapping[str, Any], field_name: str, value: Any,
            params: Mapping[str, Param] | None = None) -> dict:
    if field_name not in defaults:
        raise OverrideError(f"--set {key}: unknown key {field_name!r}; valid: {', '.join(sorted(defaults))}")
    if params and field_name in params:
        _check_value(key, params[field_name], value)
    else:
        _check_type(key, mapping.get(field_name, defaults[field_name]), value)
    return {**mapping, field_name: value}


def suite_family(suite: Suite) -> str:
    """The family of the suite's tasks (one per suite); an error names the tasks when they mix."""
    families = {TASKS.info(t["name"]).family for t in suite.tasks}
    if len(families) != 1:
        raise ValueError(f"suite {suite.name!r} must have tasks of exactly one family, got "
                         f"{', '.join(sorted(families)) or 'no task'}: make one suite per family and join them with "
                         f"a composite suite (parts=...)")
    return families.pop()


def method_families(name: str) -> tuple[str, ...]:
    """The task families a registered method serves."""
    return tuple(METHODS.info(name).families)


def _artifact_sections() -> dict[str, str]:
    """Suite section -> the artifact it configures (``fake_set`` -> ``cgan_kd_fake_set``)."""
    return {ARTIFACTS.info(name).section: name for name in ARTIFACTS}


SECTIONS = ("task", "teacher", "student", "recipe", "schedule", "teacher_schedule", "student_schedule", "evaluation")


def apply_overrides(suite: Suite, overrides: Iterable[str]) -> Suite:
    """The suite with every ``--set`` applied, or an ``OverrideError`` naming the bad one (one-family suites;
    :func:`expand` spreads overrides over a composite suite's parts)."""
    for item in overrides:
        suite = _apply_override(suite, item)
    return suite


def _override_section(suite: Suite, key: str, section: str, name: str, value: Any) -> Suite | None:
    """The suite with a harness section's key set (``task``, ``teacher``... ``evaluation``); None for other sections."""
    family = FAMILIES.get(suite_family(suite))
    if section == "task":
        return suite.with_changes(tasks=tuple({**_set_in(key, task, TASKS.info(task["name"]).defaults, name, value),
                                               "name": task["name"]} for task in suite.tasks))
    if section == "teacher":
        return suite.with_changes(teacher=_set_network(key, suite.teacher, name, value))
    if section == "student":
        return suite.with_changes(students=tuple(_set_network(key, s, name, value) for s in suite.students))
    if section == "recipe":
        if not family.recipe_defaults:
            raise NotApplicableError(f"--set {key}: suite {suite.name!r} ({family.name}) has no GAN recipe")
        return suite.with_changes(recipe=_set_in(key, suite.recipe, family.recipe_defaults, name, value))
    if section in ("schedule", "teacher_schedule", "student_schedule"):
        for part in ("teacher_schedule", "student_schedule"):
            if section in ("schedule", part):
                suite = suite.with_changes(**{part: _set_in(key, getattr(suite, part), family.schedule_defaults,
                                                            name, value)})
        if section != "teacher_schedule":
            suite = suite.with_changes(method_schedules={m: {**s, name: value} if name in s else s
                                                         for m, s in suite.method_schedules.items()})
        return suite
    if section == "evaluation":
        return suite.with_changes(evaluation=_set_in(key, suite.evaluation, EVALUATION_DEFAULTS, name, value))
    return None


def _override_artifact(suite: Suite, key: str, artifact: str, name: str, value: Any) -> Suite:
    info = ARTIFACTS.info(artifact)
    if suite_family(suite) not in info.families:
        raise NotApplicableError(f"--set {key}: suite {suite.name!r} ({suite_family(suite)} tasks) has no {artifact} "
                            f"({info.summary}): it serves {', '.join(info.families)} tasks")
    settings = _set_in(key, getattr(suite, info.section), info.defaults, name, value, info.params)
    return suite.with_changes(**{info.section: settings})


def _override_method(suite: Suite, key: str, method: str, name: str, value: Any) -> Suite:
    info = METHODS.info(method)
    if suite_family(suite) not in info.families:
        raise NotApplicableError(f"--set {key}: method {method!r} does not serve the {suite_family(suite)} tasks of "
                            f"suite {suite.name!r}")
    if name not in info.defaults:
        raise OverrideError(f"--set {key}: method {method!r} has no hyperparameter {name!r}; "
                            f"valid: {', '.join(sorted(info.defaults)) or '(none)'}")
    values = value if isinstance(value, list) and info.params[name].kind != "list" else [value]
    for v in values:
        _check_value(key, info.params[name], v)
    grid = {**suite.hparams.get(method, {}), name: values}
    return suite.with_changes(hparams={**suite.hparams, method: grid})


def _apply_override(suite: Suite, item: str) -> Suite:
    key, value = parse_override(item)
    section, _, name = key.partition(".")
    artifacts = _artifact_sections()
    if not name:
        raise OverrideError(f"--set {key}: expected SECTION.KEY (sections: {', '.join(SECTIONS + tuple(artifacts))}, "
                            f"or a method name)")
    if section in SECTIONS:
        return _override_section(suite, key, section, name, value)  # type: ignore[return-value]
    if section in artifacts:
        return _override_artifact(suite, key, artifacts[section], name, value)
    if section in METHODS:
        return _override_method(suite, key, section, name, value)
    raise OverrideError(f"--set {key}: unknown section {section!r}. {METHODS.unknown_message(section)} Other "
                        f"sections: {', '.join(SECTIONS + tuple(artifacts))}.")


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
    info = TASKS.info(task["name"])
    try:
        check_spec(suite.teacher)
    except CheckpointError as exc:
        raise ValueError(f"suite {suite.name!r}: {exc}") from None
    return JobConfig(
        phase="teacher", family=info.family, task=info.name, task_args={k: v for k, v in task.items() if k != "name"},
        teacher=dict(suite.teacher), student=None, method="teacher", hparams={}, recipe=dict(suite.recipe),
        schedule=dict(suite.teacher_schedule), evaluation={**EVALUATION_DEFAULTS, **suite.evaluation}, seed=seed,
        suite=suite.name)


def _artifact_job(suite: Suite, teacher: JobConfig, artifact: str, settings: Mapping[str, Any]) -> JobConfig:
    """An artifact of ``teacher``'s task (cGAN-KD's fake set): the suite's section with the student's
    ``settings`` on top, made once for every student reading the same settings. When the artifact's
    network setting names a network of its own (cGAN-KD's filtering network), that network is the job's
    and it depends on no teacher: one artifact for every teacher of the task."""
    info = ARTIFACTS.info(artifact)
    hparams = resolve_settings(f"suite {suite.name!r}: {info.section}", info.defaults, info.params,
                               {**getattr(suite, info.section), **settings})
    network = artifact_network(info, hparams, teacher.family)
    return replace(teacher, phase="artifact", method=artifact, hparams=hparams, schedule={},
                   teacher=teacher.teacher if network is None else network,
                   teacher_id=teacher.job_id if network is None else None)


def artifact_network(info: Any, hparams: Mapping[str, Any], family: str) -> dict[str, Any] | None:
    """The network an artifact job is made with (its ``network_setting``: None, the family's default network;
    ``"teacher"``, the pair's teacher, returned as None; or a network spec), or None for the teacher."""
    if not info.network_setting:
        return None
    value = hparams[info.network_setting]
    if value == "teacher":
        return None
    if value is None:
        return dict(info.default_networks[family])
    if isinstance(value, Mapping) and "arch" in value:
        return dict(value)
    raise ValueError(f"{info.section}.{info.network_setting} must be null (the public code's network for the "
                     f"family: {info.default_networks.get(family)}), 'teacher' or a network spec with an 'arch' key, "
                     f"got {value!r}")


def _needed_jobs(suite: Suite, teacher: JobConfig, student: JobConfig, need: Need) -> list[JobConfig]:
    """The jobs that make what ``need`` names, the one whose output is read last."""
    if need.artifact:
        return [_artifact_job(suite, teacher, need.artifact, need.artifact_settings(student.hparams))]
    return _student_jobs(suite, teacher, student.student or {}, need.method or "", {})


def _student_jobs(suite: Suite, teacher: JobConfig, student: Mapping[str, Any], method_name: str,
                  hp: Mapping[str, Any]) -> list[JobConfig]:
    """The student job, preceded by the jobs whose output it reads (its method's ``needs``) when it has any."""
    info = METHODS.info(method_name)
    job = JobConfig(
        phase="student", family=teacher.family, task=teacher.task, task_args=teacher.task_args,
        teacher=teacher.teacher, student=dict(student), method=method_name,
        hparams=resolve_settings(f"method {method_name!r}", info.defaults, info.params, hp),
        recipe=teacher.recipe, schedule={**suite.student_schedule, **suite.method_schedules.get(method_name, {})},
        evaluation=teacher.evaluation, seed=teacher.seed,
        teacher_id=teacher.job_id if info.teacher_mode == "pretrained" else None,
        suite=suite.name)
    needed: list[JobConfig] = []
    inputs: dict[str, str] = {}
    for need in (n for n in info.needs if n.applies(job.hparams)):
        jobs = _needed_jobs(suite, teacher, job, need)
        needed += jobs
        inputs[need.role] = jobs[-1].job_id
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
    part is an error: a part of its family says why, else the first part); a plain suite with all its
    overrides."""
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
        if not applied:  # the error of a part the override was meant for, else the first part's
            raise next((e for e in errors if not isinstance(e, NotApplicableError)), errors[0])
    return parts


def _route_tasks(suite: Suite, parts: Sequence[Suite], tasks: Sequence[str]) -> list[list[str]]:
    """Per part, the ``--tasks`` it runs: a task goes to every part that lists it; a task no part lists
    goes to the first part of its family (and its defaults); a family without a part is an error."""
    routed: list[list[str]] = [[] for _ in parts]
    for name in tasks:
        homes = [i for i, p in enumerate(parts) if name in {t["name"] for t in p.tasks}]
        if not homes:
            family = TASKS.info(name).family
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
    """All jobs of the suite (teachers, then artifacts, then students), narrowed by the filters, with
    overrides applied; each job once, even when two configurations resolve to the same job.

    ``tasks``/``methods`` may name registered entries outside the suite (the suite's defaults are used;
    in a composite suite, those of the first part of the task's family); ``seeds`` replaces the suite's
    seeds. A student whose method reads another job's output (cGAN-KD: the fake set and the NOKD
    student it fine-tunes) brings that job along even when the filters leave it out."""
    for name in tasks or ():
        TASKS.meta(name)
    bad_seeds = [s for s in seeds or () if isinstance(s, bool) or not isinstance(s, int) or s < 0]
    if bad_seeds:
        raise ValueError(f"seeds must be integers >= 0 (they seed torch, numpy and the data), got {bad_seeds}: "
                         f"pass e.g. --seeds 0 1 2")
    for name in methods or ():
        if not any(c in name for c in "*?["):
            METHODS.meta(name)
    jobs: list[JobConfig] = []
    overrides = tuple(overrides)
    parts = _parts(suite, overrides)
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
        unique.setdefault(job.job_id, replace(job, suite=suite.name, overrides=overrides))  # labels: rerun command
    return sorted(unique.values(), key=lambda j: order[j.phase])


def check_plans(jobs: Iterable[JobConfig]) -> None:
    """Each student's method checks, before anything runs, that it can work with its networks, the task's
    image size, its hyperparameters and its schedule (``Method.check_network``, and ``check_schedule`` where
    a method has one): SRPKD/ReKo on a layer without spatial extent, CAT's kernel alignment at batch 1 or a
    bad CRD schedule setting fail the grid here, with the method's message, never train as something else.

    It imports the methods' modules (torch, meta-device shapes), so ``grid`` calls it after expanding and
    ``list`` / the time estimate never do. One check per distinct (method, networks, size, settings)."""
    checked: set[str] = set()
    for job in jobs:
        if job.phase != "student":
            continue
        size = job.task_args.get("size", TASKS.info(job.task).defaults.get("size"))
        key = json.dumps([job.method, job.student, job.teacher, size, job.hparams, job.schedule], sort_keys=True,
                         default=str)
        if key in checked:
            continue
        checked.add(key)
        method = METHODS.get(job.method)
        method.check_network(job.student, job.teacher, size, job.hparams)
        check_schedule = getattr(method, "check_schedule", None)
        if check_schedule is not None:
            try:
                check_schedule(job.schedule)
            except ValueError as exc:
                raise ValueError(f"suite {job.suite!r}, task {job.task!r}: {exc}") from None

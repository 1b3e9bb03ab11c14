"""Expand a suite into job configs (teachers, the artifacts students read, students), after CLI filters and
``--set key=value`` overrides (:mod:`kd_gan_bench.benchmarks.planning.overrides`), and check every student's plan before anything runs.

A suite's ``methods`` may hold shell-style patterns (``"*"``): they expand, per task, to every
registered method of the task's family, so a suite picks up methods registered after it was written.
Nothing here imports torch: the methods' planning checks are torch-free (:mod:`kd_gan_bench.methods.core.plan_checks`).
"""
from __future__ import annotations

import itertools
import json
from dataclasses import replace
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.planning import plugins
from kd_gan_bench.benchmarks.planning.overrides import method_families, parts_of, suite_family
from kd_gan_bench.benchmarks.planning.suites import EVALUATION_DEFAULTS, Suite
from kd_gan_bench.benchmarks.families.teacher_catalog import CHECKPOINTS, CheckpointError, check_spec
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import ARTIFACTS, METHODS
from kd_gan_bench.methods.networks.geometry import size_problem
from kd_gan_bench.methods.networks.network_spec import spec_problem
from kd_gan_bench.methods.core.plan_checks import StudentPlan, check_student_plan
from kd_gan_bench.benchmarks.core.registry import Need, resolve_settings

#: Seeds are integers in [0, SEED_LIMIT): torch's generators take seeds below 2**64 and the jobs derive a few
#: more streams from a seed by adding small offsets (cGAN-KD: seed + 3).
SEED_LIMIT = 2 ** 63


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
    """Method names with patterns (``*``, ``*_kd``) expanded to the built-in registered methods of ``family``. A
    plugin's method runs where it is named: a pattern does not match it, so a suite's jobs do not change with the
    plugins installed."""
    out: list[str] = []
    for name in names:
        if any(c in name for c in "*?["):
            matched = [m for m in METHODS.names(name)
                       if family in method_families(m) and plugins.provider("method", m) is None]
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
    ref = suite.teacher.get("checkpoint")
    if isinstance(ref, str) and ref not in CHECKPOINTS and not Path(ref).is_file():
        raise ValueError(f"suite {suite.name!r}: teacher.checkpoint {ref!r} is neither a published checkpoint "
                         f"({', '.join(CHECKPOINTS)}) nor an existing file: give the path of a generator state_dict "
                         f"(--set teacher.checkpoint=PATH), a published name, or null to train the teacher")
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
    hparams = resolve_settings(f"suite {suite.name!r}: {info.section}", info.defaults, info.hparams_declared,
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
    return _student_jobs(suite, teacher, student.student or {}, need.method or "", {}, student.seed)


def _student_jobs(suite: Suite, teacher: JobConfig, student: Mapping[str, Any], method_name: str,
                  hp: Mapping[str, Any], seed: int) -> list[JobConfig]:
    """The student job of ``seed``, preceded by the jobs whose output it reads (its method's ``needs``) when it
    has any."""
    info = METHODS.info(method_name)
    job = JobConfig(
        phase="student", family=teacher.family, task=teacher.task, task_args=teacher.task_args,
        teacher=teacher.teacher, student=dict(student), method=method_name,
        hparams=resolve_settings(f"method {method_name!r}", info.defaults, info.hparams_declared, hp),
        recipe=teacher.recipe, schedule={**suite.student_schedule, **suite.method_schedules.get(method_name, {})},
        evaluation=teacher.evaluation, seed=seed,
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
        teachers = {seed: _teacher_job(suite, task, seed if suite.teacher_seed is None else suite.teacher_seed)
                    for seed in selected_seeds}
        jobs += teachers.values()  # always: the leaderboard compares every student with it
        for seed in selected_seeds:
            teacher = teachers[seed]
            for student in suite.students:
                for method_name in resolve_methods(selected_methods, teacher.family):
                    for hp in expand_hparams(method_name, suite.hparams.get(method_name, {}),
                                             suite.zipped.get(method_name, ())):
                        jobs += _student_jobs(suite, teacher, student, method_name, hp, seed)
    return jobs


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
                                 f"{family} tasks (`python -m kd_gan_bench.benchmarks.run list suites`)")
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
    bad_seeds = [s for s in seeds or () if isinstance(s, bool) or not isinstance(s, int) or not 0 <= s < SEED_LIMIT]
    if bad_seeds:
        raise ValueError(f"seeds must be integers >= 0 and below 2**63 (they seed torch, numpy and the data), got "
                         f"{bad_seeds}: pass e.g. --seeds 0 1 2")
    for name in methods or ():
        if not any(c in name for c in "*?["):
            METHODS.meta(name)
    jobs: list[JobConfig] = []
    overrides = tuple(overrides)
    parts = parts_of(suite, overrides)
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
    image size, its hyperparameters and its schedule (its planning check, ``kd_gan_bench.methods.core.plan_checks``): SRPKD/ReKo
    on a layer without spatial extent, CAT's kernel alignment at batch 1 or a bad CRD schedule setting fail
    the grid here, with the method's message after the suite and task, never train as something else.

    Torch-free (the checks compute what they need from the specs), so ``grid --dry-run`` and a ``--no-wait``
    submission run it too. One check per distinct (method, networks, size, settings, schedule). Before them,
    every job's networks must be buildable and take the task's image size (:func:`check_networks`)."""
    jobs = list(jobs)
    check_networks(jobs)
    checked: set[str] = set()
    for job in jobs:
        if job.phase != "student":
            continue
        size = job.task_args.get("size", TASKS.info(job.task).defaults.get("size"))
        schedule = {**FAMILIES.get(job.family).schedule_defaults, **job.schedule}
        key = json.dumps([job.method, job.student, job.teacher, size, job.hparams, schedule], sort_keys=True,
                         default=str)
        if key in checked:
            continue
        checked.add(key)
        try:
            check_student_plan(job.method, StudentPlan(job.student or {}, job.teacher, size, job.hparams, schedule))
        except ValueError as exc:
            raise ValueError(f"suite {job.suite!r}, task {job.task!r}: {exc}") from None


#: The recipe settings behind the discriminator's arguments.
RECIPE_KEYS = {"ndf": "recipe.ndf", "n_layers": "recipe.d_layers"}


def _job_networks(job: JobConfig) -> dict[str, Mapping[str, Any]]:
    """The networks a job builds, by the ``--set`` section that sets them: its teacher, its student and, for a
    family with a GAN recipe, the PatchGAN discriminator (``kd_gan_bench.methods.core.recipes.build_discriminator``)."""
    networks: dict[str, Mapping[str, Any]] = {"teacher": job.teacher}
    if job.student:
        networks["student"] = job.student
    if FAMILIES.get(job.family).recipe_defaults:
        recipe = {**FAMILIES.get(job.family).recipe_defaults, **job.recipe}
        networks["recipe"] = {"arch": "patchgan_discriminator", "ndf": recipe["ndf"], "n_layers": recipe["d_layers"]}
    return networks


def check_networks(jobs: Iterable[JobConfig]) -> None:
    """Every job's networks can be built (positive widths, valid norms and depths: ``spec_problem``) and take the
    task's image size (``size_problem``), torch-free: ``--set teacher.ngf=-4`` or ``--set task.size=7`` fail the
    grid when it is planned, with what is valid and the ``--set`` key to change, never inside a job."""
    checked: set[str] = set()
    for job in jobs:
        size = job.task_args.get("size", TASKS.info(job.task).defaults.get("size"))
        for role, spec in _job_networks(job).items():
            key = json.dumps([role, spec, size], sort_keys=True, default=str)
            if key in checked:
                continue
            checked.add(key)
            where = f"suite {job.suite!r}, task {job.task!r}, {role}"
            bad = spec_problem(spec)
            if bad:
                setting = RECIPE_KEYS.get(bad[0], bad[0]) if role == "recipe" else f"{role}.{bad[0]}"
                raise ValueError(f"{where}: {bad[1]}; change it with --set {setting}=VALUE")
            problem = size_problem(spec, size) if size is not None else None
            if problem:
                setting = "recipe.d_layers" if role == "recipe" else f"{role}.arch"
                raise ValueError(f"{where}: {problem}: change the image size with --set task.size=N (or the "
                                 f"network with --set {setting}=...)")

"""``--set key=value`` overrides of a suite, checked against what they override before anything runs.

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
"""
from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.planning.suites import EVALUATION_DEFAULTS, SUITES, Suite
from kd_gan_bench.benchmarks.families.teacher_catalog import CHECKPOINTS, CheckpointError, check_spec
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import ARTIFACTS, METHODS, NETWORKS
from kd_gan_bench.methods.networks.network_spec import network_args
from kd_gan_bench.benchmarks.core.registry import HParam, hparam_of


class OverrideError(ValueError):
    """A malformed or unknown ``--set`` override; the message says what is valid."""


class NotApplicableError(OverrideError):
    """An override for another family's part of a composite suite (a classification method's hyperparameter
    on the image-to-image part): an error only when no part takes it."""


def _finite(value: Any) -> bool:
    """Whether a parsed JSON value holds no NaN or infinity (``1e999``), which no setting takes."""
    if isinstance(value, float):
        return math.isfinite(value)
    if isinstance(value, list):
        return all(_finite(v) for v in value)
    if isinstance(value, dict):
        return all(_finite(v) for v in value.values())
    return True


def parse_value(text: str) -> Any:
    """JSON value, or the bare text as a string when it is a plain word (``mobile_resnet_generator``). NaN,
    infinities, numbers of thousands of digits and lists nested too deep for Python's parser are an
    ``OverrideError`` like any other unparsable text."""
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):  # JSONDecodeError, an int of more digits than Python converts, deep nesting
        if text and all(c.isalnum() or c in "_-./" for c in text):
            return text
        raise OverrideError(f"cannot parse value {text[:80]!r}: use JSON (3, 0.5, true, null, \"text\", [1, 2]) "
                            f"or a plain word") from None
    if not _finite(value):
        raise OverrideError(f"value {text[:80]!r} is not a finite number: use JSON numbers such as 3 or 0.5")
    return value


def parse_override(item: str) -> tuple[str, Any]:
    key, sep, value = item.partition("=")
    if not sep or not key.strip():
        raise OverrideError(f"malformed --set {item!r}: expected KEY=VALUE, e.g. teacher.ngf=32 or output_kd.lambda_recon=10")
    return key.strip(), parse_value(value.strip())


def _check_value(key: str, param: HParam, value: Any) -> None:
    """``OverrideError`` when ``value`` does not fit the setting it overrides (its type, choices, range)."""
    if param.kind == "any":
        return
    problem = param.problem(value)
    if problem:
        raise OverrideError(f"--set {key}: {problem}")


def _check_type(key: str, current: Any, value: Any) -> None:
    """Reject a value whose type contradicts the current value (an int where a float is fine)."""
    if current is not None and value is not None:
        _check_value(key, hparam_of(current), value)


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
            declared: Mapping[str, HParam] | None = None) -> dict:
    if field_name not in defaults:
        raise OverrideError(f"--set {key}: unknown key {field_name!r}; valid: {', '.join(sorted(defaults))}")
    if declared and field_name in declared:
        _check_value(key, declared[field_name], value)
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
        return suite.with_changes(recipe=_set_in(key, suite.recipe, family.recipe_defaults, name, value,
                                                 family.recipe_declared))
    if section in ("schedule", "teacher_schedule", "student_schedule"):
        for part in ("teacher_schedule", "student_schedule"):
            if section in ("schedule", part):
                suite = suite.with_changes(**{part: _set_in(key, getattr(suite, part), family.schedule_defaults,
                                                            name, value, family.schedule_declared)})
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
    settings = _set_in(key, getattr(suite, info.section), info.defaults, name, value, info.hparams_declared)
    return suite.with_changes(**{info.section: settings})


def _override_method(suite: Suite, key: str, method: str, name: str, value: Any) -> Suite:
    info = METHODS.info(method)
    if suite_family(suite) not in info.families:
        raise NotApplicableError(f"--set {key}: method {method!r} does not serve the {suite_family(suite)} tasks of "
                            f"suite {suite.name!r}")
    if name not in info.defaults:
        raise OverrideError(f"--set {key}: method {method!r} has no hyperparameter {name!r}; "
                            f"valid: {', '.join(sorted(info.defaults)) or '(none)'}")
    values = value if isinstance(value, list) and info.hparams_declared[name].kind != "list" else [value]
    for v in values:
        _check_value(key, info.hparams_declared[name], v)
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



def parts_of(suite: Suite, overrides: Sequence[str]) -> list[Suite]:
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



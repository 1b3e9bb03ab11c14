"""Where a record came from and how to make it again: the command that reruns the job, its config hash and
the commit of the code that ran it (issue 13, item 5). The launcher computes :func:`record_provenance` once per
job it runs (:func:`kd_gan_bench.benchmarks.execution.launcher.run_grid`) and every record of the job (done, failed, blocked, timed out,
lost) is written with it; the store itself never expands a suite.

* ``config_hash``: the sha256 of the canonical JSON of the job's identity (:func:`kd_gan_bench.benchmarks.core.config.config_hash`);
  the job id is its phase letter and the first 12 hex digits, so job ids are unchanged.
* ``git_commit``: ``git rev-parse HEAD`` of the checkout, with ``-dirty`` when the tree had changes;
  None without git.
* ``rerun_command``: ``python -m kd_gan_bench.benchmarks.run grid [--plugin P ...] --suite S --tasks T --methods M --seeds N
  [--set K=V ...] --jobs JOB_ID --results DIR``; ``--plugin`` names the plugin modules that added the job's
  method, task, family, networks or suite (:mod:`kd_gan_bench.benchmarks.planning.plugins`). The filters narrow the expansion, the
  grid's ``--set`` items (a method's list-valued grid axis narrowed to this job's value) rebuild the same
  config, and ``--jobs`` keeps exactly
  this job (plus the jobs it depends on that are not done), so ``--force`` reruns it and nothing else. The
  command is checked by expanding it: when the filters would lose the job (an artifact has no method
  filter; a task routed to another part of a composite suite) a wider one is used.
* ``plan``: the job's training plan (networks by role, steps, epochs, optimisers, loss weights:
  :mod:`kd_gan_bench.benchmarks.planning.training_plan`), which the leaderboard shows per row.
"""
from __future__ import annotations

import functools
import json
import shlex
from pathlib import Path
from typing import Any, Iterable, Mapping, Sequence

from kd_gan_bench.benchmarks.planning import plugins
from kd_gan_bench.benchmarks.core.config import JobConfig, canonical_json, config_hash
from kd_gan_bench.benchmarks.core.environment import git_state
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.overrides import OverrideError, parse_override
from kd_gan_bench.benchmarks.core.store import atomic_write_bytes
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.benchmarks.planning.training_plan import job_plan
from kd_gan_bench.benchmarks.core.registry import UnknownNameError

PROGRAM = ("python", "-m", "kd_gan_bench.benchmarks.run")
#: Where a grid run keeps its jobs' provenance (beside its manifest).
PROVENANCE_FILE = "provenance.json"


def code_version() -> str | None:
    """The commit of this checkout, ``<sha>-dirty`` when it has uncommitted changes, None without git."""
    state = git_state()
    if not state["git_commit"]:
        return None
    return state["git_commit"] + ("-dirty" if state["git_dirty"] else "")


def _narrowed(config: JobConfig) -> list[str]:
    """The grid's ``--set`` items, a list on one of this job's method hyperparameters (a grid axis) replaced
    by the job's own value."""
    items = []
    for item in config.overrides:
        key, value = parse_override(item)
        section, _, name = key.partition(".")
        if section == config.method and isinstance(value, list) and config.hparams.get(name, value) != value:
            item = f"{key}={canonical_json(config.hparams[name])}"
        items.append(item)
    return items


def _filters(config: JobConfig) -> list[list[str]]:
    """Filter sets from the narrowest to the widest (every one names the job's seed)."""
    seeds = ["--seeds", str(config.seed)]
    tasks = ["--tasks", config.task]
    methods = ["--methods", config.method] if config.phase == "student" else []
    return [tasks + methods + seeds, tasks + seeds, seeds]


def _expands_to(config: JobConfig, filters: Sequence[str], overrides: Sequence[str]) -> bool:
    """Whether ``grid --suite <suite> <filters> --set <overrides>`` expands to a job with ``config``'s id."""
    return config.job_id in _expanded_ids(config.suite, tuple(filters), tuple(overrides))


@functools.lru_cache(maxsize=256)
def _expanded_ids(suite: str, filters: tuple[str, ...], overrides: tuple[str, ...]) -> frozenset[str]:
    """The job ids ``grid --suite <suite> <filters> --set <overrides>`` expands to (empty when it is refused); one
    expansion serves every record of a store that shares the filters and overrides (a report rebuilds every
    record's command)."""
    values: dict[str, list[str]] = {}
    for token in filters:
        if token.startswith("--"):
            flag = token[2:]
            values[flag] = []
        else:
            values[flag].append(token)
    try:
        jobs = expand(SUITES.get(suite), tasks=values.get("tasks"), methods=values.get("methods"),
                      seeds=[int(s) for s in values["seeds"]], overrides=overrides)
    except (OverrideError, UnknownNameError, ValueError):
        return frozenset()
    return frozenset(job.job_id for job in jobs)


def _entries(config: JobConfig) -> list[tuple[str, str]]:
    """The registry entries a job names ((kind, name) pairs): a plugin's must be loaded to expand it again."""
    networks = [("network", net["arch"]) for net in (config.teacher, config.student) if net and "arch" in net]
    method = "artifact" if config.phase == "artifact" else "method"
    return [("suite", config.suite), ("task", config.task), ("family", config.family), (method, config.method),
            *networks]


def rerun_command(config: JobConfig, results: str | Path, exact: bool = False) -> str | None:
    """The ``grid`` command that reruns exactly this job into ``results`` (None without a suite name); ``exact``:
    a ``ValueError`` when no filter set expands to the job (instead of the widest filters)."""
    if not config.suite:
        return None
    overrides = _narrowed(config)
    candidates = _filters(config)
    filters = next((f for f in candidates if _expands_to(config, f, overrides)), None)
    if filters is None and exact:
        raise ValueError(f"`grid --suite {config.suite}` with the job's --set items does not expand to job "
                         f"{config.job_id} with this code")
    args = [*PROGRAM, "grid", *plugins.plugin_arguments(_entries(config)), "--suite", config.suite,
            *(filters or candidates[-1])]
    for item in overrides:
        args += ["--set", item]
    args += ["--jobs", config.job_id, "--results", str(Path(results).absolute())]
    return shlex.join(args)


def record_provenance(config: Mapping[str, Any], results: str | Path) -> dict[str, Any]:
    """``rerun_command``, ``config_hash``, ``git_commit`` and ``plan`` (the job's training plan,
    :mod:`kd_gan_bench.benchmarks.planning.training_plan`) for a record of ``config`` (a job's ``to_dict``) in the store at ``results``;
    a config this code cannot read gets None for all but the commit."""
    try:
        job = JobConfig.from_dict(config)
    except (TypeError, ValueError):
        return {"rerun_command": None, "config_hash": None, "git_commit": code_version(), "plan": None}
    return {"rerun_command": rerun_command(job, results), "config_hash": config_hash(job),
            "git_commit": code_version(), "plan": _plan(job)}


def write_provenance(run_dir: Path, jobs: Iterable[JobConfig], results: str | Path) -> dict[str, dict[str, Any]]:
    """How to make each job's record again (:func:`kd_gan_bench.benchmarks.records.provenance.record_provenance`), computed by the launcher
    (:func:`kd_gan_bench.benchmarks.execution.launcher.run_grid`) once per job, and kept in ``<run folder>/provenance.json``: every writer of a job's record (its runner, the outcome
    bookkeeping, ``status`` settling a lost SLURM job) stamps it with this, and no record write expands a suite."""
    provenance = {job.job_id: record_provenance(job.to_dict(), results) for job in jobs}
    atomic_write_bytes(run_dir / PROVENANCE_FILE, json.dumps(provenance, sort_keys=True, default=str).encode())
    return provenance


def read_provenance(results: str | Path, run: str) -> dict[str, dict[str, Any]]:
    """What :func:`write_provenance` kept for grid run ``run`` (``{}`` for a run from before it existed)."""
    try:
        return json.loads((Path(results) / "runs" / run / PROVENANCE_FILE).read_text())
    except (OSError, ValueError):
        return {}


def _plan(job: JobConfig) -> dict[str, Any] | None:
    """The job's training plan, or None when its settings cannot be planned (the record says what failed)."""
    try:
        return job_plan(job)
    except (KeyError, TypeError, ValueError):
        return None


def rebuilt_rerun_command(config: Mapping[str, Any], results: str | Path) -> tuple[str | None, str | None]:
    """``(command, None)``: the rerun command of a stored config, rebuilt from the config (every part quoted), never
    read from the record, whose text anyone who can write the results folder controls; ``(None, why)`` when this
    code cannot rebuild it (a config it cannot read, ``--set`` items it cannot parse, a command that would not
    expand to this job). For the report and ``collect``, where one record's problem must stay in its row."""
    try:
        return rerun_command(JobConfig.from_dict(config), results, exact=True), None
    except Exception as exc:  # a stored config is data: whatever it holds, the other rows go on
        return None, f"the rerun command could not be rebuilt from the stored config ({type(exc).__name__}: " \
                     f"{str(exc)[:200]})"

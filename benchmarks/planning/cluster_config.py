"""SLURM resource requests per job: defaults per phase and per method, a TOML file, CLI flags.

Layers, lowest precedence first (each names only the settings it changes):

1. :data:`HARNESS_DEFAULTS` (one CPU, one hour, no GPU);
2. the suite's ``resources[phase]`` (teachers need longer than their students);
3. the method's ``resources`` class attribute (e.g. a method that trains its own teacher);
4. the config file (``--cluster-config``): ``[slurm]``, then ``[slurm.teacher]`` /
   ``[slurm.student]``, then ``[slurm.method.<name>]``;
5. command-line flags (``--partition``, ``--time-min``...), which apply to every job.

Jobs whose resolved requests are equal go out as one job array (SLURM arrays share one request).
Every layer is validated the same way: an unknown key names the valid ones, a wrong type names
the expected one, and the error says which file/section it came from.
"""
from __future__ import annotations

import argparse
import dataclasses
import difflib
import sys
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Mapping

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from kd_gan_bench.methods import METHODS

PHASE_SECTIONS = ("teacher", "artifact", "student")
#: sbatch flags the harness (or submitit for it) sets itself, with what to use instead: a setting of ours, or why
#: the flag cannot be changed (arrays, dependencies, logs, the requeue on time limits, the job script itself).
MANAGED_SBATCH_FLAGS = {
    "array": "the harness makes the arrays (--array-parallelism caps the tasks running at once)",
    "dependency": "the harness makes teachers' students wait for them",
    "kill-on-invalid-dep": "the harness cancels the students of a failed teacher",
    "output": "the logs go to <results>/runs/<run>/submitit/", "error": "the logs go to <results>/runs/<run>/submitit/",
    "open-mode": "the logs are appended across requeues", "job-name": "the harness names the jobs",
    "wckey": "submitit sets it", "wrap": "the harness writes the job script",
    "signal": "use --signal-delay-s", "requeue": "jobs are always requeueable",
    "no-requeue": "jobs requeue themselves on time limits; use --max-requeues 0 to record them timed_out instead",
    "time": "use --time-min", "partition": "use --partition", "account": "use --account", "qos": "use --qos",
    "gpus-per-node": "use --gpus", "gpus": "use --gpus", "gres": "use --gpus", "gpus-per-task": "use --gpus",
    "cpus-per-task": "use --cpus", "mem": "use --mem-gb", "constraint": "use --constraint",
    "nodes": "each job runs on one node",
}


class ClusterConfigError(ValueError):
    """A bad SLURM setting; the message names the key, where it came from and what is valid."""


@dataclass(frozen=True)
class SlurmResources:
    """What one job asks SLURM for, plus how the harness treats time limits."""

    partition: str | None = None
    account: str | None = None
    qos: str | None = None
    time_min: int = 60                # wall-clock limit in minutes (sbatch --time)
    gpus: int = 0                     # GPUs per job (sbatch --gpus-per-node); jobs use CUDA when present
    cpus: int = 1                     # sbatch --cpus-per-task
    mem_gb: float | None = None       # sbatch --mem; None: the partition's default
    constraint: str | None = None     # sbatch --constraint, e.g. "a100|h100"
    array_parallelism: int = 256      # at most this many tasks of one array run at once (--array=...%N)
    signal_delay_s: int = 90          # SIGUSR2 this long before the limit: time to save and requeue
    max_requeues: int = 3             # requeues after a time limit/preemption before the job is timed_out
    sbatch: tuple[str, ...] = ()      # extra sbatch flags, e.g. "--mail-type=FAIL", "--exclusive"
    setup: tuple[str, ...] = ()       # shell lines run before the job: module load, conda activate

    def submitit_parameters(self) -> dict[str, Any]:
        """``SlurmExecutor.update_parameters`` arguments for this request (``--requeue`` always on:
        the job requeues itself with ``scontrol requeue``, which clusters with ``JobRequeue=0`` refuse
        unless the job asked for it)."""
        parameters: dict[str, Any] = {"time": self.time_min, "cpus_per_task": self.cpus,
                                  "array_parallelism": self.array_parallelism, "signal_delay_s": self.signal_delay_s,
                                  "additional_parameters": {"requeue": True, **parse_sbatch_flags(self.sbatch)}}
        optional = {"partition": self.partition, "account": self.account, "qos": self.qos,
                    "constraint": self.constraint, "gpus_per_node": self.gpus or None,
                    "mem": f"{round(self.mem_gb * 1024)}M" if self.mem_gb else None, "setup": list(self.setup) or None}
        parameters.update({k: v for k, v in optional.items() if v is not None})
        return parameters


HARNESS_DEFAULTS = SlurmResources()
KNOBS: tuple[str, ...] = tuple(f.name for f in fields(SlurmResources))
_INT_MINIMUM = {"time_min": 1, "gpus": 0, "cpus": 1, "array_parallelism": 1, "signal_delay_s": 0, "max_requeues": 0}
_LINES = ("sbatch", "setup")
_HELP = {
    "partition": "SLURM partition", "account": "SLURM account to charge", "qos": "quality of service",
    "time_min": "time limit per job in minutes", "gpus": "GPUs per job", "cpus": "CPUs per job",
    "mem_gb": "memory per job in GB", "constraint": "node features, e.g. 'a100|h100'",
    "array_parallelism": "max tasks of one array running at once",
    "signal_delay_s": "seconds before the time limit at which a job saves its state and requeues itself",
    "max_requeues": "requeues after time limits/preemption before a job is recorded timed_out",
    "sbatch": "extra sbatch flag, e.g. --sbatch=--mail-type=FAIL (repeatable)",
    "setup": "shell line run before each job, e.g. 'module load cuda' (repeatable)",
}


def _managed(name: str) -> str | None:
    """The managed flag ``name`` is, or abbreviates (sbatch takes unambiguous prefixes: ``--no-req``), or None."""
    if name in MANAGED_SBATCH_FLAGS:
        return name
    return next((flag for flag in MANAGED_SBATCH_FLAGS if flag.startswith(name)), None)


def parse_sbatch_flags(lines: tuple[str, ...] | list[str], where: str = "sbatch") -> dict[str, Any]:
    """``("--mail-type=FAIL", "--exclusive")`` -> ``{"mail-type": "FAIL", "exclusive": True}``.

    Each line is one long flag: a control character (a newline would start a ``#SBATCH`` line of its own), a
    second flag after a space, or a flag the harness sets (:data:`MANAGED_SBATCH_FLAGS`, abbreviated or not) is
    a ``ClusterConfigError`` saying what to use instead."""
    flags: dict[str, Any] = {}
    for line in lines:
        if any(ord(c) < 32 or ord(c) == 127 for c in line):
            raise ClusterConfigError(f"{where}: {line!r} holds a control character (a newline, tab...); give one "
                                     f"flag per line, e.g. --sbatch=--mail-type=FAIL --sbatch=--mail-user=me@example.org")
        text = line.strip()
        if text.startswith("#SBATCH"):
            text = text[len("#SBATCH"):].strip()
        if not text.startswith("--") or len(text) < 3:
            raise ClusterConfigError(f"{where}: {line!r} is not a long sbatch flag; write it as --name=value "
                                     f"or --name, e.g. --mail-type=FAIL")
        name, sep, value = text[2:].partition("=")
        if " " in name or any(token.startswith("-") for token in value.split()[1:]):
            raise ClusterConfigError(f"{where}: {line!r} holds more than one flag; give one flag per line, e.g. "
                                     f"--sbatch=--mail-type=FAIL --sbatch=--mail-user=me@example.org")
        managed = _managed(name)
        if managed:
            alias = f" (an abbreviation of --{managed})" if managed != name else ""
            raise ClusterConfigError(f"{where}: --{name}{alias} is set by the harness: {MANAGED_SBATCH_FLAGS[managed]}")
        flags[name] = value if sep else True
    return flags


def _type_error(where: str, key: str, expected: str, value: Any) -> ClusterConfigError:
    return ClusterConfigError(f"{where}: {key} must be {expected}, got {value!r}")


def _check_value(where: str, key: str, value: Any) -> Any:
    """The value in its canonical type, or a ``ClusterConfigError`` saying what was expected."""
    if key in _LINES:
        if isinstance(value, str):
            value = [value]
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) for v in value):
            raise _type_error(where, key, "a list of strings", value)
        if key == "sbatch":
            parse_sbatch_flags(value, f"{where}: sbatch")
        for line in value if key == "setup" else ():
            if any(ord(c) < 32 for c in line) or line.strip().upper().startswith("#SBATCH"):
                raise ClusterConfigError(f"{where}: setup line {line!r} holds a control character or an #SBATCH "
                                         f"directive; give one shell line per --setup, and sbatch flags with --sbatch")
        return tuple(value)
    if key in _INT_MINIMUM:
        if isinstance(value, bool) or not isinstance(value, int) or value < _INT_MINIMUM[key]:
            raise _type_error(where, key, f"an integer >= {_INT_MINIMUM[key]}", value)
        return value
    if key == "mem_gb":
        if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
            raise _type_error(where, key, "a positive number of GB", value)
        return float(value)
    if not isinstance(value, str) or not value.strip():
        raise _type_error(where, key, "a non-empty string", value)
    return value.strip()


def validate(values: Mapping[str, Any], where: str) -> dict[str, Any]:
    """Checked, canonical settings; unknown keys name the nearest valid one."""
    checked = {}
    for key, value in values.items():
        if key not in KNOBS:
            close = difflib.get_close_matches(key, list(KNOBS), n=1)
            hint = f" Did you mean {close[0]!r}?" if close else ""
            raise ClusterConfigError(f"{where}: unknown SLURM setting {key!r}.{hint} Valid: {', '.join(KNOBS)}")
        checked[key] = _check_value(where, key, value)
    return checked


@dataclass(frozen=True)
class ClusterConfig:
    """All layers above the harness defaults; :meth:`resources` merges them for one job."""

    suite: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    file_all: Mapping[str, Any] = dataclasses.field(default_factory=dict)
    file_phase: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    file_method: Mapping[str, Mapping[str, Any]] = dataclasses.field(default_factory=dict)
    cli: Mapping[str, Any] = dataclasses.field(default_factory=dict)

    def resources(self, phase: str, method: str) -> SlurmResources:
        """The merged request of a job of ``phase`` trained with ``method`` (``teacher`` for teachers)."""
        method_defaults = METHODS.info(method).resources if method in METHODS else {}
        merged: dict[str, Any] = {}
        for layer in (validate(self.suite.get(phase, {}), f"suite resources[{phase!r}]"),
                      validate(method_defaults, f"method {method!r} resources"),
                      self.file_all, self.file_phase.get(phase, {}), self.file_method.get(method, {}), self.cli):
            merged.update(layer)
        return dataclasses.replace(HARNESS_DEFAULTS, **merged)


def load_file(path: str | Path) -> dict[str, Any]:
    """Parse a TOML cluster config into ``ClusterConfig`` keyword arguments (``file_*``).

    Layout: ``[slurm]`` settings for every job, ``[slurm.teacher]``/``[slurm.artifact]``/``[slurm.student]`` per phase,
    ``[slurm.method.<name>]`` per method."""
    path = Path(path).expanduser()
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise ClusterConfigError(f"cluster config {path}: no such file") from None
    except tomllib.TOMLDecodeError as exc:
        raise ClusterConfigError(f"cluster config {path}: not valid TOML ({exc})") from None
    unknown = set(data) - {"slurm"}
    if unknown:
        raise ClusterConfigError(f"cluster config {path}: unknown section(s) {sorted(unknown)}; valid: [slurm], "
                                 f"[slurm.teacher], [slurm.artifact], [slurm.student], [slurm.method.<name>]")
    slurm = dict(data.get("slurm", {}))
    phases = {p: slurm.pop(p) for p in PHASE_SECTIONS if p in slurm}
    methods = slurm.pop("method", {})
    for name, table in [*phases.items(), ("method", methods)]:
        if not isinstance(table, dict):
            raise ClusterConfigError(f"cluster config {path}: [slurm.{name}] must be a table, got {table!r}")
    for name, table in methods.items():
        if name not in METHODS:
            raise ClusterConfigError(f"cluster config {path}: [slurm.method.{name}]: {METHODS.unknown_message(name)}")
        if not isinstance(table, dict):
            raise ClusterConfigError(f"cluster config {path}: [slurm.method.{name}] must be a table, got {table!r}")
    return {
        "file_all": validate(slurm, f"cluster config {path} [slurm]"),
        "file_phase": {p: validate(t, f"cluster config {path} [slurm.{p}]") for p, t in phases.items()},
        "file_method": {m: validate(t, f"cluster config {path} [slurm.method.{m}]") for m, t in methods.items()},
    }


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One ``--<setting>`` flag per :class:`SlurmResources` field, plus ``--cluster-config``."""
    group = parser.add_argument_group("SLURM (with --executor slurm/auto; override the suite's and config file's)")
    group.add_argument("--cluster-config", metavar="TOML", help="cluster config file (see README: Running on SLURM)")
    for name in KNOBS:
        flag = "--" + name.replace("_", "-")
        if name in _LINES:
            group.add_argument(flag, dest=f"slurm_{name}", action="append", metavar="LINE", help=_HELP[name])
        else:
            kind = int if name in _INT_MINIMUM else float if name == "mem_gb" else str
            group.add_argument(flag, dest=f"slurm_{name}", type=kind, metavar=kind.__name__.upper(), help=_HELP[name])


def from_arguments(args: argparse.Namespace, suite_resources: Mapping[str, Mapping[str, Any]]) -> ClusterConfig:
    """The ``ClusterConfig`` of a parsed command line and its suite's per-phase defaults."""
    cli = {name: getattr(args, f"slurm_{name}") for name in KNOBS if getattr(args, f"slurm_{name}", None) is not None}
    file_layers = load_file(args.cluster_config) if getattr(args, "cluster_config", None) else {}
    return ClusterConfig(suite=suite_resources, cli=validate(cli, "command line"), **file_layers)

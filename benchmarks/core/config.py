"""One job = one frozen, plain-data config with a stable id (a hash of its canonical JSON).

Configs hold only JSON primitives, so they pickle for SLURM, hash for caching and print for
humans. The id covers everything that changes the result (task arguments, networks, method
hyperparameters with defaults filled in, recipe, schedule, seed, evaluation settings), so a
changed default reruns the jobs it affects and nothing else.
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import asdict, dataclass, field, fields
from functools import cached_property
from typing import Any, Mapping

PHASES = ("teacher", "artifact", "student")
#: What every job id looks like: the phase's letter and 12 hex digits of the config's hash (``s-0123456789ab``).
JOB_ID = re.compile(r"[tas]-[0-9a-f]{12}")


def check_job_id(text: str, what: str = "job id") -> str:
    """``text`` when it is a job id, else a ``ValueError`` (a path such as ``../x`` must never reach the store)."""
    if not isinstance(text, str) or not JOB_ID.fullmatch(text):
        raise ValueError(f"{what} {text!r} is not a job id: a job id is a phase letter (t, a or s), '-' and 12 hex "
                         f"digits, e.g. s-0123456789ab; `python -m kd_gan_bench.benchmarks.run status --all` lists them")
    return text


def canonical_json(value: Any) -> str:
    """Deterministic JSON: sorted keys, no whitespace, floats as Python repr."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)


def config_hash(config: "JobConfig") -> str:
    """sha256 (hex) of the job's identity as canonical JSON; ``job_id`` is ``<phase letter>-<its first 12>``."""
    return hashlib.sha256(canonical_json(config.identity()).encode()).hexdigest()


def short_hash(value: Any, length: int = 12) -> str:
    return hashlib.sha256(canonical_json(value).encode()).hexdigest()[:length]


@dataclass(frozen=True)
class JobConfig:
    """Everything one job needs, as plain data.

    ``phase`` is ``teacher`` (train a teacher with its task's recipe), ``artifact`` (make something
    every student of a task and teacher shares, such as cGAN-KD's fake set; ``method`` names the
    artifact) or ``student`` (train a student with ``method``). ``teacher_id`` names the teacher job a
    pretrained-teacher student or an artifact depends on (None for teachers, the scratch baseline and
    online-teacher methods). ``inputs`` names the other jobs whose output this one reads, by role
    (``{"fake_set": <artifact job>, "student_init": <NOKD student job>}``); it is part of the
    identity only when non-empty, so jobs without inputs keep the ids they always had. ``suite`` and
    ``overrides`` (the grid's ``--set`` items that produced the job) are labels for the rerun command
    (:mod:`kd_gan_bench.benchmarks.records.provenance`), not part of the identity.
    """

    phase: str
    family: str
    task: str
    task_args: Mapping[str, Any]
    teacher: Mapping[str, Any]
    student: Mapping[str, Any] | None
    method: str
    hparams: Mapping[str, Any]
    recipe: Mapping[str, Any]
    schedule: Mapping[str, Any]
    evaluation: Mapping[str, Any]
    seed: int
    teacher_id: str | None = None
    inputs: Mapping[str, str] = field(default_factory=dict)
    suite: str = field(default="", compare=False)
    overrides: tuple[str, ...] = field(default=(), compare=False)

    LABELS = ("suite", "overrides")

    def __post_init__(self) -> None:
        if self.phase not in PHASES:
            raise ValueError(f"phase must be one of {PHASES}, got {self.phase!r}")
        object.__setattr__(self, "overrides", tuple(self.overrides))  # a list when read back from JSON
        canonical_json(self.identity())  # fails early on non-JSON values (NaN, objects)

    def identity(self) -> dict[str, Any]:
        """The fields that define the job (the suite name and overrides are labels, not part of the identity); the
        values themselves, not copies: ``canonical_json`` reads them, nothing writes them."""
        data = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in self.LABELS}
        if not data["inputs"]:
            data.pop("inputs")
        return data

    @cached_property
    def job_id(self) -> str:
        return f"{self.phase[0]}-{short_hash(self.identity())}"

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "job_id": self.job_id}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "JobConfig":
        data = {k: v for k, v in data.items() if k != "job_id"}
        return cls(**data)

    @property
    def dependencies(self) -> tuple[str, ...]:
        """Every job that must be done before this one starts: its teacher, then its inputs."""
        return tuple(dict.fromkeys(([self.teacher_id] if self.teacher_id else []) + list(self.inputs.values())))

    @property
    def network(self) -> Mapping[str, Any]:
        """The network this job trains and evaluates (an artifact job's is its teacher's)."""
        return self.student if self.phase == "student" else self.teacher  # type: ignore[return-value]

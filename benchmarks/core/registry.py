"""Name -> object registries with lazy entries, in the shape of timm's model registry.

An object is registered under a name by a decorator when its module is imported. A registry may
also hold *lazy entries*: a name, the module that registers it, and the metadata a listing or a
grid expansion needs (a method's family, teacher mode, defaults with their types, citation...).
``info(name)`` answers from that metadata without importing anything; ``get(name)`` imports the
module on first use and returns the registered object. ``Registry(kind, meta_of=...)`` says how
to read the same metadata off a loaded object, so a test can check every lazy entry against what
its module registers (``meta(name) == meta_of(get(name))``).

This module depends on nothing but the standard library, so methods, networks, datasets, metrics
and suites can register themselves without importing the harness or torch.
"""
from __future__ import annotations

import difflib
import fnmatch
import importlib
import inspect
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any, Callable, Generic, Iterator, Mapping, TypeVar

T = TypeVar("T")


class UnknownNameError(KeyError):
    """An unknown registry name; the message lists the valid names and the nearest match."""

    def __str__(self) -> str:  # KeyError quotes its message; show it plainly
        return str(self.args[0]) if self.args else ""


class DuplicateNameError(ValueError):
    """A name registered or declared a second time with another object or module (a plugin's clash, say)."""


@dataclass(frozen=True)
class HParam:
    """A hyperparameter's declaration: the type of a setting (``float``, ``int``, ``bool``, ``str``, ``list``,
    ``dict``) and its valid values (not to be confused with ``params``, the parameter-count metric).

    ``optional``: ``None`` is valid too (a method's "the paper's value for this kind of task");
    ``choices``: the only valid values; ``low``/``high``: inclusive bounds of a number."""

    kind: str
    optional: bool = False
    choices: tuple = ()
    low: float | None = None
    high: float | None = None

    def problem(self, value: Any) -> str | None:
        """Why ``value`` is not valid for this setting ("expected a float like..."), or None."""
        if value is None:
            return None if self.optional else f"expected a {self.kind}, got null"
        if self.kind == "any":
            return None
        if self.kind == "float":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        elif self.kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        else:
            ok = type(value).__name__ == self.kind or (self.kind == "list" and isinstance(value, tuple))
        if not ok:
            return f"expected a {self.kind}{' or null' if self.optional else ''}, got {value!r}"
        if self.choices and value not in self.choices:
            return f"expected one of {', '.join(map(repr, self.choices))}, got {value!r}"
        if self.low is not None and value < self.low:
            return f"expected a value >= {self.low}, got {value!r}"
        if self.high is not None and value > self.high:
            return f"expected a value <= {self.high}, got {value!r}"
        return None


def hparam_of(default: Any) -> HParam:
    """The ``HParam`` a default value implies (its type; ``None`` only says "optional")."""
    if default is None:
        return HParam("any", optional=True)
    if isinstance(default, tuple):
        return HParam("list")
    return HParam(type(default).__name__)


def hparam_declarations(defaults: Mapping[str, Any],
                        declared: Mapping[str, HParam] | None = None) -> dict[str, HParam]:
    """Every default's ``HParam``: the declared one where there is one, else the default's type."""
    declared = declared or {}
    return {key: declared.get(key) or hparam_of(value) for key, value in defaults.items()}


def check_hparams(what: str, declared: Mapping[str, HParam], values: Mapping[str, Any]) -> None:
    """``ValueError`` naming the first unknown key or ill-typed value of ``values``."""
    unknown = sorted(set(values) - set(declared))
    if unknown:
        raise ValueError(f"{what} has no hyperparameter(s) {unknown}; valid: {', '.join(sorted(declared)) or '(none)'}")
    for key, value in values.items():
        problem = declared[key].problem(value)
        if problem:
            raise ValueError(f"{what}: {key}: {problem}")


def resolve_settings(what: str, defaults: Mapping[str, Any], declared: Mapping[str, HParam],
                     overrides: Mapping[str, Any]) -> dict[str, Any]:
    """``defaults`` overridden by ``overrides``, each override checked against its declaration in ``declared``."""
    check_hparams(what, declared, overrides)
    return {**defaults, **overrides}


@dataclass(frozen=True)
class Need:
    """Another job's output that a method's student reads, under ``role`` (the key of ``JobConfig.inputs``).

    Either an ``artifact`` (a registered :data:`ARTIFACTS` entry, made once per task and teacher and
    shared by every student that needs it) or the student of another ``method`` with the same
    network (e.g. the NOKD student cGAN-KD fine-tunes). ``when``: ``(hyperparameter, value)`` pairs
    that must all hold for the need to apply (``(("init", "nokd"),)``); empty: always."""

    role: str
    artifact: str | None = None
    method: str | None = None
    when: tuple[tuple[str, Any], ...] = ()
    #: ``(student hyperparameter, artifact setting)`` pairs: a student whose hyperparameter is not None reads an
    #: artifact made with that setting (cGAN-KD + KD's own fake set at rho 0.8 without relabelling)
    settings: tuple[tuple[str, str], ...] = ()

    def applies(self, hparams: Mapping[str, Any]) -> bool:
        return all(hparams.get(key) == value for key, value in self.when)

    def artifact_settings(self, hparams: Mapping[str, Any]) -> dict[str, Any]:
        """The artifact settings this student's ``hparams`` ask for (on top of the suite's section)."""
        return {setting: hparams[key] for key, setting in self.settings if hparams.get(key) is not None}


@dataclass(frozen=True)
class Artifact:
    """Something made once per task and teacher for the students that need it (cGAN-KD's fake set).

    ``defaults``: its settings, which the suite section named ``section`` overrides (``fake_set``);
    ``hparams_declared``: their declared types and ranges where the default's type is not enough; ``step_keys``:
    the settings whose sum is its training steps and ``batch_key`` the one that is its batch size (for
    the grid's time estimate); ``table``: the report's table of its jobs, ``{"title", "caption", "columns":
    ((record metric, label, tooltip, format), ...)}``, and optionally the label of its sample strips in the
    task's sample grid (``"samples_label"``) and that grid's caption (``"grid_caption"``)."""

    name: str
    summary: str
    families: tuple[str, ...]
    section: str
    defaults: Mapping[str, Any]
    hparams_declared: Mapping[str, HParam] = None  # type: ignore[assignment]
    step_keys: tuple[str, ...] = ()
    batch_key: str = ""
    table: Mapping[str, Any] = None  # type: ignore[assignment]
    #: the setting that names the network the artifact is made with (``None``: ``default_networks[family]``;
    #: ``"teacher"``: the pair's teacher, so one artifact per teacher; a network spec); "" : always the teacher
    network_setting: str = ""
    default_networks: Mapping[str, Mapping[str, Any]] = None  # type: ignore[assignment]
    #: how it is made, ``ArtifactJob -> ArtifactResult`` (:mod:`kd_gan_bench.methods.core.artifacts`), and read back by a student,
    #: ``folder -> object`` (set by the registering module; a lazy entry's metadata does not carry them)
    make: Callable[[Any], Any] | None = None
    load: Callable[[Any], Any] | None = None
    #: its training plan, torch-free (``kd_gan_bench.methods.core.plan_specs.JobFacts -> dict``)
    plan: Callable[[Any], Any] | None = None


@dataclass(frozen=True)
class LazyEntry:
    """A registry name whose object is registered by ``module`` when it is imported."""

    name: str
    module: str
    meta: Mapping[str, Any]


class Registry(Generic[T]):
    """A registry of named objects of one kind (methods, networks, tasks, metrics, suites...)."""

    def __init__(self, kind: str, meta_of: Callable[[T], Mapping[str, Any]] | None = None) -> None:
        self.kind = kind
        self.meta_of = meta_of
        self._entries: dict[str, T] = {}
        self._lazy: dict[str, LazyEntry] = {}

    def register(self, name: str | None = None) -> Callable[[T], T]:
        """Decorator: register ``obj`` under ``name`` (default: its ``name`` attribute or ``__name__``)."""

        def decorator(obj: T) -> T:
            key = name or getattr(obj, "name", None) or getattr(obj, "__name__")
            self.add(key, obj)
            return obj

        return decorator

    def add(self, name: str, obj: T) -> None:
        if name in self._entries and self._entries[name] is not obj:
            raise DuplicateNameError(f"{self.kind} {name!r} is registered twice")
        self._entries[name] = obj

    def declare(self, name: str, module: str, **meta: Any) -> None:
        """A lazy entry: ``module`` registers ``name`` when imported; ``meta`` answers ``info`` until then."""
        if name in self._lazy and self._lazy[name].module != module:
            raise DuplicateNameError(f"{self.kind} {name!r} is declared twice")
        self._lazy[name] = LazyEntry(name, module, dict(meta))

    def get(self, name: str) -> T:
        if name not in self._entries and name in self._lazy:
            importlib.import_module(self._lazy[name].module)
            if name not in self._entries:
                raise RuntimeError(f"{self.kind} {name!r} is declared in module {self._lazy[name].module!r}, "
                                   f"which did not register it")
        try:
            return self._entries[name]
        except KeyError:
            raise UnknownNameError(self.unknown_message(name)) from None

    def meta(self, name: str) -> dict[str, Any]:
        """The entry's metadata: a lazy entry's declaration (nothing is imported), else the object's."""
        if name in self._lazy:
            return dict(self._lazy[name].meta)
        obj = self.get(name)
        return dict(self.meta_of(obj)) if self.meta_of else {}

    def info(self, name: str) -> SimpleNamespace:
        """``meta(name)`` with attribute access (``METHODS.info("crd").teacher_mode``)."""
        return SimpleNamespace(name=name, **self.meta(name))

    def snapshot(self) -> dict[str, tuple[LazyEntry | None, Any]]:
        """Every name with its lazy entry and its registered object (None where it has none): comparing two
        snapshots tells what an import added or replaced (:mod:`kd_gan_bench.benchmarks.planning.plugins`)."""
        return {name: (self._lazy.get(name), self._entries.get(name)) for name in {*self._entries, *self._lazy}}

    def is_lazy(self, name: str) -> bool:
        return name in self._lazy

    def unknown_message(self, name: str) -> str:
        valid = self.names()
        close = difflib.get_close_matches(name, valid, n=1, cutoff=0.5)
        hint = f" Did you mean {close[0]!r}?" if close else ""
        return f"unknown {self.kind} {name!r}.{hint} Valid {self.kind} names: {', '.join(valid) or '(none)'}."

    def names(self, pattern: str = "*") -> list[str]:
        """Registered and declared names matching a shell-style pattern, sorted."""
        return sorted(n for n in {*self._entries, *self._lazy} if fnmatch.fnmatch(n, pattern))

    def __contains__(self, name: object) -> bool:
        return name in self._entries or name in self._lazy

    def __iter__(self) -> Iterator[str]:
        return iter(self.names())

    def items(self) -> list[tuple[str, T]]:
        """Every entry with its object (this loads every lazy entry)."""
        return [(name, self.get(name)) for name in self.names()]

    def __len__(self) -> int:
        return len(self.names())


def describe(obj: Any) -> str:
    """First line of an object's docstring, for listings."""
    doc = (getattr(obj, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def method_meta(cls: Any) -> dict[str, Any]:
    """What a listing and a grid expansion read off a method class: its declaration's
    (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`, which the class reads)."""
    return cls.spec.meta()


def network_meta(factory: Callable[..., Any]) -> dict[str, Any]:
    """A network factory's one-line summary and its keyword arguments with their defaults."""
    arguments = inspect.signature(factory).parameters
    return {"summary": describe(factory),
            "args": {k: p.default for k, p in arguments.items() if p.default is not inspect.Parameter.empty}}


def artifact_meta(artifact: Artifact) -> dict[str, Any]:
    """An artifact's metadata (what a grid needs to make its job)."""
    return {"summary": artifact.summary, "families": tuple(artifact.families), "section": artifact.section,
            "defaults": dict(artifact.defaults),
            "hparams_declared": hparam_declarations(artifact.defaults, artifact.hparams_declared),
            "step_keys": tuple(artifact.step_keys), "batch_key": artifact.batch_key, "table": artifact.table,
            "network_setting": artifact.network_setting,
            "default_networks": {k: dict(v) for k, v in (artifact.default_networks or {}).items()},
            "plan": artifact.plan}


METHODS: Registry = Registry("method", method_meta)
NETWORKS: Registry = Registry("network", network_meta)
ARTIFACTS: Registry = Registry("artifact", artifact_meta)

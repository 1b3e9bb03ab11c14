"""Plugins: methods, tasks, networks, metrics, families and suites declared by modules outside this checkout.

A plugin is a module that, when imported, adds entries to the registries the built-in ones use
(``METHODS.declare``/``register``, ``TASKS.declare``/``register_task``, ``NETWORKS``, ``ARTIFACTS``,
``kd_gan_bench.benchmarks.metrics.metric``, ``FAMILIES``, ``SUITES``), as pytest's ``pytest11`` and lm-evaluation-harness's
task folders do. Two ways name one:

* the entry-point group :data:`GROUP` of an installed distribution (``[project.entry-points."kd_gan_bench.plugins"]
  example = "my_package.kdgb_entries"``): every command loads these;
* ``--plugin MODULE`` on the command line (repeatable): any importable module, installed or on ``PYTHONPATH``.

:func:`load` imports them before a command reads a registry and refuses, with a :class:`PluginError` naming the
plugin (the CLI's exit status 2, before anything runs), a module that cannot be imported, an entry that clashes with
a name already there (built in, or from an earlier plugin), and a plugin that adds nothing. The loaded module
names travel with a launch (``RunOptions.plugins``), never in a job's config, so job ids do not depend on which
plugins are installed: :class:`kd_gan_bench.benchmarks.execution.runner.JobRunner` imports them in the job's process (a local worker, a
SLURM task) before it reads a registry. A plugin that declares its entries lazily, as a method folder's ``spec.py`` does,
keeps listing and planning free of torch.
"""
from __future__ import annotations

import importlib
import sys
from dataclasses import dataclass
from importlib.metadata import entry_points
from typing import Any, Iterable, Sequence

from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import ARTIFACTS, METHODS, NETWORKS
from kd_gan_bench.benchmarks.core.registry import DuplicateNameError, Registry

#: The entry-point group an installed distribution names its plugin modules in.
GROUP = "kd_gan_bench.plugins"
#: Every registry a plugin may add to, by the kind of entry it holds (a method's or artifact's training plan is part
#: of its declaration: :class:`kd_gan_bench.methods.core.declaration.MethodSpec`).
REGISTRIES: dict[str, Registry] = {r.kind: r for r in (METHODS, TASKS, NETWORKS, ARTIFACTS, METRICS, FAMILIES, SUITES)}
HOW = "see the README's Plugins section"


class PluginError(ValueError):
    """A plugin that cannot be loaded: the message names it and says what to do."""


@dataclass(frozen=True)
class Plugin:
    """A plugin module and where it was named (``--plugin``, or an entry point of a distribution)."""

    module: str
    source: str = "--plugin"

    @property
    def drop(self) -> str:
        """How to do without it."""
        if self.source == "--plugin":
            return f"leave out `--plugin {self.module}`"
        return f"uninstall the distribution that declares it (`pip uninstall {self.source.split()[-1]}`)"

    def __str__(self) -> str:
        return f"plugin {self.module!r} ({self.source})"


#: The plugins this process loaded (module -> plugin), and which plugin module added each entry ((kind, name) -> module).
_LOADED: dict[str, Plugin] = {}
_PROVIDER: dict[tuple[str, str], str] = {}


def discovered() -> list[Plugin]:
    """The plugins installed distributions declare in :data:`GROUP`; an entry point that names no module (empty, or
    an object ``module:attr``) is a :class:`PluginError`."""
    found = []
    for point in entry_points(group=GROUP):
        dist = getattr(point.dist, "name", None) or "unknown distribution"
        plugin = Plugin(point.module, f"entry point {point.name!r} = {point.value!r} of distribution {dist}")
        if not point.module or point.attr or point.extras:
            raise PluginError(f"{GROUP} {plugin.source} names no module: an entry point of this group names the "
                              f"module that declares the plugin's entries (`{point.name} = \"my_package.kdgb_entries\"`, "
                              f"{HOW}); fix the entry point, or {plugin.drop}")
        found.append(plugin)
    return found


def load(modules: Sequence[str] = (), *, installed: bool = True) -> tuple[str, ...]:
    """Import the installed plugins (``installed``) and ``modules`` (``--plugin``), each once per process, and return
    every plugin module this process has loaded: what a launch hands its jobs (``RunOptions.plugins``)."""
    wanted = [*(discovered() if installed else []), *(Plugin(m) for m in modules)]
    for plugin in wanted:
        if plugin.module not in _LOADED:
            _import(plugin)
            _LOADED[plugin.module] = plugin
    return loaded()


def _import(plugin: Plugin) -> None:
    """Import one plugin module, refusing an import that fails, replaces an entry or (first imported here) adds none."""
    fresh = plugin.module not in sys.modules
    before = {kind: _entries(table) for kind, table in REGISTRIES.items()}
    try:
        importlib.import_module(plugin.module)
    except DuplicateNameError as exc:
        raise PluginError(f"{plugin}: {exc}: it clashes with an entry of that name (built in, or from another "
                          f"plugin); rename the plugin's entry, or {plugin.drop}") from exc
    except ModuleNotFoundError as exc:
        if exc.name and (plugin.module == exc.name or plugin.module.startswith(exc.name + ".")):
            raise PluginError(f"{plugin}: no module named {plugin.module!r} can be imported: install the package that "
                              f"provides it or put its folder on PYTHONPATH (`--plugin` takes a module name such as "
                              f"my_package.kdgb_entries, not a path), or {plugin.drop}") from exc
        raise PluginError(f"{plugin}: importing it failed: {type(exc).__name__}: {exc}; install what it needs, or "
                          f"{plugin.drop}") from exc
    except Exception as exc:  # whatever the plugin's own code raises: name the plugin, then its error
        raise PluginError(f"{plugin}: importing it failed: {type(exc).__name__}: {exc}; fix the plugin, or "
                          f"{plugin.drop}") from exc
    added = []
    for kind, table in REGISTRIES.items():
        after = _entries(table)
        for name in sorted(after):
            if name not in before[kind]:
                added.append((kind, name))
            elif _replaced(before[kind][name], after[name]):
                raise PluginError(f"{plugin}: its {kind} {name!r} clashes with the {kind} of that name that was there "
                                  f"before it (built in, or from another plugin); rename the plugin's entry, or "
                                  f"{plugin.drop}")
    if fresh and not added:
        raise PluginError(f"{plugin} declared nothing: importing it added no {', '.join(REGISTRIES)}; name the module "
                          f"that declares the plugin's entries ({HOW}), or {plugin.drop}")
    _PROVIDER.update((key, plugin.module) for key in added)


def _entries(table: Registry) -> dict[str, tuple[Any, Any]]:
    """A registry's snapshot: per name, its lazy declaration and its object."""
    return table.snapshot()


def _replaced(before: tuple[Any, Any], after: tuple[Any, Any]) -> bool:
    """Whether an entry that was there before a plugin's import is another one after it: another declaration, another
    object, or an object registered under a lazily declared name whose declaring module was not imported."""
    (lazy, obj), (lazy_now, obj_now) = before, after
    if lazy_now is not lazy or (obj is not None and obj_now is not obj):
        return True
    return obj is None and obj_now is not None and lazy is not None and lazy.module not in sys.modules


def loaded() -> tuple[str, ...]:
    """The plugin modules this process has loaded, in the order it loaded them."""
    return tuple(_LOADED)


def provider(kind: str, name: str) -> str | None:
    """The plugin module that added entry ``name`` of registry ``kind`` in this process (None: built in)."""
    return _PROVIDER.get((kind, name))


def plugin_arguments(entries: Iterable[tuple[str, str]]) -> list[str]:
    """``--plugin MODULE`` for each plugin that provides one of ``entries`` ((kind, name) pairs), in order: what a
    command about them (a record's rerun command) needs where the plugin is not installed as an entry point."""
    modules = dict.fromkeys(m for m in (provider(kind, name) for kind, name in entries) if m)
    return [arg for module in modules for arg in ("--plugin", module)]


def add_argument(parser: Any) -> None:
    """``--plugin MODULE`` (repeatable) on a command that reads the registries."""
    parser.add_argument("--plugin", dest="plugins", action="append", default=[], metavar="MODULE",
                        help=f"import MODULE first: a plugin declaring methods, tasks, networks or metrics (installed "
                             f"distributions' {GROUP} entry points are always loaded)")

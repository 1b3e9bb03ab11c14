"""The import layers and rooms, read from the source (AST), each violation reported with its file and line.

Every module of the four folders belongs to exactly one room of :data:`LAYERS`, listed bottom to top; a module
imports modules of its own room and of rooms below it only. Every import counts: at module level, inside functions
and under ``if TYPE_CHECKING:``, and the ``"module:function"`` strings a declaration names (a family's job body, a
method's plan check) count as imports of that module. So:

* ``benchmarks/core/`` is the dependency-free bottom (``Registry``/``Param``/``Need``, the job config, the result
  store's files); ``datasets/`` imports nothing else of ours, ``methods/`` nothing of the harness;
* ``benchmarks/cli/`` is the top of the harness and the only room that imports ``report`` (``benchmarks/perf/``,
  the measurement scripts, sit above it); ``report`` imports neither ``methods`` nor torch;
* no import cycle between modules, counting every import statement (an import inside a function runs later, but
  it still ties the two modules together).
"""
from __future__ import annotations

import ast
import functools
import re
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
NS = "kd_gan_bench"
FOLDERS = ("benchmarks", "datasets", "methods", "report")
#: rooms, bottom to top (names without the namespace)
LAYERS = ("benchmarks.core", "datasets", "methods", "benchmarks.metrics", "benchmarks.families",
          "benchmarks.planning", "benchmarks.records", "benchmarks.execution", "report", "benchmarks.cli",
          "benchmarks.perf")
#: modules in no room: the harness package's empty ``__init__`` and the ``python -m benchmarks.run`` shim
OUTSIDE = {"benchmarks": (), "benchmarks.run": ("benchmarks.cli.main",)}
#: what a room may not import besides the order (top-level names)
FORBIDDEN = {"report": ("kd_gan_bench.methods", "torch", "torchvision", "torch_fidelity")}
REFERENCE = re.compile(rf"{NS}(?:\.\w+)+:\w+")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _sources() -> list[Path]:
    return sorted(p for folder in FOLDERS for p in (REPO / folder).rglob("*.py"))


def _imports(path: Path, modules: set[str], references: bool = True) -> list[tuple[int, str]]:
    """(line, module) of every import in ``path``, anywhere in it; ``from a import b`` gives ``a.b`` when that is a
    module of ours, else ``a``; with ``references``, ``"a.b:f"`` strings give ``a.b``."""
    module = _module_name(path)
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:  # relative: inside our own package
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([NS, *anchor, *([base] if base else [])])
            names = [f"{base}.{a.name}" if f"{base}.{a.name}".removeprefix(NS + ".") in modules else base
                     for a in node.names]
        elif references and isinstance(node, ast.Constant) and isinstance(node.value, str) \
                and REFERENCE.fullmatch(node.value):
            names = [node.value.partition(":")[0]]
        found += [(node.lineno, name) for name in names]
    return found


def _ours(name: str, modules: set[str]) -> str | None:
    """The module of ours ``name`` (with the namespace) is or is inside, without the namespace."""
    if not name.startswith(NS + "."):
        return None
    name = name[len(NS) + 1:]
    while name and name not in modules:
        name = name.rpartition(".")[0]
    return name or None


def room_of(module: str) -> str | None:
    rooms = [layer for layer in LAYERS if module == layer or module.startswith(layer + ".")]
    return max(rooms, key=len) if rooms else None


def _graph(references: bool = True) -> tuple[dict[str, Path], dict[tuple[str, str], str]]:
    """Our modules, and (importer, imported) -> where (first import statement)."""
    paths = {_module_name(p): p for p in _sources()}
    edges: dict[tuple[str, str], str] = {}
    for module, path in paths.items():
        for line, name in _imports(path, set(paths), references):
            target = _ours(name, set(paths))
            if target and target != module:
                edges.setdefault((module, target), f"{path.relative_to(REPO)}:{line}")
    return paths, edges


def unplaced() -> list[str]:
    paths, _ = _graph()
    return [f"{paths[m].relative_to(REPO)} is in no room of LAYERS" for m in paths
            if room_of(m) is None and m not in OUTSIDE]


def layer_violations() -> list[str]:
    paths, edges = _graph()
    out: dict[str, str] = {}
    for (importer, imported), where in sorted(edges.items(), key=lambda e: e[1]):
        if importer in OUTSIDE:
            if imported not in OUTSIDE[importer]:
                out[where] = f"{where}: {importer} may import only {OUTSIDE[importer] or 'nothing'}, not {imported}"
            continue
        low, high = room_of(importer), room_of(imported)
        if low is None or high is None:
            continue  # reported by unplaced()
        if LAYERS.index(high) > LAYERS.index(low):
            out.setdefault(where, f"{where}: {low} (layer {LAYERS.index(low)}) imports {imported} from "
                                  f"{high} (layer {LAYERS.index(high)}, above it)")
    for module, path in paths.items():
        banned = FORBIDDEN.get(room_of(module) or "", ())
        for line, name in _imports(path, set(paths)):
            if any(name == b or name.startswith(b + ".") for b in banned):
                where = f"{path.relative_to(REPO)}:{line}"
                out.setdefault(where, f"{where}: {room_of(module)} imports {name}")
    return list(out.values())


def import_cycles() -> list[str]:
    """Cycles of import statements (a ``"module:function"`` reference is named, not imported, by design: a
    declaration names the code that builds on it)."""
    paths, edges = _graph(references=False)
    graph = {m: sorted(b for a, b in edges if a == m) for m in paths}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt]
                cycles.append("; ".join(f"{a} -> {b} ({edges[a, b]})" for a, b in zip(cycle, cycle[1:])))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(paths):
        if m not in state:
            visit(m, [m])
    return cycles


@functools.lru_cache(maxsize=1)
def _real_violations() -> tuple[str, ...]:
    return tuple(layer_violations())


def test_every_module_is_in_one_room():
    problems = unplaced()
    assert not problems, "modules outside every room (add them to a room folder):\n" + "\n".join(problems)


@pytest.mark.parametrize("layer", LAYERS)
def test_a_room_imports_only_itself_and_the_rooms_below(layer: str):
    problems = [p for p in _real_violations() if f": {layer} " in p]
    assert not problems, f"{layer} imports from above it:\n" + "\n".join(problems)


def test_nothing_else_breaks_the_layers():
    assert not _real_violations(), "layering violations:\n" + "\n".join(_real_violations())


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


def _fake(monkeypatch: pytest.MonkeyPatch, files: dict[str, str]) -> None:
    """Pretend ``files`` (path under the repo -> source) are the only sources."""
    fakes = {REPO / name: text for name, text in files.items()}
    monkeypatch.setitem(globals(), "_sources", lambda: sorted(fakes))
    original = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: fakes[self] if self in fakes else original(self, *a, **k))


@pytest.mark.parametrize("source, expected", [
    ("from kd_gan_bench.benchmarks.execution.runner import run_job\n",
     "methods/fake.py:1: methods (layer 2) imports benchmarks.execution.runner from benchmarks.execution (layer 7, "
     "above it)"),
    ("import os\n\ndef f():\n    import kd_gan_bench.report.render\n",
     "methods/fake.py:4: methods (layer 2) imports report.render from report (layer 8, above it)"),
    ("from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    from kd_gan_bench.benchmarks.cli import main\n",
     "methods/fake.py:3: methods (layer 2) imports benchmarks.cli.main from benchmarks.cli (layer 9, above it)"),
    ('JOB = "kd_gan_bench.benchmarks.families.i2i_jobs:run"\n',
     "methods/fake.py:1: methods (layer 2) imports benchmarks.families.i2i_jobs from benchmarks.families (layer 4, "
     "above it)"),
])
def test_a_violation_names_its_file_and_line(source: str, expected: str, monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, {"methods/fake.py": source, "benchmarks/execution/runner.py": "", "report/render.py": "",
                        "benchmarks/cli/main.py": "", "benchmarks/families/i2i_jobs.py": ""})
    assert layer_violations() == [expected]


def test_a_cycle_through_a_function_level_import_is_found(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, {"methods/a.py": "from kd_gan_bench.methods.b import x\n",
                        "methods/b.py": "def f():\n    from kd_gan_bench.methods import a\n"})
    assert import_cycles() == ["methods.a -> methods.b (methods/a.py:1); methods.b -> methods.a (methods/b.py:2)"]


def test_a_module_outside_the_rooms_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    _fake(monkeypatch, {"benchmarks/loose.py": "", "benchmarks/core/registry.py": ""})
    assert unplaced() == ["benchmarks/loose.py is in no room of LAYERS"]

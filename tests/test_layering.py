"""The import layers, read from the source (AST), each violation reported with its file and line.

* ``datasets/`` is the bottom layer: nothing from ``benchmarks/`` or ``report/``, and from ``methods/``
  only ``kd_gan_bench.benchmarks.core.registry`` (dependency-free);
* ``methods/`` never imports ``benchmarks/`` or ``report/``;
* ``report/`` imports neither ``methods/`` nor torch (it renders a table);
* no import cycles between modules (module-level imports; an import inside a function runs later; a
  package's ``__init__`` importing its own submodules is no cycle).
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
PACKAGES = ("benchmarks", "datasets", "methods", "report")

#: package -> (forbidden top-level names, allowed exceptions)
RULES = {
    "datasets": (("benchmarks", "report", "methods"), ("kd_gan_bench.benchmarks.core.registry",)),
    "methods": (("benchmarks", "report"), ()),
    "report": (("methods", "torch", "torchvision", "torch_fidelity"), ()),
}


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, top_level_only: bool) -> list[tuple[int, str]]:
    """(line, imported module) of every import in ``path`` (``from a import b`` gives ``a.b`` and ``a``)."""
    tree = ast.parse(path.read_text(), str(path))
    nodes = tree.body if top_level_only else list(ast.walk(tree))
    if top_level_only:  # module level, including try/except and if blocks but not `if TYPE_CHECKING:`
        nodes = [n for stmt in tree.body if not (isinstance(stmt, ast.If) and "TYPE_CHECKING" in ast.unparse(stmt.test))
                 for n in ast.walk(stmt) if not isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef))]
    found = []
    for node in nodes:
        if isinstance(node, ast.Import):
            found += [(node.lineno, alias.name) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.append((node.lineno, node.module))
            found += [(node.lineno, f"{node.module}.{alias.name}") for alias in node.names]
    return found


def _sources() -> list[Path]:
    return sorted(p for package in PACKAGES for p in (REPO / package).rglob("*.py"))


def _matches(name: str, prefix: str) -> bool:
    return name == prefix or name.startswith(prefix + ".")


def layer_violations() -> list[str]:
    out: dict[tuple[str, int], str] = {}
    for path in _sources():
        package = path.relative_to(REPO).parts[0]
        if package not in RULES:
            continue
        forbidden, allowed = RULES[package]
        for line, name in _imports(path, top_level_only=False):
            if any(_matches(name, f) for f in forbidden) and not any(_matches(name, a) for a in allowed):
                if name.rpartition(".")[0] in allowed:  # ``from kd_gan_bench.benchmarks.core.registry import X``
                    continue
                where = str(path.relative_to(REPO))
                out.setdefault((where, line), f"{where}:{line}: {package}/ imports {name}")  # one per statement
    return list(out.values())


def import_cycles() -> list[str]:
    modules = {_module_name(p): p for p in _sources()}
    edges: dict[tuple[str, str], str] = {}  # (importer, imported) -> where
    for m, p in modules.items():
        for line, n in _imports(p, top_level_only=True):
            if n in modules and n != m:
                edges.setdefault((m, n), f"{p.relative_to(REPO)}:{line}")
    graph = {m: sorted(b for a, b in edges if a == m) for m in modules}
    cycles, state = [], {}

    def visit(node: str, stack: list[str]) -> None:
        state[node] = "open"
        for nxt in graph[node]:
            if state.get(nxt) == "open":
                cycle = stack[stack.index(nxt):] + [nxt] if nxt in stack else [node, nxt]
                lines = [f"{a} -> {b} ({edges[a, b]})" for a, b in zip(cycle, cycle[1:])]
                cycles.append("; ".join(lines))
            elif nxt not in state:
                visit(nxt, stack + [nxt])
        state[node] = "done"

    for m in sorted(modules):
        if m not in state:
            visit(m, [m])
    return cycles


def test_layers():
    problems = layer_violations()
    assert not problems, "layering violations:\n" + "\n".join(problems)


def test_no_import_cycles():
    cycles = import_cycles()
    assert not cycles, "import cycles:\n" + "\n".join(cycles)


@pytest.mark.parametrize("source, expected", [
    ("from kd_gan_bench.benchmarks.core.store import ResultStore\n", "methods/fake.py:1: methods/ imports kd_gan_bench.benchmarks.core.store"),
    ("import os\n\ndef f():\n    import kd_gan_bench.report.render\n", "methods/fake.py:4: methods/ imports kd_gan_bench.report.render"),
])
def test_a_violation_names_its_file_and_line(source, expected, monkeypatch, tmp_path):
    fake = REPO / "methods" / "fake.py"
    monkeypatch.setattr(__import__(__name__), "_sources", lambda: [fake], raising=False)
    monkeypatch.setitem(globals(), "_sources", lambda: [fake])
    original = Path.read_text
    monkeypatch.setattr(Path, "read_text", lambda self, *a, **k: source if self == fake else original(self, *a, **k))
    assert layer_violations() == [expected]

"""The networks' lazy registry entries, read off their factories' own source: no second declaration, no torch.

Every module of :mod:`kd_gan_bench.methods.networks` that registers a network does it with ``@NETWORKS.register("name")`` on
a factory (a function, or a class whose ``__init__`` is its own or a base's of the same module), whose docstring's
first line is the network's one-line summary and whose keyword arguments' defaults are what ``list`` shows and
``--set teacher.<arg>`` is checked against. :func:`declare_networks` finds
those decorators by parsing each module (``ast``, nothing imported) and declares each network with that
metadata, so it is written once, in the factory; ``NETWORKS.get(name)`` imports the module on first use.
"""
from __future__ import annotations

import ast
from pathlib import Path
from typing import Any

from kd_gan_bench.benchmarks.core.registry import NETWORKS

_REGISTER = "NETWORKS.register"


Factory = ast.FunctionDef | ast.ClassDef


def _registered_name(node: Factory) -> str | None:
    """The name a factory's ``@NETWORKS.register("name")`` decorator gives it, or None."""
    for decorator in node.decorator_list:
        if (isinstance(decorator, ast.Call) and ast.unparse(decorator.func) == _REGISTER and decorator.args
                and isinstance(decorator.args[0], ast.Constant)):
            return decorator.args[0].value
    return None


def _signature(node: Factory, classes: dict[str, ast.ClassDef]) -> ast.arguments:
    """A function's arguments; a class's ``__init__``'s (its own, else its first base's that has one)."""
    if isinstance(node, ast.FunctionDef):
        return node.args
    for stmt in node.body:
        if isinstance(stmt, ast.FunctionDef) and stmt.name == "__init__":
            return stmt.args
    for base in node.bases:
        if isinstance(base, ast.Name) and base.id in classes:
            return _signature(classes[base.id], classes)
    raise ValueError(f"network class {node.name} has no __init__ in its module")


def _keyword_defaults(args: ast.arguments) -> dict[str, Any]:
    """The arguments that have defaults, with their (literal) values, as ``inspect.signature`` gives them."""
    positional = args.posonlyargs + args.args
    pairs = list(zip(positional[len(positional) - len(args.defaults):], args.defaults))
    pairs += [(a, d) for a, d in zip(args.kwonlyargs, args.kw_defaults) if d is not None]
    return {arg.arg: ast.literal_eval(default) for arg, default in pairs}


def factory_entries(path: Path) -> dict[str, dict[str, Any]]:
    """Every network the module at ``path`` registers: name -> ``{"summary", "args"}`` (see
    :func:`kd_gan_bench.benchmarks.core.registry.network_meta`, which reads the same off the loaded factory)."""
    text = path.read_text()
    if f"@{_REGISTER}(" not in text:
        return {}
    body = ast.parse(text, str(path)).body
    classes = {node.name: node for node in body if isinstance(node, ast.ClassDef)}
    entries = {}
    for node in body:
        name = _registered_name(node) if isinstance(node, (ast.FunctionDef, ast.ClassDef)) else None
        if name:
            doc = (ast.get_docstring(node) or "").strip()
            entries[name] = {"summary": doc.splitlines()[0] if doc else "",
                             "args": _keyword_defaults(_signature(node, classes))}
    return entries


def declare_networks() -> None:
    """Declare every network registered by a module of :mod:`kd_gan_bench.methods.networks` (its source parsed, not imported)."""
    folder = Path(__file__).parent
    for path in sorted(folder.glob("*.py")):
        for name, meta in factory_entries(path).items():
            NETWORKS.declare(name, f"{__package__}.{path.stem}", **meta)

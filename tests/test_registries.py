"""Every entry is declared once, where discovery finds it; listing and planning never import torch.

A method is declared by its folder's torch-free ``methods/<method>/spec.py`` (found by folder, like the metric
specs) and its class reads that declaration; a network by its factory's own source (docstring and signature,
parsed without importing it); a task in ``datasets/entries.py``, which its loader reads. These tests check that
discovery finds every folder and nothing is declared anywhere else, that a copied folder is all a new method
needs, that the declarations are well formed, and that the parsed network metadata equals the loaded factory's.
"""
from __future__ import annotations

import ast
import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import kd_gan_bench.methods
from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.benchmarks.planning import plugins
from kd_gan_bench.benchmarks.families.families import FAMILIES, load_object
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import ARTIFACTS, METHODS, NETWORKS
from kd_gan_bench.methods.core.declaration import MethodSpec, declare_folders, folder_entries, spec_folders
from kd_gan_bench.benchmarks.core.registry import hparam_of

try:
    from tests.cli_helpers import REPO
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO

HEAVY = ("torch", "torchvision", "torch_fidelity", "pandas", "matplotlib")
PACKAGES = ("benchmarks", "datasets", "methods", "report")
#: What only a method's declaration may say (a class that sets one restates its declaration).
DECLARED = {"name", "family", "families", "teacher_mode", "citation", "defaults", "resources", "needs", "hparams_declared",
            "plan_check", "weights_check"}


def _package_sources() -> list[Path]:
    return sorted(path for package in PACKAGES for path in (REPO / package).rglob("*.py"))


@pytest.mark.parametrize("registry, name", [(r, n) for r in (TASKS, NETWORKS, ARTIFACTS) for n in r.names()],
                         ids=lambda v: v if isinstance(v, str) else v.kind)
def test_entry_metadata_equals_the_loaded_object(registry, name):
    """A network's metadata parsed from its source equals its factory's signature and docstring; a task's and an
    artifact's registered object says what its declaration says."""
    declared = registry.meta(name)
    loaded = registry.meta_of(registry.get(name))
    assert declared == loaded, f"{registry.kind} {name!r}: its entry says {declared}, its module {loaded}"


def test_discovery_finds_every_method_folder():
    """Every folder of methods/ with a spec.py declares at least one method or artifact; every built-in method and
    artifact comes from one (a plugin's, if an earlier test's CLI call loaded the installed one, from its package),
    and its class is registered by the folder's module."""
    folders = sorted(p.parent.name for p in (REPO / "methods").glob("*/spec.py"))
    assert spec_folders() == folders and len(folders) >= 12
    declared = {entry.name: folder for folder in folders for entry in folder_entries(folder)}
    assert all(any(isinstance(e, MethodSpec) for e in folder_entries(f)) for f in folders)
    built_in = [n for n in METHODS.names() if plugins.provider("method", n) is None]
    assert sorted(declared) == sorted([*built_in, *ARTIFACTS.names()])
    for name in built_in:
        assert METHODS._lazy[name].module == f"kd_gan_bench.methods.{declared[name]}.method"
    for name in ARTIFACTS.names():
        assert ARTIFACTS._lazy[name].module == f"kd_gan_bench.methods.{declared[name]}.artifact"


@pytest.mark.parametrize("name", METHODS.names())
def test_method_class_reads_its_declaration(name):
    """The class carries the declaration itself (nothing restated) and its meta is that declaration's."""
    cls = METHODS.get(name)
    folder = METHODS._lazy[name].module.split(".")[-2]
    assert cls.spec in folder_entries(folder) and cls.spec.name == name
    assert METHODS.meta_of(cls) == METHODS.meta(name)
    assert cls.resolve_hparams({}) == METHODS.info(name).defaults


def test_no_method_is_declared_anywhere_else():
    """MethodSpec and Artifact declarations live only in methods/<folder>/spec.py; no module registers a method or
    declares a registry entry by hand; no method class restates what its declaration says."""
    makers = {"MethodSpec", "Artifact"}
    by_hand = {"METHODS.register", "METHODS.declare", "ARTIFACTS.declare", "NETWORKS.declare", "TASKS.declare"}
    allowed_by_hand = {REPO / "methods/core/declaration.py", REPO / "methods/networks/catalog.py",
                       REPO / "datasets/entries.py"}
    for path in _package_sources():
        tree = ast.parse(path.read_text())
        for node in ast.walk(tree):
            if isinstance(node, ast.Call):
                called = ast.unparse(node.func)
                if called in makers:
                    assert path.name == "spec.py" and path.parent.parent == REPO / "methods", \
                        f"{path}: declares a {called} outside a method folder's spec.py"
                if called in by_hand:
                    assert path in allowed_by_hand, f"{path}: {called} by hand; declare it in its folder's spec.py"
            if isinstance(node, ast.ClassDef) and any(k.arg == "spec" for k in node.keywords):
                restated = {t.id for stmt in node.body if isinstance(stmt, (ast.Assign, ast.AnnAssign))
                            for t in (stmt.targets if isinstance(stmt, ast.Assign) else [stmt.target])
                            if isinstance(t, ast.Name)} & DECLARED
                assert not restated, f"{path}: class {node.name} restates {sorted(restated)} of its declaration"


def test_a_copied_method_folder_is_a_new_method(tmp_path, monkeypatch):
    """Adding a method means adding its folder: a copy of output_kd's under a new name (its name and its modules'
    written into it) is listed, planned and dry-run without a line changed anywhere else."""
    root = tmp_path / "extra"
    shutil.copytree(REPO / "methods" / "output_kd", root / "copied_kd", ignore=shutil.ignore_patterns("__pycache__"))
    for path in (root / "copied_kd").glob("*.py"):
        text = path.read_text().replace("kd_gan_bench.methods.output_kd.", "kd_gan_bench.methods.copied_kd.")
        path.write_text(text.replace('name="output_kd"', 'name="copied_kd"'))
    monkeypatch.setattr(kd_gan_bench.methods, "__path__", [*kd_gan_bench.methods.__path__, str(root)])
    try:
        declare_folders()
        assert METHODS.info("copied_kd").summary == METHODS.info("output_kd").summary
        assert METHODS.get("copied_kd").spec.name == "copied_kd"
        assert main(["grid", "--suite", "smoke_i2i", "--methods", "copied_kd", "--dry-run", "--no-progress",
                     "--results", str(tmp_path / "results")]) == 0
        assert main(["plan", "--suite", "smoke_i2i", "--methods", "copied_kd", "--json"]) == 0
    finally:
        METHODS._lazy.pop("copied_kd", None)
        METHODS._entries.pop("copied_kd", None)
        for module in [m for m in sys.modules if m.startswith("kd_gan_bench.methods.copied_kd")]:
            del sys.modules[module]


@pytest.mark.parametrize("name", METHODS.names())
def test_declared_hparams_cover_the_defaults(name):
    info = METHODS.info(name)
    declared = info.hparams_declared
    assert set(declared) == set(info.defaults), f"method {name!r}: its declarations must cover exactly its defaults"
    for key, default in info.defaults.items():
        assert declared[key].problem(default) is None, f"{name}.{key}: the default {default!r} breaks its type"
        if default is not None:
            assert declared[key].kind == hparam_of(default).kind, f"{name}.{key}: declared {declared[key].kind}"
    assert callable(info.plan) and (info.check is None or callable(info.check))


@pytest.mark.parametrize("name", [n for n in METHODS.names() if METHODS.info(n).needs])
def test_declared_needs_match_the_method(name):
    """A method that reads a fine-tuning init says when, as ``needs_student_init`` decides it."""
    method, info = METHODS.get(name)(), METHODS.info(name)
    for need in info.needs:
        assert (need.artifact in ARTIFACTS) != (need.method in METHODS), need
        for key, value in need.when:
            other = {**info.defaults, key: "scratch" if value != "scratch" else "nokd"}
            assert method.needs_student_init({**info.defaults, key: value}) is True
            assert method.needs_student_init(other) is False


def test_every_object_registered_is_declared():
    """Loading everything registers nothing that has no lazy entry (a network or task without its declaration)."""
    for registry in (METHODS, NETWORKS, TASKS, ARTIFACTS):
        registry.items()
        undeclared = sorted(set(registry._entries) - set(registry._lazy))
        assert not undeclared, f"{registry.kind}s without an entry: {undeclared}"


@pytest.mark.parametrize("name", FAMILIES.names())
def test_family_declarations_equal_their_code(name):
    family = FAMILIES.get(name)
    assert callable(load_object(family.job)) and callable(load_object(family.teacher_plan))
    assert isinstance(load_object(family.data), type)
    assert family.metrics and all(METRICS.get(m).kind == "quality" for m in family.metrics)
    schedule = load_object(family.schedule)
    assert family.schedule_defaults == {f.name: f.default for f in dataclasses.fields(schedule)}
    if family.recipe_defaults:
        from kd_gan_bench.methods.core.recipe_settings import RECIPE_DEFAULTS
        assert dict(family.recipe_defaults) == dict(RECIPE_DEFAULTS)
    assert all(t in TASKS for t in TASKS.names() if TASKS.info(t).family == name)


def _heavy_after(code: str, *args: str, env: dict[str, str] | None = None) -> list[str]:
    """The heavy modules loaded after running ``code`` in a fresh interpreter (it must exit 0)."""
    code += f"; print('HEAVY', [m for m in {HEAVY!r} if m in sys.modules])"
    proc = subprocess.run([sys.executable, "-c", code, *args], cwd=REPO, capture_output=True, text=True,
                          timeout=300, env={"PYTHONPATH": str(REPO), "PATH": "/usr/bin:/bin", **(env or {})})
    assert proc.returncode == 0, proc.stderr
    line = next(l for l in proc.stdout.splitlines() if l.startswith("HEAVY"))
    return json.loads(line.split(" ", 1)[1].replace("'", '"'))


def test_listing_never_imports_torch():
    assert _heavy_after("import sys; from kd_gan_bench.benchmarks.cli.main import main; assert main(['list']) == 0") == []


def test_dry_running_every_suite_never_imports_torch(tmp_path):
    """``grid --dry-run`` of every registered suite: expansion, the methods' planning checks (SRPKD's layer
    shapes among them), the plan and the time estimate."""
    code = ("import sys; from kd_gan_bench.benchmarks.cli.main import main; from kd_gan_bench.benchmarks.planning.suites import SUITES; "
            "failed = [n for n in SUITES.names() "
            "          if main(['grid', '--suite', n, '--dry-run', '--no-progress', '--results', sys.argv[1]]) != 0]; "
            "assert not failed, failed")
    assert _heavy_after(code, str(tmp_path), env={"KDGAN_NO_DOWNLOAD": "1"}) == []


@pytest.mark.slurm
@pytest.mark.usefixtures("slurm_cluster")
def test_a_no_wait_slurm_submission_never_imports_torch(tmp_path):
    """The whole ``grid --executor slurm --no-wait`` command (weights resolved, arrays submitted held, then
    cancelled): the compute nodes import torch, the submitting process never."""
    results = tmp_path / "results"
    code = ("import sys; from kd_gan_bench.benchmarks.cli.main import main; "
            "assert main(['grid', '--suite', 'smoke', '--tasks', 'synthetic_edges2shapes', '--executor', 'slurm', "
            "'--no-wait', '--no-progress', '--sbatch=--hold', '--results', sys.argv[1]]) == 0")
    env = {"KDGAN_NO_DOWNLOAD": "1", "TORCH_HOME": str(tmp_path / "torch_home"),
           "PATH": f"{Path(shutil.which('sbatch') or 'sbatch').parent}:/usr/bin:/bin"}
    try:
        assert _heavy_after(code, str(results), env=env) == []
    finally:
        arrays = [a["array_id"] for ledger in results.glob(f"runs/*/{slurm.LEDGER}")
                  for a in json.loads(ledger.read_text())["arrays"]]
        if arrays:
            subprocess.run(["scancel", *arrays], check=True)


def test_expanding_estimating_and_planning_arrays_never_import_torch(tmp_path):
    """Every suite's expansion, its time estimate and its SLURM array plan."""
    code = ("import sys; from kd_gan_bench.benchmarks.planning.grid import expand; from kd_gan_bench.benchmarks.planning.suites import SUITES; "
            "from kd_gan_bench.benchmarks.planning.estimate import estimate, format_estimate; from kd_gan_bench.benchmarks.core.store import ResultStore; "
            "from kd_gan_bench.benchmarks.planning.plan import plan_jobs; from kd_gan_bench.benchmarks.planning import cluster_config; from kd_gan_bench.benchmarks.execution import slurm; "
            "store = ResultStore(sys.argv[1]); "
            "jobs = [j for n in SUITES.names() for j in expand(SUITES.get(n))]; format_estimate(estimate(jobs, store)); "
            "cluster = cluster_config.ClusterConfig(); "
            "slurm.describe_plan(plan_jobs(jobs, store).run, cluster)")
    assert _heavy_after(code, str(tmp_path)) == []

"""Every lazy registry entry loads, and says what its loaded object says; listing and planning never import torch.

A registry entry (``methods/entries.py``, ``datasets/entries.py``) carries the metadata a listing and a
grid expansion read without importing the entry's module. These tests load every entry and compare,
so an entry that drifts from its class (a changed default, a new method without its entry) fails here.
"""
from __future__ import annotations

import dataclasses
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks import slurm
from benchmarks.families import FAMILIES, load_object
from benchmarks.suites import SUITES
from datasets import TASKS
from methods import ARTIFACTS, METHODS, NETWORKS
from methods.registry import param_of

try:
    from tests.cli_helpers import REPO
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO

HEAVY = ("torch", "torchvision", "torch_fidelity", "pandas", "matplotlib")


@pytest.mark.parametrize("registry, name", [(r, n) for r in (TASKS, NETWORKS, ARTIFACTS) for n in r.names()],
                         ids=lambda v: v if isinstance(v, str) else v.kind)
def test_entry_metadata_equals_the_loaded_object(registry, name):
    declared = registry.meta(name)
    loaded = registry.meta_of(registry.get(name))
    assert declared == loaded, f"{registry.kind} {name!r}: its entry says {declared}, its module {loaded}"


@pytest.mark.parametrize("name", METHODS.names())
def test_method_entry_equals_its_class(name):
    declared, cls = METHODS.meta(name), METHODS.get(name)
    loaded = METHODS.meta_of(cls)
    params = declared.pop("params")
    loaded.pop("params")
    assert declared == loaded, f"method {name!r}: its entry says {declared}, its class {loaded}"
    assert set(params) == set(cls.defaults), f"method {name!r}: params must cover exactly its defaults"
    for key, default in cls.defaults.items():
        assert params[key].problem(default) is None, f"{name}.{key}: the default {default!r} breaks its declared type"
        if default is not None:
            assert params[key].kind == param_of(default).kind, f"{name}.{key}: declared {params[key].kind}"


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


def test_every_class_registered_is_declared():
    """Loading everything registers nothing that has no lazy entry (a method added without its entry)."""
    for registry in (METHODS, NETWORKS, TASKS, ARTIFACTS):
        registry.items()
        undeclared = sorted(set(registry._entries) - set(registry._lazy))
        assert not undeclared, f"{registry.kind}s without an entry: {undeclared}"


@pytest.mark.parametrize("name", FAMILIES.names())
def test_family_declarations_equal_their_code(name):
    family = FAMILIES.get(name)
    assert callable(load_object(family.job))
    schedule = load_object(family.schedule)
    assert family.schedule_defaults == {f.name: f.default for f in dataclasses.fields(schedule)}
    if family.recipe_defaults:
        from methods.core.recipe_settings import RECIPE_DEFAULTS
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
    assert _heavy_after("import sys; from benchmarks.run import main; assert main(['list']) == 0") == []


def test_dry_running_every_suite_never_imports_torch(tmp_path):
    """``grid --dry-run`` of every registered suite: expansion, the methods' planning checks (SRPKD's layer
    shapes among them), the plan and the time estimate."""
    code = ("import sys; from benchmarks.run import main; from benchmarks.suites import SUITES; "
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
    code = ("import sys; from benchmarks.run import main; "
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
    code = ("import sys; from benchmarks.grid import expand; from benchmarks.suites import SUITES; "
            "from benchmarks.estimate import estimate, format_estimate; from benchmarks.store import ResultStore; "
            "from benchmarks.plan import plan_jobs; from benchmarks import cluster_config, slurm; "
            "store = ResultStore(sys.argv[1]); "
            "jobs = [j for n in SUITES.names() for j in expand(SUITES.get(n))]; format_estimate(estimate(jobs, store)); "
            "cluster = cluster_config.ClusterConfig(); "
            "slurm.describe_plan(plan_jobs(jobs, store).run, cluster)")
    assert _heavy_after(code, str(tmp_path)) == []

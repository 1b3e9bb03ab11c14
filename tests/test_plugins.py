"""Plugins (:mod:`kd_gan_bench.benchmarks.planning.plugins`) through the CLI: an installed plugin (its ``kd_gan_bench.plugins`` entry point)
and a module named with ``--plugin``, listed, refused when bad, and run through the local workers into the report.

The installed one is ``tests/fixtures/kdgb_example_plugin`` (a method, ``example_output_l2``), which ``tests/run.sh``
installs; the other is ``tests/fixtures/plugin_path/kdgb_path_plugin.py`` (a metric, ``example_l1_target``), put on
PYTHONPATH. Every CLI runs in a subprocess, so no plugin enters this test session's registries.
"""
from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import pytest

from kd_gan_bench.benchmarks.planning.plugins import GROUP

try:
    from tests.cli_helpers import REPO, cli, pythonpath, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, cli, pythonpath, records

PATH_PLUGIN = REPO / "tests" / "fixtures" / "plugin_path"
INSTALL = ("python -m pip install --no-deps --no-build-isolation tests/fixtures/kdgb_example_plugin (tests/run.sh "
           "does)")
GRID = ("grid", "--suite", "smoke_i2i", "--tasks", "synthetic_edges2shapes")


@pytest.fixture(scope="module")
def installed() -> None:
    if "kdgb_example_plugin.entries" not in {point.value for point in entry_points(group=GROUP)}:
        pytest.fail(f"the example plugin is not installed: {INSTALL}", pytrace=False)


def test_an_installed_plugin_is_listed_and_planned_without_torch(installed):
    script = ("import sys\nfrom kd_gan_bench.benchmarks.cli.main import main\nassert main(['list', 'methods']) == 0\n"
              f"assert main(['plan', *{GRID[1:]!r}, '--methods', 'example_output_l2']) == 0\n"
              "assert 'torch' not in sys.modules, 'listing or planning a plugin method imported torch'")
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, env={**os.environ, "PYTHONPATH": pythonpath()},
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert "example_output_l2 [i2i, teacher: pretrained] Output distillation with L2" in proc.stdout
    assert "plugin: kdgb_example_plugin.entries" in proc.stdout
    assert "student example_output_l2 on synthetic_edges2shapes" in proc.stdout  # its training plan


def test_a_module_named_with_plugin_is_listed_and_only_then(installed):
    listed = cli("list", "metrics", "--plugin", "kdgb_path_plugin", PYTHONPATH=pythonpath(PATH_PLUGIN)).stdout
    assert "example_l1_target" in listed and "(plugin kdgb_path_plugin)" in listed
    assert "example_l1_target" not in cli("list", "metrics", PYTHONPATH=pythonpath(PATH_PLUGIN)).stdout


def test_a_plugin_leaves_the_default_suite_as_it_is(installed):
    script = textwrap.dedent("""
        from kd_gan_bench.benchmarks.planning import plugins
        from kd_gan_bench.benchmarks.planning.grid import expand
        from kd_gan_bench.benchmarks.planning.suites import SUITES
        before = [job.to_dict() for job in expand(SUITES.get("default"))]
        assert plugins.load(["kdgb_path_plugin"]) == ("kdgb_example_plugin.entries", "kdgb_path_plugin")
        assert [job.to_dict() for job in expand(SUITES.get("default"))] == before
        assert "example_output_l2" not in {job["method"] for job in before}
    """)
    proc = subprocess.run([sys.executable, "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                          env={**os.environ, "PYTHONPATH": pythonpath(PATH_PLUGIN)})
    assert proc.returncode == 0, proc.stderr


#: Bad plugin modules (written to a folder on PYTHONPATH as kdgb_bad.py): source, what the error says.
BAD_MODULES = {
    "import-error": ("import kdgb_missing_dependency\n", "importing it failed: ModuleNotFoundError"),
    "raises": ("raise RuntimeError('boom')\n", "importing it failed: RuntimeError: boom"),
    "declares-nothing": ("VALUE = 1\n", "declared nothing"),
    "clash-declared": ("from kd_gan_bench.benchmarks.core.registry import METHODS\nMETHODS.declare('output_kd', 'kdgb_bad')\n",
                       "method 'output_kd' is declared twice"),
    "clash-replaced": ("from kd_gan_bench.benchmarks.core.registry import METHODS\nMETHODS.declare('output_kd', 'kd_gan_bench.methods.output_kd.method')\n",
                       "its method 'output_kd' clashes"),
    "clash-registered": ("from kd_gan_bench.benchmarks.core.registry import METHODS\nMETHODS.add('output_kd', object())\n",
                         "its method 'output_kd' clashes"),
    "clash-metric": ("from kd_gan_bench.benchmarks.metrics import describe_metric\n"
                     "describe_metric('fid', label='FID', higher_is_better=False)\n", "metric 'fid' is registered twice"),
}


@pytest.mark.parametrize("case", sorted(BAD_MODULES))
def test_a_bad_plugin_module_exits_2_naming_it_before_anything_runs(case, tmp_path, installed):
    source, message = BAD_MODULES[case]
    (tmp_path / "kdgb_bad.py").write_text(source)
    results = tmp_path / "results"
    proc = cli(*GRID, "--methods", "scratch", "--plugin", "kdgb_bad", "--results", str(results), check=False,
               PYTHONPATH=pythonpath(tmp_path))
    assert proc.returncode == 2, proc.stderr
    assert "error: plugin 'kdgb_bad' (--plugin)" in proc.stderr and message in proc.stderr, proc.stderr
    assert "leave out `--plugin kdgb_bad`" in proc.stderr
    assert not results.exists(), "nothing runs, nothing is written"


def test_a_missing_plugin_module_says_how_to_name_one(tmp_path):
    proc = cli("list", "--plugin", "kdgb_no_such_plugin", check=False)
    assert proc.returncode == 2
    assert "plugin 'kdgb_no_such_plugin' (--plugin): no module named 'kdgb_no_such_plugin'" in proc.stderr
    assert "PYTHONPATH" in proc.stderr


@pytest.mark.parametrize("value, message", [
    ("kdgb_absent_module", "no module named 'kdgb_absent_module'"),
    ("kdgb_absent_module:declare", "names no module"),
])
def test_an_entry_point_that_names_nothing_exits_2_naming_its_distribution(value, message, tmp_path):
    dist = tmp_path / "kdgb_broken-0.1.dist-info"  # an installed distribution, as importlib.metadata finds one
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: kdgb-broken\nVersion: 0.1\n")
    (dist / "entry_points.txt").write_text(f"[{GROUP}]\nbroken = {value}\n")
    proc = cli("list", "methods", check=False, PYTHONPATH=pythonpath(tmp_path))
    assert proc.returncode == 2
    assert f"entry point 'broken' = '{value}' of distribution kdgb-broken" in proc.stderr and message in proc.stderr
    assert "pip uninstall kdgb-broken" in proc.stderr


@pytest.fixture(scope="module")
def plugin_grid(tmp_path_factory, installed) -> Path:
    """The installed plugin's method and the ``--plugin`` module's metric in a local grid (teacher + one student),
    through the long-lived workers, with its leaderboard."""
    results = tmp_path_factory.mktemp("plugins") / "results"
    cli(*GRID, "--methods", "example_output_l2", "--plugin", "kdgb_path_plugin", "--max-parallel", "1",
        "--no-progress", "--results", str(results), PYTHONPATH=pythonpath(PATH_PLUGIN))
    return results


def test_plugin_entries_run_in_the_local_workers(plugin_grid):
    by_method = {r["config"]["method"]: r for r in records(plugin_grid).values()}
    assert set(by_method) == {"teacher", "example_output_l2"}
    assert all(r["status"] == "done" for r in by_method.values()), by_method
    for record in by_method.values():  # the worker imported the --plugin module: its metric was computed
        assert 0.0 <= record["metrics"]["example_l1_target"] <= 1.0
        assert (next(plugin_grid.glob("runs/*/logs")) / f"{record['job_id']}.log").is_file()
    student = by_method["example_output_l2"]
    assert student["history"], "the plugin method trained"
    assert student["plan"]["losses"]["lambda_recon"] == 100.0, "the plugin's training plan is in its record"
    assert "--plugin kdgb_example_plugin.entries --suite smoke_i2i" in student["rerun_command"]
    assert "--plugin" not in by_method["teacher"]["rerun_command"]  # nothing of the teacher job is a plugin's


def test_plugin_entries_are_in_the_report(plugin_grid):
    html = (plugin_grid / "report" / "index.html").read_text()
    assert "example_output_l2" in html and "L1 to target" in html

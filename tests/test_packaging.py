"""The install lives beside the rest of an ML environment (issue 21, item 5).

The distribution installs one import namespace of its own, ``kd_gan_bench`` (``kd_gan_bench.benchmarks`` is the
``benchmarks/`` folder, and so on), and no top-level ``datasets``, ``methods``, ``benchmarks`` or ``report``: with
another distribution's ``datasets`` installed (the stand-in of tests/fixtures/standin_datasets, which tests/run.sh
installs; here it is installed into a temporary folder when it is not), the console script, ``python -m
kd_gan_bench.benchmarks.run`` and the local workers' jobs work from a folder outside the checkout, and ``import
datasets`` there is the other distribution's. From the checkout, ``python -m benchmarks.run`` still works and loads
nothing under two names.
"""
from __future__ import annotations

import importlib.util
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

try:
    import tomllib
except ModuleNotFoundError:  # Python 3.10
    import tomli as tomllib

REPO = Path(__file__).resolve().parent.parent
STANDIN = REPO / "tests" / "fixtures" / "standin_datasets"
FOLDERS = ("benchmarks", "methods", "datasets", "report")
SCRIPT = Path(sys.executable).with_name("kd-gan-bench")


def _pip(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", "-q", *args], check=True,
                   capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def elsewhere(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A folder outside the checkout and an environment where ``datasets`` is the stand-in's."""
    folder = tmp_path_factory.mktemp("elsewhere")
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    installed = importlib.util.find_spec("datasets")
    if installed is None or "standin" not in Path(installed.origin or "").read_text():
        site, source = tmp_path_factory.mktemp("site"), tmp_path_factory.mktemp("standin") / "src"
        shutil.copytree(STANDIN, source)  # setuptools builds in the source folder: not in the checkout
        _pip("install", "--no-deps", "--no-build-isolation", "--target", str(site), str(source))
        env["PYTHONPATH"] = str(site)
    return folder, env


def _run(args: list[str], cwd: Path, env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    return subprocess.run(args, cwd=cwd, env=env, capture_output=True, text=True, timeout=timeout)


def test_datasets_is_the_other_distributions(elsewhere: tuple[Path, dict[str, str]]) -> None:
    folder, env = elsewhere
    proc = _run([sys.executable, "-c", "import datasets, kd_gan_bench.datasets as ours; "
                 "print(datasets.STANDIN, hasattr(datasets, 'TASKS'), len(ours.TASKS) > 0)"], folder, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.split() == ["kdgb-standin-datasets", "False", "True"]


@pytest.mark.parametrize("command", [[str(SCRIPT)], [sys.executable, "-m", "kd_gan_bench.benchmarks.run"]],
                         ids=["console-script", "python-m"])
def test_the_cli_runs_from_any_folder(command: list[str], elsewhere: tuple[Path, dict[str, str]]) -> None:
    folder, env = elsewhere
    proc = _run([*command, "list", "tasks"], folder, env)
    assert proc.returncode == 0, proc.stderr
    assert "synthetic_edges2shapes" in proc.stdout
    bad = _run([*command, "list", "nothing"], folder, env)
    assert bad.returncode == 2 and "invalid choice" in bad.stderr


def test_local_workers_run_jobs_from_any_folder(elsewhere: tuple[Path, dict[str, str]]) -> None:
    """The local workers (spawned processes) import the harness through the namespace, not from the checkout."""
    folder, env = elsewhere
    results = folder / "results"
    proc = _run([str(SCRIPT), "grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "scratch",
                 "--seeds", "0", "--set", "teacher_schedule.steps=1", "--jobs", *_teacher(), "--executor", "local",
                 "--max-parallel", "1", "--no-report", "--no-progress", "--results", str(results)], folder, env,
                timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    record, = [json.loads(p.read_text()) for p in (results / "jobs").glob("*/record.json")]
    assert record["status"] == "done" and record["job_id"] == _teacher()[0]
    assert record["rerun_command"].startswith("python -m kd_gan_bench.benchmarks.run grid")


def _teacher() -> list[str]:
    from kd_gan_bench.benchmarks.planning.grid import expand
    from kd_gan_bench.benchmarks.planning.suites import SUITES

    jobs = expand(SUITES.get("smoke"), tasks=["synthetic_edges2shapes"], methods=["scratch"], seeds=[0],
                  overrides=["teacher_schedule.steps=1"])
    return [job.job_id for job in jobs if job.phase == "teacher"]


def test_python_m_benchmarks_run_from_the_checkout_loads_nothing_twice() -> None:
    code = ("import runpy, sys\nsys.argv = ['benchmarks.run', 'list', 'suites']\n"
            "try:\n    runpy.run_module('benchmarks.run', run_name='__main__', alter_sys=True)\n"
            "except SystemExit as exc:\n    code = exc.code\n"
            "print(code, sorted(m for m in sys.modules if m.split('.')[0] in %r))" % (FOLDERS,))
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    proc = _run([sys.executable, "-c", code], REPO, env)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.splitlines()[-1] == "0 ['benchmarks']"  # the shim runs as __main__ under its empty package
    assert "smoke" in proc.stdout


def _package_folders() -> list[str]:
    return sorted(".".join(("kd_gan_bench", *d.relative_to(REPO).parts)) for top in FOLDERS
                  for d in [REPO / top, *(REPO / top).rglob("*")]
                  if d.is_dir() and "__pycache__" not in d.parts and any(d.glob("*.py")))


def test_pyproject_lists_every_package_under_the_namespace() -> None:
    setuptools = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]
    assert sorted(setuptools["packages"]) == _package_folders(), \
        "pyproject.toml's [tool.setuptools] packages must list every folder with Python files"
    assert setuptools["package-dir"] == {f"kd_gan_bench.{top}": top for top in FOLDERS}


def test_the_wheel_holds_the_namespace_only(tmp_path: Path) -> None:
    """A non-editable build: every module and data file under ``kd_gan_bench/``, nothing at the top level."""
    src = tmp_path / "src"
    tracked = subprocess.run(["git", "ls-files", "--cached", "--others", "--exclude-standard"], cwd=REPO,
                             capture_output=True, text=True, check=True).stdout.split()
    for name in tracked:
        if name.split("/")[0] in (*FOLDERS, "pyproject.toml", "README.md") and (REPO / name).is_file():
            (src / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(REPO / name, src / name)
    _pip("wheel", "--no-deps", "--no-build-isolation", "-w", str(tmp_path / "dist"), str(src))
    wheel, = (tmp_path / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()
    assert {n.split("/")[0] for n in names} == {"kd_gan_bench", wheel.name.split("-py")[0] + ".dist-info"}
    expected = {f"kd_gan_bench/{n}" for n in tracked if n.split("/")[0] in FOLDERS
                and n.endswith((".py", ".j2", ".json", ".csv"))}
    assert expected - set(names) == set()
    entry_points = zipfile.ZipFile(wheel).read(wheel.name.split("-py")[0] + ".dist-info/entry_points.txt").decode()
    assert "kd-gan-bench = kd_gan_bench.benchmarks.cli.main:main" in entry_points

"""A family the harness has never heard of (issue 21): tests/toy_denoising.py declares a denoising family, its task,
its PSNR metric spec, a network, two methods and a suite through the public registries alone; the CLI plans it,
trains and evaluates it through the normal grid, collects it and renders it in the leaderboard.

The toy module is imported by the CLI's process only (a subprocess, as a researcher's script would import their
module before calling ``kd_gan_bench.benchmarks.cli.main.main``), never by pytest's: its entries would otherwise leak into the
registries other tests walk. The debug executor runs the jobs in that process; the local executor's workers import
the module through ``--plugin`` (see :func:`test_local_workers_import_the_family_through_plugin`).
"""
from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

try:
    from tests.cli_helpers import REPO, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, records

TESTS = Path(__file__).resolve().parent
MODULE = "toy_denoising"
#: A researcher's launcher: import the module that declares the family, then the harness's own CLI.
LAUNCH = f"import sys, {MODULE}; from kd_gan_bench.benchmarks.cli.main import main; sys.exit(main(sys.argv[1:]))"
#: The names the toy module declares (the family as a string literal; ``toy_denoise`` also covers the network and the
#: suite); none of them may appear in the harness's code.
TOY_NAMES = ('"denoising"', "'denoising'", "toy_denoise", "psnr_clean", "psnr_n", "toy_scratch", "toy_kd")


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": os.pathsep.join([str(REPO), str(TESTS)])}


def toy_cli(*args: str, launcher: tuple[str, ...] = ("-c", LAUNCH)) -> subprocess.CompletedProcess:
    proc = subprocess.run([sys.executable, *launcher, *args], cwd=REPO, env=_env(), capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, f"exit {proc.returncode}\nstdout:\n{proc.stdout}\nstderr:\n{proc.stderr}"
    return proc


@pytest.fixture(scope="module")
def toy_grid(tmp_path_factory) -> tuple[Path, str]:
    results = tmp_path_factory.mktemp("toy")
    proc = toy_cli("grid", "--suite", "toy_denoising", "--executor", "debug", "--results", str(results),
                   "--no-progress")
    return results, proc.stdout


def test_no_harness_code_names_the_toy_family():
    """The point of the exercise: everything the toy family needs lives in tests/."""
    pattern = re.compile("|".join(map(re.escape, TOY_NAMES)))
    for package in ("benchmarks", "methods", "datasets", "report"):
        for path in (REPO / package).rglob("*"):
            if path.suffix in (".py", ".html", ".j2", ".json", ".css", ".js") and path.is_file():
                assert not pattern.search(path.read_text(errors="replace")), path


def test_plan_and_dry_run():
    dry = toy_cli("grid", "--suite", "toy_denoising", "--dry-run", "--results", "/nonexistent/toy").stdout
    assert re.search(r"3 jobs \(1 teachers, 2 students\)", dry), dry
    for method in ("toy_scratch", "toy_kd"):
        assert re.search(rf"s-\w+\s+student\s+toy_denoise\s+{method}\s", dry), dry
    plan = json.loads(toy_cli("plan", "--suite", "toy_denoising", "--json").stdout)
    by_method = {p["method"]: p for p in plan}
    assert by_method["teacher"]["trains"]["teacher"]["steps"] == 3  # the suite's teacher schedule
    assert by_method["toy_kd"]["trains"]["student"]["batch"] == 4  # the family's schedule default
    assert by_method["toy_kd"]["losses"] == {"mse_to": "teacher outputs"}


def test_jobs_score_through_the_family_metric_spec(toy_grid):
    results, _ = toy_grid
    recs = {r["config"]["method"]: r for r in records(results).values()}
    assert set(recs) == {"teacher", "toy_scratch", "toy_kd"}
    for method, r in recs.items():
        assert r["status"] == "done", (method, r["error"])
        m = r["metrics"]
        assert r["config"]["family"] == "denoising" and m["quality_metric"] == "psnr_clean"
        assert math.isfinite(m["psnr_clean"]) and m["psnr_n"] == 8
        assert m["eval_protocol"].startswith("PSNR (torchmetrics) of 8 denoised test images")
        assert (m["macs_ratio"] > 1) == (method != "teacher")
    # the recorded PSNR is the job's network on the task's test split, recomputed here by hand
    teacher = results / "jobs" / recs["teacher"]["job_id"] / "model.pt"
    check = ("import sys, torch, toy_denoising as t; from kd_gan_bench.datasets import load_task\n"
             "net = t.toy_denoiser(width=8); net.load_state_dict(torch.load(sys.argv[1], weights_only=True))\n"
             "data = load_task(t.TASK)\n"
             "with torch.no_grad(): mse = ((net(data.test_x).clamp(0, 1) - data.test_y) ** 2).mean()\n"
             "print(float(10 * torch.log10(1 / mse)))")
    psnr = float(toy_cli(str(teacher), launcher=("-c", check)).stdout)
    assert psnr == pytest.approx(recs["teacher"]["metrics"]["psnr_clean"], abs=1e-4)


def test_collect_and_leaderboard(toy_grid):
    results, stdout = toy_grid
    out = results / "results.csv"
    toy_cli("collect", "--results", str(results), "--output", str(out))
    frame = pd.read_csv(out)
    assert {"psnr_clean", "psnr_n", "quality_metric"} <= set(frame.columns)  # the spec's protocol column too
    assert frame["psnr_n"].tolist() == [8, 8, 8]
    board = json.loads((results / "report" / "leaderboard.json").read_text())
    (task,) = board["tasks"]
    assert (task["family"], task["task"], task["primary_metric"]) == ("denoising", "toy_denoise", "psnr_clean")
    assert "psnr_clean" in task["metrics"]
    kd = next(c for c in task["comparisons"] if c["method"] == "toy_kd" and c["reference"] == "toy_scratch")
    assert kd["metric"] == "psnr_clean"  # the family's baseline, on its headline metric
    assert task["summary"][0].startswith("Pareto front of PSNR against MACs compression")
    html = (results / "report" / "index.html").read_text()
    assert "toy_denoise" in html and "PSNR" in html and "toy_kd" in html


def _plugin_grid() -> tuple[str, ...] | None:
    """``grid`` naming the toy module with the CLI's ``--plugin`` option, wherever the CLI takes it (before or after
    the command); None while the CLI has no such option."""
    def helps(*args: str) -> bool:
        return "--plugin" in subprocess.run([sys.executable, "-m", "kd_gan_bench.benchmarks.run", *args, "--help"], cwd=REPO,
                                            env=_env(), capture_output=True, text=True, timeout=120).stdout
    return (("--plugin", MODULE, "grid") if helps() else ("grid", "--plugin", MODULE) if helps("grid") else None)


def test_local_workers_import_the_family_through_plugin(tmp_path):
    """The same grid with the local executor: its worker processes import the family's module because the CLI
    names it with ``--plugin`` (no launcher script)."""
    grid = _plugin_grid()
    if grid is None:
        pytest.skip("needs the CLI's --plugin option (issue 21, plugins)")
    toy_cli(*grid, "--suite", "toy_denoising", "--executor", "local", "--max-parallel", "1", "--results", str(tmp_path),
            "--no-progress", "--no-report", launcher=("-m", "kd_gan_bench.benchmarks.run"))
    recs = records(tmp_path)
    assert len(recs) == 3 and all(r["status"] == "done" for r in recs.values()), recs
    assert all(math.isfinite(r["metrics"]["psnr_clean"]) for r in recs.values())

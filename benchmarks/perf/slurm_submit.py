"""How long submitting a 1,000-job grid to SLURM takes, and how many ``sbatch`` calls it makes.

    python -m kd_gan_bench.benchmarks.perf.slurm_submit [--keep-jobs]

Needs a SLURM controller (``tests/slurm/start_cluster.sh`` starts a one-node one). The grid is the
``default_i2i`` suite with 8 seeds and hyperparameter sweeps (1 teacher, 1,016 students: 1,017 jobs);
its jobs run ``exit 0`` as their setup line, so a job that starts ends at once. The command timed
is the real CLI's ``main`` (``grid --executor slurm --no-wait``) in a fresh process (interpreter and imports
included; the import of the CLI alone is timed too, and the command reports whether it imported torch:
expanding, planning, resolving weights and submitting need none), then the same command
in this process with everything imported (the harness's own work: expansion, planning, pickling
1,000 jobs, the sbatch calls, the ledger). ``sbatch`` is wrapped by a counting shim on ``PATH``.
Afterwards the submitted arrays are cancelled (unless ``--keep-jobs``) so the measurement leaves
the cluster as it found it. Prints one JSON object; the exit status says whether the fresh
command stayed under the 5 s target. The machine's load average is reported with it: the
numbers scale with what else runs on the cores.
"""
from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import shutil
import stat
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.benchmarks.core.environment import REPO_ROOT
from kd_gan_bench.benchmarks.cli.main import main as cli

SEEDS = [str(seed) for seed in range(8)]  # one task, one teacher for every seed
SWEEPS = ["output_kd.lambda_recon=" + json.dumps(list(range(1, 63))),    # 62 values
          "feature_kd.lambda_distill=" + json.dumps(list(range(1, 59)))]  # 58 values: with 7 more methods, 127
#                                                                             students per seed
TARGET_S = 5.0


def _timed(command: list[str], env: dict[str, str]) -> tuple[float, subprocess.CompletedProcess]:
    start = time.perf_counter()
    result = subprocess.run(command, cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    return time.perf_counter() - start, result


#: ``python -m kd_gan_bench.benchmarks.run ARGS``, saying on its last stderr line whether it imported torch.
FRESH = ("import sys; from kd_gan_bench.benchmarks.cli.main import main; rc = main(sys.argv[1:]); "
         "print('imported torch:', 'torch' in sys.modules, file=sys.stderr); sys.exit(rc)")


def _grid_args(results: Path) -> list[str]:
    return ["grid", "--suite", "default_i2i", "--seeds", *SEEDS, *(a for sweep in SWEEPS for a in ("--set", sweep)),
            "--executor", "slurm", "--no-wait", "--no-progress", "--results", str(results), "--setup", "exit 0"]


def _submitted(results: Path) -> dict:
    return json.loads(next((results / "runs").glob(f"*/{slurm.LEDGER}")).read_text())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--keep-jobs", action="store_true", help="leave the submitted jobs on the cluster")
    args = parser.parse_args(argv)
    ok, why = slurm.available()
    if not ok:
        print(f"error: no SLURM here ({why}); start one with tests/slurm/start_cluster.sh", file=sys.stderr)
        return 1
    with tempfile.TemporaryDirectory(prefix="kdgan-perf-") as tmp:
        shim_dir, counter = Path(tmp, "bin"), Path(tmp, "sbatch-calls")
        shim_dir.mkdir()
        shim = shim_dir / "sbatch"
        shim.write_text(f'#!/bin/sh\necho call >> "{counter}"\nexec {shutil.which("sbatch")} "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IEXEC)
        path = f"{shim_dir}{os.pathsep}{os.environ['PATH']}"
        env = {**os.environ, "PATH": path}

        import_s, _ = _timed([sys.executable, "-c", "import kd_gan_bench.benchmarks.cli.main"], env)
        fresh = Path(tmp, "fresh")
        wall_s, result = _timed([sys.executable, "-c", FRESH, *_grid_args(fresh)], env)
        if result.returncode != 0:
            print(result.stdout + result.stderr, file=sys.stderr)
            return result.returncode
        calls = len(counter.read_text().splitlines())

        warm = Path(tmp, "warm")
        os.environ["PATH"] = path
        start = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            rc = cli(_grid_args(warm))
        in_process_s = time.perf_counter() - start
        assert rc == 0, "in-process grid failed"

        ledgers = [_submitted(fresh), _submitted(warm)]
        if not args.keep_jobs:
            subprocess.run(["scancel", *(a["array_id"] for ledger in ledgers for a in ledger["arrays"])], check=True)
        report = {
            "jobs": len(ledgers[0]["jobs"]),
            "sbatch_calls": calls,
            "arrays": [f"{a['phase']} x{a['size']}" for a in ledgers[0]["arrays"]],
            "grid_command_s": round(wall_s, 2),
            "of_which_python_and_imports_s": round(import_s, 2),
            "imported_torch": "imported torch: True" in result.stderr,
            "grid_in_process_s": round(in_process_s, 2),
            "load_average_1min": round(os.getloadavg()[0], 1),
            "target_s": TARGET_S,
            "within_target": wall_s < TARGET_S,
            "jobs_cancelled": not args.keep_jobs,
        }
    print(json.dumps(report, indent=1))
    return 0 if report["within_target"] else 1


if __name__ == "__main__":
    sys.exit(main())

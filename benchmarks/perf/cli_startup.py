"""Wall time of the CLI's light commands, beside ``python -c "import torch"`` measured in the same run.

    python -m kd_gan_bench.benchmarks.perf.cli_startup [--repeats 3]

Times, in fresh processes, ``python -m kd_gan_bench.benchmarks.run list`` and ``grid --suite cyclegan_horse2zebra
--dry-run`` (job table, plan and training-time estimate of the paper suite, into an empty results
folder), and ``import torch`` alone for scale. Listing and dry-running import no torch (see
``tests/test_registries.py``), so their target is 1.5 s each whatever torch costs on the machine.
Prints one JSON object (medians of ``--repeats`` runs, and the load average, since the numbers scale
with what else runs on the cores); the exit status says whether both commands met the target.
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

from kd_gan_bench.benchmarks.core.environment import REPO_ROOT

TARGET_S = 1.5


def _wall(command: list[str]) -> float:
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    start = time.perf_counter()
    subprocess.run(command, cwd=REPO_ROOT, env=env, check=True, capture_output=True)
    return time.perf_counter() - start


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="kdgan-startup-") as results:
        commands = {
            "list_s": [sys.executable, "-m", "kd_gan_bench.benchmarks.run", "list"],
            "dry_run_cyclegan_horse2zebra_s": [sys.executable, "-m", "kd_gan_bench.benchmarks.run", "grid", "--suite",
                                               "cyclegan_horse2zebra", "--dry-run", "--results", results],
            "import_torch_s": [sys.executable, "-c", "import torch"],
        }
        times = {name: round(statistics.median(_wall(cmd) for _ in range(args.repeats)), 2)
                 for name, cmd in commands.items()}
    within = all(times[k] < TARGET_S for k in ("list_s", "dry_run_cyclegan_horse2zebra_s"))
    print(json.dumps({**times, "target_s": TARGET_S, "within_target": within, "repeats": args.repeats,
                      "load_average_1min": round(os.getloadavg()[0], 1)}, indent=1))
    return 0 if within else 1


if __name__ == "__main__":
    sys.exit(main())

"""``python -m benchmarks.run ...`` from a checkout: runs the command line, :mod:`kd_gan_bench.benchmarks.cli.main`.

Only this file runs under the checkout's name; everything it runs is imported through the installed ``kd_gan_bench``
namespace (``pip install -e .``), so no module is loaded twice under two names and a ``datasets`` package of another
distribution keeps its name. Elsewhere: ``kd-gan-bench ...`` or ``python -m kd_gan_bench.benchmarks.run ...``.
"""
import sys
from pathlib import Path

try:
    from kd_gan_bench.benchmarks.cli import main as cli
except ModuleNotFoundError as exc:
    if not "kd_gan_bench.benchmarks.cli".startswith(exc.name or "-"):
        raise
    print(f"error: kd-gan-bench is not installed for {sys.executable}: run `pip install -e .` in this checkout",
          file=sys.stderr)
    sys.exit(2)

if __name__ == "__main__":
    if Path(cli.__file__).resolve().parents[1] != Path(__file__).resolve().parent:
        print(f"warning: {Path(__file__).parent} is not the installed kd-gan-bench, which runs from "
              f"{Path(cli.__file__).resolve().parents[2]} (`pip install -e .` here to run this checkout)",
              file=sys.stderr)
    sys.exit(cli.main())

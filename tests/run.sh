#!/usr/bin/env bash
# Set up and run the test suite: the README's test command, and what CI runs (.ci/run).
# Installs the package with its test extras, a stand-in for another distribution's `datasets`, the Debian
# packages the real-part tests use (Chromium for the browser test of the leaderboard, SLURM + munge for the cluster tests)
# when running as root with apt-get, then runs pytest. Extra arguments go to pytest.
set -euo pipefail
cd "$(dirname "$0")/.."

python -m pip install --quiet --disable-pip-version-check -e ".[test]"
# the example plugin the plugin tests load through its kd_gan_bench.plugins entry point; --no-deps and no build
# isolation: it brings nothing else in (it needs only kd-gan-bench, and setuptools to build: both installed above)
python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation tests/fixtures/kdgb_example_plugin
# Another distribution's top-level `datasets` beside ours, as in most ML environments (tests/test_packaging.py);
# an environment that already has Hugging Face's keeps it (the test then puts the stand-in first on its path).
if ! python -c "import importlib.metadata as m; m.distribution('datasets')" 2>/dev/null; then
  standin=$(mktemp -d) && cp -r tests/fixtures/standin_datasets/. "$standin"  # built outside the checkout
  python -m pip install --quiet --disable-pip-version-check --no-deps --no-build-isolation "$standin"
  rm -rf "$standin"
fi

missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v sbatch >/dev/null 2>&1 || missing+=(slurmctld slurmd slurm-client munge)
if [ ${#missing[@]} -gt 0 ]; then
  if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null 2>&1; then
    echo "installing Debian packages: ${missing[*]}"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  else
    echo "warning: not root or no apt-get; tests needing ${missing[*]} will skip" >&2
  fi
fi

exec python -m pytest "$@"

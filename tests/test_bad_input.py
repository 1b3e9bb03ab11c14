"""Bad input stops before anything runs, and the CLI's exit statuses say how a command ended."""
from __future__ import annotations

import os
import subprocess
import sys

import pytest

from benchmarks.grid import expand
from benchmarks.overrides import OverrideError
from benchmarks.run import EXIT_CODES, main
from benchmarks.suites import SUITES

try:
    from tests.cli_helpers import REPO, cli
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, cli


@pytest.mark.parametrize("override, message", [
    ("output_kd.lambda_recon=abc", "expected a float or null, got 'abc'"),  # a None default: the declared type
    ("output_kd.lambda_recon=[1,true]", "expected a float or null, got True"),
    ("output_kd.lambda_recon=-1", "expected a value >= 0.0"),
    ("output_kd.d_init=random", "expected one of 'teacher', 'scratch'"),
    ("crd.n_dis=2.5", "expected a int or null, got 2.5"),
    ("cgan_kd.init=teacher", "expected one of 'nokd', 'scratch'"),
    ("nokd.augment=rotate", "expected one of 'crop_flip', 'flip', 'none'"),
    ("fake_set.gan_steps=0", "expected a value >= 1"),
    ("fake_set.dre_hidden=64", "expected a list, got 64"),
    ("teacher.ngf=abc", "expected a int, got 'abc'"),
    ("schedule.steps=1.5", "expected a int, got 1.5"),
    ("evaluation.n_samples=many", "expected a int, got 'many'"),
])
def test_set_values_are_checked_against_their_declared_types(override, message):
    with pytest.raises(OverrideError, match=message.replace("[", r"\[").replace("(", r"\(")):
        expand(SUITES.get("smoke"), overrides=[override])


@pytest.mark.parametrize("override", ["output_kd.lambda_recon=null", "output_kd.lambda_recon=[1,10]",
                                      "crd.n_dis=2", "nokd.augment=flip", "fake_set.dre_hidden=[8,4]",
                                      "fake_set.filter_rho=0.5", "schedule.lr=1"])
def test_valid_set_values_pass(override):
    assert expand(SUITES.get("smoke"), overrides=[override])


def test_bad_set_value_exits_2_before_any_job(tmp_path, capsys):
    results = tmp_path / "r"
    assert main(["grid", "--suite", "smoke", "--set", "output_kd.lambda_recon=abc", "--dry-run",
                 "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert "--set output_kd.lambda_recon: expected a float or null, got 'abc'" in err
    assert not results.exists()


@pytest.mark.parametrize("seeds", [["-1"], ["0", "-3"]])
def test_negative_seed_is_refused(seeds, tmp_path, capsys):
    assert main(["grid", "--suite", "smoke", "--seeds", *seeds, "--dry-run", "--results", str(tmp_path)]) == 2
    assert "seeds must be integers >= 0" in capsys.readouterr().err


def test_closed_pipe_ends_list_quietly():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "benchmarks.run", "list"], cwd=REPO, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    proc.stdout.close()  # the reader is gone before the first line (`list | head -0`)
    err = proc.stderr.read().decode()
    assert proc.wait(timeout=120) == 141
    assert "Traceback" not in err and "BrokenPipeError" not in err, err


def test_help_documents_every_exit_status():
    out = cli("--help").stdout
    assert "exit status:" in out
    for code, text in EXIT_CODES.items():
        assert f"{code:<4} {text}"[:60] in " ".join(out.split("\n")), code
    readme = (REPO / "README.md").read_text()
    for code in EXIT_CODES:
        assert f"| {code} |" in readme, f"README's exit-status table lacks {code}"


def test_cluster_script_keeps_its_own_state_folders():
    conf = subprocess.run(["bash", str(REPO / "tests" / "slurm" / "start_cluster.sh"), "--print-config"],
                          capture_output=True, text=True, check=True).stdout
    settings = dict(line.split("=", 1) for line in conf.splitlines() if "=" in line and not line.startswith("#"))
    assert settings["ClusterName"] == "kdgan"
    for key in ("StateSaveLocation", "SlurmdSpoolDir"):
        assert settings[key].startswith("/var/spool/kdgan/"), (key, settings[key])  # never another cluster's folder

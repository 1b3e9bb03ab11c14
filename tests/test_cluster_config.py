"""SLURM resource settings: layering, the TOML file, CLI flags, errors, and the sbatch lines they become."""
from __future__ import annotations

import contextlib
import io
from dataclasses import replace
from pathlib import Path

import pytest
from submitit.slurm.slurm import _make_sbatch_string  # the sbatch text submitit would submit

from kd_gan_bench.benchmarks.planning.cluster_config import ClusterConfig, ClusterConfigError, SlurmResources, load_file, validate
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.methods import METHODS

EXAMPLE = """
[slurm]
partition = "gpu"
account = "kd"
time_min = 120
gpus = 1
cpus = 8
mem_gb = 31.5
array_parallelism = 16
setup = ["module load cuda/12.1", "source ~/venvs/kd/bin/activate"]
sbatch = ["--mail-type=FAIL", "--exclusive"]

[slurm.teacher]
time_min = 720

[slurm.method.feature_kd]
mem_gb = 48
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "cluster.toml"
    path.write_text(text)
    return path


def test_layers_in_order_of_precedence(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    entry = METHODS._lazy["output_kd"]  # the method's registry entry: what a grid reads without importing it
    monkeypatch.setitem(METHODS._lazy, "output_kd",
                        replace(entry, meta={**entry.meta, "resources": {"time_min": 90, "cpus": 2}}))
    suite = {"teacher": {"time_min": 240}, "student": {"time_min": 60, "qos": "normal"}}
    config = ClusterConfig(suite=suite, **load_file(write(tmp_path, EXAMPLE)), cli={"qos": "high"})
    teacher = config.resources("teacher", "teacher")
    assert (teacher.time_min, teacher.partition, teacher.gpus, teacher.qos) == (720, "gpu", 1, "high")
    assert config.resources("student", "scratch").time_min == 120  # file [slurm] over the suite
    assert config.resources("student", "feature_kd").mem_gb == 48.0  # [slurm.method.*] over [slurm]
    assert config.resources("student", "output_kd").cpus == 8  # the file over the method's own default
    bare = ClusterConfig(suite=suite)
    assert bare.resources("student", "output_kd").time_min == 90  # the method over the suite
    assert bare.resources("teacher", "teacher") == SlurmResources(time_min=240)


def test_resources_become_sbatch_lines(tmp_path: Path) -> None:
    config = ClusterConfig(**load_file(write(tmp_path, EXAMPLE)))
    parameters = config.resources("student", "feature_kd").submitit_parameters()
    script = _make_sbatch_string(command="run", folder=tmp_path, map_count=40, **parameters)
    for line in ("--partition=gpu", "--account=kd", "--time=120", "--gpus-per-node=1", "--cpus-per-task=8",
                 "--mem=49152M", "--array=0-39%16", "--mail-type=FAIL", "--exclusive", "--requeue",
                 "--signal=USR2@90"):
        assert f"#SBATCH {line}\n" in script, line
    assert "module load cuda/12.1\nsource ~/venvs/kd/bin/activate\n" in script
    assert "--gpus-per-node" not in "".join(_make_sbatch_string(
        command="run", folder=tmp_path, **SlurmResources().submitit_parameters()))


@pytest.mark.parametrize("text, message", [
    ("[slurm]\npartiton = 'gpu'\n", "unknown SLURM setting 'partiton'. Did you mean 'partition'? Valid: partition"),
    ("[slurm]\ntime_min = '2h'\n", "[slurm]: time_min must be an integer >= 1, got '2h'"),
    ("[slurm.teacher]\ngpus = -1\n", "[slurm.teacher]: gpus must be an integer >= 0, got -1"),
    ("[slurm]\nsbatch = ['mail-type=FAIL']\n", "is not a long sbatch flag"),
    ("[slurm]\nsbatch = ['--array=0-3']\n", "--array is set by the harness"),
    ("[slurm]\nsbatch = ['--time=10']\n", "--time is set by the harness"),
    ("[slurn]\ntime_min = 3\n", "unknown section(s) ['slurn']; valid: [slurm]"),
    ("[slurm.method.fature_kd]\ncpus = 2\n", "unknown method 'fature_kd'. Did you mean 'feature_kd'?"),
    ("[slurm]\ntime_min = [1,\n", "not valid TOML"),
])
def test_bad_config_file_names_the_key_and_the_valid_ones(tmp_path: Path, text: str, message: str) -> None:
    path = write(tmp_path, text)
    with pytest.raises(ClusterConfigError) as err:
        load_file(path)
    assert message in str(err.value) and str(path) in str(err.value)


def test_bad_settings_from_the_command_line_exit_2(tmp_path: Path) -> None:
    def grid(*extra: str) -> tuple[int, str]:
        err = io.StringIO()
        with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
            rc = main(["grid", "--suite", "smoke", "--dry-run", "--results", str(tmp_path / "r"), *extra])
        return rc, err.getvalue()

    rc, err = grid("--cluster-config", str(write(tmp_path, "[slurm]\nqos = 3\n")))
    assert rc == 2 and "qos must be a non-empty string, got 3" in err
    rc, err = grid("--cluster-config", str(tmp_path / "absent.toml"))
    assert rc == 2 and "absent.toml: no such file" in err
    rc, err = grid("--time-min", "0")
    assert rc == 2 and "command line: time_min must be an integer >= 1, got 0" in err
    rc, err = grid("--sbatch=--dependency=afterok:1")
    assert rc == 2 and "--dependency is set by the harness" in err
    rc, err = grid("--partition", "gpu")  # valid, but meaningless off SLURM: said so
    assert rc == 0 and "SLURM settings are ignored with --executor local" in err


def test_validate_accepts_a_single_string_for_line_lists() -> None:
    assert validate({"setup": "module load cuda", "mem_gb": 8}, "x") == {"setup": ("module load cuda",),
                                                                         "mem_gb": 8.0}

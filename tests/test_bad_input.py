"""Bad input stops before anything runs, and the CLI's exit statuses say how a command ended."""
from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.planning.overrides import OverrideError
from kd_gan_bench.benchmarks.cli.main import EXIT_CODES, main
from kd_gan_bench.benchmarks.planning.suites import SUITES
from kd_gan_bench.datasets import archives
from kd_gan_bench.datasets.errors import ArchiveError

try:
    from tests.cli_helpers import REPO, cli
    from tests.dataset_archives import cyclegan_zip, png_header_only, tar_gz_bomb, unpin, zip_bomb
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import REPO, cli
    from dataset_archives import cyclegan_zip, png_header_only, tar_gz_bomb, unpin, zip_bomb

#: Hypothesis runs a fixed, small number of examples in a derandomised order: the suite stays deterministic.
PROPERTIES = settings(derandomize=True, max_examples=150, deadline=None, database=None,
                      suppress_health_check=[HealthCheck.too_slow])


@pytest.mark.parametrize("override, message", [
    ("output_kd.lambda_recon=abc", "expected a float or null, got 'abc'"),  # a None default: the declared type
    ("output_kd.lambda_recon=[1,true]", "expected a float or null, got True"),
    ("output_kd.lambda_recon=-1", "expected a value >= 0.0"),
    ("output_kd.d_init=random", "expected one of 'teacher', 'scratch'"),
    ("output_kd.d_step=sideways", "expected one of 'after_g', 'before_g'"),
    ("recipe.init=bogus", "expected one of 'normal', 'pytorch', got 'bogus'"),
    ("recipe.d_norm=group", "expected one of 'auto', 'instance', 'batch'"),
    ("recipe.gan_mode=wgan", "expected one of 'auto', 'lsgan', 'vanilla', 'hinge'"),
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
                                      "fake_set.filter_rho=0.5", "schedule.lr=1",
                                      "recipe.init=pytorch", "recipe.d_norm=batch", "cat_ka.d_step=after_g"])
def test_valid_set_values_pass(override):
    assert expand(SUITES.get("smoke"), overrides=[override])


def test_bad_set_value_exits_2_before_any_job(tmp_path, capsys):
    results = tmp_path / "r"
    assert main(["grid", "--suite", "smoke", "--set", "output_kd.lambda_recon=abc", "--dry-run",
                 "--results", str(results)]) == 2
    err = capsys.readouterr().err
    assert "--set output_kd.lambda_recon: expected a float or null, got 'abc'" in err
    assert not results.exists()


def test_bad_recipe_init_exits_2_at_plan_time(capsys):
    """A recipe's ``init`` is checked against its choices when the plan is made, not inside the job."""
    assert main(["plan", "--suite", "smoke", "--set", "recipe.init=bogus"]) == 2
    err = capsys.readouterr().err
    assert "--set recipe.init: expected one of 'normal', 'pytorch', got 'bogus'" in err


@pytest.mark.parametrize("seeds", [["-1"], ["0", "-3"]])
def test_negative_seed_is_refused(seeds, tmp_path, capsys):
    assert main(["grid", "--suite", "smoke", "--seeds", *seeds, "--dry-run", "--results", str(tmp_path)]) == 2
    assert "seeds must be integers >= 0" in capsys.readouterr().err


def test_closed_pipe_ends_list_quietly():
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    proc = subprocess.Popen([sys.executable, "-m", "kd_gan_bench.benchmarks.run", "list"], cwd=REPO, env=env,
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


# ------------------------------------------------------------------------------------------ refused at plan time


def _refused(argv: list[str], results: Path, capsys) -> str:
    """Run ``argv`` into ``results``; it must exit 2 (argparse's own errors exit through ``SystemExit``) and leave
    no results folder. Returns stderr."""
    try:
        code = main([*argv, "--results", str(results)])
    except SystemExit as exc:
        code = exc.code
    assert code == 2
    err = capsys.readouterr().err
    assert not results.exists(), f"{results} was created by a refused command: {list(results.rglob('*'))}"
    return err


SMOKE = ["grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--dry-run"]


@pytest.mark.parametrize("extra, message", [
    (["--set", "teacher.ngf=-4"], "ngf must be an integer >= 1, got -4; change it with --set teacher.ngf=VALUE"),
    (["--set", "student.n_blocks=0"], "n_blocks must be an integer >= 1, got 0"),
    (["--set", "teacher.norm=group"], "norm must be one of 'instance', 'batch'"),
    (["--set", "recipe.d_layers=0"], "change it with --set recipe.d_layers=VALUE"),
    (["--set", "task.size=7"], "needs a multiple of 4 that is at least 8 (8, 12, ..., 256), got 7"),
    (["--set", "task.size=16", "--set", "recipe.d_layers=3"], "with 3 layers needs a size of at least 24, got 16"),
    (["--set", "schedule.steps=0"], "--set schedule.steps: expected a value >= 1, got 0"),
    (["--set", "schedule.log_every=0"], "--set schedule.log_every: expected a value >= 1, got 0"),
    (["--set", "schedule.decay_from=1.5"], "expected a value <= 1.0"),
    (["--set", "teacher.checkpoint=/nonexistent/latest_net_G.pth"], "nor an existing file"),
    (["--set", "schedule.lr=1e999"], "is not a finite number"),
    (["--seeds", str(2 ** 64)], "seeds must be integers >= 0 and below 2**63"),
    (["--max-parallel", "-1"], "expected an integer >= 1"),
    (["--max-parallel", "0"], "expected an integer >= 1"),
    (["--device", "tpu"], "unknown device 'tpu'; valid: auto (CUDA when available), cpu, cuda, cuda:N"),
    (["--executor", "slurm", "--sbatch=--mail-type=FAIL\n#SBATCH --no-requeue"], "holds a control character"),
    (["--executor", "slurm", "--sbatch=--no-requeue"], "use --max-requeues 0"),
    (["--executor", "slurm", "--sbatch=--gres=gpu:1"], "--gres is set by the harness: use --gpus"),
    (["--executor", "slurm", "--sbatch=--wrap=hostname"], "--wrap is set by the harness"),
    (["--executor", "slurm", "--sbatch=--no-req"], "--no-req (an abbreviation of --no-requeue)"),
    (["--executor", "slurm", "--sbatch=--mail-type=FAIL --requeue"], "holds more than one flag"),
    (["--executor", "slurm", "--setup=#SBATCH --wrap=hostname"], "an #SBATCH directive"),
])
def test_plan_time_refusals_exit_2_and_create_nothing(extra, message, tmp_path, capsys):
    """What used to pass planning and fail inside a job (after its teacher trained), hang (``--max-parallel
    -1``), become the default silently (``0``), crash in torch (``teacher.ngf=-4``) or smuggle an ``#SBATCH``
    line in is refused with exit 2 before anything is written."""
    err = _refused([*SMOKE, *extra], tmp_path / "results", capsys)
    assert message in err, err
    assert "Traceback" not in err


def test_every_schedule_range_is_what_the_schedules_accept():
    """The ``--set schedule.*`` ranges are the ones the families' schedule classes refuse inside a job."""
    from kd_gan_bench.benchmarks.families.families import FAMILIES
    from kd_gan_bench.methods.core.labelled_training import LR_POLICIES, SGDSchedule
    from kd_gan_bench.methods.core.training import Schedule

    for name, cls in (("i2i", Schedule), ("classification", SGDSchedule), ("regression", SGDSchedule)):
        declared = FAMILIES.get(name).schedule_declared
        for key in ("steps", "batch_size"):
            with pytest.raises(ValueError):
                cls.from_mapping({key: declared[key].low - 1})
            cls.from_mapping({key: declared[key].low})
        if "lr_policy" in declared:
            assert declared["lr_policy"].choices == LR_POLICIES


@pytest.mark.parametrize("job_id", ["../x", "/etc", "t-../../etc", "s-0123456789abc", "S-0123456789AB"])
def test_rerun_refuses_ids_that_are_not_job_ids(job_id, tmp_path, capsys):
    err = _refused(["rerun", job_id], tmp_path / "results", capsys)
    assert "is not a job id: a job id is a phase letter (t, a or s)" in err


@pytest.mark.parametrize("command", [["report"], ["status"], ["collect"]])
def test_reading_commands_refuse_a_folder_without_results(command, tmp_path, capsys):
    err = _refused(command, tmp_path / "typo", capsys)
    assert "no such folder" in err
    (tmp_path / "empty").mkdir()
    assert main([*command, "--results", str(tmp_path / "empty")]) == 2
    assert "holds no results (no jobs/ or runs/ folder)" in capsys.readouterr().err
    assert list((tmp_path / "empty").iterdir()) == []


def test_a_checkpoint_that_does_not_fit_is_refused_before_the_run_folder(tmp_path, capsys):
    """The last checks (a teacher checkpoint's tensors against its network) run before the run's folder, its
    manifest or any record exist."""
    import torch

    checkpoint = tmp_path / "latest_net_G.pth"
    torch.save({"model.1.weight": torch.zeros(5, 3, 7, 7)}, checkpoint)
    err = _refused(["grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "output_kd",
                    "--seeds", "0", "--executor", "debug", "--no-progress", "--set", f"teacher.checkpoint={checkpoint}"],
                   tmp_path / "results", capsys)
    assert f"teacher checkpoint {checkpoint} does not fit" in err and "--set teacher.ngf=N" in err


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="this machine has CUDA")
def test_cuda_without_cuda_is_refused_before_the_run_folder(tmp_path, capsys):
    err = _refused(["grid", "--suite", "smoke", "--tasks", "synthetic_edges2shapes", "--methods", "scratch",
                    "--seeds", "0", "--executor", "debug", "--no-progress", "--device", "cuda"],
                   tmp_path / "results", capsys)
    assert "--device cuda: CUDA is not available" in err and "use --device cpu or auto" in err


# ------------------------------------------------------------------------------------------ archives


@pytest.fixture
def unpinned(monkeypatch: pytest.MonkeyPatch) -> None:
    """horse2zebra without its release's sha256 pin: these archives are generated (a pinned one is refused first)."""
    unpin(monkeypatch, "horse2zebra")


def _prepare(root: Path, *archives_: Path) -> int:
    return main(["datasets", "prepare", "horse2zebra", "--data-root", str(root),
                 *[a for path in archives_ for a in ("--archive", str(path))]])


def test_a_zip_bomb_is_refused_before_extraction(tmp_path, capsys, unpinned):
    """1 MB of zip that unpacks to 1 GiB: refused from its central directory, nothing extracted or created."""
    bomb = zip_bomb(tmp_path / "horse2zebra.zip", {"horse2zebra/trainA/0000.jpg": b"x"},
                    "horse2zebra/trainB/zeros.jpg", 1 << 30)
    assert bomb.stat().st_size < 2 << 20
    root = tmp_path / "data"
    assert _prepare(root, bomb) == 2
    err = capsys.readouterr().err
    assert f"archive {bomb} would unpack to 1.00 GiB or more" in err and "decompression bomb" in err, err
    assert not root.exists()


def test_a_tar_gz_bomb_is_refused_at_its_first_header(tmp_path):
    bomb = tar_gz_bomb(tmp_path / "edges2shoes.tar.gz", "edges2shoes/train/1_AB.jpg", 1 << 30)
    with pytest.raises(ArchiveError, match="more than 50 times its own size"):
        archives.extract(bomb, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_too_many_members_and_too_little_space_are_refused(tmp_path, capsys, monkeypatch, unpinned):
    """The member cap and the free-space check, at sizes a test can make: the cap lowered, the disk's free space
    reported as 1 MiB (filling a real disk is not a unit test)."""
    archive = cyclegan_zip(tmp_path / "horse2zebra.zip", "horse2zebra",
                           {"trainA": 4, "trainB": 4, "testA": 2, "testB": 2}, size=8)
    cap = archives.MAX_MEMBERS
    monkeypatch.setattr(archives, "MAX_MEMBERS", 10)
    assert _prepare(tmp_path / "data", archive) == 2
    assert "would unpack to more than 10 members" in capsys.readouterr().err
    monkeypatch.setattr(archives, "MAX_MEMBERS", cap)
    monkeypatch.setattr(archives.shutil, "disk_usage", lambda _path: type("U", (), {"free": 1 << 20})())
    assert _prepare(tmp_path / "data", archive) == 2
    assert "0.00 GiB free: free some space or choose another --data-root" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


def test_a_pil_bomb_is_a_clear_image_error(tmp_path, capsys, unpinned):
    """An image declaring 400 M pixels (PIL raises DecompressionBombError) and one of 100 M (PIL only warns):
    both are the error every bad image gives, naming the file, exit 2."""
    archive = cyclegan_zip(tmp_path / "horse2zebra.zip", "horse2zebra",
                           {"trainA": 2, "trainB": 2, "testA": 1, "testB": 1}, size=8)
    with zipfile.ZipFile(archive, "a") as zf:
        zf.writestr("horse2zebra/trainA/0100.png", png_header_only(20000, 20000))
        zf.writestr("horse2zebra/testB/0100.png", png_header_only(10000, 10000))
    assert _prepare(tmp_path / "data", archive) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    for name in ("trainA/0100.png", "testB/0100.png"):
        assert f"{name} is too large to decode" in err, err
    assert "PIL's Image.MAX_IMAGE_PIXELS" in err


def test_two_archive_flags_for_one_archive_are_refused(tmp_path, capsys):
    one = cyclegan_zip(tmp_path / "a" / "horse2zebra.zip", "horse2zebra", {"trainA": 1}, size=8) \
        if (tmp_path / "a").mkdir() is None else None
    other = tmp_path / "other.zip"
    other.write_bytes(one.read_bytes())
    assert _prepare(tmp_path / "data", one, other) == 2
    assert "both give 'horse2zebra''s archive horse2zebra.zip: pass one --archive per archive" in capsys.readouterr().err
    assert not (tmp_path / "data").exists()


# ------------------------------------------------------------------------------------------ properties

_PIECES = st.sampled_from(["..", ".", "", "a", "/", "\\", "C:", "\x00", "\n", "b" * 300, "~", "é", "trainA"])
MEMBER_NAMES = st.lists(st.one_of(_PIECES, st.text(st.characters(exclude_categories=("Cs",)), max_size=8)),
                        min_size=1, max_size=8).map("".join)


@PROPERTIES
@given(name=MEMBER_NAMES, fmt=st.sampled_from(["zip", "tar.gz"]))
def test_no_member_name_escapes_the_target_folder(name, fmt):
    """Whatever a member is called (``..``, absolute, backslashes, drive letters, NUL, newlines, 300-byte
    components, unicode), extracting the archive either writes inside the target folder or fails with an
    ``ArchiveError``; nothing appears outside it."""
    import io
    import tarfile

    with tempfile.TemporaryDirectory() as tmp:
        top = Path(tmp)
        archive = top / f"a.{fmt}"
        if fmt == "zip":
            with zipfile.ZipFile(archive, "w") as zf:
                zf.writestr("ok.txt", "ok")
                info = zipfile.ZipInfo(name)  # zipfile cuts a name at its first NUL, as readers do
                zf.writestr(info if info.filename else "x", "payload")
        else:
            with tarfile.open(archive, "w:gz", format=tarfile.PAX_FORMAT) as tf:
                for member, data in (("ok.txt", b"ok"), (name or "x", b"payload")):
                    info = tarfile.TarInfo(member)
                    info.size = len(data)
                    tf.addfile(info, io.BytesIO(data))
        dest = top / "deep" / "dest"
        before = {p for p in top.rglob("*")}
        try:
            archives.extract(archive, dest)
        except ArchiveError:
            pass
        outside = {p for p in top.rglob("*") if p not in before and dest not in p.parents and p != dest}
        assert outside <= {top / "deep"}, outside


_SECTIONS = st.sampled_from(["task", "teacher", "student", "recipe", "schedule", "teacher_schedule", "evaluation",
                             "output_kd", "srpkd", "fake_set", "nosuch", "", "teacher.", "."])
_KEYS = st.sampled_from(["size", "ngf", "n_blocks", "arch", "norm", "checkpoint", "steps", "batch_size", "lr",
                         "lambda_recon", "ndf", "d_layers", "n_samples", "x", ""])
_VALUES = st.one_of(st.integers(-2 ** 70, 2 ** 70).map(str), st.floats(allow_nan=True).map(repr),
                    st.sampled_from(["null", "true", "[]", "[1,10]", "{}", '"s"', "1e999", "-0", "[" * 2000,
                                     "9" * 5000, "resnet_generator", "tpu", "../x", "", "="]),
                    st.text(max_size=12))
SET_ITEMS = st.one_of(st.text(max_size=40),
                      st.builds(lambda s, k, v: f"{s}.{k}={v}", _SECTIONS, _KEYS, _VALUES))


@PROPERTIES
@given(item=SET_ITEMS)
def test_set_parsing_only_ever_refuses_with_bad_input(item):
    """Any ``--set`` text: the dry run either plans (exit 0) or refuses as bad input (exit 2, a message, no
    traceback); it never raises, and creates no results folder."""
    import contextlib
    import io

    with tempfile.TemporaryDirectory() as tmp:
        results = Path(tmp) / "results"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(["grid", "--suite", "smoke_i2i", "--tasks", "synthetic_edges2shapes", "--methods", "output_kd",
                         "--seeds", "0", "--dry-run", "--no-progress", "--set", item, "--results", str(results)])
        assert code in (0, 2), (code, err.getvalue())
        assert code == 0 or err.getvalue().startswith("error: "), err.getvalue()
        assert not results.exists()

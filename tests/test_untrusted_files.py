"""Files are data, never code: the attack tests of a shared results folder, weights cache and data root.

Each payload is a pickle whose ``__reduce__`` writes a marker file when it is unpickled; the tests place it
where the harness reads files (FID weights in the cache with a matching record, ``--fid-weights``, a CIFAR batch,
a SLURM ledger's result pickle and logs outside the run folder) and assert that the harness refuses it with a
clear error and that the marker never appears. Then the pins (full sha256 of the official weights files, the
CycleGAN archives), https downloads, and the CSV exports' formula guard.
"""
from __future__ import annotations

import csv
import hashlib
import json
import pickle
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import torch

from kd_gan_bench.benchmarks.metrics import fid
from kd_gan_bench.benchmarks.metrics.extractor import INCEPTION, Extractor, resolve_extractor
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.execution.slurm_ledger import LEDGER, Submission, latest_submissions
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.families.teacher_catalog import CHECKPOINTS
from kd_gan_bench.datasets import DATASETS, load_task
from kd_gan_bench.datasets.labelled import DatasetError
from kd_gan_bench.methods.weights import resolver as W
from kd_gan_bench.methods.networks.inception_net import TensorOnlyInceptionV3, inception_skeleton
from kd_gan_bench.report.csv_guard import formula_safe_frame


class Payload:
    """Unpickling this runs ``exec``, which writes ``marker``."""

    def __init__(self, marker: Path) -> None:
        self.code = f"open({str(marker)!r}, 'w').write('payload ran')"

    def __reduce__(self) -> tuple:
        return exec, (self.code,)


@pytest.fixture
def marker(tmp_path: Path) -> Path:
    path = tmp_path / "PAYLOAD_RAN"
    yield path
    assert not path.exists(), "a payload pickle was executed"


@pytest.fixture
def hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    monkeypatch.delenv("KDGAN_FID_WEIGHTS", raising=False)
    folder = tmp_path / "torch_home" / "hub" / "checkpoints"
    folder.mkdir(parents=True)
    return folder


def images(n: int = 2, size: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), generator=torch.Generator().manual_seed(0), dtype=torch.uint8)


# ---- FID weights ----------------------------------------------------------------------------------

def test_payload_as_converted_fid_weights_with_a_matching_record(hub: Path, marker: Path,
                                                                 capsys: pytest.CaptureFixture) -> None:
    evil = hub / W.INCEPTION_CONVERTED
    torch.save({"Conv2d_1a_3x3.conv.weight": Payload(marker)}, evil)
    W.sidecar(evil).write_text(json.dumps({"sha256": hashlib.sha256(evil.read_bytes()).hexdigest()}))
    assert main(["weights", "verify", "inception"]) == 2
    out, err = capsys.readouterr()
    assert "verified" not in out and f"converted weights {evil} have content sha256" in err
    with pytest.raises(W.WeightsError, match="the file was changed"):
        resolve_extractor()
    with pytest.raises(W.WeightsError, match=f"{evil} is not a weights file of tensors only .*nothing in it ran"):
        fid.extract_features(images(), Extractor(INCEPTION, str(evil), True), "cpu")


def test_payload_as_fid_weights_given_by_the_user(hub: Path, tmp_path: Path, marker: Path) -> None:
    evil = tmp_path / "inception.pth"
    torch.save({"Conv2d_1a_3x3.conv.weight": Payload(marker)}, evil)
    ext = resolve_extractor(fid_weights=evil)  # a user file of unknown hash is allowed, and recorded unpinned
    assert ext.weights_origin == "user file inception.pth (unpinned)"
    assert ext.weights_sha256 == hashlib.sha256(evil.read_bytes()).hexdigest()
    with pytest.raises(W.WeightsError, match="weights_only=True and refused"):
        fid.compute_fid_kid(images(), images(), real_cache_name="x", cache_root=tmp_path / "cache", extractor=ext,
                            device=torch.device("cpu"))


def test_weights_that_do_not_fit_are_named(tmp_path: Path) -> None:
    """Strict loading (the generated release-format file loading is tests/test_fid.py's): a missing tensor is named."""
    state = inception_skeleton().state_dict()
    del state["Mixed_7c.branch_pool.conv.weight"]
    torch.save(state, tmp_path / "short.pth")
    with pytest.raises(W.WeightsError, match=r"does not fit torch-fidelity's InceptionV3: .*Mixed_7c\.branch_pool"):
        TensorOnlyInceptionV3(INCEPTION, ["2048"], feature_extractor_weights_path=str(tmp_path / "short.pth"))


@pytest.mark.parametrize("name", [n for n, spec in W.WEIGHTS.items() if spec.sha256])
def test_official_weights_files_are_pinned_by_full_sha256(name: str, hub: Path) -> None:
    spec = W.WEIGHTS.get(name)
    assert len(spec.sha256) == 64 and spec.sha256.startswith(spec.filename.rsplit("-", 1)[-1].split(".")[0])
    impostor = hub / spec.filename
    impostor.write_bytes(b"x" * 1000)
    with pytest.raises(W.WeightsError, match=f"{impostor} has sha256 .*, but {spec.filename} has {spec.sha256}"):
        W.find_local(name)


def test_content_pin_refuses_archives_torch_and_zipfile_could_read_differently(tmp_path: Path) -> None:
    path = tmp_path / "w.pth"
    with open(path, "wb") as fh:
        torch.save({"w": torch.ones(3)}, fh)
    before = W.content_sha256(path)
    with zipfile.ZipFile(path, "a") as zf:
        zf.writestr("other/data.pkl", b"not the tensors that were pinned")
    with pytest.raises(W.WeightsError, match="more than one top folder"):
        W.verify_converted(path, W.ConvertedFile("test", before))


# ---- CIFAR ----------------------------------------------------------------------------------------

def test_payload_as_a_cifar_batch(tmp_path: Path, marker: Path) -> None:
    folder = tmp_path / "cifar-10-batches-py"
    folder.mkdir()
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        data = np.zeros((2, 3072), dtype=np.uint8)
        with open(folder / name, "wb") as fh:
            pickle.dump({"data": Payload(marker) if name == "data_batch_1" else data, "labels": [0, 1]}, fh)
    with pytest.raises(DatasetError, match=r"untrusted CIFAR file .*data_batch_1: it names builtins\.exec"):
        load_task("cifar10", root=str(tmp_path))
    with open(folder / "data_batch_1", "wb") as fh:  # numpy arrays, as the release pickles them, still load
        pickle.dump({"data": np.zeros((2, 3072), dtype=np.uint8), "labels": [0, 1]}, fh, protocol=5)
    assert load_task("cifar10", root=str(tmp_path), size=8).num_classes == 10


# ---- SLURM ledger and submitit's files ------------------------------------------------------------

def _run_folder(store: ResultStore, run: str) -> tuple[Path, str]:
    """A run folder with a manifest holding one real job config; returns it and the job id."""
    from kd_gan_bench.benchmarks.planning.grid import expand
    from kd_gan_bench.benchmarks.planning.suites import SUITES

    job = expand(SUITES.get("smoke_i2i"))[0]
    run_dir = store.root / "runs" / run
    (run_dir / "submitit").mkdir(parents=True)
    (run_dir / "manifest.json").write_text(json.dumps({"jobs": {job.job_id: job.to_dict()}}))
    return run_dir, job.job_id


def test_ledger_paths_outside_the_run_folder_are_never_read(tmp_path: Path, marker: Path,
                                                            monkeypatch: pytest.MonkeyPatch,
                                                            capsys: pytest.CaptureFixture) -> None:
    from kd_gan_bench.benchmarks.execution import slurm_follow

    store = ResultStore(tmp_path / "results")
    run = "20261207-000000-abcd"
    run_dir, job_id = _run_folder(store, run)
    evil = tmp_path / "elsewhere" / "evil_result.pkl"
    evil.parent.mkdir()
    evil.write_bytes(pickle.dumps(("error", Payload(marker))))
    secret = tmp_path / "elsewhere" / "secret.txt"
    secret.write_text("Traceback (most recent call last):\nSecretError: the private key\n")
    (run_dir / "submitit" / "linked_err.log").symlink_to(secret)  # inside by name, outside once resolved
    entry = dict(job_id=job_id, run=run, slurm_id="999999999", phase="teacher", teacher_id=None, dependency=None,
                 stdout=str(run_dir / "submitit" / "out.log"), stderr=str(secret), result=str(evil))
    (run_dir / LEDGER).write_text(json.dumps({"run": run, "arrays": [], "jobs": {job_id: entry}}))
    assert latest_submissions(store) == {}
    err = capsys.readouterr().err
    assert f"entry {job_id!r} ignored" in err and str(evil) in err and str(secret) in err
    linked = Submission(**{**entry, "stderr": str(run_dir / "submitit" / "linked_err.log"),
                           "result": str(run_dir / "submitit" / "result.pkl")})
    (run_dir / LEDGER).write_text(json.dumps({"run": run, "arrays": [], "jobs": {job_id: linked.__dict__}}))
    assert latest_submissions(store) == {}  # the log's name is inside the run folder, the file it links to is not
    assert "linked_err.log" in capsys.readouterr().err
    # reconcile, given such submissions anyway, records the lost job from what lies inside the run folder only
    monkeypatch.setattr(slurm_follow, "scheduler_states", lambda ids: {})
    for sub in (Submission(**entry), linked):
        live = slurm_follow.reconcile(store, {job_id: sub})
        record = store.read_record(job_id)
        assert live[job_id].status == "failed" and "no longer known to SLURM" in record["error"]
        assert "SecretError" not in record["error"] and "private key" not in record["error"]
        (store.root / "jobs" / job_id / "record.json").unlink()


def test_lost_job_error_comes_from_its_stderr_log(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kd_gan_bench.benchmarks.execution import slurm_follow

    store = ResultStore(tmp_path / "results")
    run = "20261207-000000-abcd"
    run_dir, job_id = _run_folder(store, run)
    stderr = run_dir / "submitit" / "1_0_log.err"
    stderr.write_text("starting\nTraceback (most recent call last):\n  File \"x.py\", line 1, in f\n    g()\n"
                      "ValueError: teacher.ngf must be positive\nsrun: error: task 0 exited\n")
    entry = dict(job_id=job_id, run=run, slurm_id="999999999_0", phase="teacher", teacher_id=None, dependency=None,
                 stdout=str(run_dir / "submitit" / "1_0_log.out"), stderr=str(stderr),
                 result=str(run_dir / "submitit" / "1_0_result.pkl"))
    (run_dir / LEDGER).write_text(json.dumps({"run": run, "arrays": [], "jobs": {job_id: entry}}))
    subs = latest_submissions(store)
    assert list(subs) == [job_id]
    monkeypatch.setattr(slurm_follow, "scheduler_states", lambda ids: {"999999999_0": ("FAILED", "sacct")})
    slurm_follow.reconcile(store, subs)
    error = store.read_record(job_id)["error"]
    assert "ended FAILED without writing a record: ValueError: teacher.ngf must be positive;" in error


# ---- downloads ------------------------------------------------------------------------------------

def _urls() -> list[tuple[str, str]]:
    urls = [(f"dataset {name}", a.url) for name, spec in DATASETS.items() for a in spec.archives if a.url]
    urls += [(f"teacher {name}", c.url) for name, c in CHECKPOINTS.items()]
    urls += [(f"weights {name}", s.url) for name, s in W.WEIGHTS.items() if s.url]
    return urls


@pytest.mark.parametrize(("what", "url"), _urls())
def test_every_download_is_over_https(what: str, url: str) -> None:
    assert url.startswith("https://"), f"{what} is fetched over plain http: {url}"


def test_cyclegan_archives_are_pinned() -> None:
    for name in ("horse2zebra", "summer2winter_yosemite"):
        (archive,) = DATASETS.get(name).archives
        assert archive.sha256 and len(archive.sha256) == 64, name


# ---- CSV exports ----------------------------------------------------------------------------------

def test_csv_cells_that_would_be_formulas_are_quoted(tmp_path: Path) -> None:
    try:
        from tests.test_report import make_jobs
    except ImportError:
        from test_report import make_jobs
    from kd_gan_bench.report.board import build_board
    from kd_gan_bench.report.export import write_board

    df = make_jobs(tmp_path)
    df.loc[df["method"] == "feature_kd", "hparams"] = "=HYPERLINK(\"http://x\",\"y\")"
    df.loc[df["method"] == "output_kd", "rerun_command"] = "@SUM(1+1)*cmd|' /C calc'!A0"
    write_board(build_board(df), tmp_path)
    with open(tmp_path / "leaderboard.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    cells = [v for row in rows for v in row.values() if v]
    assert any(v.startswith("'=HYPERLINK") for v in cells) and any(v.startswith("'@SUM") for v in cells)
    assert not [v for v in cells if v.startswith(("=", "+", "@", "\t", "\r"))]
    assert all(float(row["fid_mean"]) > 0 for row in rows if row["fid_mean"])  # numbers stay numbers
    frame = formula_safe_frame(pd.DataFrame({"x": [-1.5, 2.0], "t": ["-2.5", "-x"]}))
    assert frame["x"].tolist() == [-1.5, 2.0] and frame["t"].tolist() == ["-2.5", "'-x"]

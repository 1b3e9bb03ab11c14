"""The papers' suites (method wildcard, schedules, published teachers) and the dry run's time estimate."""
from __future__ import annotations

import json
import math
from dataclasses import replace
from pathlib import Path

import pytest

from kd_gan_bench.benchmarks.planning import plugins
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.planning.estimate import CALIBRATION_DIR, calibrate, estimate, format_estimate, step_key, step_work
from kd_gan_bench.benchmarks.planning.grid import expand, resolve_methods
from kd_gan_bench.benchmarks.planning.paper_suites import epochs_to_steps, paper_schedule
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES, Suite
from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.output_kd.method import OutputKD
from kd_gan_bench.methods.output_kd.spec import SPEC as OUTPUT_KD


def test_paper_suites_are_the_papers_setups() -> None:
    h2z = expand(SUITES.get("cyclegan_horse2zebra"))
    teacher, students = h2z[0], h2z[1:]
    assert teacher.phase == "teacher" and teacher.task == "horse2zebra" and teacher.task_args == {}
    assert teacher.teacher == {"arch": "resnet_generator", "ngf": 64, "n_blocks": 9, "checkpoint": "cyclegan/horse2zebra"}
    assert {(j.student["arch"], j.student["ngf"]) for j in students} == {
        ("resnet_generator", 16), ("resnet_generator", 32), ("mobile_resnet_generator", 16)}
    i2i = sorted(n for n, cls in METHODS.items() if cls.family == "i2i" and plugins.provider("method", n) is None)
    assert sorted({j.method for j in students}) == i2i and len(students) == 3 * 3 * len(i2i)  # 3 networks, 3 seeds
    assert {j.seed for j in students} == {0, 1, 2} and {j.teacher_id for j in students} <= {teacher.job_id, None}
    plain = next(j for j in students if j.method == "output_kd")  # cat_ka has its paper's (method_schedules)
    assert plain.schedule["steps"] == 200 * 1334 and plain.schedule["decay_from"] == 0.5
    e2s = expand(SUITES.get("pix2pix_edges2shoes"))
    assert e2s[0].teacher["checkpoint"] == "pix2pix/edges2shoes" and e2s[0].schedule["batch_size"] == 4
    assert e2s[0].schedule["steps"] == 15 * 12457  # ceil(49825 / 4) steps per epoch
    city = expand(SUITES.get("pix2pix_cityscapes"))
    assert city[0].task == "cityscapes" and city[0].schedule["steps"] == 250 * 2975
    assert city[0].schedule["decay_from"] == pytest.approx(0.4)
    assert epochs_to_steps(3, 10, 4) == 9 and paper_schedule(1, 1, 10, 1)["decay_from"] == 0.5


def test_cgan_kd_suites_are_the_papers_pairs_and_match_the_reported_rows() -> None:
    jobs = expand(SUITES.get("cgan_kd_cifar100"))
    teachers = {j.teacher["arch"]: j for j in jobs if j.phase == "teacher"}
    assert set(teachers) == {"resnet110", "vgg13", "wrn_40_2", "resnet32x4"}  # VGG-13 teaches two parts: once
    assert {t.schedule["steps"] for t in teachers.values()} == {240 * 782} and all(
        t.schedule["lr"] == 0.05 for t in teachers.values())
    students = [j for j in jobs if j.phase == "student"]
    assert {(j.teacher["arch"], j.student["arch"]) for j in students} == {
        ("resnet110", "resnet20"), ("vgg13", "vgg8"), ("vgg13", "mobilenetv2"), ("wrn_40_2", "wrn_40_1"),
        ("wrn_40_2", "wrn_16_2"), ("resnet32x4", "resnet8x4")}
    assert {j.schedule["lr"] for j in students if j.student["arch"] == "mobilenetv2"} == {0.01}
    assert {j.method for j in students} == {"nokd", "vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd"}
    fake_sets = [j for j in jobs if j.phase == "artifact"]
    # the DenseNet-121 filters, so every pair shares the fake sets: cgan_kd's and cgan_kd+vanilla_kd's (rho 0.8)
    assert len(fake_sets) == 2 and {j.hparams["n_per_label"] for j in fake_sets} == {5000}
    assert {(j.teacher["arch"], j.teacher_id, j.hparams["filter_rho"]) for j in fake_sets} == {
        ("densenet121", None, None), ("densenet121", None, 0.8)}
    utk = expand(SUITES.get("cgan_kd_utkface"))
    assert {j.task for j in utk} == {"utkface"} and {j.family for j in utk} == {"regression"}
    # the published CIFAR-100 / UTKFace rows name networks these suites train
    from kd_gan_bench.benchmarks.records.published import load_published
    from kd_gan_bench.methods.networks.network_spec import describe_network
    ours = {describe_network(j.student) for j in students + [j for j in utk if j.phase == "student"]}
    published = load_published()
    matched = published[published["task"].isin(["cifar100", "utkface"]) & (published["match_method"] != "")]
    assert set(matched["match_network"]) <= ours and {"resnet20", "mobilenetv2", "vgg8"} <= set(matched["match_network"])


def test_method_wildcard_picks_up_methods_registered_later() -> None:
    class LateKD(OutputKD, spec=replace(OUTPUT_KD, name="late_kd")):
        """A method registered after the suites were written."""

    class OtherFamily(OutputKD, spec=replace(OUTPUT_KD, name="cls_only", families=("cls",))):
        """A method of another task family."""

    try:
        methods = {j.method for j in expand(SUITES.get("cyclegan_horse2zebra")) if j.phase == "student"}
        assert "late_kd" in methods and "cls_only" not in methods
        assert resolve_methods(["*_kd", "scratch"], "i2i") == ["feature_kd", "late_kd", "output_kd", "scratch"]
        with pytest.raises(ValueError, match="matches no registered i2i method"):
            resolve_methods(["nothing*"], "i2i")
    finally:
        del METHODS._entries["late_kd"], METHODS._entries["cls_only"]


def test_dry_run_shows_phases_and_a_cpu_estimate(tmp_path: Path, capsys: pytest.CaptureFixture,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KDGAN_DATA_ROOT", "unused")  # grid exports --data-root; restored afterwards
    assert main(["grid", "--suite", "cyclegan_horse2zebra", "--dry-run", "--results", str(tmp_path / "r"),
                 "--data-root", str(tmp_path / "data")]) == 0
    out = capsys.readouterr().out
    n_configs = 3 * sum(cls.family == "i2i" and plugins.provider("method", name) is None  # built in: a pattern's
                        for name, cls in METHODS.items())                                 # methods (not a plugin's)
    n_students = 3 * n_configs  # every configuration runs seeds 0, 1, 2
    assert f"{1 + n_students} jobs (1 teachers, {n_students} students)" in out
    assert "teacher: 1 job(s) = 1 configuration(s) x 1 seed(s) (0), 1 loaded from a published checkpoint" in out
    steps = sum(j.schedule["steps"] for j in expand(SUITES.get("cyclegan_horse2zebra")) if j.phase == "student")
    n_cat = 3 * 3  # 3 networks x 3 seeds: cat_ka's 1000 epochs at batch 80; the others 266,800 steps (200 epochs)
    assert steps == (n_students - n_cat) * 266800 + n_cat * 1000 * math.ceil(1334 / 80)
    assert (f"student: {n_students} job(s) = {n_configs} configuration(s) x 3 seed(s) (0, 1, 2), {n_students} "
            f"training {steps:,} steps") in out
    assert "device-hours on cpu: built-in table" in out and "no GPU step times are known" in out
    assert "scaled by MACs from same step kind (scratch:unpaired resnet ngf16 b9 128px b1; built-in CPU table)" in out
    assert "data: horse2zebra is not prepared under" in out


def test_the_estimate_counts_every_seed() -> None:
    """Three seeds cost three times one seed, and the total line says that seeds are included."""
    suite, store = SUITES.get("pix2pix_edges2shoes"), ResultStore(Path("/nonexistent-store"))
    one = estimate(expand(suite, seeds=[0]), store)
    three = estimate(expand(suite), store)
    students = [e for e in three if e.job.phase == "student"]
    assert len(students) == 3 * len([e for e in one if e.job.phase == "student"])
    hours = sum(e.seconds for e in three) / 3600
    assert hours == pytest.approx(3 * sum(e.seconds for e in one) / 3600)
    text = format_estimate(three)
    assert f"total: {len(three)} job(s), {hours:,.1f} device-hours of training with every seed included" in text
    assert "(students: 3 seed(s) each)" in text


def _record(job: JobConfig, train_s: float, device: str, name: str) -> dict:
    return {"job_id": job.job_id, "status": "done", "config": job.to_dict(), "timings": {"train_s": train_s},
            "environment": {"device": device, "device_name": name}, "metrics": {}}


def test_estimate_prefers_gpu_measurements(tmp_path: Path) -> None:
    store = ResultStore(tmp_path)
    jobs = expand(SUITES.get("cyclegan_horse2zebra"), methods=["output_kd", "scratch"])
    students = [j for j in jobs if j.phase == "student"]
    # a finished job of the same step kind on a GPU: median train_s / steps
    done = students[0]
    store.write_record(_record(done, 0.05 * done.schedule["steps"], "cuda:0", "NVIDIA H100 80GB HBM3"))
    # a calibration file for the rest of the kinds (as `calibrate` writes on a GPU node)
    other = next(j for j in students if j.method != done.method)
    cal = {"device": "cuda: NVIDIA H100 80GB HBM3", "measurements": [
        {"key": vars(step_key(other)), "s_per_step": 0.02, "device": "cuda: NVIDIA H100 80GB HBM3",
         "work": step_work(other)}]}
    (tmp_path / CALIBRATION_DIR).mkdir()
    (tmp_path / CALIBRATION_DIR / "gpu.json").write_text(json.dumps(cal))
    est = {e.job.job_id: e for e in estimate(jobs, store)}
    assert est[done.job_id].seconds == pytest.approx(0.05 * done.schedule["steps"])
    assert est[done.job_id].source == "store: median of 1 done job(s)"
    assert est[other.job_id].seconds == pytest.approx(0.02 * other.schedule["steps"])
    scaled = [e for e in est.values() if e.source.startswith("scaled by MACs")]
    assert scaled and all(e.device == "cuda: NVIDIA H100 80GB HBM3" for e in scaled)
    text = format_estimate(list(est.values()))
    assert "GPU-hours on cuda: NVIDIA H100 80GB HBM3" in text and "no GPU step times" not in text


def test_calibrate_measures_every_step_kind(tmp_path: Path) -> None:
    suite = Suite(name="tiny", description="", tasks=({"name": "synthetic_edges2shapes", "size": 16, "n_train": 4,
                                                      "n_test": 2},),
                  teacher={"arch": "resnet_generator", "ngf": 4, "n_blocks": 1},
                  students=({"arch": "resnet_generator", "ngf": 2, "n_blocks": 1},), methods=("output_kd",),
                  recipe={"ndf": 4, "d_layers": 1}, teacher_schedule={"batch_size": 2},
                  student_schedule={"batch_size": 2})
    store = ResultStore(tmp_path)
    path = calibrate(expand(suite), store, device="cpu", steps=(1, 2), log=lambda _: None)
    entries = json.loads(path.read_text())["measurements"]
    assert sorted(e["key"]["kind"] for e in entries) == ["output_kd:paired", "teacher:paired"]
    assert all(e["s_per_step"] > 0 and e["device"].startswith("cpu") for e in entries)
    est = estimate(expand(suite), store)
    assert all(e.source.startswith("calibration") for e in est)

"""cGAN-KD's family on the harness: a tiny classification + regression grid through the CLI, its records,
artifacts and report section; the published cGAN-KD rows beside ours; a missing dataset failing only its jobs."""
from __future__ import annotations

import json
import math
import re
from pathlib import Path

import pandas as pd
import pytest

from kd_gan_bench.benchmarks.records.published import load_published
from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet
from kd_gan_bench.report import render_report

try:
    from tests.cli_helpers import cli, records
except ImportError:  # pytest's rootdir-relative import mode
    from cli_helpers import cli, records

LABELLED_TASKS = ("synthetic_shapes10", "synthetic_rotation")


@pytest.fixture(scope="module")
def labelled_grid(tmp_path_factory) -> tuple[Path, str]:
    """The composite smoke suite on both built-in labelled tasks plus CIFAR-100, whose files are absent."""
    results = tmp_path_factory.mktemp("labelled")
    proc = cli("grid", "--suite", "smoke", "--tasks", *LABELLED_TASKS, "cifar100", "--executor", "debug",
               "--results", str(results), "--data-root", str(results / "no-data"), "--no-progress", check=False)
    assert proc.returncode == 1, proc.stderr  # CIFAR-100's jobs failed or were blocked: reported, then exit 1
    return results, proc.stdout


#: The fake set each cGAN-KD method reads: cgan_kd+vanilla_kd's is its own (rho 0.8, labels not replaced).
FAKE_SET_OF = {"cgan_kd": "cgan_kd_fake_set", "cgan_kd+vanilla_kd": "cgan_kd_fake_set (kd)"}


def _by(recs: dict, task: str) -> dict[str, dict]:
    """A task's records by method; the two fake sets by ``FAKE_SET_OF``'s names."""
    def key(config: dict) -> str:
        kd_set = config["phase"] == "artifact" and not config["hparams"]["replace_labels"]
        return FAKE_SET_OF["cgan_kd+vanilla_kd"] if kd_set else config["method"]
    return {key(r["config"]): r for r in recs.values() if r["config"]["task"] == task}


def test_records_for_both_families(labelled_grid):
    results, _ = labelled_grid
    recs = records(results)
    for task, metric in zip(LABELLED_TASKS, ("accuracy", "mae")):
        jobs = _by(recs, task)
        assert set(jobs) == {"teacher", *FAKE_SET_OF.values(), "nokd", "vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd"}
        assert all(r["status"] == "done" for r in jobs.values()), {m: r["error"] for m, r in jobs.items()}
        for method, r in jobs.items():
            if method in FAKE_SET_OF.values():
                continue
            m = r["metrics"]
            assert m["quality_metric"] == metric and math.isfinite(m[metric]) and m[metric] >= 0
            assert m["eval_protocol"].startswith("top-1 accuracy" if metric == "accuracy" else "mean absolute error")
            for key in ("params", "macs", "latency_ms", "macs_ratio", "params_ratio"):
                assert m[key] > 0, key
            assert (m["macs_ratio"] > 1) == (method != "teacher")
            assert (results / "jobs" / r["job_id"] / "model.pt").exists()
        if metric == "accuracy":
            assert 0 <= jobs["nokd"]["metrics"]["accuracy"] <= 100


def test_fake_set_artifacts_are_made_once_and_read_by_the_cgan_kd_students(labelled_grid):
    results, _ = labelled_grid
    recs = records(results)
    for task in LABELLED_TASKS:
        jobs = _by(recs, task)
        for method, fake_set in FAKE_SET_OF.items():
            art = jobs[fake_set]
            m = art["metrics"]
            assert m["n_generated"] >= m["n_after_subsampling"] >= m["n_after_filtering"] >= m["n_final"] > 0
            assert math.isfinite(m["cgan_fid"]) and math.isfinite(m["fake_set_fid"])
            assert m["fid_extractor"] == "offline-randconv-v1" and "NOT Inception" in m["eval_protocol"]
            fake = FakeSet.load(results / "jobs" / art["job_id"] / "fake_set.pt")
            assert len(fake) == m["n_final"] == art["fake_set_stats"]["n_final"]
            assert art["config"]["teacher_id"] == jobs["teacher"]["job_id"]  # the smoke suite's teacher filters
            config = jobs[method]["config"]
            assert config["inputs"] == {"fake_set": art["job_id"], "student_init": jobs["nokd"]["job_id"]}
            assert jobs[method]["method_extras"]["n_train_fake"] == len(fake)
        # cgan_kd+vanilla_kd's set as the public code's run_distill_fake.sh: rho 0.8, the generated labels kept
        kd_stats = jobs[FAKE_SET_OF["cgan_kd+vanilla_kd"]]["fake_set_stats"]
        assert kd_stats["filter_rho"] == 0.8 and kd_stats["n_labels_replaced"] == 0
        for method in ("nokd", "vanilla_kd"):
            assert jobs[method]["method_extras"]["n_train_fake"] == 0


def test_a_missing_dataset_fails_only_its_jobs(labelled_grid):
    results, stdout = labelled_grid
    jobs = _by(records(results), "cifar100")
    teacher = jobs["teacher"]
    assert teacher["status"] == "failed"
    where = str(results / "no-data" / "cifar-100-python")  # --data-root reaches the labelled loaders
    assert "CIFAR-100 file not found" in teacher["error"] and where in teacher["error"]
    assert jobs["nokd"]["status"] == "failed" and where in jobs["nokd"]["error"]  # no teacher: it reads the data itself
    for method in (*FAKE_SET_OF.values(), "vanilla_kd", "cgan_kd", "cgan_kd+vanilla_kd"):
        assert jobs[method]["status"] == "blocked" and jobs[method]["error"], method
    assert "blocked" in stdout


def test_report_section_per_family(labelled_grid):
    results, _ = labelled_grid
    html = (results / "report" / "index.html").read_text()
    for anchor in ("classification-synthetic-shapes10", "regression-synthetic-rotation", "classification-cifar100"):
        assert f'id="{anchor}"' in html, anchor
    section = html[html.index('id="regression-synthetic-rotation"'):]
    section = section[:section.index("</section>")]
    for text in ("MAE", "cGAN-KD fake sets", "Fake-set FID", "cgan_kd+vanilla_kd", "mean absolute error",
                 "MAE vs compression", "cGAN-KD fake set&#39;s samples"):
        assert text in section, text
    assert 'src="data:image/png;base64,' in section  # the figure and the real-vs-fake sample grid
    section = html[html.index('id="classification-synthetic-shapes10"'):]
    assert "Top-1" in section[:section.index("</section>")]
    board = json.loads((results / "report" / "leaderboard.json").read_text())
    for task in (t for t in board["tasks"] if t["task"] in LABELLED_TASKS):  # the family's baselines, then the teacher
        assert {c["reference"] for c in task["comparisons"] if c["method"] == "cgan_kd"} == {"nokd", "vanilla_kd",
                                                                                             "teacher"}


def test_published_cgan_kd_rows_sit_beside_ours(tmp_path: Path) -> None:
    """Our CIFAR-100 ResNet-20 NOKD / cGAN-KD students are compared with Table 3 of the paper."""
    rows = [dict(job_id=f"s{i}", phase="student", status="done", family="classification", task="cifar100",
                 method=m, teacher="resnet110", student="resnet20", hparams="", seed=0, accuracy=acc, params=0.28,
                 macs=0.041, macs_ratio=6.2, params_ratio=6.2, latency_ms=1.0)
            for i, (m, acc) in enumerate([("nokd", 68.0), ("cgan_kd", 71.0)])]
    html = render_report(pd.DataFrame(rows), tmp_path, reported=load_published()).read_text()
    section = html[html.index('id="classification-cifar100"'):]
    section = section[:section.index("</section>")]
    assert "Reported in the papers" in section and "cGAN-KD Table 3" in section
    gaps = re.findall(r'<td class="gap-cell">([^<]*)</td>', section)
    assert "-0.83 vs 68.83 (NOKD)" in gaps and "+0.39 vs 70.61 (cGAN-KD)" in gaps, gaps


def test_fake_sets_follow_the_filtering_network_and_the_methods_settings() -> None:
    """A fake set filtered by its own network is one job for every teacher of the task; cgan_kd+vanilla_kd's
    own settings give it its own job; a configuration without them keeps its artifact job as it was."""
    from kd_gan_bench.benchmarks.planning.grid import expand
    from kd_gan_bench.benchmarks.planning.suites import SUITES
    from kd_gan_bench.methods.cgan_kd.pipeline import resolve_fake_hparams

    def fake_sets(suite: str, *overrides: str) -> dict[str, object]:
        jobs = expand(SUITES.get(suite), overrides=list(overrides))
        by_id = {j.job_id: j for j in jobs}
        return {j.method: by_id[j.inputs["fake_set"]] for j in jobs if j.method in FAKE_SET_OF}

    smoke = SUITES.get("smoke_classification")
    own = fake_sets("smoke_classification")
    assert own["cgan_kd"].job_id != own["cgan_kd+vanilla_kd"].job_id
    assert own["cgan_kd"].hparams == resolve_fake_hparams(smoke.fake_set)  # no override leaks into cgan_kd's
    assert own["cgan_kd+vanilla_kd"].hparams == resolve_fake_hparams(
        {**smoke.fake_set, "filter_rho": 0.8, "replace_labels": False})
    shared = fake_sets("smoke_classification", "cgan_kd+vanilla_kd.fake_filter_rho=null",
                       "cgan_kd+vanilla_kd.fake_replace_labels=null")
    assert shared["cgan_kd"].job_id == shared["cgan_kd+vanilla_kd"].job_id == own["cgan_kd"].job_id
    # a filtering network of its own (DenseNet-121): no teacher in the job, one fake set per method for the four
    # teachers of the CIFAR-100 paper suite's parts; filtered by each teacher, one per teacher again
    cifar = expand(SUITES.get("cgan_kd_cifar100"))
    arts = [j for j in cifar if j.phase == "artifact"]
    assert len(arts) == 2 and all(j.teacher == {"arch": "densenet121"} and j.teacher_id is None for j in arts)
    per_teacher = [j for j in expand(SUITES.get("cgan_kd_cifar100"), overrides=["fake_set.filter_net=teacher"])
                   if j.phase == "artifact"]
    assert len(per_teacher) == 2 * 4 and all(j.teacher_id for j in per_teacher)  # 4 teachers x 2 settings
    other = [j for j in expand(SUITES.get("cgan_kd_cifar100"), overrides=['fake_set.filter_net={"arch": "resnet56"}'])
             if j.phase == "artifact"]
    assert len(other) == 2 and all(j.teacher == {"arch": "resnet56"} and j.teacher_id is None for j in other)

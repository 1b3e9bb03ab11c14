"""The performance scripts under ``benchmarks/perf`` still run: each at a tiny size, no timing asserted."""
from __future__ import annotations

import re

import pytest

from kd_gan_bench.benchmarks.perf import method_step_times


def test_method_step_times_runs_every_method_and_student(empty_hub: object, capsys: pytest.CaptureFixture) -> None:
    argv = ["--size", "32", "--teacher-ngf", "8", "--student-ngf", "4", "--blocks", "2", "--steps", "1",
            "--warmup", "1", "--device", "cpu", "--batch-size", "2", "--clock", "cpu",
            "--rounds", "2"]  # batch 2: cat_ka's kernel alignment needs it; 2 rounds: ratios per round, medians shown
    assert method_step_times.main(argv) == 0
    out = capsys.readouterr().out
    assert out.count("student ") == len(method_step_times.STUDENT_ARCHS)
    for name in method_step_times.METHOD_NAMES:   # one row per student: step ms, then ratio to output_kd
        assert len(re.findall(rf"^  {name} +\d+\.\d +\d+\.\d\d \(\d+\.\d\d-\d+\.\d\d\) ", out, re.M)) == 2, name
    assert "crd, omgd, dcd online teacher step" in out and "RKD angle term" in out and "NOT ImageNet" in out
    assert out.count("targets: method-specific losses") == 2 and "medians over 2 rounds" in out
    assert len(re.findall(r"crd step \d+\.\d\dx \(target <= 1.6x\) (ok|OVER)", out)) == 2


def test_fid_throughput_runs(capsys: pytest.CaptureFixture, tmp_path, monkeypatch: pytest.MonkeyPatch) -> None:
    from kd_gan_bench.benchmarks.perf import fid_throughput

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no real weights: the seeded random InceptionV3
    monkeypatch.setattr("torch.hub._hub_dir", None)
    assert fid_throughput.main(["--images", "2", "--size", "32", "--batch-size", "2", "--students", "2",
                                "--device", "cpu", "--skip-old", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"extract_features .* images/s .*% of conv peak", out)
    assert re.search(r"FID\+KID of 2 students .* = \d+\.\d\dx 2 plain fake passes", out)


def test_board_power_reports_what_the_board_separates_and_its_mdd() -> None:
    """The power script's verdicts come from the board's own tests: clearly separated seeds and subsets read
    SEPARATED, overlapping ones do not; the MDD follows the seed spread. (Its training runs are the harness's
    ``grid``, run for real by ``python -m kd_gan_bench.benchmarks.perf.board_power``; too slow for a test.)"""
    import numpy as np
    import pandas as pd

    from kd_gan_bench.benchmarks.metrics import resampling
    from kd_gan_bench.benchmarks.perf import board_power
    from kd_gan_bench.report.summary import summarize

    rng = np.random.default_rng(0)
    difficulty = rng.normal(0, 5, 16)
    jobs = []
    for label, (offset, student) in {"N": (20.0, "a"), "3N": (30.0, "b"), "smaller": (20.3, "c")}.items():
        for seed in range(3):
            scores = difficulty + offset + rng.normal(0, 0.5) + rng.normal(0, 0.1, 16)
            jobs.append({"family": "i2i", "task": "synthetic_edges2shapes", "phase": "student", "method": "scratch",
                         "teacher": "t", "student": student, "hparams": "", "seed": seed, "status": "done",
                         "colour_miou": float(scores.mean()),
                         "test_resamples": resampling.record({"colour_miou": resampling.subset_means(scores)}, 16)})
    summary = summarize(pd.DataFrame(jobs))
    rows = {label: summary[summary["student"] == s].iloc[0] for label, s in (("N", "a"), ("3N", "b"), ("smaller", "c"))}
    out = "\n".join(board_power.report_part("synthetic_edges2shapes", rows, 3))
    assert "3N vs N: difference 10" in out and "-> SEPARATED" in out.split("3N vs N")[1].splitlines()[0]
    assert "-> not separated" in out.split("N vs smaller")[1].splitlines()[0]
    welch_mdd = float(re.search(r"Welch ([\d.]+), paired", out).group(1))
    assert 0.5 < welch_mdd < 5  # about 3 x the seed std of 0.5


def test_job_fixed_cost_runs(capsys: pytest.CaptureFixture, tmp_path) -> None:
    from kd_gan_bench.benchmarks.perf import job_fixed_cost

    assert job_fixed_cost.main(["--results", str(tmp_path), "--", "--suite", "smoke", "--tasks",
                                "synthetic_edges2shapes", "--methods", "scratch", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^[st]-[0-9a-f]{12} +(?:teacher|scratch)((?: +\d+\.\d){6})", out, re.M)
    assert len(rows) == 2
    assert all(float(r.split()[3]) <= float(r.split()[2]) for r in rows), "FID is a part of each job's evaluation"
    assert out.count("fresh worker") == 1, "one worker ran both jobs"
    assert re.search(r"workers \(measured\): +total +\d+\.\d CPU s, training +\d+\.\d, fixed +\d+\.\d = \d+%", out)
    assert re.search(r"one process per job \(est\.\): +total +\d+\.\d CPU s", out)
    assert re.search(r"of the fixed cost, FID .*: \d+\.\d CPU s = \d+% of the total", out)

"""The performance scripts under ``benchmarks/perf`` still run: each at a tiny size, no timing asserted."""
from __future__ import annotations

import re

import pytest

from benchmarks.perf import method_step_times


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
    from benchmarks.perf import fid_throughput

    monkeypatch.setenv("TORCH_HOME", str(tmp_path))  # no real weights: the seeded random InceptionV3
    monkeypatch.setattr("torch.hub._hub_dir", None)
    assert fid_throughput.main(["--images", "2", "--size", "32", "--batch-size", "2", "--students", "2",
                                "--device", "cpu", "--skip-old", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"extract_features .* images/s .*% of conv peak", out)
    assert re.search(r"FID\+KID of 2 students .* = \d+\.\d\dx 2 plain fake passes", out)


def test_job_fixed_cost_runs(capsys: pytest.CaptureFixture, tmp_path) -> None:
    from benchmarks.perf import job_fixed_cost

    assert job_fixed_cost.main(["--results", str(tmp_path), "--", "--suite", "smoke", "--tasks",
                                "synthetic_edges2shapes", "--methods", "scratch", "--seeds", "0"]) == 0
    out = capsys.readouterr().out
    assert len(re.findall(r"^[st]-[0-9a-f]{12} +(teacher|scratch)( +\d+\.\d){5}", out, re.M)) == 2
    assert out.count("fresh worker") == 1, "one worker ran both jobs"
    assert re.search(r"workers \(measured\): +total +\d+\.\d CPU s, training +\d+\.\d, fixed +\d+\.\d = \d+%", out)
    assert re.search(r"one process per job \(est\.\): +total +\d+\.\d CPU s", out)

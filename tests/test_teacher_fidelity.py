"""SSIM and PSNR of a student's translations against its teacher's (benchmarks/metrics/specs/teacher_fidelity.py)."""
from __future__ import annotations

import math
from types import SimpleNamespace

import pytest
import torch

from kd_gan_bench.benchmarks.metrics import METRICS, MetricInputs, applicable, compute_metrics


def _images(seed: int, n: int = 5, size: int = 16) -> torch.Tensor:
    return torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=torch.Generator().manual_seed(seed))


def _fidelity(student: torch.Tensor, teacher: torch.Tensor) -> dict:
    inputs = MetricInputs(config=SimpleNamespace(family="i2i"), data=None, fake=student, teacher_fake=teacher,
                          device=torch.device("cpu"))
    return METRICS.get("ssim_teacher").compute(inputs)


def test_psnr_is_the_split_mse_in_decibels_and_ssim_is_below_one():
    student, teacher = _images(0), _images(1)
    out = _fidelity(student, teacher)
    mse = ((student.double() - teacher.double()) / 255).pow(2).mean().item()
    assert out["psnr_teacher"] == pytest.approx(10 * math.log10(1 / mse), rel=1e-4)
    assert -1 < out["ssim_teacher"] < 0.2  # unrelated noise images
    assert out["psnr_teacher_identical"] is False


def test_a_closer_student_scores_higher():
    teacher = _images(2)
    near = (teacher.int() + 3).clamp(0, 255).to(torch.uint8)
    far = (teacher.int() + 40).clamp(0, 255).to(torch.uint8)
    near_out, far_out = _fidelity(near, teacher), _fidelity(far, teacher)
    assert near_out["ssim_teacher"] > far_out["ssim_teacher"]
    assert near_out["psnr_teacher"] > far_out["psnr_teacher"]


def test_identical_translations_have_ssim_one_and_no_finite_psnr():
    teacher = _images(3)
    out = _fidelity(teacher.clone(), teacher)
    assert out["ssim_teacher"] == pytest.approx(1.0, abs=1e-6)
    assert out["psnr_teacher"] is None and out["psnr_teacher_identical"] is True


def test_recorded_only_for_students_with_a_teacher():
    config = SimpleNamespace(family="i2i")
    with_teacher = {"fake": 1, "teacher_fake": 1, "device": "cpu", "config": config, "data": 1, "options": 1}
    names = {m.name for m in applicable(config, ("fid",), with_teacher)}
    assert {"fid", "ssim_teacher"} <= names and "miou" not in names
    assert "ssim_teacher" not in {m.name for m in applicable(config, ("fid",), {**with_teacher, "teacher_fake": None})}
    assert not list(applicable(SimpleNamespace(family="classification"), ("accuracy",), with_teacher))


def test_compute_metrics_runs_the_applicable_specs_only():
    student, teacher = _images(4), _images(5)
    inputs = MetricInputs(config=SimpleNamespace(family="i2i"), data=None, fake=student, teacher_fake=teacher,
                          device=torch.device("cpu"))
    out = compute_metrics(inputs.config, ("none",), inputs)  # a task scored by neither FID nor mIoU
    assert set(out) == {"ssim_teacher", "psnr_teacher", "psnr_teacher_identical"}

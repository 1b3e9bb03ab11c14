"""The student's fidelity to its teacher: SSIM and PSNR between the student's and the pretrained teacher's
translations of the test inputs.

FID says how realistic a student's images are; these say how closely it reproduces its teacher, which
is what distillation optimises. Both come from torchmetrics (``structural_similarity_index_measure``:
Wang et al., IEEE TIP 2004, Gaussian window 11, sigma 1.5, K = (0.01, 0.03); ``peak_signal_noise_ratio``),
on images in [0, 1] (``data_range=1``), averaged over the test split (SSIM per image then mean, as
torchmetrics reduces it; PSNR of the whole split's mean squared error, torchmetrics' default). Recorded
for students with a pretrained teacher (``teacher_fake``); a teacher or a student without one has none.
A student whose translations equal its teacher's has an infinite PSNR, recorded as ``None`` with
``psnr_teacher_identical`` true (a record holds finite numbers only).
"""
from __future__ import annotations

from typing import Any

from kd_gan_bench.benchmarks.metrics import MetricInputs, describe_metric, metric

BATCH = 64


@metric("ssim_teacher", label="SSIM vs teacher", higher_is_better=True, fmt="{:.3f}", kind="fidelity",
        families=("i2i",), inputs=("fake", "teacher_fake", "device"), also=("psnr_teacher",),
        description="SSIM between the student's and its teacher's test translations (torchmetrics; 1 = identical)")
def teacher_fidelity(inputs: MetricInputs) -> dict[str, Any]:
    import torch
    from torchmetrics.image import PeakSignalNoiseRatio, StructuralSimilarityIndexMeasure

    ssim = StructuralSimilarityIndexMeasure(data_range=1.0).to(inputs.device)
    psnr = PeakSignalNoiseRatio(data_range=1.0).to(inputs.device)
    with torch.no_grad():
        for start in range(0, len(inputs.fake), BATCH):
            student = inputs.fake[start:start + BATCH].to(inputs.device).float() / 255.0
            teacher = inputs.teacher_fake[start:start + BATCH].to(inputs.device).float() / 255.0
            ssim.update(student, teacher)
            psnr.update(student, teacher)
    value = float(psnr.compute())
    identical = value == float("inf")
    return {"ssim_teacher": float(ssim.compute()), "psnr_teacher": None if identical else value,
            "psnr_teacher_identical": identical}


describe_metric("psnr_teacher", label="PSNR vs teacher", higher_is_better=True, unit="dB", kind="fidelity",
                families=("i2i",), description="PSNR of the student's test translations against its teacher's, dB "
                                                "(torchmetrics; written with SSIM)")

"""The sizes the harness records (runner -> record.json) for the literature's networks at 256x256 equal
the published ones: ResNet-9blocks ngf 64 teacher 11.38M params / 56.8G MACs, mobile ResNet ngf 16
student 0.137M / 1.41G (so 40x MACs and 83x params, OMGD/CRD's "about 40x MACs, 82.5x params"),
U-Net-256 ngf 64 teacher 54.41M params and 18.14G MACs (see benchmarks/metrics/complexity.py for why
not the 18.6G DMAD's README implies)."""
from __future__ import annotations

from pathlib import Path

import torch

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.execution.runner import RunOptions, run_job
from kd_gan_bench.methods.networks.build import build_network

RESNET = {"arch": "resnet_generator", "ngf": 64, "n_blocks": 9}
UNET = {"arch": "unet_generator", "ngf": 64, "num_downs": 8}
MOBILE = {"arch": "mobile_resnet_generator", "ngf": 16, "n_blocks": 9}
EVALUATION = {"fid_extractor": "offline", "fid_protocol": "task", "n_samples": 1, "latency_warmup": 0,
              "latency_repeats": 1}


def _teacher_job(spec: dict, tmp_path: Path) -> JobConfig:
    """A teacher-phase job that loads ``spec`` from a checkpoint: the record path without training."""
    ckpt = tmp_path / f"{spec['arch']}-{spec['ngf']}.pth"
    torch.save(build_network(spec).state_dict(), ckpt)
    return JobConfig(phase="teacher", family="i2i", task="synthetic_edges2shapes",
                     task_args={"size": 256, "n_train": 2, "n_test": 2}, teacher={**spec, "checkpoint": str(ckpt)},
                     student=None, method="teacher", hparams={}, recipe={}, schedule={"steps": 1},
                     evaluation=EVALUATION, seed=0)


def test_recorded_params_and_macs_match_the_literature(tmp_path: Path) -> None:
    options = RunOptions(results_root=str(tmp_path / "results"), device="cpu")
    metrics = {}
    for name, spec in (("resnet", RESNET), ("unet", UNET), ("mobile", MOBILE)):
        record = run_job(_teacher_job(spec, tmp_path), options)
        assert record["status"] == "done", record.get("error")
        metrics[name] = record["metrics"]
    resnet, unet, mobile = metrics["resnet"], metrics["unet"], metrics["mobile"]
    assert resnet["params_count"] == 11_378_179 and round(resnet["macs"], 1) == 56.8
    assert round(unet["params"], 2) == 54.41 and round(unet["macs"], 2) == 18.14
    assert round(mobile["params"], 3) == 0.137 and round(mobile["macs"], 2) == 1.41
    assert round(resnet["macs_count"] / mobile["macs_count"]) == 40
    assert round(resnet["params_count"] / mobile["params_count"], 1) == 82.8

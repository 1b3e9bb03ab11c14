"""mIoU with DRN-D-105: the module layout of fyu/drn, strict loading of a generated weights file of the
released format, the confusion-matrix arithmetic, and the Cityscapes protocol through the job runner."""
from __future__ import annotations

import math
from pathlib import Path

import pytest
import torch

from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.metrics.segmentation import (DRNSeg, SegmenterWeightsError, confusion_matrix, load_segmenter,
                                             miou_from_confusion, resolve_weights, segmentation_miou)
from kd_gan_bench.benchmarks.cli.main import main
from kd_gan_bench.benchmarks.execution.runner import RunOptions, run_job
from kd_gan_bench.methods.networks.build import build_network

try:
    from tests.dataset_archives import cityscapes_zips
    from tests.seg_weights import make_drn_test_weights
except ImportError:  # tests/ itself on sys.path
    from dataset_archives import cityscapes_zips
    from seg_weights import make_drn_test_weights


@pytest.fixture(scope="module")
def weights(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_drn_test_weights(tmp_path_factory.mktemp("drn") / "drn-d-105_ms_cityscapes.pth")


def test_drn_d_105_layout() -> None:
    state = DRNSeg().state_dict()
    assert len(state) == 651
    assert state["base.0.0.weight"].shape == (16, 3, 7, 7)                  # layer0: 7x7 conv
    assert state["base.3.0.downsample.0.weight"].shape == (256, 32, 1, 1)   # layer3: first bottleneck
    assert "base.5.22.conv3.weight" in state and "base.5.23.conv1.weight" not in state  # 23 blocks in layer5
    assert state["base.7.0.weight"].shape == (512, 2048, 3, 3)              # layer7: 2048 -> 512
    assert state["seg.weight"].shape == (19, 512, 1, 1) and state["up.weight"].shape == (19, 1, 16, 16)
    # DRN-D-105 has 54.8M parameters with its 1000-class fc (fyu/drn README); DRNSeg drops the fc, adds seg
    params = sum(p.numel() for p in DRNSeg().parameters())
    assert round((params - 19 * 513 + 1000 * 513) / 1e6, 1) == 54.8


@pytest.fixture(scope="module")
def segmenter(weights: Path) -> DRNSeg:
    return load_segmenter(weights)


def test_weights_load_strictly_and_mismatches_are_named(segmenter: DRNSeg, tmp_path: Path) -> None:
    state = segmenter.state_dict()
    assert torch.equal(state["base.8.1.running_var"], torch.ones(512))
    wrapped = tmp_path / "dp.pth"  # saved from nn.DataParallel, without the pre-1.0 num_batches_tracked
    torch.save({f"module.{k}": v for k, v in state.items() if not k.endswith("num_batches_tracked")}, wrapped)
    assert torch.equal(load_segmenter(wrapped).state_dict()["seg.weight"], state["seg.weight"])
    bad = tmp_path / "bad.pth"
    torch.save({"seg.weight": torch.zeros(21, 512, 1, 1), "up.weight": state["up.weight"],
                "fc.weight": torch.zeros(1000, 512, 1, 1)}, bad)
    with pytest.raises(SegmenterWeightsError) as info:
        load_segmenter(bad)
    msg = str(info.value)
    assert "does not fit DRN-D-105" in msg and "missing keys (" in msg and "base.0.0.weight" in msg
    assert "unexpected keys (1): fc.weight" in msg and "seg.weight (21, 512, 1, 1) vs (19, 512, 1, 1)" in msg
    (tmp_path / "junk.pth").write_bytes(b"not a torch file")
    with pytest.raises(SegmenterWeightsError, match="cannot read segmenter weights"):
        load_segmenter(tmp_path / "junk.pth")


def test_weights_resolution(weights: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "th"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    with pytest.raises(SegmenterWeightsError, match=r"mIoU cannot be computed: .*--seg-weights PATH"):
        resolve_weights(None)
    with pytest.raises(SegmenterWeightsError, match="no such file"):
        resolve_weights(str(tmp_path / "missing.pth"))
    cached = tmp_path / "th" / "hub" / "checkpoints" / weights.name
    cached.parent.mkdir(parents=True)
    cached.symlink_to(weights)
    assert resolve_weights(None) == cached and resolve_weights(str(weights)) == weights


def test_confusion_matrix_and_miou_by_hand() -> None:
    label = torch.tensor([[0, 0, 1, 1], [2, 2, 255, 255]])
    pred = torch.tensor([[0, 1, 1, 1], [2, 0, 3, 1]])
    hist = confusion_matrix(pred, label, n=4)
    assert hist.sum() == 6  # the two 255 pixels are ignored
    miou, per_class = miou_from_confusion(hist)
    # class 0: TP 1, FP 1, FN 1 -> 1/3; class 1: TP 2, FP 1 -> 2/3; class 2: TP 1, FN 1 -> 1/2; class 3 absent -> NaN
    assert per_class[:3] == pytest.approx([100 / 3, 200 / 3, 50]) and math.isnan(per_class[3])
    assert miou == pytest.approx((100 / 3 + 200 / 3 + 50) / 3)


def test_segmentation_miou_at_the_label_resolution(segmenter: DRNSeg) -> None:
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (3, 3, 16, 16), dtype=torch.uint8, generator=gen)
    labels = torch.randint(0, 19, (3, 12, 24), dtype=torch.uint8, generator=gen)
    labels[:, :4] = 255
    out = segmentation_miou(images, labels, segmenter, torch.device("cpu"), batch_size=2)
    assert 0.0 <= out["miou"] <= 100.0 and out["miou_n"] == 3 and out["miou_label_size"] == [12, 24]
    with pytest.raises(ValueError, match="labels must be N x H x W"):
        segmentation_miou(images, labels[:2], segmenter, torch.device("cpu"))
    subsets = [[0, 1], [1, 2], [0, 2]]  # each subset's mIoU is that of its images alone
    sub = segmentation_miou(images, labels, segmenter, torch.device("cpu"), test_subsets=subsets)["miou_subsets"]
    assert sub == pytest.approx([segmentation_miou(images[rows], labels[rows], segmenter, torch.device("cpu"))["miou"]
                                 for rows in subsets], nan_ok=True)


def test_cityscapes_job_scores_miou_or_says_why_not(weights: Path, tmp_path: Path,
                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "empty_torch_home"))
    monkeypatch.setattr(torch.hub, "_hub_dir", None)
    root = tmp_path / "data"
    (root / "archives").mkdir(parents=True)
    cityscapes_zips(root / "archives", {"train": 2, "val": 2}, width=48, height=24)
    assert main(["datasets", "prepare", "cityscapes", "--data-root", str(root)]) == 0
    teacher = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 1}
    ckpt = tmp_path / "teacher.pth"
    torch.save(build_network(teacher).state_dict(), ckpt)
    job = JobConfig(phase="teacher", family="i2i", task="cityscapes",
                    task_args={"data_root": str(root), "size": 16}, teacher={**teacher, "checkpoint": str(ckpt)},
                    student=None, method="teacher", hparams={}, recipe={}, schedule={"steps": 1, "batch_size": 1},
                    evaluation={"fid_extractor": "offline", "fid_protocol": "task", "n_samples": 2,
                                "latency_warmup": 0, "latency_repeats": 1}, seed=0)
    failed = run_job(job, RunOptions(results_root=str(tmp_path / "r1"), device="cpu"))
    assert failed["status"] == "failed" and "mIoU cannot be computed" in failed["error"]
    assert "metrics" not in failed  # no number invented
    done = run_job(job, RunOptions(results_root=str(tmp_path / "r2"), device="cpu", seg_weights=str(weights)))
    assert done["status"] == "done", done.get("error")
    m = done["metrics"]
    assert m["quality_metric"] == "miou" and 0 <= m["miou"] <= 100 and m["miou_n"] == 2 and "fid" not in m
    assert len(m["test_resamples"]["miou"]) == 200 and m["test_resamples"]["n"] == 2
    assert m["eval_protocol"].startswith("mIoU (Cityscapes, GAN Compression protocol): DRN-D-105 on 2 generated photos")
    assert "label resolution 48x24" in m["eval_protocol"] and m["seg_weights_sha256"]

"""Quality metrics as the papers compute them, chosen by the task's protocol (the metric specs of
:mod:`kd_gan_bench.benchmarks.metrics.specs.quality` call these).

* ``fid`` (every task but Cityscapes): FID/KID of the translated test inputs against real
  target-domain images: ``target_train_test`` is the CycleGAN convention GAN Compression uses
  (train+test images of the target domain), ``target_test`` the pix2pix one (its test images).
  Every FID (and mIoU) record also holds ``test_resamples``: the metric on each fixed half-size subset of the
  translated test inputs (:mod:`kd_gan_bench.benchmarks.metrics.resampling`), from which the report draws test-set intervals and
  paired tests.
* ``miou`` (Cityscapes labels -> photo): DRN-D-105 segmentation of the generated photos scored
  against the test label maps (``kd_gan_bench.benchmarks.metrics.segmentation``).

Every record names its protocol in ``eval_protocol`` (with N), and the report shows it. A job
whose protocol cannot run here (mIoU without segmenter weights) fails before training with
that reason, so no time is spent on a number that cannot be computed and none is invented.
"""
from __future__ import annotations

import functools
from pathlib import Path
from typing import Any

import torch

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.benchmarks.core.config import JobConfig
from kd_gan_bench.benchmarks.metrics.fid import Extractor, compute_fid_kid, fid_cache_name
from kd_gan_bench.benchmarks.metrics.segmentation import file_sha256, load_segmenter, resolve_weights, segmentation_miou
from kd_gan_bench.datasets import TASKS, ImageTranslationData
from kd_gan_bench.datasets.registry import quality_metrics

FID_CONVENTIONS = {
    "target_train_test": "CycleGAN/GAN Compression convention, real = train+test images of the target domain",
    "target_test": "pix2pix convention, real = test images of the target domain",
}


def quality_metric(config: JobConfig) -> str:
    """The job's task's headline quality metric."""
    return TASKS.info(config.task).quality_metric


def task_quality_metrics(config: JobConfig) -> tuple[str, ...]:
    """Every quality metric the job's task records, its headline first."""
    return quality_metrics(TASKS.info(config.task))


def check_ready(config: JobConfig, options: Any) -> None:
    """Raise now (before training) when the job's quality metric cannot be computed here."""
    if quality_metric(config) == "miou":
        _segmenter(str(resolve_weights(options.seg_weights)))


@functools.lru_cache(maxsize=1)
def _segmenter(path: str) -> tuple[torch.nn.Module, str]:
    return load_segmenter(Path(path)), file_sha256(Path(path))


def _short_args(args: dict[str, Any]) -> str:
    return "_".join(f"{k}{v}" for k, v in sorted(args.items())) or "defaults"


def fid_metrics(config: JobConfig, data: ImageTranslationData, fake: torch.Tensor, options: Any,
                device: torch.device) -> dict[str, Any]:
    """FID/KID of the translated test inputs under the task's (or the suite's) FID protocol."""
    protocol = config.evaluation["fid_protocol"]
    if protocol == "task":
        protocol = TASKS.info(config.task).fid_protocol
    real, split = data.fid_reference(protocol)
    fid = fid_against(fake, real, config, data.name, f"B-{split}", options, device,
                      test_subsets=resampling.subset_indices(len(fake)))
    resamples = resampling.record({"fid": fid.pop("fid_subsets")}, len(fake))
    return {**fid, "test_resamples": resamples, "fid_protocol": f"{protocol} ({split} split of domain B)",
            "eval_protocol": f"FID ({FID_CONVENTIONS[protocol]}): {fid['fid_n_fake']} translated test inputs vs "
                             f"{fid['fid_n_real']} real {split} images, {fid['fid_extractor_label']}"}


def fid_against(fake: torch.Tensor, real: torch.Tensor, config: JobConfig, dataset: str, split: str, options: Any,
                device: torch.device, test_subsets: Any = None) -> dict[str, Any]:
    """FID/KID of uint8 ``fake`` against the ``real`` images of ``dataset``'s ``split`` with the grid's
    extractor; the real statistics are cached under the results folder, named by dataset, task
    arguments, split, size, N and extractor (``fid_extractor_label`` says which features were used).
    ``test_subsets``: see :func:`kd_gan_bench.benchmarks.metrics.fid.compute_fid_kid`."""
    extractor = Extractor(options.fid_extractor, options.fid_weights, options.fid_is_inception)
    cache_name = fid_cache_name(dataset + "-" + _short_args(config.task_args), split, real.shape[-1], len(real),
                                extractor)
    fid = compute_fid_kid(fake, real, real_cache_name=cache_name, cache_root=Path(options.results_root) / "fid_cache",
                          extractor=extractor, device=device, test_subsets=test_subsets)
    return {**fid, "fid_extractor_label": extractor.label}


def miou_metrics(data: ImageTranslationData, fake: torch.Tensor, options: Any, device: torch.device) -> dict[str, Any]:
    """mIoU of the DRN-D-105 segmenter on the generated photos against the test label maps."""
    if data.test_labels is None:
        raise ValueError(f"task {data.name!r} is scored by mIoU but its data has no test label maps")
    path = resolve_weights(options.seg_weights)
    model, sha = _segmenter(str(path))
    subsets = resampling.subset_indices(len(fake)) if len(fake) >= 2 else None
    out = segmentation_miou(fake, data.test_labels, model, device, test_subsets=subsets)
    if subsets is not None:
        out["test_resamples"] = resampling.record({"miou": out.pop("miou_subsets")}, len(fake))
    h, w = out["miou_label_size"]
    return {**out, "seg_weights": str(path), "seg_weights_sha256": sha,
            "eval_protocol": f"mIoU (Cityscapes, GAN Compression protocol): DRN-D-105 on {out['miou_n']} generated "
                             f"photos, 19 classes at the label resolution {w}x{h}, label 255 ignored; weights "
                             f"{path.name} (sha256 {sha[:12]})"}

"""cGAN-KD's fake set as a registered artifact: made once per task and teacher, read by every student
whose method declares ``Need("fake_set", artifact="cgan_kd_fake_set")``.

Its declaration is :data:`kd_gan_bench.methods.cgan_kd.spec.FAKE_SET` (its settings, whose defaults a suite's ``fake_set``
section overrides, their declared types, and its report table of the counts and FIDs :func:`make_fake_set`
records); this module adds how it is made and read back.

The phase (:func:`make_fake_set`): the fake set (``build_fake_set``: filtering network trained on the real
data, cGAN, cDR-RS subsampling on the filtering network's penultimate features, filtering, label replacement)
saved as ``fake_set.pt``; its record holds how many samples survived each stage and the FID of the raw cGAN
samples and of the final set against the real training images (with the grid's FID extractor); its folder a
strip of fakes next to real images of the same labels.
"""
from __future__ import annotations

from dataclasses import replace
from pathlib import Path
from typing import Any

import torch

from kd_gan_bench.methods.core.artifacts import ArtifactJob, ArtifactResult
from kd_gan_bench.methods.cgan_kd.fake_set import FakeSet
from kd_gan_bench.methods.cgan_kd.pipeline import build_fake_set
from kd_gan_bench.methods.cgan_kd.spec import FAKE_SET
from kd_gan_bench.benchmarks.core.registry import ARTIFACTS

FAKE_SET_FILE = "fake_set.pt"
COUNTS = ("n_generated", "n_after_subsampling", "n_after_filtering", "n_final", "n_labels_replaced", "n_short_labels")


def make_fake_set(job: ArtifactJob) -> ArtifactResult:
    """Build, save and describe the fake set of ``job``'s task (see the module docstring)."""
    data = job.data
    fake = build_fake_set(data, job.teacher, job.hparams, job.device, job.seed, fid_fn=job.fid,
                          checkpointer=job.checkpointer, log=job.log)
    fake.save(job.folder / FAKE_SET_FILE)
    stats = fake.stats
    metrics: dict[str, Any] = {k: stats[k] for k in COUNTS}
    for key, name in (("fid_raw", "cgan_fid"), ("fid_final", "fake_set_fid")):
        metrics[name] = stats[key]["fid"] if stats[key] else None
    fid_info = stats["fid_final"] or stats["fid_raw"]
    metrics["fid_extractor"] = fid_info["fid_extractor"] if fid_info else None
    metrics["eval_protocol"] = (f"FID of cGAN samples (raw: {stats['fid_raw']['fid_n_fake']}; after subsampling and "
                                f"filtering: all {stats['n_final']}) vs the {len(data.train_x)} real training images, "
                                f"{fid_info['fid_extractor_label']}" if fid_info else "cGAN FID not computed (fid_samples=0)")
    _save_strips(fake, job)
    return ArtifactResult(metrics, {"fake_set": FAKE_SET_FILE, "samples_png": "samples.png",
                                    "inputs_png": "inputs.png"}, fake.history, {"fake_set_stats": stats})


def _save_strips(fake: FakeSet, job: ArtifactJob) -> None:
    """``samples.png``: fakes spread over the set (so over its labels); ``inputs.png``: for each, the real
    training image with the nearest label."""
    n = min(job.n_samples, len(fake))
    idx = torch.linspace(0, len(fake) - 1, n).round().long()
    labels = fake.labels[idx].double()
    real_idx = (job.data.train_y.double()[None, :] - labels[:, None]).abs().argmin(1)
    job.save_images(fake.images[idx], job.folder / "samples.png")
    job.save_images(job.data.train_x[real_idx], job.folder / "inputs.png")


def load_fake_set(folder: Path) -> FakeSet:
    """The fake set a (done) fake-set job saved in ``folder``."""
    return FakeSet.load(folder / FAKE_SET_FILE)


ARTIFACTS.register(FAKE_SET.name)(replace(FAKE_SET, make=make_fake_set, load=load_fake_set))

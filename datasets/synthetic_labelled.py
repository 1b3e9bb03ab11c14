"""Built-in labelled tasks, procedurally generated: no download, deterministic from a seed.

* ``synthetic_shapes10`` (classification, in the spirit of CIFAR-10 at 32x32): ten shape classes
  (circle, triangle, square, pentagon, hexagon, four-petal flower, five-point star, ring, cross,
  half-disc) at a random position, size, rotation and colour, shaded by a random light, on a dark or
  light noisy background. Classes are balanced.
* ``synthetic_rotation`` (regression, in the spirit of RC-49's rotated chairs): one asymmetric
  object, an arrow (shaft and head), rotated by an angle in [0, 90) degrees, which is the label;
  angles lie on RC-49's 0.1-degree grid. Flips would change the angle, so the task asks for no
  augmentation.

Both are vectorised torch on the CPU with a seeded ``torch.Generator``: the same arguments give the
same bytes on every machine.
"""
from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from kd_gan_bench.datasets.base import register_task
from kd_gan_bench.datasets.labelled import LabelledImageData
from kd_gan_bench.datasets.synthetic import _grid, _shading, _to_uint8, _uniform

SHAPE_CLASSES = ("circle", "triangle", "square", "pentagon", "hexagon", "flower4", "star5", "ring", "cross",
                 "half_disc")


def _polar(gen: torch.Generator, n: int, size: int, scale: tuple[float, float],
           angle: torch.Tensor) -> tuple[torch.Tensor, ...]:
    """Coordinates of every pixel in each image's object frame (centre jittered, rotated by ``angle``
    radians, divided by a random scale): u, v, rho, phi, each N x H x W."""
    yy, xx = _grid(size)
    cx, cy = _uniform(gen, n, 0.42, 0.58), _uniform(gen, n, 0.42, 0.58)
    r = _uniform(gen, n, *scale)[:, None, None]
    dx, dy = xx[None] - cx[:, None, None], yy[None] - cy[:, None, None]
    c, s = torch.cos(angle)[:, None, None], torch.sin(angle)[:, None, None]
    u, v = (c * dx + s * dy) / r, (-s * dx + c * dy) / r
    return u, v, torch.sqrt(u ** 2 + v ** 2), torch.atan2(v, u)


def _shape_fields(u: torch.Tensor, v: torch.Tensor, rho: torch.Tensor, phi: torch.Tensor) -> torch.Tensor:
    """Signed field (< 0 inside) of each of the ten classes: 10 x N x H x W, in ``SHAPE_CLASSES`` order."""

    def polygon(sides: int) -> torch.Tensor:
        sector = 2 * math.pi / sides
        local = torch.remainder(phi, sector) - sector / 2
        return rho * torch.cos(local) / math.cos(math.pi / sides) - 1

    arm = 0.32
    return torch.stack([
        rho - 1,
        polygon(3), polygon(4), polygon(5), polygon(6),
        rho / (0.62 + 0.38 * torch.cos(4 * phi)) - 1,
        rho / (0.55 + 0.45 * torch.cos(5 * phi)) - 1,
        (rho - 0.72).abs() / 0.28 - 1,
        torch.minimum(torch.maximum(u.abs(), v.abs() / arm), torch.maximum(u.abs() / arm, v.abs())) - 1,
        torch.maximum(rho - 1, -(v + 0.25) / 0.5),
    ])


def _paint(gen: torch.Generator, mask: torch.Tensor, size: int) -> torch.Tensor:
    """A coloured, shaded object on a dark or light noisy background: uint8 N x 3 x H x W."""
    n = len(mask)
    light = torch.rand(n, generator=gen) < 0.5
    bg_level = torch.where(light, _uniform(gen, n, 0.6, 0.9), _uniform(gen, n, 0.1, 0.35))
    coarse = torch.rand(n, 1, 4, 4, generator=gen)
    background = bg_level.view(n, 1, 1, 1) * (0.85 + 0.3 * F.interpolate(coarse, size=(size, size), mode="bilinear",
                                                                          align_corners=False))
    fg_low = torch.where(light, 0.05, 0.55).view(n, 1, 1, 1)
    colour = fg_low + 0.4 * torch.rand(n, 3, 1, 1, generator=gen)
    img = torch.where(mask[:, None], colour * _shading(gen, n, size), background.expand(n, 3, size, size))
    return _to_uint8(img + 0.03 * torch.randn(img.shape, generator=gen))


def _shapes10(gen: torch.Generator, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    labels = (torch.arange(n) % len(SHAPE_CLASSES))[torch.randperm(n, generator=gen)]
    u, v, rho, phi = _polar(gen, n, size, (0.22, 0.34), _uniform(gen, n, 0, 2 * math.pi))
    fields = _shape_fields(u, v, rho, phi)
    mask = fields.gather(0, labels[None, :, None, None].expand(1, n, size, size))[0] < 0
    return _paint(gen, mask, size), labels.to(torch.int64)


def _rotation(gen: torch.Generator, n: int, size: int) -> tuple[torch.Tensor, torch.Tensor]:
    degrees = torch.floor(_uniform(gen, n, 0.0, 90.0) * 10) / 10  # RC-49's 0.1-degree grid, in [0, 89.9]
    u, v, _, _ = _polar(gen, n, size, (0.34, 0.42), torch.deg2rad(degrees))
    shaft = (u > -0.9) & (u < 0.35) & (v.abs() < 0.13)
    head = (u >= 0.35) & (u < 0.95) & (v.abs() < 0.4 * (0.95 - u) / 0.6)
    tail = ((u + 0.9) ** 2 + v ** 2) < 0.2 ** 2  # a knob on the tail end: no symmetry left
    return _paint(gen, shaft | head | tail, size), degrees.to(torch.float32)


def _check(size: int, n_train: int, n_test: int) -> None:
    if size < 16 or size % 4:
        raise ValueError(f"size must be a multiple of 4 and >= 16, got {size}")
    if n_train < 1 or n_test < 1:
        raise ValueError(f"n_train and n_test must be >= 1, got {n_train}, {n_test}")


@register_task("synthetic_shapes10")
def shapes10(size: int, n_train: int, n_test: int, seed: int) -> LabelledImageData:
    _check(size, n_train, n_test)
    gen = torch.Generator().manual_seed(seed)
    train_x, train_y = _shapes10(gen, n_train, size)
    test_x, test_y = _shapes10(gen, n_test, size)
    return LabelledImageData("synthetic_shapes10", "classification", size, train_x, train_y, test_x, test_y,
                             num_classes=len(SHAPE_CLASSES), augment="crop_flip")


@register_task("synthetic_rotation")
def rotation(size: int, n_train: int, n_test: int, seed: int) -> LabelledImageData:
    _check(size, n_train, n_test)
    gen = torch.Generator().manual_seed(seed)
    train_x, train_y = _rotation(gen, n_train, size)
    test_x, test_y = _rotation(gen, n_test, size)
    return LabelledImageData("synthetic_rotation", "regression", size, train_x, train_y, test_x, test_y,
                             label_range=(0.0, 90.0), label_unit="degrees", augment="none")

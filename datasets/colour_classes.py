"""Colour classes: the class of a pixel whose colour encodes it, at any brightness (torch).

A task whose targets paint each class in one colour under a varying light (``synthetic_edges2shapes`` with
``colours="by_shape"``: white background, one colour per shape kind, shaded by a Lambert-like ramp) can be scored
exactly against its ground truth: each pixel goes to the class whose colour *ray* (the class colour at any
brightness, ``s * colour`` for ``s >= 0``) passes nearest to it, i.e. the class of the nearest chromaticity
weighted by brightness. Shading scales a colour along its ray, so it never changes the class; the white
background's ray is the grey axis, so a grey or black pixel is background, not a shape's colour.
"""
from __future__ import annotations

import torch


def nearest_colour_class(images: torch.Tensor, class_colours: torch.Tensor) -> torch.Tensor:
    """N x H x W class ids (int64) of ``images`` (uint8 N x 3 x H x W, or float in [0, 1]): per pixel the index of
    the row of ``class_colours`` (C x 3, float, positive) whose ray ``s * colour`` (s >= 0) is nearest."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be N x 3 x H x W, got {tuple(images.shape)}")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    rays = class_colours.float().to(x.device)
    rays = rays / rays.norm(dim=1, keepdim=True)
    along = torch.einsum("nchw,kc->nkhw", x, rays).clamp(min=0)
    return ((x * x).sum(1, keepdim=True) - along * along).argmin(1)

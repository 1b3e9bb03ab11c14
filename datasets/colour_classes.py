"""Colour classes: the class of a pixel whose colour encodes it, at any brightness (torch).

A task whose targets paint an unshaded background in one colour and each other class in its own colour under a
varying light (``synthetic_edges2shapes`` with ``colours="by_shape"``: white background, one colour per shape kind,
shaded by a Lambert-like ramp) can be scored exactly against its ground truth: each pixel goes to the background
when the background colour itself is nearest, else to the class whose colour *ray* (the class colour at any
brightness, ``s * colour`` for ``s >= 0``) passes nearest to it. Shading scales a colour along its ray, so it never
changes the class: the targets themselves are classified exactly. A grey shape (the mean of the classes' colours,
what a generator paints before it has learned which colour goes with which outline) is a shape of some class, not
background.
"""
from __future__ import annotations

import torch


def nearest_colour_class(images: torch.Tensor, class_colours: torch.Tensor) -> torch.Tensor:
    """N x H x W class ids (int64) of ``images`` (uint8 N x 3 x H x W, or float in [0, 1]): per pixel 0 when row 0
    of ``class_colours`` (C x 3, float, positive; row 0 the background) is the nearest, else the index of the row
    whose ray ``s * colour`` (s >= 0) is nearest."""
    if images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be N x 3 x H x W, got {tuple(images.shape)}")
    x = images.float() / 255.0 if images.dtype == torch.uint8 else images.float()
    colours = class_colours.float().to(x.device)
    rays = colours[1:] / colours[1:].norm(dim=1, keepdim=True)
    along = torch.einsum("nchw,kc->nkhw", x, rays).clamp(min=0)
    to_rays = (x * x).sum(1, keepdim=True) - along * along
    to_background = ((x - colours[0].view(1, 3, 1, 1)) ** 2).sum(1, keepdim=True)
    return torch.cat([to_background, to_rays], 1).argmin(1)

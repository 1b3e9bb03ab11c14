"""OMGD's student losses besides the VGG16 ones (Ren et al., ICCV 2021; github.com/bytedance/OMGD,
distillers/multiteacher_distiller.py, distillers/cycleganbest_distiller.py, models/modules/pytorch_ssim.py).

* SSIM (:func:`ssim_loss`): ``1 - SSIM(student, teacher)`` with OMGD's constants: 11x11 Gaussian window,
  sigma 1.5, C1 = 0.01^2, C2 = 0.03^2 (data range 1, applied to [-1, 1] images as the code does), the
  SSIM map averaged over every pixel and image. OMGD's ``pytorch_ssim`` convolves with zero padding, so
  the map covers the whole image and windows at the border see zeros. We compute SSIM with torchmetrics
  (``structural_similarity_index_measure``), which pads by reflection instead; to reproduce OMGD's
  border handling (``padding="zeros"``, the default) the images are zero-padded by the window's radius
  first and the returned full map is cropped back to the image, which gives exactly the windows of the
  public code (tests/test_omgd.py checks both against a float64 evaluation of OMGD's formula).
  ``padding="reflect"`` is torchmetrics' own convention. torchmetrics clamps the local variances at 0
  where rounding makes them slightly negative; OMGD does not (a difference at the level of float32 noise).
* Total variation (:func:`tv_sum`): the plain SUM (not mean) of absolute horizontal and vertical
  neighbour differences of the student's output, over the batch, as the code computes it.
* Channel distillation (:func:`channel_distillation`): at each layer, the student's activation through a
  trainable 1x1 conv (no bias) + BatchNorm + ReLU adaptor to the teacher's channel count
  (:func:`cd_adaptor`), both activations averaged over space, mean squared difference over batch and
  channels; summed over the layers.
* Hinge GAN terms of OMGD's teacher discriminator (``GANLoss('hinge')`` of models/modules/loss.py).
"""
from __future__ import annotations

from typing import Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torchmetrics.functional.image import structural_similarity_index_measure

from kd_gan_bench.methods.core.plan_checks import SSIM_PADDINGS

SSIM_WINDOW = 11
SSIM_SIGMA = 1.5


def ssim_loss(student: torch.Tensor, teacher: torch.Tensor, padding: str = "zeros") -> torch.Tensor:
    """``1 - SSIM`` of two B x C x H x W image batches (OMGD's constants; ``padding`` see the module docstring)."""
    if padding not in SSIM_PADDINGS:
        raise ValueError(f"SSIM padding must be one of {SSIM_PADDINGS}, got {padding!r}")
    radius = SSIM_WINDOW // 2
    if padding == "zeros":
        student, teacher = F.pad(student, [radius] * 4), F.pad(teacher, [radius] * 4)
    _, full = structural_similarity_index_measure(student, teacher, gaussian_kernel=True, sigma=SSIM_SIGMA,
                                                  kernel_size=SSIM_WINDOW, data_range=1.0, k1=0.01, k2=0.03,
                                                  return_full_image=True)
    if padding == "zeros":
        full = full[..., radius:-radius, radius:-radius]
    return 1.0 - full.mean()


def tv_sum(images: torch.Tensor) -> torch.Tensor:
    """Sum of absolute horizontal and vertical neighbour differences (OMGD's TV term: a sum, not a mean)."""
    return ((images[..., :, 1:] - images[..., :, :-1]).abs().sum()
            + (images[..., 1:, :] - images[..., :-1, :]).abs().sum())


#: OMGD's ``mapping_layers['unet_256']`` (DCD distils the same layers): level-3 input (2 ngf), level-5 input
#: (8 ngf), level-4 up input (16 ngf), level-2 up input (4 ngf); the module paths in our pix2pix-layout U-Net.
UNET_CD_LAYERS = ("model.model.1.model.3.model.0", "model.model.1.model.3.model.3.model.3.model.0",
                  "model.model.1.model.3.model.3.model.4", "model.model.1.model.4")


def cd_adaptor(student_channels: int, teacher_channels: int, generator: torch.Generator | None = None) -> nn.Sequential:
    """OMGD's ``build_feature_connector`` after its ``init_net``: 1x1 conv (no bias, weights N(0, 0.02)),
    BatchNorm (weight N(1, 0.02), bias 0), ReLU."""
    conv = nn.Conv2d(student_channels, teacher_channels, 1, bias=False)
    bn = nn.BatchNorm2d(teacher_channels)
    with torch.no_grad():
        conv.weight.copy_(torch.randn(conv.weight.shape, generator=generator) * 0.02)
        bn.weight.copy_(1.0 + torch.randn(bn.weight.shape, generator=generator) * 0.02)
        bn.bias.zero_()
    return nn.Sequential(conv, bn, nn.ReLU())


def channel_distillation(student_feats: Mapping[str, torch.Tensor], teacher_feats: Mapping[str, torch.Tensor],
                         adaptors: Mapping[str, nn.Module]) -> torch.Tensor:
    """Sum over layers of the MSE between spatial means of adapted student and (detached) teacher activations."""
    losses = [F.mse_loss(adaptor(student_feats[name]).mean(dim=(2, 3)), teacher_feats[name].detach().mean(dim=(2, 3)))
              for name, adaptor in adaptors.items()]
    return torch.stack(losses).sum()


def hinge_d_loss(prediction: torch.Tensor, real: bool) -> torch.Tensor:
    """The discriminator's hinge loss: mean(relu(1 - D(real))) or mean(relu(1 + D(fake)))."""
    return F.relu(1.0 - prediction).mean() if real else F.relu(1.0 + prediction).mean()


def hinge_g_loss(prediction: torch.Tensor) -> torch.Tensor:
    """The generator's hinge loss: -mean(D(fake))."""
    return -prediction.mean()

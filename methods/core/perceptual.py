"""VGG16 perceptual features, Gram-matrix style loss, and offline-safe loading of the weights.

CRD (You et al., arXiv 2212.11091) and OMGD compare student and teacher images through an
ImageNet VGG16 (torchvision's ``vgg16`` weights, ``vgg16-397923af.pth``): a style loss on Gram
matrices at relu1_2, relu2_2, relu3_3 and relu4_3 (Gram = f f^T / (C H W), L1) and an L1 loss on
the relu2_2 features. Only the layers up to relu4_3 are built (``features[:23]`` of torchvision's
VGG16, same module indices, so the weights file's ``features.<i>.*`` entries load strictly).
Images in [-1, 1] are mapped to [0, 1] and, with ``imagenet_norm=True`` (the default: torchvision's
convention), normalised with ImageNet's mean and std. The public code of CRD (``utils/vgg_feature.py``)
and OMGD feeds the [0, 1] images without that normalisation: ``imagenet_norm=False`` does the same.

Weights are never downloaded. They come from, in order: an explicit path (the methods'
``vgg_weights`` hyperparameter), the ``KDGAN_VGG_WEIGHTS`` environment variable, or torch.hub's
cache (``torch.hub.get_dir()/checkpoints/vgg16-397923af.pth``, where
``torchvision.models.vgg16(weights="IMAGENET1K_V1")`` would put it). An explicit path or variable
that names no file is an error. With neither and nothing in the cache, a loud warning is printed
once per process and the network gets a deterministic seeded He initialisation (torchvision's
own VGG init, fan_out); :attr:`VGG16Features.source` says which weights were used, and the methods
put it in their outcome so every record can say so.
"""
from __future__ import annotations

import logging
import math
import os
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.core.loud_warning import warn_once
from kd_gan_bench.methods.weights.resolver import find_local

log = logging.getLogger(__name__)

VGG16_WEIGHTS_FILENAME = "vgg16-397923af.pth"
VGG16_WEIGHTS_URL = "https://download.pytorch.org/models/" + VGG16_WEIGHTS_FILENAME
WEIGHTS_ENV = "KDGAN_VGG_WEIGHTS"
FALLBACK_SEED = 0
#: torchvision VGG16 ``features`` layout up to relu4_3: conv widths, "M" = 2x2 max pooling.
_LAYOUT = (64, 64, "M", 128, 128, "M", 256, 256, 256, "M", 512, 512, 512)
#: ``features`` index of each tapped ReLU output.
LAYERS = {"relu1_2": 3, "relu2_2": 8, "relu3_3": 15, "relu4_3": 22}
IMAGENET_MEAN = (0.485, 0.456, 0.406)
IMAGENET_STD = (0.229, 0.224, 0.225)


def vgg_cache_path() -> Path:
    """Where torchvision caches the ImageNet VGG16 weights: ``torch.hub.get_dir()/checkpoints/``."""
    return Path(torch.hub.get_dir()) / "checkpoints" / VGG16_WEIGHTS_FILENAME


def resolve_vgg_weights(path: str | os.PathLike | None = None) -> Path | None:
    """The verified weights file (explicit ``path``, then ``$KDGAN_VGG_WEIGHTS``, then the cache), or None."""
    found = find_local("vgg16", path)
    return found.path if found else None


_BANNER = """
 WARNING: ImageNet VGG16 weights were not found: perceptual (style / feature) losses use a
   RANDOMLY INITIALISED VGG16 (He init, seed {seed}). Results are NOT those of the paper's loss.
 To use the real weights, get torchvision's {filename}
   ({url})
 and put it at {cache}, or point ${env} (or the method's vgg_weights) to it.
"""


def _warn_fallback_once() -> None:
    cache = vgg_cache_path()
    warn_once("vgg16", log, f"VGG16 ImageNet weights not found (nothing at {cache}, ${WEIGHTS_ENV} unset): using a "
              f"random He-initialised VGG16", _BANNER.format(seed=FALLBACK_SEED, filename=VGG16_WEIGHTS_FILENAME,
                                                              url=VGG16_WEIGHTS_URL, cache=cache, env=WEIGHTS_ENV))


def _build_features() -> nn.Sequential:
    layers: list[nn.Module] = []
    channels = 3
    for item in _LAYOUT:
        if item == "M":
            layers.append(nn.MaxPool2d(2, 2))
        else:
            layers += [nn.Conv2d(channels, int(item), 3, padding=1), nn.ReLU(inplace=True)]
            channels = int(item)
    return nn.Sequential(*layers)


def _he_init(features: nn.Sequential, seed: int) -> None:
    """torchvision's VGG init (kaiming normal, fan_out, relu; zero bias) from a private seeded generator."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in features:
            if isinstance(m, nn.Conv2d):
                fan_out = m.out_channels * math.prod(m.kernel_size)
                m.weight.copy_(torch.randn(m.weight.shape, generator=gen) * math.sqrt(2.0 / fan_out))
                m.bias.zero_()


class VGG16Features(nn.Module):
    """Frozen VGG16 up to relu4_3; ``forward`` maps [-1, 1] images to the tapped ReLU outputs (input
    [0, 1], then ImageNet mean/std unless ``imagenet_norm`` is False).

    The network runs channels-last with in-place ReLUs: the same values as torchvision's NCHW network to
    float rounding. The input gradient moves by rounding-sized changes at the ReLU and max-pooling kinks: on
    random 256 px images it differs from the NCHW one by 6e-4 of its norm, less than a 1e-6 change of the
    input moves the NCHW gradient itself (1.8e-3). On a CPU,
    PyTorch's 2x2 max pooling is 8x faster channels-last (13 ms against 1.6 ms at 64 x 256 x 256, 2 threads)
    and the convolutions skip their layout conversions; style + relu2_2 terms of a 256 px student and
    teacher image, forward + backward, alternating in one process: 807 -> 745 ms. The tapped outputs are
    channels-last tensors."""

    def __init__(self, weights: str | os.PathLike | None = None, layers: tuple[str, ...] = tuple(LAYERS),
                 imagenet_norm: bool = True) -> None:
        super().__init__()
        self.imagenet_norm = imagenet_norm
        unknown = set(layers) - set(LAYERS)
        if unknown:
            raise ValueError(f"unknown VGG16 layer(s) {sorted(unknown)}; valid: {', '.join(LAYERS)}")
        self.layers = tuple(sorted(layers, key=LAYERS.__getitem__))
        with torch.random.fork_rng(devices=[]):  # building the layers must not move the training RNG
            self.features = _build_features()[: LAYERS[self.layers[-1]] + 1]
        path = resolve_vgg_weights(weights)
        if path is None:
            _warn_fallback_once()
            _he_init(self.features, FALLBACK_SEED)
            self.source = f"random He init, seed {FALLBACK_SEED} (NOT ImageNet: no VGG16 weights found)"
        else:
            self.features.load_state_dict(_features_state(path, len(self.features)), strict=True)
            self.source = f"torchvision ImageNet VGG16 ({path})"
        self.register_buffer("mean", torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("std", torch.tensor(IMAGENET_STD).view(1, 3, 1, 1), persistent=False)
        self.requires_grad_(False)
        self.eval()

    def train(self, mode: bool = True) -> "VGG16Features":
        return super().train(False)  # always in eval mode (no dropout/BN anyway, but keep it explicit)

    def forward(self, images: torch.Tensor) -> dict[str, torch.Tensor]:
        x = ((images + 1) / 2).contiguous(memory_format=torch.channels_last)
        if self.imagenet_norm:
            x = (x - self.mean) / self.std
        wanted = {LAYERS[name]: name for name in self.layers}
        out: dict[str, torch.Tensor] = {}
        for index, layer in enumerate(self.features):
            x = layer(x)
            if index in wanted:
                out[wanted[index]] = x
        return out


def _features_state(path: Path, n_layers: int) -> dict[str, torch.Tensor]:
    """The ``features.<i>.*`` entries (i < n_layers) of a torchvision VGG16 state_dict, renamed ``<i>.*``."""
    state = torch.load(path, map_location="cpu", weights_only=True)
    if not isinstance(state, dict):
        raise ValueError(f"{path} is not a state_dict (got {type(state).__name__})")
    picked = {}
    for key, value in state.items():
        prefix, _, rest = key.partition(".")
        index = rest.partition(".")[0]
        if prefix == "features" and index.isdigit() and int(index) < n_layers:
            picked[rest] = value
    if not picked:
        raise ValueError(f"{path} has no 'features.<i>.*' entries: not a torchvision vgg16 state_dict")
    return picked


def gram_matrix(features: torch.Tensor) -> torch.Tensor:
    """B x C x H x W -> B x C x C, f f^T / (C H W) (Johnson et al. 2016; CRD/OMGD's normalisation)."""
    b, c, h, w = features.shape
    flat = features.reshape(b, c, h * w)
    return torch.baddbmm(flat.new_empty(b, c, c), flat, flat.transpose(1, 2), beta=0, alpha=1 / (c * h * w))


def style_loss(student: dict[str, torch.Tensor], teacher: dict[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of L1 between Gram matrices (teacher side taken as given, no gradient)."""
    return sum(F.l1_loss(gram_matrix(student[k]), gram_matrix(teacher[k]).detach()) for k in student)


@torch.no_grad()
def vgg_embedding(vgg: VGG16Features, images: torch.Tensor, batch_size: int = 8) -> torch.Tensor:
    """N x 512 global-average-pooled features of the deepest tapped layer (relu4_3), float64."""
    deepest = vgg.layers[-1]
    out = [vgg(images[i:i + batch_size])[deepest].mean(dim=(2, 3)) for i in range(0, len(images), batch_size)]
    return torch.cat(out).double()


def frechet_distance(x: torch.Tensor, y: torch.Tensor) -> float:
    """Frechet distance between Gaussians fitted to two feature sets (N x D each; FID's formula,
    Heusel et al. 2017): |mu_x - mu_y|^2 + tr(S_x + S_y - 2 (S_x S_y)^(1/2)). The trace of the
    square root comes from the eigenvalues of S_x^(1/2) S_y S_x^(1/2) (symmetric PSD), which is
    well defined when N < D (singular covariances)."""
    x, y = x.double(), y.double()
    mu = x.mean(0) - y.mean(0)
    s_x, s_y = torch.cov(x.T).reshape(x.shape[1], -1), torch.cov(y.T).reshape(y.shape[1], -1)
    evals, evecs = torch.linalg.eigh(s_x)
    root_x = evecs @ torch.diag(evals.clamp_min(0).sqrt()) @ evecs.T
    cross = torch.linalg.eigvalsh(root_x @ s_y @ root_x).clamp_min(0).sqrt().sum()
    return float(mu @ mu + s_x.trace() + s_y.trace() - 2 * cross)

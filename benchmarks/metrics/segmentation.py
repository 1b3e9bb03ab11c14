"""mIoU of a DRN-D-105 segmenter on generated Cityscapes photos (the labels -> photo protocol).

DRN-D-105: Yu, Koltun and Funkhouser, "Dilated Residual Networks", CVPR 2017. The module tree below
reproduces fyu/drn's ``drn.py`` (``DRN(Bottleneck, [1, 1, 3, 4, 23, 3, 1, 1], arch='D')``) and
``segment.py``'s ``DRNSeg``: ``base`` = the DRN's first nine children (layer0..layer8), ``seg`` = a
1x1 conv to 19 classes, ``up`` = a fixed bilinear 16x16 stride-8 transposed conv. Its state_dict keys
are therefore those of the released ``drn-d-105_ms_cityscapes.pth`` (the file GAN Compression and
DMAD pass as ``--drn_path``), which loads with ``strict=True``.

Protocol (mit-han-lab/gan-compression ``metric/cityscapes_mIoU.py``): each generated photo, as
uint8 RGB, is scaled to [0, 1] and normalised with the Cityscapes mean/std of fyu/drn's
``info.json``; the segmenter's log-softmax output (at the photo's resolution) is resized bilinearly
to the label map's resolution (GAN Compression: the full 2048x1024), the arg-max is the
prediction, and a 19 x 19 confusion matrix accumulates over the test set, ignoring label 255.
IoU per class = TP / (TP + FP + FN); mIoU = mean over classes (NaN classes, absent from both
labels and predictions, are skipped), in percent.

Weights are never downloaded (no public direct URL; :mod:`kd_gan_bench.methods.weights.resolver` resolves them):
``--seg-weights PATH``, else ``$KDGAN_SEG_WEIGHTS``, else ``torch.hub``'s cache
(``$TORCH_HOME/hub/checkpoints/drn-d-105_ms_cityscapes.pth``). Without them mIoU cannot be
computed and the job says so; no number is invented.
"""
from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.networks.build import state_dict_mismatch
from kd_gan_bench.methods.weights.resolver import WEIGHTS, find_local, sha256_file

N_CLASSES = 19
IGNORE = 255
WEIGHTS_FILENAME = WEIGHTS.get("drn").filename
WEIGHTS_SOURCE = WEIGHTS.get("drn").manual
#: fyu/drn ``datasets/cityscapes/info.json`` (the values GAN Compression hard-codes).
MEAN = (0.29010095242892997, 0.32808144844279574, 0.28696394422942517)
STD = (0.1829540508368939, 0.18656561047509476, 0.18447508988480435)
DRN_D_105_LAYERS = (1, 1, 3, 4, 23, 3, 1, 1)
CHANNELS = (16, 32, 64, 128, 256, 512, 512, 512)


class SegmenterWeightsError(RuntimeError):
    """The segmenter's weights are missing or do not fit DRN-D-105; the message says which keys."""


class Bottleneck(nn.Module):
    """fyu/drn ``Bottleneck`` (expansion 4): 1x1, dilated 3x3, 1x1 convs with batch norm and a residual."""

    expansion = 4

    def __init__(self, inplanes: int, planes: int, stride: int = 1, downsample: nn.Module | None = None,
                 dilation: tuple[int, int] = (1, 1)) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(inplanes, planes, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(planes)
        self.conv2 = nn.Conv2d(planes, planes, 3, stride=stride, padding=dilation[1], dilation=dilation[1], bias=False)
        self.bn2 = nn.BatchNorm2d(planes)
        self.conv3 = nn.Conv2d(planes, planes * 4, 1, bias=False)
        self.bn3 = nn.BatchNorm2d(planes * 4)
        self.relu = nn.ReLU(inplace=True)
        self.downsample = downsample

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        out = self.relu(self.bn2(self.conv2(out)))
        out = self.bn3(self.conv3(out))
        return self.relu(out + (self.downsample(x) if self.downsample is not None else x))


class _DRNDBuilder:
    """Builds the layers of fyu/drn's ``DRN(..., arch='D')`` in its order (tracking ``inplanes``)."""

    def __init__(self) -> None:
        self.inplanes = CHANNELS[0]

    def conv_layers(self, channels: int, convs: int, stride: int = 1, dilation: int = 1) -> nn.Sequential:
        modules: list[nn.Module] = []
        for i in range(convs):
            modules += [nn.Conv2d(self.inplanes, channels, 3, stride=stride if i == 0 else 1, padding=dilation,
                                  dilation=dilation, bias=False), nn.BatchNorm2d(channels), nn.ReLU(inplace=True)]
            self.inplanes = channels
        return nn.Sequential(*modules)

    def bottlenecks(self, planes: int, blocks: int, stride: int = 1, dilation: int = 1,
                    new_level: bool = True) -> nn.Sequential:
        downsample = None
        if stride != 1 or self.inplanes != planes * Bottleneck.expansion:
            downsample = nn.Sequential(nn.Conv2d(self.inplanes, planes * 4, 1, stride=stride, bias=False),
                                       nn.BatchNorm2d(planes * 4))
        first = (1, 1) if dilation == 1 else (dilation // 2 if new_level else dilation, dilation)
        layers = [Bottleneck(self.inplanes, planes, stride, downsample, dilation=first)]
        self.inplanes = planes * 4
        layers += [Bottleneck(self.inplanes, planes, dilation=(dilation, dilation)) for _ in range(1, blocks)]
        return nn.Sequential(*layers)


def _fill_up_weights(up: nn.ConvTranspose2d) -> None:
    """Bilinear upsampling kernel (fyu/drn ``fill_up_weights``)."""
    w = up.weight.data
    f = math.ceil(w.size(2) / 2)
    c = (2 * f - 1 - f % 2) / (2.0 * f)
    for i in range(w.size(2)):
        for j in range(w.size(3)):
            w[0, 0, i, j] = (1 - math.fabs(i / f - c)) * (1 - math.fabs(j / f - c))
    for ch in range(1, w.size(0)):
        w[ch, 0, :, :] = w[0, 0, :, :]


class DRNSeg(nn.Module):
    """DRN-D-105 semantic segmenter in fyu/drn's ``DRNSeg`` layout; ``forward`` returns log-probabilities."""

    def __init__(self, classes: int = N_CLASSES) -> None:
        super().__init__()
        b, L, C = _DRNDBuilder(), DRN_D_105_LAYERS, CHANNELS
        layer0 = nn.Sequential(nn.Conv2d(3, C[0], 7, padding=3, bias=False), nn.BatchNorm2d(C[0]), nn.ReLU(inplace=True))
        self.base = nn.Sequential(
            layer0,
            b.conv_layers(C[0], L[0]),
            b.conv_layers(C[1], L[1], stride=2),
            b.bottlenecks(C[2], L[2], stride=2),
            b.bottlenecks(C[3], L[3], stride=2),
            b.bottlenecks(C[4], L[4], dilation=2, new_level=False),
            b.bottlenecks(C[5], L[5], dilation=4, new_level=False),
            b.conv_layers(C[6], L[6], dilation=2),
            b.conv_layers(C[7], L[7]),
        )
        self.seg = nn.Conv2d(C[-1], classes, 1, bias=True)
        self.up = nn.ConvTranspose2d(classes, classes, 16, stride=8, padding=4, groups=classes, bias=False)
        _fill_up_weights(self.up)
        self.up.weight.requires_grad_(False)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return F.log_softmax(self.up(self.seg(self.base(x))), dim=1)


def weights_cache_path() -> Path:
    return Path(torch.hub.get_dir()) / "checkpoints" / WEIGHTS_FILENAME


def resolve_weights(explicit: str | None) -> Path:
    """The weights file (:func:`kd_gan_bench.methods.weights.resolver.find_local`: ``explicit``, ``$KDGAN_SEG_WEIGHTS``, torch.hub's
    cache); ``SegmenterWeightsError`` saying how to get it."""
    try:
        found = find_local("drn", explicit or None)
    except FileNotFoundError:
        raise SegmenterWeightsError(f"--seg-weights {explicit}: no such file. Expected DRN-D-105 Cityscapes weights "
                                    f"({WEIGHTS_FILENAME}, from {WEIGHTS_SOURCE}).") from None
    if found is not None:
        return found.path
    cached = weights_cache_path()
    raise SegmenterWeightsError(
        f"mIoU cannot be computed: DRN-D-105 weights not found (no --seg-weights, nothing at {cached}). Get "
        f"{WEIGHTS_FILENAME} ({WEIGHTS_SOURCE}), then pass it with --seg-weights PATH or put it at {cached}.")


def load_segmenter(path: Path) -> DRNSeg:
    """DRN-D-105 with the weights of ``path`` (a state_dict, optionally under ``state_dict`` or with
    DataParallel's ``module.`` prefix), loaded strictly; mismatches list the offending keys."""
    try:
        state = torch.load(path, map_location="cpu", weights_only=True)
    except Exception as exc:  # unpickling errors come in many types
        raise SegmenterWeightsError(f"cannot read segmenter weights {path}: {type(exc).__name__}: {exc}") from None
    if isinstance(state, dict) and isinstance(state.get("state_dict"), dict):
        state = state["state_dict"]
    if not isinstance(state, dict):
        raise SegmenterWeightsError(f"{path} holds a {type(state).__name__}, not a state_dict")
    state = {k.removeprefix("module."): v for k, v in state.items()}
    model = DRNSeg()
    mismatch = state_dict_mismatch(model.state_dict(), state, shapes="file vs DRN-D-105", limit=8,
                                   may_lack=lambda key: key.endswith("num_batches_tracked"))
    if mismatch:
        raise SegmenterWeightsError(f"{path} does not fit DRN-D-105 (fyu/drn DRNSeg, 19 classes): {mismatch}")
    model.load_state_dict(state, strict=False)  # only num_batches_tracked may be absent (pre-1.0 files)
    return model.eval()


def file_sha256(path: Path) -> str:
    return sha256_file(path)


def confusion_matrix(pred: torch.Tensor, label: torch.Tensor, n: int = N_CLASSES) -> torch.Tensor:
    """n x n counts (rows: label, columns: prediction) over pixels whose label is a valid class."""
    valid = label < n
    idx = label[valid].long() * n + pred[valid].long()
    return torch.bincount(idx, minlength=n * n).reshape(n, n)


def miou_from_confusion(hist: torch.Tensor) -> tuple[float, list[float]]:
    """mIoU (percent) and per-class IoU (NaN for classes absent from labels and predictions)."""
    hist = hist.double()
    tp = hist.diag()
    union = hist.sum(0) + hist.sum(1) - tp
    iou = tp / union  # 0/0 -> NaN, as in GAN Compression's per_class_iu
    valid = ~torch.isnan(iou)
    return float(iou[valid].mean() * 100) if valid.any() else float("nan"), [float(v * 100) for v in iou]


def miou_of_images(hists: torch.Tensor, test_subsets: Any = None) -> tuple[float, list[float], list[float] | None]:
    """mIoU and per-class IoU of the test split from its images' confusion matrices (N x C x C), and with
    ``test_subsets`` (B x m image indices, :mod:`kd_gan_bench.benchmarks.metrics.resampling`) each subset's mIoU, from the sum of its
    images' matrices (else None)."""
    miou, per_class = miou_from_confusion(hists.sum(0))
    subsets = None if test_subsets is None else [miou_from_confusion(hists[torch.as_tensor(rows)].sum(0))[0]
                                                 for rows in test_subsets]
    return miou, per_class, subsets


@torch.no_grad()
def segmentation_miou(images: torch.Tensor, labels: torch.Tensor, model: DRNSeg, device: torch.device,
                      batch_size: int = 4, test_subsets: Any = None) -> dict[str, Any]:
    """mIoU of ``model`` on uint8 N x 3 x h x w ``images`` against uint8 N x H x W ``labels``. ``test_subsets``
    (B x m image indices, :mod:`kd_gan_bench.benchmarks.metrics.resampling`) adds ``miou_subsets``: the mIoU of each subset, from the
    sum of its images' confusion matrices."""
    if images.dtype != torch.uint8 or images.dim() != 4 or images.shape[1] != 3:
        raise ValueError(f"images must be uint8 N x 3 x H x W, got {images.dtype} {tuple(images.shape)}")
    if labels.dim() != 3 or len(labels) != len(images):
        raise ValueError(f"labels must be N x H x W with N = {len(images)}, got {tuple(labels.shape)}")
    model = model.to(device).eval()
    mean = torch.tensor(MEAN, device=device).view(1, 3, 1, 1)
    std = torch.tensor(STD, device=device).view(1, 3, 1, 1)
    height, width = labels.shape[1:]
    per_image = []
    for i in range(0, len(images), batch_size):
        x = (images[i:i + batch_size].to(device).float() / 255.0 - mean) / std
        logp = model(x)
        if logp.shape[-2:] != (height, width):
            logp = F.interpolate(logp, size=(height, width), mode="bilinear", align_corners=False)
        pred, label = logp.argmax(1), labels[i:i + batch_size].to(device)
        per_image += [confusion_matrix(p, t).cpu() for p, t in zip(pred, label)]
    miou, per_class, subsets = miou_of_images(torch.stack(per_image), test_subsets)
    extra = {} if subsets is None else {"miou_subsets": subsets}
    return {"miou": miou, "miou_per_class": per_class, "miou_n": len(images),
            "miou_label_size": [int(height), int(width)], **extra}

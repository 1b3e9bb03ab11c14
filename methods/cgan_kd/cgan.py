"""The conditional GANs of cGAN-KD's first stage: one generator/discriminator pair per task family.

* Classification: a class-conditional GAN in the SNGAN/BigGAN line. Generator: z -> 4x4 -> residual
  up-blocks whose batch norms take their gain and bias from the class embedding (conditional BN,
  BigGAN's shared embedding); discriminator: residual down-blocks with spectral normalisation
  (Miyato et al., ICLR 2018) and a projection head, D(x, y) = w.phi(x) + <V e(y), phi(x)>
  (Miyato & Koyama, "cGANs with Projection Discriminator", ICLR 2018); hinge loss.
* Regression: a CcGAN (Ding et al., "CcGAN: Continuous Conditional Generative Adversarial Networks
  for Image Generation", ICLR 2021) on the same networks, the label normalised to [0, 1] and
  embedded continuously, trained with the hard or soft vicinal discriminator loss (HVDL / SVDL):
  per step, target labels are training labels plus N(0, sigma^2) noise; each target is paired with a
  real image whose label lies in its vicinity (|y - t| <= kappa, or (y - t)^2 <= -log(c) / nu) and a
  fake generated at a label drawn uniformly from that vicinity; D judges both at the target label,
  each term weighted 1 (hard) or exp(-nu (y - t)^2) (soft). sigma defaults to Silverman's rule of
  thumb 1.06 std(y) n^(-1/5), kappa to ``ccgan_kappa_mult`` x the largest gap between sorted
  distinct training labels, nu = 1 / kappa^2 (CcGAN's defaults).

Where this is smaller than or differs from the papers (each a hyperparameter where it is a number):
cGAN-KD uses BigGAN (ch 64 -> 256-channel blocks, self-attention off at 32x32, hierarchical z,
EMA of G, 4 D steps per G step, many more iterations); here ``gan_ch`` x 4 channels in G and x 2 in D
(SNGAN's CIFAR widths at ch 64), no hierarchical z, no EMA, ``gan_d_steps`` D steps. CcGAN feeds
the label through a separately pre-trained label-embedding network (y2h, "improved label input");
here the label embedding (sin/cos features of y at ``n_freq`` octaves, then a 2-layer MLP) is
learnt jointly with G and D. If a vicinity is empty after 10 redraws of the noise, the noise is set
to 0 (the target is then a training label, whose own image is in the vicinity).
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn
from torch.nn.utils.parametrizations import spectral_norm

from kd_gan_bench.methods.core.training import Checkpointer, Schedule, TrainingState, run_steps, to_float, to_uint8



# ---------------------------------------------------------------------------------------- networks
class ContinuousLabelEmbedding(nn.Module):
    """A label in [0, 1] -> R^dim: sin/cos of pi 2^k y for k < n_freq, then Linear-ReLU-Linear."""

    def __init__(self, dim_embed: int, n_freq: int = 6) -> None:
        super().__init__()
        self.register_buffer("freqs", math.pi * 2.0 ** torch.arange(n_freq, dtype=torch.float32))
        self.mlp = nn.Sequential(nn.Linear(2 * n_freq, dim_embed), nn.ReLU(inplace=True),
                                 nn.Linear(dim_embed, dim_embed))

    def forward(self, y: torch.Tensor) -> torch.Tensor:
        angles = y.float().view(-1, 1) * self.freqs
        return self.mlp(torch.cat([torch.sin(angles), torch.cos(angles)], 1))


def label_embedding(family: str, num_classes: int | None, dim_embed: int) -> nn.Module:
    """Class ids -> a learnt table; normalised continuous labels -> ``ContinuousLabelEmbedding``."""
    if family == "classification":
        return nn.Embedding(int(num_classes), dim_embed)
    if family == "regression":
        return ContinuousLabelEmbedding(dim_embed)
    raise ValueError(f"unknown family {family!r}; valid: 'classification', 'regression'")


def _stages(size: int) -> int:
    if size < 16 or size & (size - 1):
        raise ValueError(f"the cGAN needs a power-of-two image size >= 16, got {size}")
    return int(math.log2(size)) - 2  # 4x4 -> size x size


class ConditionalBatchNorm(nn.Module):
    """Batch norm without its own affine; gain 1 + W_g h and bias W_b h from the label embedding h."""

    def __init__(self, channels: int, dim_embed: int) -> None:
        super().__init__()
        self.bn = nn.BatchNorm2d(channels, affine=False)
        self.gain, self.bias = nn.Linear(dim_embed, channels), nn.Linear(dim_embed, channels)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        return self.bn(x) * (1 + self.gain(h))[:, :, None, None] + self.bias(h)[:, :, None, None]


class UpBlock(nn.Module):
    """CBN-ReLU-upsample-conv-CBN-ReLU-conv with an upsample + 1x1 conv shortcut."""

    def __init__(self, c_in: int, c_out: int, dim_embed: int) -> None:
        super().__init__()
        self.bn1, self.bn2 = ConditionalBatchNorm(c_in, dim_embed), ConditionalBatchNorm(c_out, dim_embed)
        self.conv1, self.conv2 = nn.Conv2d(c_in, c_out, 3, 1, 1), nn.Conv2d(c_out, c_out, 3, 1, 1)
        self.skip = nn.Conv2d(c_in, c_out, 1)

    def forward(self, x: torch.Tensor, h: torch.Tensor) -> torch.Tensor:
        y = self.conv1(F.interpolate(F.relu(self.bn1(x, h)), scale_factor=2))
        y = self.conv2(F.relu(self.bn2(y, h)))
        return y + self.skip(F.interpolate(x, scale_factor=2))


class ConditionalGenerator(nn.Module):
    """G(z, y): z -> 4x4 x (4 ch) -> log2(size/4) up-blocks conditioned on the label -> tanh image."""

    def __init__(self, embedding: nn.Module, dim_embed: int, dim_z: int, ch: int, size: int) -> None:
        super().__init__()
        self.dim_z, self.channels, self.size = dim_z, 4 * ch, size
        self.embed = embedding
        self.linear = nn.Linear(dim_z, 16 * self.channels)
        self.blocks = nn.ModuleList(UpBlock(self.channels, self.channels, dim_embed) for _ in range(_stages(size)))
        self.out = nn.Sequential(nn.BatchNorm2d(self.channels), nn.ReLU(inplace=True),
                                 nn.Conv2d(self.channels, 3, 3, 1, 1), nn.Tanh())

    def forward(self, z: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        h = self.embed(y)
        x = self.linear(z).view(len(z), self.channels, 4, 4)
        for block in self.blocks:
            x = block(x, h)
        return self.out(x)


class DownBlock(nn.Module):
    """Spectrally normalised residual block: (ReLU)-conv-ReLU-conv-(avgpool), shortcut 1x1 conv-(avgpool)."""

    def __init__(self, c_in: int, c_out: int, down: bool, pre_relu: bool) -> None:
        super().__init__()
        self.conv1 = spectral_norm(nn.Conv2d(c_in, c_out, 3, 1, 1))
        self.conv2 = spectral_norm(nn.Conv2d(c_out, c_out, 3, 1, 1))
        self.skip = spectral_norm(nn.Conv2d(c_in, c_out, 1)) if c_in != c_out or down else None
        self.down, self.pre_relu = down, pre_relu

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        y = self.conv2(F.relu(self.conv1(F.relu(x) if self.pre_relu else x)))
        s = x if self.skip is None else self.skip(x)
        if self.down:
            y, s = F.avg_pool2d(y, 2), F.avg_pool2d(s, 2)
        return y + s


class ProjectionDiscriminator(nn.Module):
    """D(x, y) = w . phi(x) + <V e(y), phi(x)>, phi = residual down-blocks to 8x8, two more blocks, ReLU, sum-pool."""

    def __init__(self, embedding: nn.Module, dim_embed: int, ch: int, size: int) -> None:
        super().__init__()
        c = 2 * ch
        downs = _stages(size) - 1  # to 8x8
        blocks = [DownBlock(3, c, down=True, pre_relu=False)]
        blocks += [DownBlock(c, c, down=True, pre_relu=True) for _ in range(downs - 1)]
        blocks += [DownBlock(c, c, down=False, pre_relu=True) for _ in range(2)]
        self.blocks = nn.Sequential(*blocks)
        self.linear = spectral_norm(nn.Linear(c, 1))
        self.embed = embedding
        self.project = spectral_norm(nn.Linear(dim_embed, c, bias=False))

    def forward(self, x: torch.Tensor, y: torch.Tensor) -> torch.Tensor:
        phi = F.relu(self.blocks(x)).sum(dim=(2, 3))
        return self.linear(phi)[:, 0] + (self.project(self.embed(y)) * phi).sum(1)


def build_cgan(family: str, num_classes: int | None, size: int, hp: Mapping[str, Any]) -> tuple[nn.Module, nn.Module]:
    """The generator and discriminator for a task family, each with its own label embedding."""
    dim = hp["gan_dim_embed"]
    g = ConditionalGenerator(label_embedding(family, num_classes, dim), dim, hp["gan_dim_z"], hp["gan_ch"], size)
    d = ProjectionDiscriminator(label_embedding(family, num_classes, dim), dim, hp["gan_ch"], size)
    return g, d


# ------------------------------------------------------------------------------------ label batches
@dataclass
class LabelBatch:
    """One discriminator batch: real images' indices, the target labels D judges at, the labels the
    fakes are generated at, and the per-sample loss weights (None = all 1)."""

    real_idx: torch.Tensor
    target: torch.Tensor
    fake: torch.Tensor
    w_real: torch.Tensor | None = None
    w_fake: torch.Tensor | None = None


class ClassLabels:
    """Class-conditional batches: real images with their own classes; fakes at the same classes."""

    def __init__(self, labels: torch.Tensor) -> None:
        self.labels = labels.long()

    def sample(self, n: int, gen: torch.Generator) -> LabelBatch:
        idx = torch.randint(0, len(self.labels), (n,), generator=gen)
        return LabelBatch(idx, self.labels[idx], self.labels[idx])


class VicinalLabels:
    """CcGAN's HVDL/SVDL batches over labels normalised to [0, 1] (see the module docstring)."""

    def __init__(self, labels: torch.Tensor, vicinity: str, kappa_mult: float, sigma: float | None,
                 soft_threshold: float) -> None:
        if vicinity not in ("hard", "soft"):
            raise ValueError(f"ccgan_vicinity must be 'hard' or 'soft', got {vicinity!r}")
        self.labels = labels.double()
        self.unique = torch.unique(self.labels)
        if len(self.unique) < 2:
            raise ValueError("a CcGAN needs at least two distinct training labels")
        gaps = self.unique[1:] - self.unique[:-1]
        kappa = kappa_mult * float(gaps.max())
        n = len(self.labels)
        self.sigma = float(sigma) if sigma is not None else 1.06 * float(self.labels.std()) * n ** (-1 / 5)
        self.vicinity, self.soft_threshold = vicinity, soft_threshold
        self.kappa = kappa
        self.nu = 1.0 / kappa ** 2
        # half-width of the vicinity: kappa (hard), or where the soft weight falls to the threshold
        self.width = kappa if vicinity == "hard" else math.sqrt(-math.log(soft_threshold) / self.nu)

    def sample(self, n: int, gen: torch.Generator) -> LabelBatch:
        base = self.unique[torch.randint(0, len(self.unique), (n,), generator=gen)]
        target = base + self.sigma * torch.randn(n, generator=gen, dtype=torch.float64)
        inside = (self.labels[None, :] - target[:, None]).abs() <= self.width
        for _ in range(10):  # CcGAN redraws the noise of targets without a real image nearby
            empty = ~inside.any(1)
            if not empty.any():
                break
            target[empty] = base[empty] + self.sigma * torch.randn(int(empty.sum()), generator=gen, dtype=torch.float64)
            inside = (self.labels[None, :] - target[:, None]).abs() <= self.width
        empty = ~inside.any(1)
        target[empty] = base[empty]
        inside[empty] = (self.labels[None, :] - target[empty, None]).abs() <= self.width
        real_idx = torch.multinomial(inside.double(), 1, generator=gen)[:, 0]
        lo, hi = (target - self.width).clamp(0, 1), (target + self.width).clamp(0, 1)
        fake = lo + (hi - lo) * torch.rand(n, generator=gen, dtype=torch.float64)
        if self.vicinity == "hard":
            return LabelBatch(real_idx, target.float(), fake.float())
        w_real = torch.exp(-self.nu * (self.labels[real_idx] - target) ** 2)
        w_fake = torch.exp(-self.nu * (fake - target) ** 2)
        return LabelBatch(real_idx, target.float(), fake.float(), w_real.float(), w_fake.float())


def _weighted_mean(values: torch.Tensor, weights: torch.Tensor | None) -> torch.Tensor:
    return values.mean() if weights is None else (values * weights.to(values.device)).mean()


# ---------------------------------------------------------------------------------------- training
@dataclass
class CganResult:
    generator: ConditionalGenerator
    discriminator: ProjectionDiscriminator
    history: dict


def train_cgan(images: torch.Tensor, labels: torch.Tensor, family: str, num_classes: int | None,
               hp: Mapping[str, Any], device: torch.device, seed: int, *, log_every: int = 50,
               checkpoint_every: int = 0, checkpointer: Checkpointer | None = None,
               log: Callable[[str], None] = print) -> CganResult:
    """Train the family's cGAN on uint8 ``images`` with class ids or labels normalised to [0, 1] (hinge loss)."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    net_g, net_d = build_cgan(family, num_classes, images.shape[-1], hp)
    net_g, net_d = net_g.to(device).train(), net_d.to(device).train()
    betas = (hp["gan_beta1"], hp["gan_beta2"])
    opt_g = torch.optim.Adam(net_g.parameters(), lr=hp["gan_lr_g"], betas=betas)
    opt_d = torch.optim.Adam(net_d.parameters(), lr=hp["gan_lr_d"], betas=betas)
    state = TrainingState({"G": net_g, "D": net_d}, {"G": opt_g, "D": opt_d}, generator=gen)
    sampler = (ClassLabels(labels) if family == "classification" else
               VicinalLabels(labels, hp["ccgan_vicinity"], hp["ccgan_kappa_mult"], hp["ccgan_sigma"],
                             hp["ccgan_soft_threshold"]))
    if isinstance(sampler, VicinalLabels):
        log(f"CcGAN vicinity {sampler.vicinity}: sigma {sampler.sigma:.4f}, kappa {sampler.kappa:.4f}, "
            f"half-width {sampler.width:.4f} (labels normalised to [0, 1])")
    batch, dim_z = hp["gan_batch_size"], hp["gan_dim_z"]
    schedule = Schedule(steps=hp["gan_steps"], batch_size=batch, log_every=log_every, checkpoint_every=checkpoint_every)

    def step(_: int) -> dict[str, torch.Tensor]:
        for _ in range(hp["gan_d_steps"]):
            b = sampler.sample(batch, gen)
            real = to_float(images[b.real_idx], device)
            with torch.no_grad():
                fake = net_g(torch.randn(batch, dim_z, device=device), b.fake.to(device))
            target = b.target.to(device)
            loss_d = (_weighted_mean(F.relu(1 - net_d(real, target)), b.w_real)
                      + _weighted_mean(F.relu(1 + net_d(fake, target)), b.w_fake))
            opt_d.zero_grad(set_to_none=True)
            loss_d.backward()
            opt_d.step()
        target = sampler.sample(batch, gen).target.to(device)
        loss_g = -net_d(net_g(torch.randn(batch, dim_z, device=device), target), target).mean()
        opt_g.zero_grad(set_to_none=True)
        loss_g.backward()
        opt_g.step()
        return {"D": loss_d, "G": loss_g}

    history = run_steps(step, state, schedule, device, checkpointer, log)
    if checkpointer is not None:  # keep the finished stage, so a preemption in a later stage does not redo it
        checkpointer.save(state.state_dict(schedule.steps, history))
    return CganResult(net_g.eval(), net_d.eval(), history)


@torch.no_grad()
def generate(net_g: ConditionalGenerator, labels: torch.Tensor, device: torch.device, gen: torch.Generator,
             batch_size: int = 256) -> torch.Tensor:
    """uint8 samples of G (eval mode) at ``labels`` (class ids or normalised labels), z from ``gen``."""
    net_g.eval()
    out = []
    for i in range(0, len(labels), batch_size):
        y = labels[i:i + batch_size]
        z = torch.randn(len(y), net_g.dim_z, generator=gen).to(device)
        out.append(to_uint8(net_g(z, y.to(device))))
    return torch.cat(out) if out else torch.zeros(0, 3, net_g.size, net_g.size, dtype=torch.uint8)

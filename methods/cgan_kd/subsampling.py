"""cDR-RS: subsampling a conditional GAN by conditional density ratios and rejection sampling.

Ding et al., "Efficient Subsampling of Realistic Images From GANs Conditional on a Class or a
Continuous Variable" (arXiv 2103.11166), as used by cGAN-KD (arXiv 2104.03164) and its public code.

Density ratio. r(x | y) = p_real(x | y) / p_gan(x | y) is modelled on feature vectors
phi(x) of a network trained on real data (frozen) by an MLP that also reads a label embedding and
ends in a ReLU (r >= 0). It is fitted with the penalised Softplus (cSP) objective, the Bregman
divergence of f(t) = softplus(t) (f' = sigmoid) plus a penalty keeping E_gan[r] at 1:

    L(r) = E_gan[sigmoid(r) r - softplus(r)] - E_real[sigmoid(r)] + lambda (E_gan[r] - 1)^2,

whose unpenalised minimiser is r = p_real / p_gan pointwise (its derivative in r is
sigmoid'(r) (p_gan r - p_real)). Each step pairs a batch of real images with fakes generated at
the same labels.

Rejection sampling (per label, as the public code): a burn-in of proposals sets M to their largest
ratio; then each proposal x is accepted if u <= r(x | y) / M, u ~ U(0, 1), M being updated to the
running maximum before the test (the DRS heuristic of Azadi et al., ICLR 2019). Accepted samples then
follow p_gan r / E_gan[r], i.e. p_real where the model is right and M bounds r.

Training as the public code (``CIFAR-100/make_fake_datasets/train_cdre.py``, ``scripts/run.sh``; UTKFace
``opts.py``): Adam (0.5, 0.999), lr 1e-4, weight decay 1e-4, 200 epochs over the real training split at
batch 256 (about 39k steps on CIFAR-100), lr x0.1 at epochs 80 and 150 (``dre_epochs``,
``dre_batch_size``, ``dre_milestones``, ``dre_gamma``; ``dre_steps`` sets the length in steps instead).
The public code walks the real set in shuffled epochs; we draw each batch uniformly (same expected
number of visits).

Where this differs from the paper (hyperparameters): the paper's MLP5 is 2048-1024-512-256-128
with GroupNorm and dropout 0.5 (our default; ``dre_hidden`` shrinks it); its class embedding is a
num_classes-wide table and its continuous-label embedding the pre-trained y2h net, here a learnt
table / the cGAN's continuous embedding, trained with the ratio model. For regression it fits the ratio on
fakes generated at the real images' own labels (the ``dre_kappa = 0`` setting of the public code).
The feature network is an argument: the paper trains a separate ResNet-34 (classification) or a
sparse autoencoder (regression) on the real data; the fake-set phase passes its filtering network
(also trained on the real data only; ``kd_gan_bench.methods.cgan_kd.filtering``).
"""
from __future__ import annotations

import math
from typing import Any, Callable, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.core.schedule_math import dre_steps
from kd_gan_bench.methods.core.training import Checkpointer, Schedule, TrainingState, run_steps



class DensityRatioModel(nn.Module):
    """r(x | y) >= 0 from a feature vector and a label: MLP over [embedding(y), phi(x)] ending in ReLU.
    The last layer starts at r = 1 (zero weights, unit bias) so no label begins with a dead output."""

    def __init__(self, feature_dim: int, embedding: nn.Module, dim_embed: int, hidden: Sequence[int],
                 dropout: float) -> None:
        super().__init__()
        self.embed = embedding
        layers: list[nn.Module] = []
        width = feature_dim + dim_embed
        for h in hidden:
            layers += [nn.Linear(width, int(h)), nn.GroupNorm(math.gcd(8, int(h)), int(h)), nn.ReLU(inplace=True),
                       nn.Dropout(dropout)]
            width = int(h)
        head = nn.Linear(width, 1)
        nn.init.zeros_(head.weight)
        nn.init.ones_(head.bias)  # start at r = 1 everywhere (no preference), not at a dead ReLU
        self.mlp = nn.Sequential(*layers, head, nn.ReLU())

    def forward(self, features: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.mlp(torch.cat([self.embed(labels), features], 1))[:, 0]


def penalized_softplus_loss(r_real: torch.Tensor, r_fake: torch.Tensor, lam: float) -> torch.Tensor:
    """cDR-RS's cSP objective (module docstring): real samples push r up, fakes down, mean fake r near 1."""
    divergence = (torch.sigmoid(r_fake) * r_fake).mean() - F.softplus(r_fake).mean() - torch.sigmoid(r_real).mean()
    return divergence + lam * (r_fake.mean() - 1) ** 2


def train_density_ratio(model: DensityRatioModel, real_features: torch.Tensor, real_labels: torch.Tensor,
                        fake_features: Callable[[torch.Tensor, torch.Generator], torch.Tensor],
                        hp: Mapping[str, Any], device: torch.device, seed: int, *, log_every: int = 50,
                        checkpoint_every: int = 0, checkpointer: Checkpointer | None = None,
                        log: Callable[[str], None] = print) -> dict:
    """Fit ``model`` in place: batches of real features with their labels against
    ``fake_features(labels, generator)`` (GAN samples at the same labels); Adam (0.5, 0.999) as the paper."""
    torch.manual_seed(seed)
    gen = torch.Generator().manual_seed(seed)
    model.to(device).train()
    opt = torch.optim.Adam(model.parameters(), lr=hp["dre_lr"], betas=(0.5, 0.999), weight_decay=hp["dre_weight_decay"])
    batch = hp["dre_batch_size"]
    steps = dre_steps(hp, len(real_features))
    milestones = sorted({max(1, int(float(m) * steps)) for m in hp["dre_milestones"]})
    sched = torch.optim.lr_scheduler.MultiStepLR(opt, milestones=milestones, gamma=hp["dre_gamma"])
    state = TrainingState({"dre": model}, {"dre": opt}, {"dre": sched}, generator=gen)

    def step(_: int) -> dict[str, torch.Tensor]:
        idx = torch.randint(0, len(real_features), (batch,), generator=gen)
        labels = real_labels[idx]
        with torch.no_grad():
            fake = fake_features(labels, gen).to(device)
        y = labels.to(device)
        r_real, r_fake = model(real_features[idx].to(device), y), model(fake, y)
        loss = penalized_softplus_loss(r_real, r_fake, hp["dre_lambda"])
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        return {"cSP": loss, "r_real": r_real.mean().detach(), "r_fake": r_fake.mean().detach()}

    schedule = Schedule(steps=steps, batch_size=batch, log_every=log_every, checkpoint_every=checkpoint_every)
    history = run_steps(step, state, schedule, device, checkpointer, log)
    if checkpointer is not None:  # keep the finished stage, so a preemption in a later stage does not redo it
        checkpointer.save(state.state_dict(schedule.steps, history))
    model.eval()
    return history


def rejection_step(ratios: torch.Tensor, running_max: float, u: torch.Tensor) -> tuple[torch.Tensor, float]:
    """One batch of rejection sampling: update M to the running max, accept where u <= r / M."""
    running_max = max(running_max, float(ratios.max())) if len(ratios) else running_max
    if not running_max > 0:
        raise ValueError("the density-ratio model gives 0 to every proposal so far: nothing can be accepted "
                         "(train it longer, lower dre_lambda, or turn subsampling off)")
    return u <= ratios / running_max, running_max


class RejectionSampler:
    """Rejection sampling of ``propose(n) -> (samples, labels)`` by ``ratio(samples, labels)`` (cDR-RS)."""

    def __init__(self, propose: Callable[[int], tuple[torch.Tensor, torch.Tensor]],
                 ratio: Callable[[torch.Tensor, torch.Tensor], torch.Tensor], generator: torch.Generator) -> None:
        self.propose, self.ratio, self.generator = propose, ratio, generator
        self.running_max = 0.0
        self.n_burn_in = 0
        self.n_proposed = 0

    def burn_in(self, n: int, batch_size: int) -> None:
        """Set M to the largest ratio among ``n`` proposals, which are then discarded."""
        for start in range(0, n, batch_size):
            samples, labels = self.propose(min(batch_size, n - start))
            self.running_max = max(self.running_max, float(self.ratio(samples, labels).max()))
        self.n_burn_in += n

    def draw(self, n: int) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``n`` proposals and which of them are accepted: (samples, labels, accepted mask)."""
        samples, labels = self.propose(n)
        ratios = self.ratio(samples, labels).cpu()
        accept, self.running_max = rejection_step(ratios, self.running_max, torch.rand(n, generator=self.generator))
        self.n_proposed += n
        return samples, labels, accept

    def sample(self, n: int, batch_size: int, max_proposals: int) -> tuple[torch.Tensor, torch.Tensor]:
        """Up to ``n`` accepted samples, drawing batches until there are ``n`` or ``max_proposals`` were drawn
        (fewer come back when the ratios are very uneven; the caller decides whether that is enough)."""
        kept_x, kept_y, total, drawn = [], [], 0, 0
        while total < n and drawn < max_proposals:
            samples, labels, accept = self.draw(batch_size)
            drawn += batch_size
            kept_x.append(samples[accept])
            kept_y.append(labels[accept])
            total += int(accept.sum())
        return torch.cat(kept_x)[:n], torch.cat(kept_y)[:n]

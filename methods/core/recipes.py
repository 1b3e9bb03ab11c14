"""The teachers' training recipes: pix2pix for paired tasks, CycleGAN for unpaired ones.

pix2pix (Isola et al., CVPR 2017): conditional PatchGAN on (input, output) pairs, vanilla GAN
loss + 100 x L1 to the ground truth. CycleGAN (Zhu et al., ICCV 2017): two generators and two
PatchGANs, LSGAN, cycle weight 10, identity 0.5, image pool 50, Adam 2e-4 (beta1 0.5), constant
then linearly decaying learning rate; every network initialised N(0, 0.02) (the code's ``init_net``;
``init="pytorch"`` keeps PyTorch's default). Differences from the papers: training length is counted
in steps (``Schedule.steps``) rather than epochs, and the batch size is a schedule setting.

The same recipes train the ``scratch`` (NOKD) baseline at the student's width, and the online
teachers of methods that train their teacher inside their own job (CRD): :func:`build_recipe`
returns the networks, optimisers and a one-step update that such a method interleaves with its
student's steps.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.core.base import TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.recipe_settings import resolve_recipe  # torch-free there: the training plan reads it too
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.training import (BatchSampler, ImagePool, Schedule, TrainingState, adam, gan_loss, linear_decay,
                              run_steps, set_requires_grad)

def build_discriminator(hp: Mapping[str, Any], paired: bool) -> nn.Module:
    """PatchGAN; conditional (6 input channels: input and output image) for paired tasks."""
    return build_network({"arch": "patchgan_discriminator", "input_nc": 6 if paired else 3,
                          "ndf": hp["ndf"], "n_layers": hp["d_layers"], "norm": hp["d_norm"]}, hp["init"])


@dataclass
class RecipeModel:
    """One recipe's networks, optimisers and schedulers, and its one-step update.

    ``step(real_a, real_b)`` performs one optimisation step of every network and returns the loss
    terms and the A->B generator's output for ``real_a`` (detached, computed before the update).
    The dictionaries feed a ``TrainingState``; ``generator`` is the A->B generator and
    ``discriminator`` the judge of domain-B images (conditional on the input for pix2pix)."""

    generator: nn.Module
    discriminator: nn.Module
    modules: dict[str, nn.Module]
    optimizers: dict[str, torch.optim.Optimizer]
    schedulers: dict[str, Any]
    extras: dict[str, Any]
    step: Callable[[torch.Tensor, torch.Tensor], tuple[dict[str, torch.Tensor], torch.Tensor]]


def build_recipe(generator_spec: Mapping[str, Any], hp: Mapping[str, Any], paired: bool, schedule: Schedule,
                 device: torch.device, generator: torch.Generator) -> RecipeModel:
    """The pix2pix (paired) or CycleGAN (unpaired) recipe for a generator of ``generator_spec``.

    ``hp`` is a resolved recipe (:func:`resolve_recipe`); ``generator`` drives the image pools."""
    build = _pix2pix if paired else _cyclegan
    return build(generator_spec, hp, schedule, device, generator)


def train_recipe(setup: TrainSetup, generator_spec: Mapping[str, Any]) -> TrainOutcome:
    """Train a generator of ``generator_spec`` with the task's recipe (pix2pix or CycleGAN)."""
    torch.manual_seed(setup.seed)
    gen = torch.Generator().manual_seed(setup.seed)
    paired = setup.data.paired
    model = build_recipe(generator_spec, resolve_recipe(setup.recipe, paired), paired, setup.schedule, setup.device,
                         gen)
    state = TrainingState(model.modules, model.optimizers, model.schedulers, model.extras, generator=gen)
    sampler = recipe_sampler(setup, gen)
    history = run_steps(lambda _: model.step(*sampler.sample())[0], state, setup.schedule, setup.device,
                        setup.checkpointer, setup.log)
    extras = {"generator_BA": model.modules["G_BA"]} if not paired else {}
    return TrainOutcome(model.generator, history, discriminator=model.discriminator, extras=extras)


def recipe_sampler(setup: TrainSetup, generator: torch.Generator) -> BatchSampler:
    """Batches of the task's training images (pairs for paired tasks) at the schedule's batch size."""
    return BatchSampler(setup.data.train_a, setup.data.train_b, setup.data.paired, setup.schedule.batch_size,
                        setup.device, generator)


def _schedulers(optimizers: Mapping[str, torch.optim.Optimizer], schedule: Schedule) -> dict[str, Any]:
    return {k: linear_decay(o, schedule) for k, o in optimizers.items()}


def _pix2pix(generator_spec: Mapping[str, Any], hp: Mapping[str, Any], schedule: Schedule, device: torch.device,
             generator: torch.Generator) -> RecipeModel:
    net_g = build_network(generator_spec, hp["init"]).to(device)
    net_d = build_discriminator(hp, paired=True).to(device)
    opt_g, opt_d = adam(net_g.parameters(), schedule), adam(net_d.parameters(), schedule)
    optimizers = {"G": opt_g, "D": opt_d}
    mode = hp["gan_mode"]

    def step(real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        fake_b = net_g(real_a)
        set_requires_grad(net_d, True)
        opt_d.zero_grad(set_to_none=True)
        loss_d = 0.5 * (gan_loss(net_d(torch.cat([real_a, fake_b.detach()], 1)), False, mode, for_discriminator=True)
                        + gan_loss(net_d(torch.cat([real_a, real_b], 1)), True, mode, for_discriminator=True))
        loss_d.backward()
        opt_d.step()
        set_requires_grad(net_d, False)
        opt_g.zero_grad(set_to_none=True)
        loss_gan = gan_loss(net_d(torch.cat([real_a, fake_b], 1)), True, mode, for_discriminator=False)
        loss_l1 = F.l1_loss(fake_b, real_b) * hp["lambda_l1"]
        (loss_gan + loss_l1).backward()
        opt_g.step()
        return {"D": loss_d, "G_gan": loss_gan, "G_l1": loss_l1}, fake_b.detach()

    return RecipeModel(net_g, net_d, {"G": net_g, "D": net_d}, optimizers, _schedulers(optimizers, schedule), {},
                       step)


def _cyclegan(generator_spec: Mapping[str, Any], hp: Mapping[str, Any], schedule: Schedule, device: torch.device,
              generator: torch.Generator) -> RecipeModel:
    g_ab, g_ba = (build_network(generator_spec, hp["init"]).to(device) for _ in range(2))
    d_b, d_a = build_discriminator(hp, False).to(device), build_discriminator(hp, False).to(device)
    opt_g = adam(list(g_ab.parameters()) + list(g_ba.parameters()), schedule)
    opt_d = adam(list(d_b.parameters()) + list(d_a.parameters()), schedule)
    optimizers = {"G": opt_g, "D": opt_d}
    pool_a, pool_b = ImagePool(hp["pool_size"], generator), ImagePool(hp["pool_size"], generator)
    mode, lam, lam_idt = hp["gan_mode"], hp["lambda_cycle"], hp["lambda_identity"]

    def step(real_a: torch.Tensor, real_b: torch.Tensor) -> tuple[dict[str, torch.Tensor], torch.Tensor]:
        fake_b, fake_a = g_ab(real_a), g_ba(real_b)
        set_requires_grad([d_a, d_b], False)
        opt_g.zero_grad(set_to_none=True)
        terms = {
            "G_gan_AB": gan_loss(d_b(fake_b), True, mode, for_discriminator=False),
            "G_gan_BA": gan_loss(d_a(fake_a), True, mode, for_discriminator=False),
            "cycle_A": F.l1_loss(g_ba(fake_b), real_a) * lam,
            "cycle_B": F.l1_loss(g_ab(fake_a), real_b) * lam,
        }
        if lam_idt > 0:
            terms["idt_A"] = F.l1_loss(g_ba(real_a), real_a) * lam * lam_idt
            terms["idt_B"] = F.l1_loss(g_ab(real_b), real_b) * lam * lam_idt
        sum(terms.values()).backward()
        opt_g.step()
        set_requires_grad([d_a, d_b], True)
        opt_d.zero_grad(set_to_none=True)
        fb, fa = pool_b.query(fake_b), pool_a.query(fake_a)
        loss_d_b = 0.5 * (gan_loss(d_b(real_b), True, mode, for_discriminator=True)
                          + gan_loss(d_b(fb.detach()), False, mode, for_discriminator=True))
        loss_d_a = 0.5 * (gan_loss(d_a(real_a), True, mode, for_discriminator=True)
                          + gan_loss(d_a(fa.detach()), False, mode, for_discriminator=True))
        (loss_d_a + loss_d_b).backward()
        opt_d.step()
        return {**terms, "D_B": loss_d_b, "D_A": loss_d_a}, fake_b.detach()

    return RecipeModel(g_ab, d_b, {"G_AB": g_ab, "G_BA": g_ba, "D_B": d_b, "D_A": d_a}, optimizers,
                       _schedulers(optimizers, schedule), {"pool_A": pool_a, "pool_B": pool_b}, step)

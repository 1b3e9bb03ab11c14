"""OMGD's online teachers for paired tasks: a wide and a deep pix2pix generator trained with the student
(Ren et al., ICCV 2021; github.com/bytedance/OMGD, distillers/multiteacher_distiller.py and
distillers/base_multiteacher_distiller.py).

Both teachers start from scratch and share one conditional PatchGAN whose first ``n_share`` blocks are
common and whose deeper blocks are one head per teacher
(:class:`kd_gan_bench.methods.networks.omgd_networks.SharedPatchGANDiscriminator`). One iteration, as the code's
``optimize_parameters``: every teacher translates the batch; every ``n_dis``-th iteration the
discriminator's hinge loss (real pairs vs each teacher's detached fakes, 0.5 x (real + fake) per head,
summed over heads) is back-propagated, then each teacher's hinge GAN loss x ``lambda_gan`` plus L1 to
the ground truth x ``lambda_recon``, judged by the discriminator as it was before this iteration's update
(the code steps every optimiser after both backward passes); the discriminator and the teachers then
step. The student distils from the teachers' outputs of that iteration, computed before their update.
Each teacher has its own Adam optimiser (the code's four optimisers: D, wide G, deep G, student). Every network
is initialised as ``init`` says (the code's ``init_net`` N(0, 0.02) by default).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.losses.multi_granularity import hinge_d_loss, hinge_g_loss
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.training import LoopStats, Schedule, adam, linear_decay, set_requires_grad


class MultiTeacher:
    """The online pix2pix teachers (wide first) and their shared-trunk discriminator."""

    names = ("w", "d")  # the code's suffixes: wide, deep

    def __init__(self, specs: Sequence[Mapping[str, Any]], hp: Mapping[str, Any], n_share: int, d_norm: str,
                 n_dis: int, schedule: Schedule, device: torch.device) -> None:
        self.generators = [build_network(spec, hp["init"]).to(device) for spec in specs]
        self.discriminator = build_network({"arch": "shared_patchgan_discriminator", "input_nc": 6,
                                            "ndf": hp["ndf"], "n_share": n_share, "n_heads": len(specs),
                                            "norm": d_norm}, hp["init"]).to(device)
        self.optimizers = {f"G_{n}": adam(g.parameters(), schedule) for n, g in zip(self.names, self.generators)}
        self.optimizers["D"] = adam(self.discriminator.parameters(), schedule)
        self.schedulers = {k: linear_decay(o, schedule) for k, o in self.optimizers.items()}
        self.lambda_gan, self.lambda_recon, self.n_dis = hp["lambda_gan"], hp["lambda_recon"], n_dis
        self.stats = LoopStats(teacher_steps=0)

    def state_parts(self) -> tuple[dict, dict, dict, dict]:
        """The two teachers' and their discriminator's share of the job's ``TrainingState`` (as
        :meth:`kd_gan_bench.methods.core.online_teacher.OnlineTeacher.state_parts`)."""
        modules = {f"teacher_G_{n}": g for n, g in zip(self.names, self.generators)}
        modules["teacher_D"] = self.discriminator
        return (modules, {f"teacher_{k}": o for k, o in self.optimizers.items()},
                {f"teacher_{k}": s for k, s in self.schedulers.items()}, {"teacher_stats": self.stats})

    def step(self, step: int, real_a: torch.Tensor, real_b: torch.Tensor) -> list[torch.Tensor]:
        """Translate ``real_a`` with every teacher, train them when due; their outputs before the update, detached."""
        outs = [g(real_a) for g in self.generators]
        if step % self.n_dis == 0:
            self._train(real_a, real_b, outs)
        return [o.detach() for o in outs]

    def _train(self, real_a: torch.Tensor, real_b: torch.Tensor, outs: list[torch.Tensor]) -> None:
        net_d, real_ab = self.discriminator, torch.cat([real_a, real_b], 1)
        for opt in self.optimizers.values():
            opt.zero_grad(set_to_none=True)
        set_requires_grad(net_d, True)
        terms: dict[str, torch.Tensor] = {}
        for head, (name, out) in enumerate(zip(self.names, outs)):
            terms[f"T_D_fake_{name}"] = hinge_d_loss(net_d(torch.cat([real_a, out.detach()], 1), head), real=False)
            terms[f"T_D_real_{name}"] = hinge_d_loss(net_d(real_ab, head), real=True)
        (0.5 * sum(terms.values())).backward()
        set_requires_grad(net_d, False)
        for head, (name, out) in enumerate(zip(self.names, outs)):
            terms[f"T_G_gan_{name}"] = self.lambda_gan * hinge_g_loss(net_d(torch.cat([real_a, out], 1), head))
            terms[f"T_G_recon_{name}"] = self.lambda_recon * F.l1_loss(out, real_b)
        sum(v for k, v in terms.items() if k.startswith("T_G_")).backward()
        for opt in self.optimizers.values():
            opt.step()
        self.stats.add("teacher_steps", 1)
        self.stats.values.update({k: float(v.detach()) for k, v in terms.items()})

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """The teachers' latest loss terms (``T_*``), so the job's history follows them too."""
        return {k: torch.tensor(v) for k, v in self.stats.values.items() if k.startswith("T_")}

    def modules(self) -> list[nn.Module]:
        return [*self.generators, self.discriminator]

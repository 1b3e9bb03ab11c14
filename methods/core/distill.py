"""The student loop shared by distillation methods with a pretrained teacher.

Per step (GAN Compression's distiller, Li et al., CVPR 2020): the frozen teacher and the
student translate the same batch of domain-A images while forward hooks tap the features the
method asks for; the student's PatchGAN is updated on real domain-B images vs student outputs
(conditioned on the input for paired tasks); then the student (and the method's own modules:
adapters, projection heads) minimises ``lambda_gan`` x GAN loss + the method's loss terms.
The student's discriminator starts from the teacher's (GAN Compression's choice) unless
``d_init="scratch"``. Every network the loop builds fresh (the student, a fresh discriminator) is initialised
as ``init`` says: ``normal``, the GAN Compression codebases' ``init_net`` N(0, 0.02) (the default), or ``pytorch``.

``d_step`` says when the discriminator steps: ``after_g`` (the default, GAN Compression's
``ResnetDistiller.optimize_parameters``, distillers/resnet_distiller.py:59-68 at commit 111093fc: backward_D,
backward_G, then optimizer_D.step and optimizer_G.step) computes the student's GAN term against the
discriminator before this iteration's update; ``before_g`` (CAT's ``InceptionDistiller.optimize_parameters``,
distillers/inception_distiller.py:179-188 at commit 1dbd048c) updates the discriminator first.
"""
from __future__ import annotations

import copy
from dataclasses import dataclass
from typing import Any, ClassVar, Mapping

import torch
from torch import nn

from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.inference import eval_mode
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.recipes import build_discriminator, resolve_recipe
from kd_gan_bench.methods.core.schedule_math import d_steps_first
from kd_gan_bench.methods.core.training import (BatchSampler, TrainingState, adam, gan_loss, linear_decay, run_steps, set_requires_grad,
                              tap_features)

@dataclass
class StepTensors:
    """What a method's loss sees at one step. Teacher tensors carry no gradient."""

    real_a: torch.Tensor
    real_b: torch.Tensor
    student_out: torch.Tensor
    teacher_out: torch.Tensor
    student_feats: dict[str, torch.Tensor]
    teacher_feats: dict[str, torch.Tensor]
    paired: bool


def spatial_layer(hp: Mapping[str, Any], net: nn.Module) -> str:
    """The layer :func:`kd_gan_bench.methods.core.plan_checks.spatial_layer_name` names, read off the built network."""
    return net.spatial_encoder() if hp["layer"] == "auto" else hp["layer"]


def feature_shapes(model: nn.Module, points: Mapping[str, str], size: int, device: torch.device) -> dict[str, torch.Size]:
    """Shapes of the tapped features for one image of ``size`` x ``size`` (a dry forward)."""
    with eval_mode(model), tap_features(model, points) as feats:
        model(torch.zeros(1, 3, size, size, device=device))
    return {k: v.shape for k, v in feats.items()}


class DistillationMethod(Method):
    """Base of the pretrained-teacher methods: subclasses define the loss, the loop is shared."""

    teacher_mode: ClassVar[str] = "pretrained"

    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        """Logical feature names (keys of ``feature_points()``) this method needs; none by default."""
        return []

    def build_modules(self, hp: Mapping[str, Any], student: nn.Module, teacher: nn.Module,
                      setup: TrainSetup) -> nn.ModuleDict:
        """The method's own trainable modules (adapters, heads), optimised with the student."""
        return nn.ModuleDict()

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        raise NotImplementedError

    def student_recipe(self, hp: Mapping[str, Any], recipe: Mapping[str, Any], paired: bool) -> dict[str, Any]:
        """The GAN settings of the student's discriminator (the suite's resolved recipe by default)."""
        return dict(recipe)

    def init_student(self, hp: Mapping[str, Any], setup: TrainSetup, student: nn.Module, teacher: nn.Module) -> str:
        """Initialise the freshly built student; return how (recorded in the outcome). Default: as built."""
        return "scratch"

    def _discriminator(self, hp: Mapping[str, Any], setup: TrainSetup,
                       recipe: Mapping[str, Any]) -> tuple[nn.Module, str]:
        """The student's discriminator and how it started: a copy of the teacher's (``d_init="teacher"``,
        GAN Compression's choice) when it has the recipe's architecture, else a fresh one."""
        paired, given = setup.data.paired, setup.teacher_discriminator
        if hp.get("d_init", "teacher") != "teacher" or given is None:
            return build_discriminator(recipe, paired), "scratch"
        with torch.device("meta"):
            wanted = {k: v.shape for k, v in build_discriminator(recipe, paired).state_dict().items()}
        if wanted != {k: v.shape for k, v in given.state_dict().items()}:
            return build_discriminator(recipe, paired), "scratch (the teacher's discriminator has another architecture)"
        return copy.deepcopy(given), "teacher"

    def train(self, setup: TrainSetup) -> TrainOutcome:
        if setup.teacher is None:
            raise ValueError(f"method {self.name!r} needs a pretrained teacher and none was given")
        hp, paired = setup.hparams, setup.data.paired
        self.check_setup(setup)
        recipe = {**self.student_recipe(hp, resolve_recipe(setup.recipe, paired), paired), "init": hp["init"]}
        torch.manual_seed(setup.seed)
        gen = torch.Generator().manual_seed(setup.seed)
        teacher = setup.teacher.to(setup.device).eval()
        set_requires_grad(teacher, False)
        student = build_network(setup.student_spec, hp["init"]).to(setup.device)
        inits = {"student_init": self.init_student(hp, setup, student, teacher)}
        net_d, inits["d_init"] = self._discriminator(hp, setup, recipe)
        net_d = net_d.to(setup.device).train()
        set_requires_grad(net_d, True)
        modules = self.build_modules(hp, student, teacher, setup).to(setup.device)
        opt_g = adam(list(student.parameters()) + list(modules.parameters()), setup.schedule)
        opt_d = adam(net_d.parameters(), setup.schedule)
        state = TrainingState({"G": student, "D": net_d, "extra": modules}, {"G": opt_g, "D": opt_d},
                              {"G": linear_decay(opt_g, setup.schedule), "D": linear_decay(opt_d, setup.schedule)},
                              generator=gen)
        sampler = BatchSampler(setup.data.train_a, setup.data.train_b, paired, setup.schedule.batch_size,
                               setup.device, gen)
        names = self.feature_names(hp, student)
        s_points = {k: student.feature_points()[k] for k in names}
        t_points = {k: teacher.feature_points()[k] for k in names}
        mode = recipe["gan_mode"]
        d_first = d_steps_first(hp["d_step"])

        def judge(real_a: torch.Tensor, image: torch.Tensor) -> torch.Tensor:
            return net_d(torch.cat([real_a, image], 1) if paired else image)

        with tap_features(teacher, t_points) as t_feats, tap_features(student, s_points) as s_feats:
            def step(_: int) -> dict[str, torch.Tensor]:
                real_a, real_b = sampler.sample()
                with torch.no_grad():
                    t_out = teacher(real_a)
                    t_snapshot = dict(t_feats)
                s_out = student(real_a)
                set_requires_grad(net_d, True)
                opt_d.zero_grad(set_to_none=True)
                loss_d = 0.5 * (gan_loss(judge(real_a, real_b), True, mode, for_discriminator=True)
                                + gan_loss(judge(real_a, s_out.detach()), False, mode, for_discriminator=True))
                loss_d.backward()
                if d_first:
                    opt_d.step()
                set_requires_grad(net_d, False)
                opt_g.zero_grad(set_to_none=True)
                terms = {"G_gan": gan_loss(judge(real_a, s_out), True, mode, for_discriminator=False)
                         * hp.get("lambda_gan", 1.0)}
                terms.update(self.losses(hp, StepTensors(real_a, real_b, s_out, t_out, dict(s_feats), t_snapshot, paired),
                                         modules))
                sum(terms.values()).backward()
                if not d_first:
                    opt_d.step()
                opt_g.step()
                return {**terms, "D": loss_d}

            history = run_steps(step, state, setup.schedule, setup.device, setup.checkpointer, setup.log)
        return TrainOutcome(student, history, discriminator=net_d, extras={"modules": modules, **inits})

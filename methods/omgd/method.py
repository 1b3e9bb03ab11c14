"""``omgd``: Online Multi-Granularity Distillation (Ren, Wu, Xiao, Yang, Zhang, "Online Multi-Granularity
Distillation for GAN Compression", ICCV 2021, arXiv 2108.06908; public code github.com/bytedance/OMGD).

The teachers are trained from scratch inside the job, with the student; the student has no
discriminator, no GAN term and no ground-truth term: it only follows its teachers.

* Paired tasks (pix2pix; distillers/multiteacher_distiller.py): a wide teacher (the suite's teacher
  network, ngf 64 in the papers) and a deep teacher at the student's width (OMGD's
  ``mobile_resnet_deepest_generator`` for ResNet students, ``unet_deepest_generator`` for U-Nets), one
  shared-trunk conditional PatchGAN with the hinge loss (:mod:`kd_gan_bench.methods.omgd.teachers`). Every iteration
  the teachers translate the batch and train (every ``n_dis``-th iteration), then the student steps on
  their pre-update outputs.
* Unpaired tasks (CycleGAN; distillers/cycleganbest_distiller.py): one online CycleGAN teacher (the
  task's recipe, LSGAN), no deep teacher, CRD's windowed schedule (:class:`kd_gan_bench.methods.core.online_teacher.OnlineTeacher`,
  the same alternation, which CRD took from OMGD, and its schedule hyperparameters ``steps_count``,
  ``epochs``/``epochs_decay``, ``window_epochs``: :func:`kd_gan_bench.methods.core.online_teacher.plan_schedule`): windows of
  ``window_epochs`` teacher epochs, the best teacher so far selected, then ``n_dis`` student steps per
  teacher step from that frozen copy; by default the job's steps count the teacher's (200 teacher and
  800 student epochs in the code).

Student loss, summed over the teachers (:mod:`kd_gan_bench.methods.losses.multi_granularity`, :mod:`kd_gan_bench.methods.core.perceptual`):
``lambda_ssim`` (1 - SSIM) + ``lambda_style`` Gram style (VGG16 relu1_2, 2_2, 3_3, 4_3) + ``lambda_feature``
L1 at relu2_2 + ``lambda_tv`` TV sum (of the student's output, added once per teacher as the code does),
plus ``lambda_cd`` channel distillation from the wide teacher only, at OMGD's four layers (ResNet:
``model.9/12/15/18`` for 9 blocks, the generators' ``distill_points``; U-Net: the four paths of
:data:`kd_gan_bench.methods.losses.multi_granularity.UNET_CD_LAYERS`). VGG16 sees (x + 1) / 2, without ImageNet mean/std (utils/vgg_feature.py).

| component | public code (file) | ours | why |
|---|---|---|---|
| weights | ``--AGD_weights 1e1,1e4,1e1,1e-5`` (all scripts) | same defaults | - |
| ``lambda_cd`` | 1e2 ResNet edges2shoes, 1e1 U-Net edges2shoes, 5e1 U-Net cityscapes, 0 ResNet cityscapes, 5e2 horse2zebra (scripts/*/distill.sh) | ``None``: 1e2 ResNet / 1e1 U-Net paired, 5e2 unpaired; the paper suites set cityscapes' | one default per kind of task |
| ``n_share`` | 3 ResNet edges2shoes, 4 ResNet cityscapes, 5 U-Net | ``None``: 3 ResNet, 5 U-Net; cityscapes suite 4 | as left |
| ``n_dis`` | 1 edges2shoes, 3 cityscapes, 4 CycleGAN | ``None``: 1 paired, 4 unpaired; cityscapes suite 3 | as left |
| D | ``multi_n_layers``, ndf 128, norm = ``--norm``, hinge | ``ndf`` 128, ``d_norm`` None = the wide teacher's norm, hinge | - |
| SSIM | pytorch_ssim, zero padding | torchmetrics on zero-padded images, cropped: same windows (``ssim_padding``) | a maintained SSIM |
| shared D blocks | two copies of each, one unused | one copy | same function |
| dropout | base_multiteacher_distiller.py: ``student_dropout_rate`` 0, ``teacher_dropout_rate`` 0 (both teachers); U-Nets (unet_generator.py, unet_deepest_generator.py) apply the rate at the ngf*8 levels only | ``student_dropout`` 0, ``teacher_dropout`` 0: rates, at the same levels | - |
| wide ResNet teacher | ``mobile_resnet_9blocks`` ngf 64 | the suite's teacher; ``teacher_arch`` replaces its arch (paper suites: mobile) | suites share one teacher spec |
| init | models/networks.py ``define_G``/``define_D`` -> ``init_net`` (base_options.py ``--init_type normal --init_gain 0.02``): N(0, 0.02) for every G, D and adaptor (no PyTorch-default init anywhere) | ``init`` ``normal``: the same for the student, both teachers and the D; adaptors N(0, 0.02); ``pytorch`` option | - |
| training length | scripts/*/distill.sh: edges2shoes 100 + 100 epochs at batch 4; cityscapes 300 + 450 (batch 1 ResNet, 4 U-Net); CycleGAN 200 teacher epochs, 4 student steps per teacher step (800 student epochs) | the job's schedule (the paper suites give OMGD the scripts' schedules); ``epochs``/``epochs_decay`` give epoch counts; CycleGAN ``steps_count`` ``teacher`` (the code's: the job's steps are the teacher's) or ``student`` | suites fix the length; the default suite counts student steps |
| "best" CycleGAN teacher | test-set FID of either direction (overwrites on either) | CRD's VGG Frechet stand-in on training images, A->B only | no test images in training |
| student VGG forward | once per teacher | once per step (same values) | cost |

On paired tasks the job's ``steps`` are student steps (one teacher step every ``n_dis``); the teachers'
training is recorded in the extras. The ten-minute
default suite runs OMGD with its wide teacher only (``deep_teacher`` none, the paper's single-teacher
ablation) and a discriminator at the suite's width: both teachers cost about 1.5x crd's job there (CPU time).
Observed there (built-in edges2shapes, 300 steps, random-init VGG16): the student's red and blue channels
settle near -0.8 where the teacher's white background is +0.8. The student loss has no pixel term, and SSIM's
luminance factor (2 mu_s mu_t + C1) / (mu_s^2 + mu_t^2 + C1) has zero gradient at mu_s = -mu_t (its worst
value), so a student that followed the early teacher's dark background does not come back when the online
teacher turns white (the same happens without the VGG or CD terms). Faithful to the code; worth knowing.
"""
from __future__ import annotations

import dataclasses
from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.omgd.spec import SPEC
from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.online_teacher import OnlineTeacher, plan_schedule
from kd_gan_bench.methods.core.distill import feature_shapes
from kd_gan_bench.methods.core.loss_weights import omgd_weights
from kd_gan_bench.methods.losses.multi_granularity import (UNET_CD_LAYERS, cd_adaptor, channel_distillation, ssim_loss,
                                             tv_sum)
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.omgd.teachers import MultiTeacher
from kd_gan_bench.methods.core.plan_checks import network_architecture, omgd_teacher_specs, online_student_spec, uses_vgg16
from kd_gan_bench.methods.core.perceptual import VGG16Features, style_loss
from kd_gan_bench.methods.core.recipes import recipe_sampler, resolve_recipe
from kd_gan_bench.methods.core.training import TrainingState, adam, linear_decay, run_steps, tap_features

def cd_layers(net: nn.Module, architecture: str) -> dict[str, str]:
    """OMGD's channel-distillation layers of a generator: {name: module path}."""
    if architecture == "unet":
        return {f"cd{i}": path for i, path in enumerate(UNET_CD_LAYERS)}
    return dict(net.distill_points())


def image_losses(vgg: VGG16Features, student_out: torch.Tensor, teacher_outs: list[torch.Tensor],
                 weights: Mapping[str, float], padding: str) -> dict[str, torch.Tensor]:
    """SSIM, Gram style, relu2_2 L1 and TV terms, each summed over the teachers (OMGD's per-teacher loop:
    the TV of the student's output is added once per teacher)."""
    perceptual = bool(weights["style"] or weights["feature"])
    s_feats = vgg(student_out) if perceptual else None
    parts: dict[str, list[torch.Tensor]] = {"ssim": [], "style": [], "feature": []}
    for t_out in teacher_outs:
        if weights["ssim"]:
            parts["ssim"].append(ssim_loss(student_out, t_out, padding))
        if perceptual:
            with torch.no_grad():
                t_feats = vgg(t_out)
            parts["style"].append(style_loss(s_feats, t_feats))
            parts["feature"].append(F.l1_loss(s_feats["relu2_2"], t_feats["relu2_2"]))
    terms = {name: weights[name] * sum(values) for name, values in parts.items() if weights[name] and values}
    if weights["tv"]:
        terms["tv"] = weights["tv"] * len(teacher_outs) * tv_sum(student_out)
    return terms


def omgd_vgg(weights: str | None) -> VGG16Features:
    """VGG16 features of (x + 1) / 2 without ImageNet mean/std, as OMGD's utils/vgg_feature.py feeds them."""
    return VGG16Features(weights, imagenet_norm=False)


class OMGD(Method, spec=SPEC):
    def train(self, setup: TrainSetup) -> TrainOutcome:
        hp, paired, device = setup.hparams, setup.data.paired, setup.device
        self.check_setup(setup)
        architecture = network_architecture(setup.student_spec, "student")
        specs = omgd_teacher_specs(hp, setup.teacher_spec, setup.student_spec, paired, architecture)
        weights = omgd_weights(hp, paired, architecture)
        torch.manual_seed(setup.seed)
        gen = torch.Generator().manual_seed(setup.seed)
        sampler = recipe_sampler(setup, gen)
        vgg = omgd_vgg(hp["vgg_weights"]).to(device) if uses_vgg16(hp, paired) else None
        plan = plan_schedule(hp, setup.data, setup.schedule, "omgd")
        n_dis, schedule = plan.n_dis, plan.student
        if paired:
            n_share = int(hp["n_share"] if hp["n_share"] is not None else (5 if architecture == "unet" else 3))
            d_norm = hp["d_norm"] or specs[0].get("norm", "batch" if architecture == "unet" else "instance")
            teachers = MultiTeacher(specs, hp, n_share, d_norm, n_dis, schedule, device)
            wide = teachers.generators[0]
        else:
            teachers = OnlineTeacher(dataclasses.replace(setup, schedule=schedule), plan, specs[0],
                                     {**resolve_recipe(setup.recipe, paired), "init": hp["init"]}, hp, gen, sampler,
                                     vgg)
            wide = teachers.source
        student = build_network(online_student_spec(hp, setup.student_spec), hp["init"]).to(device)
        s_points, t_points = cd_layers(student, architecture), cd_layers(wide, architecture)
        adaptors = self._adaptors(student, wide, s_points, t_points, setup, gen) if weights["cd"] else nn.ModuleDict()
        opt_s = adam(list(student.parameters()) + list(adaptors.parameters()), schedule)
        t_modules, t_optimizers, t_schedulers, t_extras = teachers.state_parts()
        state = TrainingState({"G": student, "adaptors": adaptors, **t_modules}, {"G": opt_s, **t_optimizers},
                              {"G": linear_decay(opt_s, schedule), **t_schedulers}, t_extras, generator=gen)

        with tap_features(student, s_points) as s_feats, tap_features(wide, t_points) as t_feats:
            def step(i: int) -> dict[str, torch.Tensor]:
                real_a, real_b = sampler.sample()
                t_outs = teachers.step(i, real_a, real_b) if paired else [teachers.target(i, real_a, real_b)]
                t_snapshot = {k: v.detach() for k, v in t_feats.items()}
                s_out = student(real_a)
                terms = image_losses(vgg, s_out, t_outs, weights, hp["ssim_padding"])
                if weights["cd"]:
                    terms["cd"] = weights["cd"] * channel_distillation(s_feats, t_snapshot, adaptors)
                opt_s.zero_grad(set_to_none=True)
                sum(terms.values()).backward()
                opt_s.step()
                return {**terms, **teachers.loss_terms()}

            history = run_steps(step, state, schedule, device, setup.checkpointer, setup.log)
        return TrainOutcome(student, history, extras=self._extras(teachers, specs, weights, vgg, n_dis))

    @staticmethod
    def _adaptors(student: nn.Module, wide: nn.Module, s_points: Mapping[str, str], t_points: Mapping[str, str],
                  setup: TrainSetup, gen: torch.Generator) -> nn.ModuleDict:
        size, device = setup.data.size, setup.device
        s_shapes, t_shapes = feature_shapes(student, s_points, size, device), feature_shapes(wide, t_points, size, device)
        init = torch.Generator().manual_seed(setup.seed)  # the adaptors' own stream: the sampler's is untouched
        return nn.ModuleDict({k: cd_adaptor(s_shapes[k][1], t_shapes[k][1], init) for k in s_points}).to(device)

    @staticmethod
    def _extras(teachers: MultiTeacher | OnlineTeacher, specs: list[dict[str, Any]], weights: Mapping[str, float],
                vgg: VGG16Features | None, n_dis: int) -> dict[str, Any]:
        extras: dict[str, Any] = {"teacher_specs": specs, "loss_weights": dict(weights), "n_dis": n_dis,
                                  "vgg_weights": vgg.source if vgg is not None else "not used"}
        if isinstance(teachers, MultiTeacher):
            extras.update(teacher=teachers.generators[0], teacher_deep=teachers.generators[1:] or None,
                          teacher_discriminator=teachers.discriminator,
                          teacher_steps=int(teachers.stats.values["teacher_steps"]))
        else:
            extras.update(teachers.summary())
        return extras

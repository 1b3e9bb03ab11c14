"""``dcd``: discriminator-cooperated distillation with an online teacher (Hu, Liu, Sun, Lin, Ji,
"Discriminator-Cooperated Feature Map Distillation for GAN Compression", CVPR 2023, arXiv
2212.14169; public code github.com/poopit/DCD-official, a fork of OMGD).

The teacher's discriminator is the feature extractor of the distillation term. At four generator
layers, the teacher's activation goes through a frozen, randomly initialised 1x1 conv + BatchNorm +
ReLU "connector" to an image-shaped map (as many channels as the discriminator reads: 3, or 6 for
pix2pix's conditional D); the student's activation through a trainable connector of the same shape.
Both maps pass through the teacher's discriminator up to its penultimate activation (the last
LeakyReLU, 8 x ndf channels, before the final 1-channel conv); the DCD term is the L1 distance of
the two, summed over the layers. Student loss:

    lambda_dcd x DCD + lambda_style x Gram style (VGG16 relu1_2..relu4_3) + lambda_feature x L1(relu2_2)
    + lambda_gan x generator GAN loss of the teacher's (frozen) discriminator

The GAN term is judged on ``gan_on``: ``teacher_output`` (the default, CycleGAN's code: the teacher's output,
so the term is logged but gives the student no gradient) or ``student`` (its evident intent).

Collaborative adversarial training: the teacher generator and discriminator are trained from
scratch inside this job, interleaved with the student (CRD's :class:`kd_gan_bench.methods.core.online_teacher.OnlineTeacher`: the
same loop as OMGD's code), and the discriminator that judges and describes the student is the live,
still-learning one; it is never updated by the student's loss. pix2pix: each iteration one teacher
step (D, then G) and one student step; CycleGAN: windows of teacher training, the best teacher so
far is loaded, then ``n_dis`` student steps per teacher step (OMGD's ``cycleganbest`` loop).

Layers: OMGD's channel-distillation layers: on the ResNet generators their ``distill_points()``
(``model.9/12/15/18`` for 9 blocks), on the U-Net OMGD's four fixed paths (2, 8, 16 and 4 x ngf
channels, at 1/4, 1/16, 1/16 and 1/4 of the image side), :func:`dcd_points`.

The released source does not run as published; each slip below is replaced by its evident intent:

========================  ==============================================  =================================  ========
component                 public code (file)                              ours                               why
========================  ==============================================  =================================  ========
DCD weight                ``--lambda_CD 1`` (scripts); CycleGAN code      ``lambda_dcd`` ``None``: 0.1       METHODS
                          reads ``opt.lamda_CD`` (a typo: crashes);       CycleGAN, 1 pix2pix                .md
                          the authors' working version uses 0.1
style / feature           ``AGD_weights 1e1,1e4,1e1,1e-5`` (scripts).     ``None``: 1e4 style / 10 feature,  the .pyc
                          The shipped ``distillers/__pycache__/*.pyc``    the ``.pyc``'s (SSIM and TV not    (what ran)
                          parse SSIM, style, feature, TV: 1e4 style, 10   used either)
                          relu2_2 L1. The ``.py`` parses two
                          (``loss_weight[0]``, ``[1]``): style 10,
                          feature 1e4
student GAN term          cycleganbest_distiller.py backward_G_Student:   ``gan_on`` ``teacher_output``:     code
                          D_A on the *teacher's* output ``self.fake``     the term on the teacher's output,
                          (no gradient to the student), weight 1;         logged, no gradient (``student``:
                          pix2pixbest_distiller.py: a 3-channel output    the intent, conditioned on the
                          fed to the 6-channel D (crashes), never added   input for pix2pix); ``lambda_gan``
                          to the loss                                     ``None``: 1 CycleGAN, 0 pix2pix
pix2pix teacher D         options/distill_options.py: ``n_layers``, ndf   ``gan_mode``/``ndf``/``d_norm``    code
(DCD's feature            128, ``--norm instance`` (base_options.py),     ``None``: hinge, 128, instance on
extractor)                hinge; CycleGAN: base_cycleganbest_distiller    pix2pix; CycleGAN the recipe's
                          set_defaults ndf 64, lsgan                      (LSGAN, 64, instance)
dropout                   base_*best_distiller.py: student_ and           ``student_dropout`` 0,             code
                          teacher_dropout_rate 0                          ``teacher_dropout`` 0 (rates)
init                      models/networks.py ``init_net`` N(0, 0.02)      ``init`` ``normal`` (student,      code
                          for every G and D                               teacher, D); ``pytorch`` option
D feature (pix2pix)       hook on ``block4s.1.block.2``, absent from the  penultimate activation, as the     intent
                          n_layers D: never fires, DCD is 0               CycleGAN code (``model.10``)
teacher connector         CycleGAN: frozen, eval-mode BN; pix2pix: its    ``teacher_connector`` ``None``:    code
                          parameters in the student's optimiser           ``frozen`` CycleGAN, ``trained``
                                                                          pix2pix
connector init            He init, then overwritten by ``init_net``:      conv N(0, 0.02), BN weight         code
                          N(0, 0.02) conv, N(1, 0.02) BN weight
D input size              64 x 64 maps at 256 px                          maps smaller than the D's          tiny
                                                                          smallest input (24 px for 3        images
                                                                          layers) are upsampled bilinearly
                                                                          to it; never at 256 px
VGG16 input               (x + 1) / 2, no ImageNet mean/std               the same (``imagenet_norm=False``  code
                          (``utils/vgg_feature.py``)                      of :mod:`kd_gan_bench.methods.core.perceptual`)
teacher network           ``mobile_resnet_9blocks`` ngf 64 (scripts)      the suite's teacher network        suite
schedule / best teacher   OMGD's (:mod:`kd_gan_bench.methods.core.online_teacher`)              CRD's ``OnlineTeacher`` and its    shared
                                                                          documented differences             loop
========================  ==============================================  =================================  ========
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.dcd.spec import SPEC
from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.crd.method import perceptual_losses
from kd_gan_bench.methods.core.distill import feature_shapes
from kd_gan_bench.methods.core.loss_weights import dcd_recipe, dcd_weights
from kd_gan_bench.methods.losses.multi_granularity import UNET_CD_LAYERS, cd_adaptor
from kd_gan_bench.methods.core.online_teacher import OnlineTeacher, plan_schedule
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.networks.generators import UnetGenerator
from kd_gan_bench.methods.core.perceptual import VGG16Features
from kd_gan_bench.methods.core.plan_checks import online_student_spec, online_teacher_spec, uses_vgg16
from kd_gan_bench.methods.core.recipes import recipe_sampler, resolve_recipe
from kd_gan_bench.methods.core.training import TrainingState, adam, gan_loss, linear_decay, run_steps, set_requires_grad, tap_features

CONNECTOR_MODES = ("frozen", "trained")
#: Which image the student's GAN term judges: the teacher's output (CycleGAN code), or the student's (intent).
GAN_ON = ("teacher_output", "student")
#: DCD's names for OMGD's U-Net channel-distillation paths (level 1 outermost).
UNET_POINTS = dict(zip(("down2", "down4", "up4", "up2"), UNET_CD_LAYERS))


def dcd_points(generator: nn.Module) -> dict[str, str]:
    """The four layers DCD distils: OMGD's U-Net paths, else the generator's ``distill_points()``."""
    return dict(UNET_POINTS) if isinstance(generator, UnetGenerator) else dict(generator.distill_points())


def discriminator_trunk(net_d: nn.Module) -> nn.Sequential:
    """The discriminator up to its penultimate activation (all of ``model`` but the last conv)."""
    body = getattr(net_d, "model", None)
    if not isinstance(body, nn.Sequential) or not isinstance(body[-1], nn.Conv2d):
        raise ValueError(f"dcd needs a PatchGAN-style discriminator (a `model` Sequential ending in a conv), got "
                         f"{type(net_d).__name__}")
    return body[:-1]


def min_input_side(trunk: nn.Sequential) -> int:
    """The smallest square input side for which every convolution of ``trunk`` leaves at least 2 x 2
    positions (instance normalisation needs more than one)."""
    convs = [m for m in trunk if isinstance(m, nn.Conv2d)]
    for side in range(1, 4097):
        out, sides = side, []
        for conv in convs:
            out = (out + 2 * conv.padding[0] - conv.kernel_size[0]) // conv.stride[0] + 1
            sides.append(out)
        if min(sides) >= 2:
            return side
    raise ValueError("discriminator needs inputs larger than 4096 px")


def dcd_loss(trunk: nn.Sequential, student_maps: Mapping[str, torch.Tensor],
             teacher_maps: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """Sum over layers of L1 between the discriminator's penultimate activations of the student's and
    the teacher's connector maps; maps smaller than the trunk's smallest input are upsampled to it.

    Without BatchNorm in the trunk (instance norm works per sample), the layers whose maps have the
    same shape go through it as one batch per side: the same values, fewer and larger convolutions.
    With BatchNorm (a D with ``d_norm="batch"``, in training mode) each layer and side is its own call, as
    the public code calls it per layer, so that batch statistics never mix layers."""
    side = min_input_side(trunk)
    per_sample = not any(isinstance(m, nn.modules.batchnorm._BatchNorm) for m in trunk)
    groups: dict[object, list[str]] = {}
    for k, maps in student_maps.items():
        groups.setdefault(tuple(maps.shape) if per_sample else k, []).append(k)

    def judge(maps: torch.Tensor) -> torch.Tensor:
        if min(maps.shape[-2:]) < side:
            maps = F.interpolate(maps, size=(max(side, maps.shape[-2]), max(side, maps.shape[-1])), mode="bilinear",
                                 align_corners=False)
        return trunk(maps)

    total = 0.0
    for keys in groups.values():
        student = judge(torch.cat([student_maps[k] for k in keys]))
        teacher = judge(torch.cat([teacher_maps[k] for k in keys]))
        total = total + F.l1_loss(student, teacher) * len(keys)  # equal-sized layers: the sum of their means
    return total


def dcd_term(trunk: nn.Sequential, connectors: "Connectors", student_feats: Mapping[str, torch.Tensor],
             teacher_feats: Mapping[str, torch.Tensor]) -> torch.Tensor:
    """The unweighted DCD term of one step: the layers' features through the connectors, then :func:`dcd_loss`."""
    return dcd_loss(trunk, *connectors.maps(student_feats, teacher_feats))


class Connectors(nn.Module):
    """The teacher's and the student's connectors, one pair per layer."""

    def __init__(self, t_channels: Mapping[str, int], s_channels: Mapping[str, int], out_channels: int,
                 teacher_mode: str) -> None:
        super().__init__()
        if teacher_mode not in CONNECTOR_MODES:
            raise ValueError(f"dcd teacher_connector must be one of {CONNECTOR_MODES} or null, got {teacher_mode!r}")
        self.student = nn.ModuleDict({k: cd_adaptor(c, out_channels) for k, c in s_channels.items()})
        self.teacher = nn.ModuleDict({k: cd_adaptor(c, out_channels) for k, c in t_channels.items()})
        self.trained_teacher = teacher_mode == "trained"
        self.teacher.requires_grad_(self.trained_teacher)
        self.train()

    def train(self, mode: bool = True) -> "Connectors":
        super().train(mode)
        self.teacher.train(mode and self.trained_teacher)  # frozen: eval-mode BatchNorm, as the public code
        return self

    def maps(self, s_feats: Mapping[str, torch.Tensor],
             t_feats: Mapping[str, torch.Tensor]) -> tuple[dict[str, torch.Tensor], dict[str, torch.Tensor]]:
        with torch.set_grad_enabled(self.trained_teacher and torch.is_grad_enabled()):
            t_maps = {k: self.teacher[k](t_feats[k].detach()) for k in self.teacher}
        return {k: self.student[k](s_feats[k]) for k in self.student}, t_maps


def _channels(generator: nn.Module, points: Mapping[str, str], size: int, device: torch.device) -> dict[str, tuple]:
    """(channels, height, width) of each tapped feature for one image of ``size`` x ``size``."""
    return {k: tuple(shape[1:]) for k, shape in feature_shapes(generator, points, size, device).items()}


class DCD(Method, spec=SPEC):
    def train(self, setup: TrainSetup) -> TrainOutcome:
        hp, paired, device = setup.hparams, setup.data.paired, setup.device
        plan = plan_schedule(hp, setup.data, setup.schedule, "dcd")
        weights = dcd_weights(hp, paired)
        recipe = dcd_recipe(hp, resolve_recipe(setup.recipe, paired), paired)
        if hp["gan_on"] not in GAN_ON:
            raise ValueError(f"dcd gan_on must be one of {GAN_ON}, got {hp['gan_on']!r}")
        torch.manual_seed(setup.seed)
        gen = torch.Generator().manual_seed(setup.seed)
        sampler = recipe_sampler(setup, gen)
        perceptual = bool(weights["style"] or weights["feature"])
        vgg = VGG16Features(hp["vgg_weights"], imagenet_norm=False).to(device) if uses_vgg16(hp, paired) else None
        teacher = OnlineTeacher(setup, plan, online_teacher_spec(hp, setup.teacher_spec), recipe, hp, gen, sampler,
                                vgg)
        student = build_network(online_student_spec(hp, setup.student_spec), hp["init"]).to(device)
        net_d, mode = teacher.model.discriminator, recipe["gan_mode"]
        trunk = discriminator_trunk(net_d)
        connectors = self._connectors(hp, paired, student, teacher.source, net_d, setup).to(device)
        opt_s = adam([p for p in [*student.parameters(), *connectors.parameters()] if p.requires_grad],
                     plan.student)
        t_modules, t_optimizers, t_schedulers, t_extras = teacher.state_parts()
        state = TrainingState({"G": student, "connectors": connectors, **t_modules}, {"G": opt_s, **t_optimizers},
                              {"G": linear_decay(opt_s, plan.student), **t_schedulers}, t_extras, generator=gen)
        s_points, t_points = dcd_points(student), dcd_points(teacher.source)

        with tap_features(student, s_points) as s_feats, tap_features(teacher.source, t_points) as t_feats:
            def step(i: int) -> dict[str, torch.Tensor]:
                real_a, real_b = sampler.sample()
                t_out = teacher.target(i, real_a, real_b)
                t_snapshot = dict(t_feats)  # the taps of the teacher forward that produced t_out
                s_out = student(real_a)
                set_requires_grad(net_d, False)  # the teacher's discriminator, frozen for the student
                terms = perceptual_losses(vgg, s_out, t_out, weights) if perceptual else {}
                terms["dcd"] = weights["dcd"] * dcd_term(trunk, connectors, dict(s_feats), t_snapshot)
                if weights["gan"]:
                    on_student = hp["gan_on"] == "student"
                    with torch.set_grad_enabled(on_student):
                        image = s_out if on_student else t_out.detach()
                        judged = net_d(torch.cat([real_a, image], 1) if paired else image)
                        terms["G_gan"] = weights["gan"] * gan_loss(judged, True, mode, for_discriminator=False)
                opt_s.zero_grad(set_to_none=True)
                sum(terms.values()).backward()
                opt_s.step()
                return {**terms, **teacher.loss_terms()}

            history = run_steps(step, state, plan.student, device, setup.checkpointer, setup.log)
        vgg_source = vgg.source if vgg is not None else "not used"
        return TrainOutcome(student, history,
                            extras={**teacher.summary(), "vgg_weights": vgg_source, "connectors": connectors})

    @staticmethod
    def _connectors(hp: Mapping[str, Any], paired: bool, student: nn.Module, teacher: nn.Module, net_d: nn.Module,
                    setup: TrainSetup) -> Connectors:
        size, device = setup.data.size, setup.device
        s_shapes = _channels(student, dcd_points(student), size, device)
        t_shapes = _channels(teacher, dcd_points(teacher), size, device)
        if set(s_shapes) != set(t_shapes) or any(s_shapes[k][1:] != t_shapes[k][1:] for k in s_shapes):
            raise ValueError(f"dcd needs student and teacher layers of the same names and sizes; student "
                             f"{s_shapes}, teacher {t_shapes} (use a student of the teacher's architecture)")
        mode = hp["teacher_connector"] or ("trained" if paired else "frozen")
        in_channels = next(m for m in net_d.modules() if isinstance(m, nn.Conv2d)).in_channels
        return Connectors({k: v[0] for k, v in t_shapes.items()}, {k: v[0] for k, v in s_shapes.items()},
                          in_channels, mode)

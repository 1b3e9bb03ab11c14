"""``cat_ka``: CAT's kernel-alignment distillation as a distillation method on a fixed student
(Jin, Ren, Woodford, Wang, Yuan, Wang, Tulyakov, "Teachers Do More Than Teach: Compressing
Image-to-Image Models", CVPR 2021, arXiv 2103.03467; public code github.com/snap-research/CAT).

Per step, the loop of :mod:`kd_gan_bench.methods.core.distill` (the same order as CAT's ``InceptionDistiller.
optimize_parameters``): the pretrained teacher, frozen, and the student translate the batch; the
student's discriminator (initialised from the teacher's) takes one step; then the student minimises

    lambda_gan x GAN + lambda_recon x L1(student output, target) - lambda_ka x sum_layers KA(S_l, T_l)

with KA the kernel alignment of :mod:`kd_gan_bench.methods.losses.kernel_alignment` on each pair of tapped
features, flattened per sample (no adaptor: the channel counts may differ). KA compares samples of
the batch with each other, so it needs batch > 1: at batch 1 it is identically 1 and the method
would train as plain output distillation. A schedule with batch size 1 is refused before anything
runs (its planning check, ``kd_gan_bench.methods.cat_ka.checks``, run when the grid is expanded and again by ``train``).

Layers: the ResNet generators' ``distill_points()``, which for 9 blocks are CAT's pairing (the end
of the downsampling and the outputs of residual blocks 3, 6 and 9; ``model.9/12/15/18``); on the
U-Net, its four distillation points (the U-Net is not in CAT: our choice). ``layers`` may name a
subset, comma-separated (``--set cat_ka.layers=encoder,block9``).

=======================  ==============================================  ===============================  ==========
component                public code (file)                              ours                             why
=======================  ==============================================  ===============================  ==========
KA formula               ``utils/common.py: KA``                         same value; float32-safe form    the code's
                                                                         (:mod:`...kernel_alignment`)     form over/
                                                                                                          underflows
KA weight ``lambda_ka``  ``--lambda_distill``: 1.0 horse2zebra,          ``None``: 1.0 CycleGAN,          code
                         0.5 cityscapes (``scripts/*/train_inception_*``)  0.5 pix2pix
recon term               ``inception_distiller.py: backward_G``: L1 to   ``recon_target`` ``None``: the   code
                         the teacher's output (unpaired), to the ground  same per pairing; ``teacher`` /
                         truth (paired)                                  ``ground_truth`` to force one
``lambda_recon``         5 horse2zebra (script), 100 paired (default)    ``None``: 5 CycleGAN, 100        code
                                                                         pix2pix
KA over the batch        ``inception_distiller.py calc_distill_loss``:   ``ka_groups`` 4: the batch split  code
                         4 GPUs (``--gpu_ids 0,1,2,3``, batch 80), -KA   into 4 equal groups, KA per
                         per GPU over its 20 samples, ``gather(...)      group, summed; at most batch // 2
                         .sum()`` per layer                              groups (>= 2 samples each);
                                                                         ``1``: one KA over the batch
GAN loss / D width       horse2zebra script: ``--gan_mode lsgan --ndf    ``gan_mode``/``ndf`` ``None``:   code
                         64``; cityscapes: distill_options.py defaults   hinge, 128 pix2pix; the suite's
                         hinge, ndf 128                                  recipe CycleGAN
discriminator            restored from the teacher's D, trained          ``d_init`` ``teacher``           code
                         (``--restore_D_path``)                          (``scratch`` possible)
student                  pruned from a teacher-width supernet, weights   fixed student (no search);       code
                         from the teacher (``load_pretrained_weight``,   ``student_init`` ``auto``: GAN
                         ``--restore_pretrained_G_path``)                Compression's weight transfer
                                                                         where it applies (ResNet
                                                                         architecture), else scratch
D / student order        ``inception_distiller.py:179-188                ``d_step`` ``before_g``: the     code
                         optimize_parameters``: backward_D, D step,      same (``after_g``: GAN
                         then backward_G, G step                         Compression's order)
init                     base_options.py ``--init_type normal            ``init`` ``normal`` (before any  code
                         --init_gain 0.02`` (``init_net``)               transfer); ``pytorch``
batch / schedule         batch 80; 500 + 500 epochs horse2zebra,         the suite's; the paper suites'   paper
                         500 + 750 cityscapes                            ``*_cat_ka`` parts use CAT's
=======================  ==============================================  ===============================  ==========
"""
from __future__ import annotations

from typing import Any, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from kd_gan_bench.methods.cat_ka.spec import SPEC
from kd_gan_bench.methods.core.base import TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.distill import DistillationMethod, StepTensors
from kd_gan_bench.methods.core.gan_compression import GanCompressionStudent
from kd_gan_bench.methods.core.loss_weights import cat_ka_weights
from kd_gan_bench.methods.losses.kernel_alignment import kernel_alignment_loss
from kd_gan_bench.methods.core.plan_checks import ka_groups

RECON_TARGETS = ("teacher", "ground_truth")


def _recon_target(hp: Mapping[str, Any], paired: bool) -> str:
    target = hp["recon_target"] if hp["recon_target"] is not None else ("ground_truth" if paired else "teacher")
    if target not in RECON_TARGETS:
        raise ValueError(f"cat_ka recon_target must be one of {RECON_TARGETS} or null (CAT's choice per pairing), "
                         f"got {target!r}")
    if target == "ground_truth" and not paired:
        raise ValueError("cat_ka recon_target='ground_truth' needs a paired task; unpaired tasks have no ground "
                         "truth: use 'teacher' or null")
    return target


class CatKA(GanCompressionStudent, DistillationMethod, spec=SPEC):
    def feature_names(self, hp: Mapping[str, Any], student: nn.Module) -> list[str]:
        points, layers = list(student.distill_points()), hp["layers"]
        if layers is None:
            return points
        names = [k.strip() for k in layers.split(",")] if isinstance(layers, str) else list(layers)
        if not names or any(k not in points for k in names):
            raise ValueError(f"cat_ka layers {layers!r}: unknown or empty; this student's are {', '.join(points)} "
                             f"(a comma-separated subset, or null for all)")
        return names

    def losses(self, hp: Mapping[str, Any], t: StepTensors, modules: nn.ModuleDict) -> dict[str, torch.Tensor]:
        paired = t.paired
        target = t.real_b if _recon_target(hp, paired) == "ground_truth" else t.teacher_out
        weights = cat_ka_weights(hp, paired)
        return {"recon": F.l1_loss(t.student_out, target) * weights["recon"],
                "ka": kernel_alignment_loss(t.student_feats, t.teacher_feats,
                                            ka_groups(hp["ka_groups"], t.real_a.shape[0])) * weights["ka"]}

    def train(self, setup: TrainSetup) -> TrainOutcome:
        _recon_target(setup.hparams, setup.data.paired)
        outcome = super().train(setup)
        outcome.extras["ka_groups"] = ka_groups(setup.hparams["ka_groups"], setup.schedule.batch_size)
        return outcome

"""The student set-up GAN Compression's distillers share, and CAT's inherits (Li et al., CVPR 2020,
mit-han-lab/gan-compression; Jin et al., CVPR 2021, snap-research/CAT): the student starts from the
teacher's weights and, on pix2pix, the student's discriminator is a hinge PatchGAN of ndf 128.

* ``student_init``: ``auto`` starts the student from the teacher by GAN Compression's weight transfer
  (:mod:`kd_gan_bench.methods.networks.weight_transfer`, the code's ``load_pretrained_weight`` with ``--restore_pretrained_G_path``)
  wherever the code can (teacher and student of one ResNet architecture and depth), from scratch elsewhere (the
  U-Net, a ResNet teacher with a mobile student); ``teacher`` demands the transfer (refused at planning where it
  cannot apply, :func:`kd_gan_bench.methods.core.plan_checks.gan_compression_student`); ``scratch`` never transfers.
* ``gan_mode`` and ``ndf`` of the student's discriminator: ``None`` = the code's, hinge and ndf 128 for pix2pix
  (``options/distill_options.py`` defaults in both repositories), the suite's recipe for CycleGAN (the scripts'
  LSGAN, ndf 64).
"""
from __future__ import annotations

from typing import Any, Mapping

from torch import nn

from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.loss_weights import gan_compression_recipe
from kd_gan_bench.methods.core.plan_checks import TRANSFER_INIT, transfer_problem
from kd_gan_bench.methods.networks.weight_transfer import transfer_weights

class GanCompressionStudent:
    """Mixin for a :class:`kd_gan_bench.methods.core.distill.DistillationMethod`: the student's init and discriminator as the code's."""

    def init_student(self, hp: Mapping[str, Any], setup: TrainSetup, student: nn.Module, teacher: nn.Module) -> str:
        if hp["student_init"] == "scratch" or transfer_problem(setup.teacher_spec, setup.student_spec):
            return "scratch"
        transfer_weights(teacher, student)
        return TRANSFER_INIT

    def student_recipe(self, hp: Mapping[str, Any], recipe: Mapping[str, Any], paired: bool) -> dict[str, Any]:
        return gan_compression_recipe(hp, recipe, paired)

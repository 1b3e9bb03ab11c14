"""``scratch``'s declaration, torch-free (:class:`kd_gan_bench.methods.core.declaration.MethodSpec`; the class:
:mod:`kd_gan_bench.methods.scratch.method`)."""
from __future__ import annotations

from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.scratch.plan import scratch_plan

SPEC = MethodSpec(
    name="scratch", families=("i2i",), teacher_mode="none",
    summary="Student trained from scratch with the teacher's recipe (pix2pix or CycleGAN), no distillation.",
    citation="NOKD baseline of every paper here; recipes: Isola et al. CVPR 2017 (pix2pix), Zhu et al. ICCV 2017 "
             "(CycleGAN)",
    defaults={}, plan=scratch_plan)

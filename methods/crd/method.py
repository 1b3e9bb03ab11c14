"""``crd``: content relationship distillation with an online teacher discriminator
(You, Lin, Hu, Chao, Ji, "Exploring Content Relationships for Distilling Efficient GANs",
arXiv 2212.11091; public code github.com/TheKernelZ/CRD).

Student loss, on the teacher's and the student's output images (values in [-1, 1]):

* RKD (1 x distance + 2 x angle, :mod:`kd_gan_bench.methods.losses.relational`) on three slicings of each
  image: its rows (H samples of 3*W values), its columns (W samples of 3*H values) and its
  non-overlapping ``patch_size`` patches (the paper's 32 at 256x256: an 8 x 8 grid of 64 patches;
  ``None``, the default, keeps that 8 x 8 grid at any resolution: side / 8). Each image is one
  relation set; as in the public code, the per-image losses are summed over the batch.
* VGG16 perceptual terms (:mod:`kd_gan_bench.methods.core.perceptual`): Gram style loss at relu1_2/2_2/3_3/4_3
  and L1 on relu2_2, on images mapped to [0, 1] (``vgg_input="unit"``, as the code's
  ``utils/vgg_feature.py``; ``"imagenet"`` adds ImageNet's mean/std normalisation).
* CycleGAN only: the LSGAN loss of the *teacher's* discriminator, frozen for the student step.

Weights (``None`` = the paper's value for the task's kind): CycleGAN 25 per RKD slicing, style
1e4, feature 10, GAN 1; pix2pix 2.5 per slicing, style 2e4 and feature 20 (the code's 2 x 1e4 and
2 x 10), no GAN term.

Online teacher (:mod:`kd_gan_bench.methods.core.online_teacher`): the teacher generator and discriminator are trained from
scratch inside this job with the task's recipe (:func:`kd_gan_bench.methods.core.recipes.build_recipe`), interleaved with
the student. pix2pix: every iteration a teacher step (every ``n_dis``-th; the code's 1), then a student
step distilled from that iteration's teacher output (computed before the teacher's update, as in the
code). CycleGAN: windows of ``window_epochs`` (10) teacher epochs, each followed by the selection of the
teacher (``teacher_select``: the best so far, or the latest) and ``n_dis`` (4) student epochs per teacher
epoch from that frozen copy and the (frozen) live discriminator D_B. ``steps_count="teacher"`` (default,
the code's): the job's schedule counts the teacher's steps, so a 100 + 100-epoch schedule trains the
teacher 200 epochs and the student 800; ``epochs``/``epochs_decay`` replace the schedule's length by
teacher epochs (the public scripts' 100 + 100). The teacher network is the suite's, or
``teacher_arch`` (the public horse2zebra script's ``mobile_resnet_generator``) at the suite's width.

==================  ==========================================  ===================================  ======================
component           paper or public code (file)                 ours                                 why
==================  ==========================================  ===================================  ======================
RKD terms           relation_kd.py: distance + 2 angle, smooth  same values (Gram form, exact split  speed (40-55x, N 256),
                    L1, direct N^3 D form                       of the cancelling sums, each (b, c)  float32 accuracy
                                                                pair once: cos_abc = cos_acb)
slices              cycleganbest_distiller.py: rows, columns,   same; patches of each image          code's pix2pix patch
                    32-px patches                               (pix2pixbest_distiller.py relates    slip (reshape); the
                                                                3 colour channels of B patches)      paper's intent
row/column slicing  .view of a transposed tensor                .reshape                             .view crashes on
                                                                                                     current PyTorch
VGG16 input         utils/vgg_feature.py: (x + 1) / 2           same (``vgg_input="unit"``)          the code's
CycleGAN schedule   trainer.py: teacher 100+100 epochs;         ``steps_count="teacher"``, ``n_dis``  the code's
                    every 10 (save_epoch_freq), best teacher,   4, ``window_epochs`` 10; student lr
                    4 x 10 student epochs; lr per teacher       decays per student step
                    epoch
"best" teacher      FID on the test images (either direction    VGG16 Frechet distance on training   no test-set selection
                    may overwrite the best A file)              images, direction A->B
pix2pix schedule    scripts/*_pix2pix/edges2shoes/distill.sh:   ``epochs``/``epochs_decay`` (None:   one schedule per suite;
                    100 + 100 epochs, batch 4, n_dis 1          the suite's; the pix2pix paper       the paper suite sets
                                                                suite sets 100 + 100)                the code's
CycleGAN teacher    scripts/cycle_gan/horse2zebra/distill.sh:   the suite's (resnet_generator in     one teacher for every
                    mobile_resnet_9blocks ngf 64                the paper suite) or ``teacher_arch`` method of the suite
student D           teacher's D_A, frozen for the student step  teacher's D_B (judges domain B)      same role
dropout             base_*best_distiller.py: student_ and        ``student_dropout`` 0,               the code's
                    teacher_dropout_rate 0                      ``teacher_dropout`` 0 (rates)
init                models/networks.py init_net: N(0, 0.02)     ``init`` ``normal`` (student, online  the code's
                    for every G and D                           teacher, its D); ``pytorch`` option
==================  ==========================================  ===================================  ======================

The job's ``steps`` and ``decay_from`` shape the student's and the teacher's learning rates (both
constant, then linear decay, advancing together). The teacher's training time is recorded separately
(``teacher_train_s`` in the outcome's extras and the job record), as is the VGG weights' source.
"""
from __future__ import annotations

from functools import partial
from typing import Mapping

import torch
import torch.nn.functional as F

from kd_gan_bench.methods.crd.spec import SPEC
from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.online_teacher import OnlineTeacher, plan_schedule
from kd_gan_bench.methods.core.loss_weights import crd_weights
from kd_gan_bench.methods.losses.relational import column_slices, patch_slices, rkd_loss, row_slices
from kd_gan_bench.methods.networks.build import build_network
from kd_gan_bench.methods.core.perceptual import VGG16Features, style_loss
from kd_gan_bench.methods.core.plan_checks import online_student_spec, online_teacher_spec, resolve_patch_size, uses_vgg16
from kd_gan_bench.methods.core.recipes import recipe_sampler, resolve_recipe
from kd_gan_bench.methods.core.training import TrainingState, adam, gan_loss, linear_decay, run_steps, set_requires_grad


def content_relation_losses(student_out: torch.Tensor, teacher_out: torch.Tensor, weights: Mapping[str, float],
                            patch_size: int, distance_weight: float = 1.0,
                            angle_weight: float = 2.0) -> dict[str, torch.Tensor]:
    """Weighted RKD losses on the rows, columns and patches of the images, summed over the batch."""
    slicers = {"row": row_slices, "column": column_slices, "patch": partial(patch_slices, size=patch_size)}
    batch = student_out.shape[0]
    return {name: weights[name] * batch * rkd_loss(slicer(student_out), slicer(teacher_out.detach()),
                                                   distance_weight, angle_weight)
            for name, slicer in slicers.items() if weights[name]}


def perceptual_losses(vgg: VGG16Features, student_out: torch.Tensor, teacher_out: torch.Tensor,
                      weights: Mapping[str, float]) -> dict[str, torch.Tensor]:
    """Weighted Gram style loss (all tapped layers) and relu2_2 feature L1."""
    s_feats = vgg(student_out)
    with torch.no_grad():
        t_feats = vgg(teacher_out)
    return {"style": weights["style"] * style_loss(s_feats, t_feats),
            "feature": weights["feature"] * F.l1_loss(s_feats["relu2_2"], t_feats["relu2_2"])}


class CRD(Method, spec=SPEC):
    def train(self, setup: TrainSetup) -> TrainOutcome:
        hp, paired, device = setup.hparams, setup.data.paired, setup.device
        self.check_setup(setup)
        weights = crd_weights(hp, paired)
        patch_size = resolve_patch_size(hp["patch_size"], setup.data.size)
        plan = plan_schedule(hp, setup.data, setup.schedule)
        recipe = {**resolve_recipe(setup.recipe, paired), "init": hp["init"]}
        torch.manual_seed(setup.seed)
        gen = torch.Generator().manual_seed(setup.seed)
        sampler = recipe_sampler(setup, gen)
        perceptual = bool(weights["style"] or weights["feature"])
        vgg = (VGG16Features(hp["vgg_weights"], imagenet_norm=hp["vgg_input"] == "imagenet").to(device)
               if uses_vgg16(hp, paired) else None)
        teacher = OnlineTeacher(setup, plan, online_teacher_spec(hp, setup.teacher_spec), recipe, hp, gen, sampler, vgg)
        student = build_network(online_student_spec(hp, setup.student_spec), hp["init"]).to(device)
        opt_s = adam(student.parameters(), plan.student)
        t_modules, t_optimizers, t_schedulers, t_extras = teacher.state_parts()
        state = TrainingState({"G": student, **t_modules}, {"G": opt_s, **t_optimizers},
                              {"G": linear_decay(opt_s, plan.student), **t_schedulers}, t_extras, generator=gen)
        net_d, mode = teacher.model.discriminator, recipe["gan_mode"]

        def step(i: int) -> dict[str, torch.Tensor]:
            real_a, real_b = sampler.sample()
            t_out = teacher.target(i, real_a, real_b)
            s_out = student(real_a)
            terms = content_relation_losses(s_out, t_out, weights, patch_size, hp["rkd_distance"],
                                            hp["rkd_angle"])
            if perceptual:
                terms.update(perceptual_losses(vgg, s_out, t_out, weights))
            if weights["gan"]:
                set_requires_grad(net_d, False)  # the teacher's discriminator, frozen for the student
                judged = net_d(torch.cat([real_a, s_out], 1) if paired else s_out)
                terms["G_gan"] = weights["gan"] * gan_loss(judged, True, mode, for_discriminator=False)
            opt_s.zero_grad(set_to_none=True)
            sum(terms.values()).backward()
            opt_s.step()
            return {**terms, **teacher.loss_terms()}

        history = run_steps(step, state, plan.student, device, setup.checkpointer, setup.log)
        extras = {**teacher.summary(), "student_steps": plan.student.steps,
                  "vgg_weights": vgg.source if vgg is not None else "not used"}
        return TrainOutcome(student, history, extras=extras)

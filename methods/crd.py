"""``crd``: content relationship distillation with an online teacher discriminator
(You, Lin, Hu, Chao, Ji, "Exploring Content Relationships for Distilling Efficient GANs",
arXiv 2212.11091; public code github.com/TheKernelZ/CRD).

Student loss, on the teacher's and the student's output images (values in [-1, 1]):

* RKD (1 x distance + 2 x angle, :mod:`methods.losses.relational`) on three slicings of each
  image: its rows (H samples of 3*W values), its columns (W samples of 3*H values) and its
  non-overlapping ``patch_size`` patches (the paper's 32 at 256x256: an 8 x 8 grid of 64 patches;
  ``None``, the default, keeps that 8 x 8 grid at any resolution: side / 8). Each image is one
  relation set; as in the public code, the per-image losses are summed over the batch.
* VGG16 perceptual terms (:mod:`methods.perceptual`): Gram style loss at relu1_2/2_2/3_3/4_3
  and L1 on relu2_2.
* CycleGAN only: the LSGAN loss of the *teacher's* discriminator, frozen for the student step.

Weights (``None`` = the paper's value for the task's kind): CycleGAN 25 per RKD slicing, style
1e4, feature 10, GAN 1; pix2pix 2.5 per slicing, style 2e4 and feature 20 (the code's 2 x 1e4 and
2 x 10), no GAN term.

Online teacher: the teacher generator and discriminator are trained from scratch inside this job
with the task's recipe (:func:`methods.recipes.build_recipe`: pix2pix or CycleGAN, the suite's
recipe settings and the teacher network of the suite), interleaved with the student:

* pix2pix (``n_dis`` = 1): every iteration, one teacher step (D, then G) and then one student
  step on the same batch, distilled from the teacher output of that iteration (computed before
  the teacher's update, as in the code). With ``n_dis`` = k the teacher steps every k-th iteration.
* CycleGAN (``n_dis`` = 4): training runs in ``teacher_windows`` windows. Each window first
  trains the teacher for W = ceil(T / teacher_windows) steps, T = ceil(steps / n_dis) teacher
  steps in all, then selects the teacher the student learns from (``teacher_select``: ``best``
  keeps the best teacher so far, ``latest`` the current one) and trains the student for
  W x n_dis steps from that frozen copy and the (frozen) live discriminator D_B. The paper
  evaluates the teacher every 10 of its 200 epochs (20 windows) and trains the student 4 epochs
  per teacher epoch; one epoch is one pass over the training set, so with equal batch sizes
  "4 student epochs per teacher epoch" is 4 student steps per teacher step, and 10 teacher
  epochs is T / 20 steps.

Differences from the paper and its code, each a hyperparameter or stated here:

* ``best`` is judged by a Frechet distance between ImageNet-VGG16 relu4_3 features (pooled) of the
  teacher's translations of ``select_images`` training images of domain A and as many training
  images of domain B, an FID stand-in that needs no InceptionV3 and never looks at test images;
  the paper selects by test-set FID.
* The public pix2pix code relates the 3 colour channels of one patch instead of the patches of an
  image (a reshaping slip); the paper's intent, patches as the relation set, is implemented.
  The public row/column code crashes on current PyTorch (``.view`` of a transposed tensor);
  ``.reshape`` gives the intended slices.
* The teacher's learning rate follows the suite's constant-then-linear-decay curve over the
  student's steps (so over its own steps too); teacher and student use the suite's batch size.
* The job's ``steps`` are student steps; the teacher's training time is recorded separately
  (``teacher_train_s`` in the outcome's extras and the job record), as is the VGG weights' source.
"""
from __future__ import annotations

import copy
import math
import time
from functools import partial
from typing import Any, ClassVar, Mapping

import torch
import torch.nn.functional as F
from torch import nn

from methods.base import Method, TrainOutcome, TrainSetup, by_pairing
from methods.losses.relational import column_slices, patch_slices, rkd_loss, row_slices
from methods.networks import build_network
from methods.perceptual import VGG16Features, frechet_distance, style_loss, vgg_embedding
from methods.recipes import RecipeModel, build_recipe, recipe_sampler, resolve_recipe
from methods.registry import METHODS
from methods.training import LoopStats, TrainingState, adam, gan_loss, linear_decay, run_steps, set_requires_grad, to_float

TEACHER_SELECT = ("best", "latest")


def crd_weights(hp: Mapping[str, Any], paired: bool) -> dict[str, float]:
    """The loss weights for the task's kind, ``None`` entries filled with the paper's values."""
    return {
        "row": by_pairing(hp["lambda_row"], paired, pix2pix=2.5, cyclegan=25.0),
        "column": by_pairing(hp["lambda_column"], paired, pix2pix=2.5, cyclegan=25.0),
        "patch": by_pairing(hp["lambda_patch"], paired, pix2pix=2.5, cyclegan=25.0),
        "style": by_pairing(hp["lambda_style"], paired, pix2pix=2e4, cyclegan=1e4),
        "feature": by_pairing(hp["lambda_feature"], paired, pix2pix=20.0, cyclegan=10.0),
        "gan": by_pairing(hp["lambda_gan"], paired, pix2pix=0.0, cyclegan=1.0),
    }


def resolve_patch_size(patch_size: int | None, image_size: int) -> int:
    """The patch side: ``patch_size``, or ``None`` -> the paper's 8 x 8 grid (32 px at 256 px). The RKD
    angle term needs at least 3 patches per image; a size that leaves fewer is an error that says so."""
    size = int(patch_size) if patch_size is not None else max(1, image_size // 8)
    n = (image_size // size) ** 2 if image_size % size == 0 else 0
    if n < 3:
        raise ValueError(f"crd patch_size={size} gives {n} whole patches of a {image_size}x{image_size} image; the "
                         f"patch relations need at least 3: use a divisor of {image_size} up to {image_size // 2}, "
                         f"or null for the paper's 8 x 8 grid")
    return size


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


class OnlineTeacher:
    """The teacher CRD trains inside its job (generator + discriminator, the task's recipe), the
    schedule that interleaves it with the student, and the generator the student learns from.

    pix2pix: ``source`` is the live teacher; a teacher step runs every ``n_dis`` student steps and
    the student uses that step's output. CycleGAN: every ``window`` x ``n_dis`` student steps the
    teacher trains ``window`` steps, then ``source`` (a frozen copy) is set to the best teacher so
    far (``select_best``, judged by :func:`teacher_score`) or to the current one."""

    def __init__(self, setup: TrainSetup, recipe: Mapping[str, Any], hp: Mapping[str, Any],
                 generator: torch.Generator, sampler, vgg: VGG16Features | None) -> None:
        self.paired = setup.data.paired
        self.n_dis = max(1, int(by_pairing(hp["n_dis"], self.paired, pix2pix=1, cyclegan=4)))
        self.total_steps = math.ceil(setup.schedule.steps / self.n_dis)
        self.window = 1 if self.paired else math.ceil(self.total_steps / max(1, hp["teacher_windows"]))
        self.select_best = not self.paired and hp["teacher_select"] == "best"
        self.model: RecipeModel = build_recipe(setup.teacher_spec, recipe, self.paired, setup.schedule, setup.device,
                                               generator)
        self.source = self.model.generator if self.paired else copy.deepcopy(self.model.generator)
        self.sampler, self.vgg, self.device = sampler, vgg, setup.device
        self.select_a = setup.data.train_a[:hp["select_images"]]
        self.select_b = setup.data.train_b[:hp["select_images"]]
        self.stats = LoopStats(teacher_steps=0, teacher_train_s=0.0, teacher_select_s=0.0, selections=0,
                               best_score=math.inf)

    def state_parts(self) -> tuple[dict, dict, dict, dict]:
        """Modules, optimisers, schedulers and extras for the job's ``TrainingState`` (prefixed ``teacher_``)."""
        modules = _prefixed(self.model.modules)
        if not self.paired:
            modules["teacher_selected"] = self.source
        return (modules, _prefixed(self.model.optimizers), _prefixed(self.model.schedulers),
                {"teacher_stats": self.stats, **_prefixed(self.model.extras)})

    def target(self, step: int, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        """The teacher output the student distils from at student step ``step`` (teacher training first when due)."""
        due = step % (self.window * self.n_dis) == 0 and self.stats.values["teacher_steps"] < self.total_steps
        if due:
            start = time.perf_counter()
            out = self._train_window(real_a, real_b)
            if not self.paired:
                self._select()
            self.stats.add("teacher_train_s", time.perf_counter() - start)
            if self.paired:
                return out
        with torch.no_grad():
            return self.source(real_a)

    def loss_terms(self) -> dict[str, torch.Tensor]:
        """The teacher's latest loss terms (``T_*``), so the job's history follows the teacher too."""
        return {k: torch.tensor(v) for k, v in self.stats.values.items() if k.startswith("T_")}

    def summary(self) -> dict[str, Any]:
        values = self.stats.values
        out = {"teacher": self.model.generator, "teacher_discriminator": self.model.discriminator,
               "teacher_train_s": values["teacher_train_s"], "teacher_select_s": values["teacher_select_s"],
               "teacher_steps": int(values["teacher_steps"]), "teacher_selections": int(values["selections"]),
               "teacher_window_steps": self.window, "n_dis": self.n_dis}
        if self.select_best:
            out["teacher_best_score"] = values["best_score"]
        return out

    def _train_window(self, real_a: torch.Tensor, real_b: torch.Tensor) -> torch.Tensor:
        """Train ``window`` teacher steps, the first on the given batch; return the teacher's output for
        that batch, computed before its update."""
        first_out = None
        for k in range(min(self.window, self.total_steps - int(self.stats.values["teacher_steps"]))):
            terms, fake_b = self.model.step(*((real_a, real_b) if k == 0 else self.sampler.sample()))
            first_out = fake_b if k == 0 else first_out
            self.stats.add("teacher_steps", 1)
            self.stats.values.update({f"T_{name}": float(v.detach()) for name, v in terms.items()})
        return first_out

    def _select(self) -> None:
        start = time.perf_counter()
        if self.select_best:
            score = teacher_score(self.model.generator, self.vgg, self.select_a, self.select_b, self.device)
            self.stats.values["T_select_score"] = score
            if score < self.stats.values["best_score"]:
                self.stats.values["best_score"] = score
                self.source.load_state_dict(self.model.generator.state_dict())
        else:
            self.source.load_state_dict(self.model.generator.state_dict())
        self.stats.add("selections", 1)
        self.stats.add("teacher_select_s", time.perf_counter() - start)


def _prefixed(parts: Mapping[str, Any]) -> dict[str, Any]:
    return {f"teacher_{k}": v for k, v in parts.items()}


def teacher_score(generator: nn.Module, vgg: VGG16Features, images_a: torch.Tensor, images_b: torch.Tensor,
                  device: torch.device, batch_size: int = 8) -> float:
    """VGG Frechet distance of the generator's translations of ``images_a`` to ``images_b`` (uint8), eval mode."""
    was_training = generator.training
    generator.eval()
    with torch.no_grad():
        fake = torch.cat([generator(to_float(images_a[i:i + batch_size], device))
                          for i in range(0, len(images_a), batch_size)])
    generator.train(was_training)
    return frechet_distance(vgg_embedding(vgg, fake), vgg_embedding(vgg, to_float(images_b, device)))


@METHODS.register("crd")
class CRD(Method):
    """Content relationship distillation: RKD on row/column/patch slices of outputs, VGG style/feature, online teacher D."""

    name = "crd"
    teacher_mode: ClassVar[str] = "online"
    citation = "You et al., Exploring Content Relationships for Distilling Efficient GANs, arXiv 2212.11091"
    defaults = {
        "lambda_row": None, "lambda_column": None, "lambda_patch": None,
        "rkd_distance": 1.0, "rkd_angle": 2.0, "patch_size": None,
        "lambda_style": None, "lambda_feature": None, "lambda_gan": None,
        "n_dis": None, "teacher_windows": 20, "teacher_select": "best", "select_images": 32,
        "vgg_weights": None,
    }

    def train(self, setup: TrainSetup) -> TrainOutcome:
        hp, paired, device = setup.hparams, setup.data.paired, setup.device
        if hp["teacher_select"] not in TEACHER_SELECT:
            raise ValueError(f"crd teacher_select must be one of {TEACHER_SELECT}, got {hp['teacher_select']!r}")
        weights = crd_weights(hp, paired)
        patch_size = resolve_patch_size(hp["patch_size"], setup.data.size)
        recipe = resolve_recipe(setup.recipe, paired)
        torch.manual_seed(setup.seed)
        gen = torch.Generator().manual_seed(setup.seed)
        sampler = recipe_sampler(setup, gen)
        perceptual = bool(weights["style"] or weights["feature"])
        needs_vgg = perceptual or (not paired and hp["teacher_select"] == "best")
        vgg = VGG16Features(hp["vgg_weights"]).to(device) if needs_vgg else None
        teacher = OnlineTeacher(setup, recipe, hp, gen, sampler, vgg)
        student = build_network(setup.student_spec).to(device)
        opt_s = adam(student.parameters(), setup.schedule)
        t_modules, t_optimizers, t_schedulers, t_extras = teacher.state_parts()
        state = TrainingState({"G": student, **t_modules}, {"G": opt_s, **t_optimizers},
                              {"G": linear_decay(opt_s, setup.schedule), **t_schedulers}, t_extras, generator=gen)
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
                terms["G_gan"] = weights["gan"] * gan_loss(judged, True, mode)
            opt_s.zero_grad(set_to_none=True)
            sum(terms.values()).backward()
            opt_s.step()
            return {**terms, **teacher.loss_terms()}

        history = run_steps(step, state, setup.schedule, device, setup.checkpointer, setup.log)
        extras = {**teacher.summary(), "vgg_weights": vgg.source if vgg is not None else "not used"}
        return TrainOutcome(student, history, extras=extras)

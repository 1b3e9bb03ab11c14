"""CRD's online teacher: its schedule against the student's, its training windows, and the choice of the
generator the student learns from (You et al., arXiv 2212.11091; public code TheKernelZ/CRD, ``trainer.py``
and ``distillers/cycleganbest_distiller.py``).

The job's schedule (``Schedule``: steps, batch size, the constant-then-linear-decay shape) is turned into
CRD's by :func:`plan_schedule`:

* ``epochs`` / ``epochs_decay`` (teacher epochs at constant and at decaying learning rate; ``None``: the
  job's schedule) replace its length, one epoch being ``ceil(N / batch)`` steps with N the number of
  training pairs (pix2pix) or ``max(|A|, |B|)`` (CycleGAN's ``UnalignedDataset``). The public scripts
  run 100 + 100.
* pix2pix: one student step per iteration, a teacher step every ``n_dis`` iterations (the code's 1).
* CycleGAN, ``steps_count="teacher"`` (the public code: ``--nepochs``/``--nepochs_decay`` count the
  teacher's epochs): the teacher trains the schedule's T steps and the student ``n_dis`` x T (4: 200
  teacher and 800 student epochs); ``"student"``: the schedule's steps are the student's, the teacher
  trains 1 / ``n_dis`` of them. Training runs in windows of ``window_epochs`` teacher epochs (the
  script's ``--save_epoch_freq 10``): the teacher trains a window, the generator the student learns from
  is selected, then the student trains ``n_dis`` x the window's steps.
* The student's learning rate follows the schedule's shape over its own steps and the teacher's over
  the same steps (both advance together, window by window); the code steps both once per teacher epoch.

Selection (``teacher_select``): ``best`` keeps the best teacher so far, ``latest`` the current one. The
code judges "best" by FID on the *test* images (and overwrites its best-teacher file when either
direction's FID improves); here the judge is a Frechet distance between ImageNet-VGG16 relu4_3 features
(pooled) of the teacher's translations of ``select_images`` *training* images of domain A and as many
training images of domain B (:func:`teacher_score`), an FID stand-in that needs no InceptionV3 and never
looks at the test split.
"""
from __future__ import annotations

import copy
import math
import time
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Mapping

import torch
from torch import nn

from kd_gan_bench.methods.core.base import TrainSetup
from kd_gan_bench.methods.core.inference import batched_forward
from kd_gan_bench.methods.core.perceptual import VGG16Features, frechet_distance, vgg_embedding
from kd_gan_bench.methods.core.schedule_math import epoch_steps as schedule_epoch_steps, online_schedule
from kd_gan_bench.methods.core.recipes import RecipeModel, build_recipe
from kd_gan_bench.methods.core.training import LoopStats, Schedule, to_float

if TYPE_CHECKING:  # datasets registers itself through kd_gan_bench.benchmarks.core.registry: import for types only
    from kd_gan_bench.datasets.base import ImageTranslationData



@dataclass(frozen=True)
class TeacherPlan:
    """How CRD interleaves its teacher with the student: ``student`` is the student's schedule (the
    loop's), ``teacher_steps`` the teacher's total, ``window`` its steps per window, ``n_dis`` the
    student steps per teacher step (CycleGAN) or iterations per teacher step (pix2pix)."""

    student: Schedule
    teacher_steps: int
    window: int
    n_dis: int


def train_examples(data: ImageTranslationData) -> int:
    """Examples of one epoch: training pairs (paired) or max(|A|, |B|) (unpaired, CycleGAN's ``UnalignedDataset``)."""
    return len(data.train_a) if data.paired else max(len(data.train_a), len(data.train_b))


def epoch_steps(data: ImageTranslationData, batch_size: int) -> int:
    """Steps of one epoch of ``data`` at ``batch_size`` (:func:`kd_gan_bench.methods.core.schedule_math.epoch_steps`)."""
    return schedule_epoch_steps(train_examples(data), batch_size)


def plan_schedule(hp: Mapping[str, Any], data: ImageTranslationData, schedule: Schedule,
                  method: str = "crd") -> TeacherPlan:
    """CRD's student schedule and teacher steps from the job's schedule (see the module docstring; the
    arithmetic is :func:`kd_gan_bench.methods.core.schedule_math.online_schedule`, which the training plan calls too)."""
    plan = online_schedule(hp, data.paired, train_examples(data), schedule.steps, schedule.batch_size,
                           schedule.decay_from, method)
    return TeacherPlan(replace(schedule, steps=plan.student_steps, decay_from=plan.decay_from), plan.teacher_steps,
                       plan.window, plan.n_dis)


class OnlineTeacher:
    """The teacher CRD trains inside its job (generator + discriminator, the task's recipe), the
    schedule that interleaves it with the student, and the generator the student learns from.

    pix2pix: ``source`` is the live teacher; a teacher step runs every ``n_dis`` student steps and
    the student uses that step's output. CycleGAN: every ``window`` x ``n_dis`` student steps the
    teacher trains ``window`` steps, then ``source`` (a frozen copy) is set to the best teacher so
    far (``select_best``, judged by :func:`teacher_score`) or to the current one."""

    def __init__(self, setup: TrainSetup, plan: TeacherPlan, teacher_spec: Mapping[str, Any],
                 recipe: Mapping[str, Any], hp: Mapping[str, Any], generator: torch.Generator, sampler,
                 vgg: VGG16Features | None) -> None:
        self.paired = setup.data.paired
        self.n_dis, self.total_steps, self.window = plan.n_dis, plan.teacher_steps, plan.window
        self.select_best = not self.paired and hp["teacher_select"] == "best"
        self.model: RecipeModel = build_recipe(teacher_spec, recipe, self.paired, plan.student, setup.device,
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
    fake = batched_forward(generator, images_a, device, batch_size)
    return frechet_distance(vgg_embedding(vgg, fake), vgg_embedding(vgg, to_float(images_b, device)))

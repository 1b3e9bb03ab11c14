"""Schedule arithmetic that the jobs and the training plan share, torch-free: the online-teacher schedule of
CRD, OMGD and DCD (how many steps the student and its online teacher train and how they interleave: OMGD's
``cycleganbest``/``pix2pixbest`` loops, which CRD and DCD took; :mod:`kd_gan_bench.methods.core.online_teacher` runs the loop) and
cGAN-KD's fine-tuning schedule.

The jobs (:func:`kd_gan_bench.methods.core.online_teacher.plan_schedule`, :func:`kd_gan_bench.methods.cgan_kd.method.fine_tuning_schedule`) and the
training plan (``python -m kd_gan_bench.benchmarks.run plan``, :mod:`kd_gan_bench.benchmarks.planning.training_plan`) call the same functions, so the
plan prints what the jobs train.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Mapping

from kd_gan_bench.methods.core.plan_checks import check_schedule_hparams


#: When the pretrained-teacher loop (:mod:`kd_gan_bench.methods.core.distill`) steps the student's discriminator, its ``d_step``:
#: ``after_g``, GAN Compression's ``ResnetDistiller.optimize_parameters`` (backward_D, backward_G, then both
#: optimisers step: the student's GAN term sees the discriminator before this iteration's update); ``before_g``,
#: CAT's ``InceptionDistiller.optimize_parameters`` (the discriminator steps before the student's backward pass).
D_STEPS = ("after_g", "before_g")


def d_steps_first(d_step: str) -> bool:
    """Whether the loop steps the discriminator before computing the student's GAN term (``d_step``)."""
    if d_step not in D_STEPS:
        raise ValueError(f"d_step {d_step!r}: must be one of {', '.join(D_STEPS)} (after_g: GAN Compression's "
                         f"order, before_g: CAT's)")
    return d_step == "before_g"


def by_pairing(value: Any, paired: bool, *, pix2pix: float, cyclegan: float) -> float:
    """A hyperparameter whose ``None`` means "the paper's value for this kind of task": ``pix2pix``
    for paired tasks, ``cyclegan`` for unpaired ones."""
    return float(value) if value is not None else (pix2pix if paired else cyclegan)


@dataclass(frozen=True)
class OnlineSchedule:
    """``student_steps`` and ``decay_from``: the student's schedule; ``teacher_steps``: the teacher's total;
    ``window``: teacher steps per window (CycleGAN; 1 for pix2pix); ``n_dis``: student steps per teacher step
    (CycleGAN) or iterations per teacher step (pix2pix); ``epoch_steps``: steps of one epoch."""

    student_steps: int
    decay_from: float
    teacher_steps: int
    window: int
    n_dis: int
    epoch_steps: int


def epoch_steps(n_train: int, batch_size: int) -> int:
    """Steps of one epoch of ``n_train`` examples (pairs, or max(|A|, |B|) unpaired) at ``batch_size``."""
    return max(1, math.ceil(n_train / batch_size))


def online_schedule(hp: Mapping[str, Any], paired: bool, n_train: int, steps: int, batch_size: int,
                    decay_from: float, method: str = "crd") -> OnlineSchedule:
    """The student's and the online teacher's schedules from the job's (``steps``, ``batch_size``,
    ``decay_from``) and the method's schedule hyperparameters (:data:`kd_gan_bench.methods.core.settings.SCHEDULE_DEFAULTS`):

    * ``epochs`` / ``epochs_decay`` (teacher epochs; ``None``: the job's schedule) replace its length;
    * pix2pix: one student step per iteration, a teacher step every ``n_dis`` iterations (the code's 1);
    * CycleGAN, ``steps_count="teacher"`` (the code's): the teacher trains the schedule's T steps and the
      student ``n_dis`` x T (4); ``"student"``: the schedule's steps are the student's. Windows of
      ``window_epochs`` teacher epochs."""
    check_schedule_hparams(hp, method)
    per_epoch = epoch_steps(n_train, batch_size)
    if hp["epochs"] is not None:
        total = hp["epochs"] + hp["epochs_decay"]
        steps, decay_from = total * per_epoch, hp["epochs"] / total
    n_dis = max(1, int(by_pairing(hp["n_dis"], paired, pix2pix=1, cyclegan=4)))
    if paired:
        return OnlineSchedule(steps, decay_from, math.ceil(steps / n_dis), 1, n_dis, per_epoch)
    teacher = steps if hp["steps_count"] == "teacher" else math.ceil(steps / n_dis)
    window = min(teacher, max(1, round(hp["window_epochs"] * per_epoch)))
    student = teacher * n_dis if hp["steps_count"] == "teacher" else steps
    return OnlineSchedule(student, decay_from, teacher, window, n_dis, per_epoch)


CGAN_KD_EPOCHS_OVER = ("real+fake", "real")


def fine_tuning_values(hp: Mapping[str, Any], schedule: Mapping[str, Any], n_real: int, n_fake: int) -> dict[str, Any]:
    """cGAN-KD's changes to the suite's SGD ``schedule``: its learning rate, batch size and milestones, and
    ``epochs`` passes over the real (+ fake) images: ``epochs`` x ceil(N / batch) steps (the code's loaders); with
    ``epochs`` None, the suite schedule's epochs (its images seen / the real images) over N, in images."""
    if hp["epochs_over"] not in CGAN_KD_EPOCHS_OVER:
        raise ValueError(f"epochs_over must be one of {CGAN_KD_EPOCHS_OVER}, got {hp['epochs_over']!r}")
    batch = schedule["batch_size"] if hp["batch_size"] is None else int(hp["batch_size"])
    if batch < 1 or (hp["epochs"] is not None and hp["epochs"] <= 0):
        raise ValueError(f"cGAN-KD needs epochs > 0 and batch_size >= 1, got {hp['epochs']}, {hp['batch_size']}")
    seen = n_real + n_fake if hp["epochs_over"] == "real+fake" else n_real
    if hp["epochs"] is None:
        steps = round(schedule["steps"] * schedule["batch_size"] * seen / (n_real * batch))
    else:
        steps = round(float(hp["epochs"]) * math.ceil(seen / batch))
    return {"steps": max(1, steps), "batch_size": batch, "lr": schedule["lr"] if hp["lr"] is None else float(hp["lr"]),
            "milestones": schedule["milestones"] if hp["milestones"] is None else tuple(hp["milestones"])}


def dre_steps(hp: Mapping[str, Any], n_train: int) -> int:
    """cGAN-KD's density-ratio model's training steps: ``dre_steps``, or ``dre_epochs`` passes over ``n_train``
    real images at ``dre_batch_size``."""
    if hp["dre_steps"] is not None:
        steps = int(hp["dre_steps"])
    else:
        steps = int(hp["dre_epochs"]) * math.ceil(n_train / int(hp["dre_batch_size"]))
    if steps < 1:
        raise ValueError(f"the density-ratio model needs >= 1 step, got dre_steps={hp['dre_steps']}, "
                         f"dre_epochs={hp['dre_epochs']} (set one of them to a positive number)")
    if any(not 0 < float(m) < 1 for m in hp["dre_milestones"]):
        raise ValueError(f"dre_milestones are fractions of the run in (0, 1), got {hp['dre_milestones']}")
    return steps

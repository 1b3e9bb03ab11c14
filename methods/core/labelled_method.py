"""The base of the classification/regression methods (``nokd``, ``vanilla_kd``, ``cgan_kd``...).

One loop serves them all (``kd_gan_bench.methods.core.labelled_training.train_labelled``); a method says what it
learns from and how it scores a batch:

* ``distils``: the loss reads the frozen teacher's outputs on the same batch;
* ``uses_fake_set``: batches are drawn from the real training split plus the cGAN-KD fake set
  (``setup.inputs["fake_set"]``);
* ``needs_student_init(hp)``: the student starts from the NOKD student's weights (fine-tuning,
  ``setup.inputs["student_init"]``);
* ``needs``: the jobs its students read (``kd_gan_bench.benchmarks.core.registry.Need``); a need's ``settings`` name the
  hyperparameters in which this method's fake set differs from the suite's (the grid then makes it its own
  fake-set job);
* ``n_fake(hp)``: how many of the fake set's samples a run uses (``fake_subset``);
* ``run_schedule(hp, schedule, n_real, n_fake)``: the SGD schedule of the run, given the suite's;
* ``losses(...)``: the named loss terms of a batch.

``families`` lists the task families a method serves (both here); ``family`` is the first, for
listings that expect one.
"""
from __future__ import annotations

from typing import Any, ClassVar, Mapping

import torch

from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.labelled_training import (LabelledPool, SGDSchedule, build_labelled_network, fake_subset, frozen,
                                       supervised_loss, train_labelled)



class LabelledMethod(Method):
    """A method for classification and regression tasks; subclasses define ``losses`` and the flags."""

    distils: ClassVar[bool] = False
    uses_fake_set: ClassVar[bool] = False

    def needs_student_init(self, hp: Mapping[str, Any]) -> bool:
        """Whether the harness must hand over the NOKD student's weights (``setup.inputs["student_init"]``)."""
        return False

    def n_fake(self, hp: Mapping[str, Any]) -> int | None:
        """How many fakes a run draws from the fake set (None: all)."""
        return None

    def run_schedule(self, hp: Mapping[str, Any], schedule: SGDSchedule, n_real: int, n_fake: int) -> SGDSchedule:
        """The run's schedule, given the suite's and the numbers of real and fake training images."""
        return schedule

    def losses(self, hp: Mapping[str, Any], family: str, outputs: torch.Tensor, targets: torch.Tensor,
               teacher_outputs: torch.Tensor | None) -> dict[str, torch.Tensor]:
        return {"sup": supervised_loss(outputs, targets, family, hp["reg_loss"])}

    def train(self, setup: TrainSetup) -> TrainOutcome:
        data, hp = setup.data, self.resolve_hparams(setup.hparams)
        if data.family not in self.families:
            raise ValueError(f"method {self.name!r} serves {self.families} tasks, not {data.family!r} ({data.name})")
        if self.distils and setup.teacher is None:
            raise ValueError(f"method {self.name!r} distils from a pretrained teacher and none was given")
        if self.uses_fake_set and setup.inputs.get("fake_set") is None:
            raise ValueError(f"method {self.name!r} trains on the cGAN-KD fake set of this task and teacher, and none "
                             f"was given: run the fake-set phase (kd_gan_bench.methods.cgan_kd.pipeline.build_fake_set) first")
        torch.manual_seed(setup.seed)
        student = build_labelled_network(setup.student_spec, data)
        if self.needs_student_init(hp):
            if setup.inputs.get("student_init") is None:
                raise ValueError(f"method {self.name!r} with init='nokd' fine-tunes the NOKD student of the same spec: "
                                 f"pass its state dict as setup.inputs['student_init'] (or set init='scratch')")
            student.load_state_dict(setup.inputs["student_init"], strict=True)
        teacher = frozen(setup.teacher, setup.device) if self.distils else None

        def loss_fn(outputs: torch.Tensor, inputs: torch.Tensor, targets: torch.Tensor) -> dict[str, torch.Tensor]:
            with torch.no_grad():
                teacher_outputs = teacher(inputs) if teacher is not None else None
            return self.losses(hp, data.family, outputs, targets, teacher_outputs)

        fake = setup.inputs.get("fake_set") if self.uses_fake_set else None
        idx = None if fake is None else fake_subset(fake, self.n_fake(hp), data.num_classes,
                                                    torch.Generator().manual_seed(setup.seed))
        pool = LabelledPool(data, fake, idx)
        n_fake = len(pool) - pool.n_real
        schedule = self.run_schedule(hp, setup.schedule, pool.n_real, n_fake)
        setup.log(f"{self.name}: {len(pool)} training images ({pool.n_real} real, {n_fake} fake); {schedule.steps} "
                  f"steps at batch {schedule.batch_size}, lr {schedule.lr:g}")
        history = train_labelled(student, pool, schedule, setup.device, setup.seed, loss_fn,
                                 augmentation=hp["augment"], checkpointer=setup.checkpointer, log=setup.log)
        return TrainOutcome(student, history, extras={"n_train_real": pool.n_real, "n_train_fake": n_fake,
                                                         "steps": schedule.steps, "batch_size": schedule.batch_size,
                                                         "lr": schedule.lr})

"""``scratch``: the NOKD baseline, the student trained with the teacher's own recipe, no teacher.

==================  ===========================================  ================================  ====================
component           paper or public code (file)                  ours                              why
==================  ===========================================  ================================  ====================
recipe              pix2pix / CycleGAN (junyanz/pytorch-CycleGAN-  :mod:`kd_gan_bench.methods.core.recipes`: the same  the baseline every
                    and-pix2pix, train.py): GAN + 100 L1, or       losses, weights, pool, Adam       paper reports (NOKD)
                    LSGAN + 10 cycle + 0.5 identity
length              epochs (--n_epochs + --n_epochs_decay)       the suite's steps, same shape     one schedule per suite
network             the student's architecture                   the suite's student               the comparison
==================  ===========================================  ================================  ====================
"""
from __future__ import annotations


from kd_gan_bench.methods.scratch.spec import SPEC
from kd_gan_bench.methods.core.base import Method, TrainOutcome, TrainSetup
from kd_gan_bench.methods.core.recipes import train_recipe


class Scratch(Method, spec=SPEC):
    def train(self, setup: TrainSetup) -> TrainOutcome:
        return train_recipe(setup, setup.student_spec)

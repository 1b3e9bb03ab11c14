"""cGAN-KD (Ding et al., arXiv 2104.03164): the fake-set phase and the methods that train on it.

Public API: ``build_fake_set`` / ``FakeSet`` (one processed fake set per task, and per teacher when
the teacher filters; ``fake_set_network`` says which) and the registered methods ``cgan_kd`` and
``cgan_kd+vanilla_kd``.
"""
from methods.cgan_kd import method  # noqa: F401  (registration)
from methods.cgan_kd.fake_set import FakeSet
from methods.cgan_kd.pipeline import (FAKESET_DEFAULTS, build_fake_set, fake_set_network, generator_from,
                                     resolve_fake_hparams)

__all__ = ["FAKESET_DEFAULTS", "FakeSet", "build_fake_set", "fake_set_network", "generator_from",
           "resolve_fake_hparams"]

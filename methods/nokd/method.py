"""``nokd``: the student trained on the real training split alone, no teacher (cGAN-KD's NOKD baseline)."""
from __future__ import annotations


from kd_gan_bench.methods.nokd.spec import SPEC
from kd_gan_bench.methods.core.labelled_method import LabelledMethod


class NoKD(LabelledMethod, spec=SPEC):
    """NOKD: the labelled loop as it is, with no teacher and no fake set."""

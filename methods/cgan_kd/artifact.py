"""cGAN-KD's fake set as a registered artifact: made once per task and teacher, read by every student
whose method declares ``Need("fake_set", artifact="cgan_kd_fake_set")``.

Its settings are :data:`methods.cgan_kd.FAKESET_DEFAULTS` (a suite's ``fake_set`` section overrides
them); the declared types are :data:`methods.entries.FAKE_SET_PARAMS`, its report table
:data:`methods.entries.FAKE_SET_TABLE` (the counts and FIDs ``benchmarks.labelled_jobs`` records).
"""
from __future__ import annotations

from methods.cgan_kd.filtering import FILTER_NETS
from methods.cgan_kd.pipeline import FAKESET_DEFAULTS
from methods.entries import FAKE_SET_PARAMS, FAKE_SET_STEPS, FAKE_SET_TABLE
from methods.registry import ARTIFACTS, Artifact

FAKE_SET = ARTIFACTS.register("cgan_kd_fake_set")(Artifact(
    name="cgan_kd_fake_set", summary="cGAN-KD's processed fake set of one task and teacher",
    families=("classification", "regression"), section="fake_set", defaults=FAKESET_DEFAULTS, params=FAKE_SET_PARAMS,
    step_keys=FAKE_SET_STEPS, batch_key="gan_batch_size", table=FAKE_SET_TABLE, network_setting="filter_net",
    default_networks=FILTER_NETS))

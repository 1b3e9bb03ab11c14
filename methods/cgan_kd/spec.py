"""cGAN-KD's declarations, torch-free: the methods ``cgan_kd`` and ``cgan_kd+vanilla_kd`` (the classes:
:mod:`kd_gan_bench.methods.cgan_kd.method`) and the fake-set artifact they read (made by :mod:`kd_gan_bench.methods.cgan_kd.artifact`)."""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.cgan_kd.plan import cgan_kd_plan, fake_set_plan
from kd_gan_bench.methods.cgan_kd.settings import FAKESET_DEFAULTS, FILTER_NETS
from kd_gan_bench.methods.core.declaration import MethodSpec
from kd_gan_bench.methods.core.settings import LABELLED_DEFAULTS, LABELLED_HPARAMS
from kd_gan_bench.benchmarks.core.registry import Artifact, Need, HParam
from kd_gan_bench.methods.vanilla_kd.spec import KD_DEFAULTS

CGAN_KD_DEFAULTS: Mapping[str, Any] = {
    "init": "nokd",              # "nokd": fine-tune the NOKD student (the public code); "scratch"
    "n_fake": 100000,            # fakes used (NFAKE); None: all of the fake set
    "lr": 0.01,                  # fine-tuning learning rate; None: the suite schedule's
    "batch_size": 128,           # None: the suite schedule's
    "epochs": None,              # None: the suite schedule's epochs (its steps x batch size / real images)
    "epochs_over": "real+fake",  # what one epoch passes over: "real+fake" (the public code) or "real"
    "milestones": None,          # lr x gamma at these fractions of the run; None: the suite schedule's
}
INITS = ("nokd", "scratch")
#: cGAN-KD + KD's fake set in the public code (run_distill_fake.sh): filtered at rho 0.8, labels not adjusted.
KD_FAKE_SET: Mapping[str, Any] = {"fake_filter_rho": 0.8, "fake_replace_labels": False}
CGAN_KD_HPARAMS: Mapping[str, HParam] = {
    **LABELLED_HPARAMS, "init": HParam("str", choices=INITS), "n_fake": HParam("int", optional=True, low=1),
    "lr": HParam("float", optional=True, low=0.0), "batch_size": HParam("int", optional=True, low=1),
    "epochs": HParam("float", optional=True, low=0.0), "epochs_over": HParam("str", choices=("real+fake", "real")),
    "milestones": HParam("list", optional=True), "fake_filter_rho": HParam("float", optional=True, low=0.0, high=1.0),
    "fake_replace_labels": HParam("bool", optional=True)}
FAKE_SET_NEED = Need("fake_set", artifact="cgan_kd_fake_set")
NOKD_INIT_NEED = Need("student_init", method="nokd", when=(("init", "nokd"),))
CITATION = ("Ding et al., Distilling and Transferring Knowledge via cGAN-generated Samples for Image Classification "
            "and Regression, arXiv 2104.03164")

CGAN_KD = MethodSpec(
    name="cgan_kd", families=("classification", "regression"), teacher_mode="pretrained",
    summary="cGAN-KD: the student (fine-tuned from NOKD) learns from real + filtered cGAN samples.",
    citation=CITATION, defaults={**LABELLED_DEFAULTS, **CGAN_KD_DEFAULTS}, hparams_declared=CGAN_KD_HPARAMS,
    needs=(FAKE_SET_NEED, NOKD_INIT_NEED), plan=cgan_kd_plan)

#: cGAN-KD + KD reads a fake set made with its own filtering settings (rho 0.8, labels kept: the public code's)
CGAN_KD_VANILLA_KD = MethodSpec(
    name="cgan_kd+vanilla_kd", families=("classification", "regression"), teacher_mode="pretrained",
    summary="cGAN-KD combined with Hinton KD: real + cGAN samples, CE to labels + T^2 KL to the teacher.",
    citation=CITATION + "; Hinton et al. 2015",
    defaults={**LABELLED_DEFAULTS, **KD_DEFAULTS, **CGAN_KD_DEFAULTS, **KD_FAKE_SET}, hparams_declared=CGAN_KD_HPARAMS,
    needs=(Need("fake_set", artifact="cgan_kd_fake_set",
                settings=(("fake_filter_rho", "filter_rho"), ("fake_replace_labels", "replace_labels"))),
           NOKD_INIT_NEED),
    plan=cgan_kd_plan)

#: The report's table of fake-set jobs: (record metric, label, tooltip, format) per column.
FAKE_SET_TABLE = {
    "title": "cGAN-KD fake sets",
    "caption": "The processed cGAN samples every cGAN-KD student of this task learns from (Ding et al., arXiv "
               "2104.03164): conditional GAN, cDR-RS subsampling, filtering at the teacher's rho-quantile, label "
               "replacement.",
    "samples_label": "cGAN-KD fakes",
    "grid_caption": "Rows: real training images, then the cGAN-KD fake set's samples of the same labels (after "
                    "subsampling and filtering).",
    "columns": (("n_generated", "Generated", "cGAN samples proposed after the burn-ins", "{:,.0f}"),
                ("n_after_subsampling", "Subsampled", "accepted by cDR-RS rejection sampling", "{:,.0f}"),
                ("n_after_filtering", "Filtered", "accepted and below the teacher's rho-quantile cut-off", "{:,.0f}"),
                ("n_final", "Final", "", "{:,.0f}"),
                ("n_labels_replaced", "Relabelled", "labels replaced by the teacher's prediction", "{:,.0f}"),
                ("n_short_labels", "Short labels", "labels that got fewer fakes than asked", "{:,.0f}"),
                ("cgan_fid", "cGAN FID", "FID of raw cGAN samples vs the real training images", "{:.2f}"),
                ("fake_set_fid", "Fake-set FID", "FID of the final fake set vs the real training images", "{:.2f}")),
}
#: Declared types of the fake-set settings whose default does not tell (cGAN-KD's pipeline checks the counts).
FAKE_SET_HPARAMS = {"ccgan_sigma": HParam("float", optional=True, low=0.0),
                   "filter_rho": HParam("float", optional=True, low=0.0, high=1.0),
                   **{k: HParam("int", low=1) for k in ("n_per_label", "max_label_points", "max_proposals_factor",
                                                         "gan_steps", "dre_steps", "rs_batch_size")}}

#: The fake set's training steps are the cGAN's plus the density-ratio model's (sampling and filtering not counted);
#: a fake set made with the public code's filtering network (``FILTER_NETS``) serves every teacher of its task.
FAKE_SET = Artifact(
    name="cgan_kd_fake_set", summary="cGAN-KD's processed fake set of one task and teacher",
    families=("classification", "regression"), section="fake_set", defaults=FAKESET_DEFAULTS,
    hparams_declared=FAKE_SET_HPARAMS,
    step_keys=("gan_steps", "dre_steps"), batch_key="gan_batch_size", table=FAKE_SET_TABLE,
    network_setting="filter_net", default_networks=FILTER_NETS, plan=fake_set_plan)

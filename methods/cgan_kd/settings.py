"""cGAN-KD's fake-set settings with the public code's defaults, torch-free: the conditional GAN's (``cgan``), the
density-ratio model's and cDR-RS subsampling's (``subsampling``), the teacher filtering's (``filtering``) and the
pipeline's own (``pipeline``). Its declaration (:mod:`kd_gan_bench.methods.cgan_kd.spec`) and the modules that run each stage
read them from here (Ding et al., arXiv 2104.03164)."""
from __future__ import annotations

from typing import Any, Mapping

CGAN_DEFAULTS: Mapping[str, Any] = {
    "gan_steps": 2000,
    "gan_batch_size": 64,
    "gan_d_steps": 2,
    "gan_lr_g": 2e-4,
    "gan_lr_d": 2e-4,
    "gan_beta1": 0.0,
    "gan_beta2": 0.999,
    "gan_ch": 64,
    "gan_dim_z": 128,
    "gan_dim_embed": 128,
    "ccgan_vicinity": "hard",     # "hard" (HVDL) or "soft" (SVDL)
    "ccgan_kappa_mult": 1.0,      # kappa = mult x largest gap between sorted distinct training labels
    "ccgan_sigma": None,          # None: Silverman's rule of thumb on the normalised labels
    "ccgan_soft_threshold": 1e-3,  # SVDL ignores real images with weight below this
}

DRE_DEFAULTS: Mapping[str, Any] = {
    "dre_epochs": 200,                # passes over the real training split (the public code: 200)
    "dre_steps": None,                # None: dre_epochs x ceil(n_train / dre_batch_size); a number overrides
    "dre_batch_size": 256,            # the public code's CIFAR-100 and UTKFace scripts
    "dre_lr": 1e-4,
    "dre_milestones": (0.4, 0.75),    # x dre_gamma at these fractions of the run: epochs 80 and 150 of 200
    "dre_gamma": 0.1,
    "dre_weight_decay": 1e-4,
    "dre_lambda": 0.01,
    "dre_hidden": (2048, 1024, 512, 256, 128),
    "dre_dropout": 0.5,
    "dre_dim_embed": 128,
    "rs_burn_in": 5000,    # proposals per label that set M (the public code: 5000 per class)
    "rs_batch_size": 500,  # proposals drawn at once
}

FILTER_DEFAULTS: Mapping[str, Any] = {
    "filter": True,
    "filter_rho": None,          # None: 0.9 for classification, 0.7 for regression
    "filter_burn_in": 1000,      # subsampled fakes per label that fix the cut-off (the public code: 1000 per class)
    "replace_labels": True,
    "filter_net": None,            # None: the public code's (DenseNet-121 / VGG-11); "teacher"; or a network spec
    "filter_net_schedule": None,   # SGDSchedule keys, "epochs" allowed; None: the public code's for the family
}

PIPELINE_DEFAULTS: Mapping[str, Any] = {
    "subsample": True,
    "n_per_label": 1000,           # fakes kept per class / label point (cGAN-KD CIFAR-100: 5000 per class)
    "max_label_points": 100,       # regression: at most this many label values to generate at
    "max_proposals_factor": 20,    # per label: at most factor x n_per_label proposals
    "fid_samples": 10000,          # raw cGAN samples scored by fid_fn (0: none)
    "log_every": 50,
    "checkpoint_every": 0,         # cGAN / ratio-model steps between checkpoints (0: on preemption and at stage ends)
}

FAKESET_DEFAULTS: Mapping[str, Any] = {**CGAN_DEFAULTS, **DRE_DEFAULTS, **FILTER_DEFAULTS, **PIPELINE_DEFAULTS}

#: The public code's filtering network per family: a fake set made with it depends on no teacher and serves every
#: teacher of its task.
FILTER_NETS: Mapping[str, Mapping[str, Any]] = {"classification": {"arch": "densenet121"},
                                                "regression": {"arch": "vgg11"}}

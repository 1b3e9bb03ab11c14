"""cGAN-KD's training plans, torch-free: its students' and its fake set's (what ``python -m kd_gan_bench.benchmarks.run plan`` prints
and every job record stores; the pieces it shares: :mod:`kd_gan_bench.methods.core.plan_specs`)."""
from __future__ import annotations

from typing import Any

from kd_gan_bench.methods.core.plan_specs import CLASSIFIER_INIT, DEFAULT_INIT, JobFacts, epochs_of, network, sgd_training
from kd_gan_bench.methods.core.schedule_math import dre_steps, epoch_steps, fine_tuning_values


def cgan_kd_plan(facts: JobFacts) -> dict[str, Any]:
    """cGAN-KD's student: fine-tuned (from NOKD) on real + fake images with its own SGD schedule. The fake set's
    size is ``n_fake`` (all of it when None: known only once the fake set exists)."""
    hp = facts.hparams
    n_real = facts.n_train or 1
    n_fake = int(hp["n_fake"]) if hp["n_fake"] is not None else 0
    schedule = {**facts.schedule, **fine_tuning_values(hp, facts.schedule, n_real, n_fake)}
    seen = n_real + n_fake if hp["epochs_over"] == "real+fake" else n_real
    per_epoch = epoch_steps(seen, schedule["batch_size"]) if facts.n_train else None
    losses = {k: hp[k] for k in ("reg_loss", "kd_T", "kd_weight", "label_weight") if k in hp}
    init = "nokd student" if hp["init"] == "nokd" else CLASSIFIER_INIT
    return {"trains": {"student": {**sgd_training(schedule, per_epoch), "epochs_over": hp["epochs_over"]}},
            "networks": {"student": network(facts.student or {}, init)},
            "losses": {**losses, "n_fake": hp["n_fake"]}, "interleave": "none"}


def fake_set_plan(facts: JobFacts) -> dict[str, Any]:
    """cGAN-KD's fake-set job (the ``cgan_kd_fake_set`` artifact): its conditional GAN (``gan_d_steps`` D steps per
    G step) and its density-ratio model (cDR-RS), then sampling and filtering (no training)."""
    hp = facts.hparams
    gan_epoch = epoch_steps(facts.n_train, hp["gan_batch_size"]) if facts.n_train else None
    gan = {"steps": hp["gan_steps"], "epochs": epochs_of(hp["gan_steps"], gan_epoch), "batch": hp["gan_batch_size"],
           "optimizer": "adam", "betas": [hp["gan_beta1"], hp["gan_beta2"]], "lr_schedule": {"policy": "constant"}}
    steps = dre_steps(hp, facts.n_train or 1)
    dre_epoch = epoch_steps(facts.n_train, hp["dre_batch_size"]) if facts.n_train else None
    dre = {"steps": steps, "epochs": epochs_of(steps, dre_epoch), "batch": hp["dre_batch_size"], "optimizer": "adam",
           "weight_decay": hp["dre_weight_decay"], "lr": hp["dre_lr"],
           "lr_schedule": {"policy": "step", "gamma": hp["dre_gamma"],
                           "milestone_epochs": [epochs_of(round(steps * m), dre_epoch) for m in hp["dre_milestones"]]}}
    return {"trains": {"cgan_generator": {**gan, "lr": hp["gan_lr_g"]},
                       "cgan_discriminator": {**gan, "lr": hp["gan_lr_d"],
                                              "steps_per_generator_step": hp["gan_d_steps"]},
                       "density_ratio": dre},
            "networks": {"cgan_generator": {"arch": "sngan / ccgan generator", "ch": hp["gan_ch"], "dropout": 0.0,
                                            "init": DEFAULT_INIT},
                         "cgan_discriminator": {"arch": "sngan / ccgan discriminator", "ch": hp["gan_ch"],
                                                "dropout": 0.0, "init": DEFAULT_INIT},
                         "density_ratio": {"arch": "mlp", "hidden": list(hp["dre_hidden"]),
                                           "dropout": float(hp["dre_dropout"]), "init": DEFAULT_INIT}},
            "losses": {"dre_lambda": hp["dre_lambda"], "filter": hp["filter"], "filter_rho": hp["filter_rho"],
                       "replace_labels": hp["replace_labels"], "n_per_label": hp["n_per_label"]},
            "interleave": "sequential: cGAN, then the density-ratio model, then sampling and filtering"}

"""The teachers' GAN recipe settings (pix2pix for paired tasks, CycleGAN for unpaired ones; :mod:`kd_gan_bench.methods.core.recipes`
trains them) as plain data, torch-free, so the training plan resolves them as the jobs do."""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.networks.network_spec import INITS, NORMS
from kd_gan_bench.benchmarks.core.registry import HParam

RECIPE_DEFAULTS: Mapping[str, Any] = {
    "gan_mode": "auto",         # auto: vanilla for pix2pix, lsgan for CycleGAN
    "lambda_l1": 100.0,         # pix2pix
    "lambda_cycle": 10.0,       # CycleGAN
    "lambda_identity": 0.5,     # CycleGAN, relative to lambda_cycle
    "pool_size": 50,            # CycleGAN
    "ndf": 64,
    "d_layers": 3,
    "d_norm": "auto",           # auto: batch for pix2pix, instance for CycleGAN
    "init": "normal",           # init_net N(0, 0.02) of every network (kd_gan_bench.methods.networks.init), or "pytorch"
}

#: The GAN losses :func:`kd_gan_bench.methods.core.training.gan_loss` computes.
GAN_MODES = ("lsgan", "vanilla", "hinge")
#: Declared types and valid values of the recipe settings, checked by ``--set recipe.<key>=...`` at plan time.
RECIPE_HPARAMS: Mapping[str, HParam] = {
    "gan_mode": HParam("str", choices=("auto", *GAN_MODES)),
    "d_norm": HParam("str", choices=("auto", *NORMS)),
    "init": HParam("str", choices=INITS),
    "pool_size": HParam("int", low=0),  # ndf, d_layers: checked with the task's size by the network checks
    **{k: HParam("float", low=0.0) for k in ("lambda_l1", "lambda_cycle", "lambda_identity")},
}


def resolve_recipe(overrides: Mapping[str, Any], paired: bool) -> dict[str, Any]:
    """Recipe settings with the ``auto`` entries filled in for the task's pairing."""
    unknown = set(overrides) - set(RECIPE_DEFAULTS)
    if unknown:
        raise ValueError(f"unknown recipe key(s) {sorted(unknown)}; valid: {sorted(RECIPE_DEFAULTS)}")
    hp = {**RECIPE_DEFAULTS, **overrides}
    if hp["gan_mode"] == "auto":
        hp["gan_mode"] = "vanilla" if paired else "lsgan"
    if hp["d_norm"] == "auto":
        hp["d_norm"] = "batch" if paired else "instance"
    return hp

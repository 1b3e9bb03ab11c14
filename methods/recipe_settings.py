"""The teachers' GAN recipe settings (pix2pix for paired tasks, CycleGAN for unpaired ones; :mod:`methods.recipes`
trains them) as plain data, torch-free, so the training plan resolves them as the jobs do."""
from __future__ import annotations

from typing import Any, Mapping

RECIPE_DEFAULTS: Mapping[str, Any] = {
    "gan_mode": "auto",         # auto: vanilla for pix2pix, lsgan for CycleGAN
    "lambda_l1": 100.0,         # pix2pix
    "lambda_cycle": 10.0,       # CycleGAN
    "lambda_identity": 0.5,     # CycleGAN, relative to lambda_cycle
    "pool_size": 50,            # CycleGAN
    "ndf": 64,
    "d_layers": 3,
    "d_norm": "auto",           # auto: batch for pix2pix, instance for CycleGAN
    "init": "normal",           # init_net N(0, 0.02) of every network (methods.networks.init), or "pytorch"
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

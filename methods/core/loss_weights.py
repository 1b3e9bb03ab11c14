"""The loss weights of the methods whose defaults depend on the kind of task (``None``: the public code's value
for pix2pix or CycleGAN), torch-free: the method's training step and the training plan
(``python -m kd_gan_bench.benchmarks.run plan``, :mod:`kd_gan_bench.methods.core.plan_specs`) read the same numbers."""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.methods.core.schedule_math import by_pairing


def crd_weights(hp: Mapping[str, Any], paired: bool) -> dict[str, float]:
    """The loss weights for the task's kind, ``None`` entries filled with the paper's values."""
    return {
        "row": by_pairing(hp["lambda_row"], paired, pix2pix=2.5, cyclegan=25.0),
        "column": by_pairing(hp["lambda_column"], paired, pix2pix=2.5, cyclegan=25.0),
        "patch": by_pairing(hp["lambda_patch"], paired, pix2pix=2.5, cyclegan=25.0),
        "style": by_pairing(hp["lambda_style"], paired, pix2pix=2e4, cyclegan=1e4),
        "feature": by_pairing(hp["lambda_feature"], paired, pix2pix=20.0, cyclegan=10.0),
        "gan": by_pairing(hp["lambda_gan"], paired, pix2pix=0.0, cyclegan=1.0),
    }


def dcd_weights(hp: Mapping[str, Any], paired: bool) -> dict[str, float]:
    """The loss weights for the task's kind, ``None`` entries filled with the public code's values."""
    return {"dcd": by_pairing(hp["lambda_dcd"], paired, pix2pix=1.0, cyclegan=0.1),
            "style": by_pairing(hp["lambda_style"], paired, pix2pix=1e4, cyclegan=1e4),
            "feature": by_pairing(hp["lambda_feature"], paired, pix2pix=10.0, cyclegan=10.0),
            "gan": by_pairing(hp["lambda_gan"], paired, pix2pix=0.0, cyclegan=1.0)}


def dcd_recipe(hp: Mapping[str, Any], recipe: Mapping[str, Any], paired: bool) -> dict[str, Any]:
    """DCD's online teacher recipe: on pix2pix the code's discriminator (``n_layers``, ndf 128, instance norm,
    hinge: ``options/distill_options.py``, ``--norm instance``), on CycleGAN the suite's recipe (the code's
    LSGAN, ndf 64); ``gan_mode``/``ndf``/``d_norm`` replace either; every network initialised as ``init``."""
    code = {"gan_mode": "hinge", "ndf": 128, "d_norm": "instance"} if paired else {}
    chosen = {k: hp[k] if hp[k] is not None else code.get(k, recipe[k]) for k in ("gan_mode", "ndf", "d_norm")}
    return {**recipe, **chosen, "init": hp["init"]}


def omgd_weights(hp: Mapping[str, Any], paired: bool, architecture: str) -> dict[str, float]:
    """The loss weights, ``lambda_cd``'s ``None`` filled with the code's value for this kind of task."""
    cd = hp["lambda_cd"]
    if cd is None:
        cd = (1e1 if architecture == "unet" else 1e2) if paired else 5e2
    return {"ssim": float(hp["lambda_ssim"]), "style": float(hp["lambda_style"]),
            "feature": float(hp["lambda_feature"]), "tv": float(hp["lambda_tv"]), "cd": float(cd)}


def recon_weight(hp: Mapping[str, Any], paired: bool) -> float:
    """``lambda_recon``; ``None`` means GAN Compression's values: 100 for pix2pix, 10 for CycleGAN."""
    return by_pairing(hp["lambda_recon"], paired, pix2pix=100.0, cyclegan=10.0)


def feature_kd_distill_weight(hp: Mapping[str, Any], paired: bool) -> float:
    """feature_kd's ``lambda_distill``; ``None``: GAN Compression's 1 (pix2pix) / 0.01 (CycleGAN)."""
    return by_pairing(hp["lambda_distill"], paired, pix2pix=1.0, cyclegan=0.01)


def gan_compression_recipe(hp: Mapping[str, Any], recipe: Mapping[str, Any], paired: bool) -> dict[str, Any]:
    """feature_kd's and cat_ka's student discriminator settings (``GanCompressionStudent``): ``gan_mode``/``ndf``
    ``None`` = the code's (pix2pix: hinge, ndf 128; CycleGAN: the suite's recipe)."""
    if not paired:
        return {**recipe, **{k: hp[k] for k in ("gan_mode", "ndf") if hp[k] is not None}}
    return {**recipe, "gan_mode": hp["gan_mode"] or "hinge", "ndf": hp["ndf"] or 128}


def cat_ka_weights(hp: Mapping[str, Any], paired: bool) -> dict[str, float]:
    """CAT's ``lambda_recon`` (5 CycleGAN, 100 pix2pix) and ``lambda_ka`` (1 CycleGAN, 0.5 pix2pix)."""
    return {"recon": by_pairing(hp["lambda_recon"], paired, pix2pix=100.0, cyclegan=5.0),
            "ka": by_pairing(hp["lambda_ka"], paired, pix2pix=0.5, cyclegan=1.0)}

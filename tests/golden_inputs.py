"""The seeded inputs of the golden-figure tests (tests/test_golden_losses.py, tests/test_golden_steps.py), and the
compact form their figures are stored in (tests/golden/*.json).

The golden figures were computed by running the public repositories' code on exactly these tensors; the
generator is kept here, small and deterministic, so that both sides rebuild the same inputs from a seed and
only the figures (not the inputs, not the public code) are stored. Every tensor is float64 and comes from
its own ``torch.Generator`` seeded with the number given, so adding a case never moves another.
"""
from __future__ import annotations

import base64

import torch
from torch import nn

DTYPE = torch.float64


def randn(seed: int, *shape: int) -> torch.Tensor:
    """Standard normal float64 tensor of ``shape`` from a private generator seeded ``seed``."""
    return torch.randn(shape, generator=torch.Generator().manual_seed(seed), dtype=DTYPE)


def images(seed: int, *shape: int) -> torch.Tensor:
    """Images in (-1, 1): tanh of standard normals (a generator's output range)."""
    return torch.tanh(randn(seed, *shape))


def flat_halves(seed: int, *shape: int, noise: float = 1e-4) -> torch.Tensor:
    """The hard input of RKD and SSIM: per image and channel, a flat left half and a flat right half (two
    levels in [-0.8, 0.8]) plus ``noise`` x N(0, 1), so that rows within a half and columns within a half are
    near-duplicates (their differences are noise-sized, and cancel in Gram-matrix arithmetic)."""
    gen = torch.Generator().manual_seed(seed)
    b, c, h, w = shape
    levels = torch.rand((b, c, 1, 2), generator=gen, dtype=DTYPE) * 1.6 - 0.8
    base = levels.repeat_interleave(w // 2, dim=3).expand(b, c, h, w)
    return base + noise * torch.randn(shape, generator=gen, dtype=DTYPE)


def seeded_state(module: nn.Module, seed: int, scale: float = 0.1) -> dict[str, torch.Tensor]:
    """A float64 state dict for ``module`` from a seed, in ``state_dict`` order: every floating entry
    N(0, scale^2) (BatchNorm weights 1 + that, running variances 1 + |that|), integer buffers kept."""
    gen = torch.Generator().manual_seed(seed)
    state = {}
    for key, value in module.state_dict().items():
        if not value.is_floating_point():
            state[key] = value.clone()
            continue
        noise = torch.randn(value.shape, generator=gen, dtype=DTYPE) * scale
        if key.endswith("running_var"):
            noise = 1.0 + noise.abs()
        elif key.endswith("running_mean"):
            pass
        elif key.endswith("weight") and value.dim() == 1:  # a norm layer's affine weight
            noise = 1.0 + noise
        state[key] = noise
    return state


def pack(tensor: torch.Tensor) -> dict:
    """A float64 tensor as JSON data: its shape, its float64 norm and sum, and its entries rounded to
    float32, little-endian, base64 (float32 keeps 6e-8 of each entry: far inside the tests' 1e-6)."""
    flat = tensor.detach().to(DTYPE).contiguous()
    data = flat.to(torch.float32).numpy().astype("<f4").tobytes()
    return {"shape": list(flat.shape), "norm": float(flat.norm()), "sum": float(flat.sum()),
            "f32_base64": base64.b64encode(data).decode("ascii")}


def unpack(packed: dict) -> torch.Tensor:
    """The float64 tensor of :func:`pack` (its entries at float32 precision)."""
    import numpy as np

    values = np.frombuffer(base64.b64decode(packed["f32_base64"]), dtype="<f4").astype("float64")
    return torch.from_numpy(values.copy()).reshape(packed["shape"])


# ---------------------------------------------------------------- one whole student step (tests/test_golden_steps.py)

STEP_SEED = 0
STEP_SIZE = 32
STEP_TEACHER = {"arch": "resnet_generator", "ngf": 8, "n_blocks": 2}
STEP_STUDENT = {"arch": "resnet_generator", "ngf": 4, "n_blocks": 2}
STEP_RECIPE = {"ndf": 8}


def step_data(paired: bool = False, size: int = STEP_SIZE):
    """A task of 4 + 4 seeded uint8 images (32 px by default), unpaired or paired (a batch of 4 is drawn from them)."""
    from kd_gan_bench.datasets.base import ImageTranslationData

    def pictures(seed: int) -> torch.Tensor:
        return torch.randint(0, 256, (4, 3, size, size), generator=torch.Generator().manual_seed(seed),
                             dtype=torch.uint8)

    return ImageTranslationData("golden_step", paired, size, pictures(201), pictures(202), pictures(203),
                                pictures(204))


def step_teacher() -> tuple[nn.Module, nn.Module]:
    """The frozen teacher generator and its discriminator (the recipe's unpaired PatchGAN), seeded, float64."""
    from kd_gan_bench.methods.networks.build import build_network
    from kd_gan_bench.methods.core.recipes import build_discriminator, resolve_recipe

    teacher = build_network(STEP_TEACHER).double()
    teacher.load_state_dict(seeded_state(teacher, 211, 0.1))
    net_d = build_discriminator(resolve_recipe(STEP_RECIPE, False), False).double()
    net_d.load_state_dict(seeded_state(net_d, 212, 0.1))
    return teacher, net_d


def float64_images(images: torch.Tensor, device: torch.device) -> torch.Tensor:
    """``kd_gan_bench.methods.core.training.to_float`` in float64: uint8 [0, 255] -> [-1, 1]."""
    return images.to(device).double().div_(127.5).sub_(1.0)


def _swap_to_float(old, new) -> None:
    """Point every loaded ``methods`` module's ``to_float`` (``kd_gan_bench.methods.core.training``'s, and the modules that
    imported it by name, including those imported lazily while it was swapped) from ``old`` to ``new``."""
    import sys

    for name, module in list(sys.modules.items()):
        if name.startswith("kd_gan_bench.methods") and getattr(module, "to_float", None) is old:
            module.to_float = new


def run_our_step(method: str, overrides: dict, paired: bool = False,
                 size: int = STEP_SIZE) -> tuple[dict[str, torch.Tensor], object]:
    """One student step of ``method`` through its public API (``Method.train``, schedule of 1 step, batch 4) in
    float64: the student's parameters as its optimiser held them before its first step (however the method
    initialised them), and the outcome. Networks are float64 by the default dtype, images by ``float64_images``."""
    from kd_gan_bench.methods import METHODS
    from kd_gan_bench.methods.core import training
    from kd_gan_bench.methods.core.base import TrainSetup
    from kd_gan_bench.methods.core.training import Schedule

    dtype, to_float, adam_step = torch.get_default_dtype(), training.to_float, torch.optim.Adam.step
    before: dict[int, torch.Tensor] = {}

    def spying_step(self, *args, **kwargs):
        for group in self.param_groups:
            for p in group["params"]:
                before.setdefault(id(p), p.detach().clone())
        return adam_step(self, *args, **kwargs)

    torch.set_default_dtype(DTYPE)
    images64 = float64_images
    _swap_to_float(to_float, images64)
    torch.optim.Adam.step = spying_step
    try:
        teacher, net_d = step_teacher()
        cls = METHODS.get(method)
        setup = TrainSetup(step_data(paired, size), STEP_STUDENT, STEP_TEACHER, cls.resolve_hparams(overrides),
                           Schedule(steps=1, batch_size=4, log_every=1), torch.device("cpu"), STEP_SEED, STEP_RECIPE,
                           teacher=teacher, teacher_discriminator=net_d, log=lambda _: None)
        outcome = cls().train(setup)
    finally:
        torch.set_default_dtype(dtype)
        _swap_to_float(images64, to_float)
        torch.optim.Adam.step = adam_step
    return {name: before[id(p)] for name, p in outcome.model.named_parameters()}, outcome

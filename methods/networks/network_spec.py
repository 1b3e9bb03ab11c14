"""Network specs as plain data (``{"arch": name, **constructor kwargs}``): their labels and arguments,
without importing torch or the networks themselves (``kd_gan_bench.methods.networks.build.build_network`` builds them)."""
from __future__ import annotations

from typing import Any, Mapping

from kd_gan_bench.benchmarks.core.registry import NETWORKS

#: How a freshly built network is initialised (``kd_gan_bench.methods.networks.init``): ``normal``, the public code's
#: ``init_net`` N(0, 0.02), or ``pytorch``, PyTorch's default per-layer initialisation.
INITS = ("normal", "pytorch")


def describe_network(spec: Mapping[str, Any]) -> str:
    """Short human label of a network spec, e.g. ``resnet ngf16 b9`` or ``mobile_resnet ngf16``."""
    arch = str(spec["arch"]).replace("_generator", "").replace("_discriminator", "")
    parts = [arch, f"ngf{spec['ngf']}"] if "ngf" in spec else [arch]
    if "n_blocks" in spec:
        parts.append(f"b{spec['n_blocks']}")
    if "num_downs" in spec:
        parts.append(f"d{spec['num_downs']}")
    for key, short in (("depth", "d"), ("widen_factor", "k"), ("widths", "w"), ("convs_per_block", "c"),
                       ("width_mult", "x")):  # classifiers (kd_gan_bench.methods.networks.classifiers)
        if key in spec:
            value = spec[key]
            parts.append(short + ("-".join(str(v) for v in value) if isinstance(value, (list, tuple)) else f"{value}"))
    return " ".join(parts)


def network_args(arch: str) -> dict[str, Any]:
    """The keyword arguments of network ``arch`` with their defaults (from its registry entry)."""
    return dict(NETWORKS.meta(arch)["args"])


NORMS = ("instance", "batch")
#: Constraints of particular arguments beyond "a positive integer" / "a positive number" (the constructors'
#: own checks, made here without importing torch so that a grid refuses such a spec when it is planned).
_DEPTH_RULES = {"cifar_resnet": (2, 8), "wrn": (4, 10)}  # depth = 6n + offset, at least the minimum


def _depth_problem(arch: str, depth: Any) -> str | None:
    offset, smallest = _DEPTH_RULES[arch]
    if depth < smallest or (depth - offset) % 6:
        return f"depth must be 6n+{offset} with n >= 1 ({smallest}, {smallest + 6}, ...), got {depth!r}"
    return None


def _arg_problem(arch: str, key: str, value: Any, default: Any) -> str | None:
    """Why ``value`` cannot be argument ``key`` (default ``default``) of network ``arch``, or None."""
    if key == "norm":
        return None if value in NORMS else f"norm must be one of {', '.join(map(repr, NORMS))}, got {value!r}"
    if key == "dropout":
        ok = isinstance(value, bool) or (isinstance(value, (int, float)) and 0 <= value < 1)
        return None if ok else f"dropout must be true/false or a probability in [0, 1), got {value!r}"
    if isinstance(default, tuple):
        ok = (isinstance(value, (list, tuple)) and len(value) == len(default)
              and all(isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in value))
        return None if ok else f"{key} must be a list of {len(default)} integers >= 1, got {value!r}"
    if isinstance(default, bool):
        return None if isinstance(value, bool) else f"{key} must be true or false, got {value!r}"
    if isinstance(default, int):
        low = {"n_share": 0, "num_downs": 5}.get(key, 1)
        high = {"n_share": 5}.get(key)
        if isinstance(value, bool) or not isinstance(value, int) or value < low or (high is not None and value > high):
            span = f"in {low}..{high}" if high is not None else f">= {low}"
            return f"{key} must be an integer {span}, got {value!r}"
        return _depth_problem(arch, value) if key == "depth" and arch in _DEPTH_RULES else None
    if isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value > 0
        return None if ok else f"{key} must be a number > 0, got {value!r}"
    return None


def spec_problem(spec: Mapping[str, Any]) -> tuple[str, str] | None:
    """The first argument of the network ``spec`` it cannot be built with (a width of -4, a U-Net of 3 levels, a
    norm that does not exist, an argument it does not take) and why, or None; torch-free, so ``--set
    teacher.ngf=-4`` fails when the grid is planned with a message rather than inside torch."""
    arch = str(spec.get("arch"))
    args = network_args(arch)
    for key, value in spec.items():
        if key in ("arch", "checkpoint"):
            continue
        if key not in args:
            return key, f"network {arch!r} has no argument {key!r}; valid: {', '.join(sorted(args))}"
        problem = _arg_problem(arch, key, value, args[key])
        if problem:
            return key, f"network {describe_network({**args, **spec})}: {problem}"
    return None

"""Network specs as plain data (``{"arch": name, **constructor kwargs}``): their labels and arguments,
without importing torch or the networks themselves (``methods.networks.build_network`` builds them)."""
from __future__ import annotations

from typing import Any, Mapping

from methods.registry import NETWORKS

#: How a freshly built network is initialised (``methods.networks.init``): ``normal``, the public code's
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
                       ("width_mult", "x")):  # classifiers (methods.classifiers)
        if key in spec:
            value = spec[key]
            parts.append(short + ("-".join(str(v) for v in value) if isinstance(value, (list, tuple)) else f"{value}"))
    return " ".join(parts)


def network_args(arch: str) -> dict[str, Any]:
    """The keyword arguments of network ``arch`` with their defaults (from its registry entry)."""
    return dict(NETWORKS.meta(arch)["args"])

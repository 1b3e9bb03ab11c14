"""The spec -> module factory of the registered networks, and why a state dict does not load into one."""
from __future__ import annotations

from typing import Any, Callable, Mapping

from torch import nn

from kd_gan_bench.methods.networks.init import init_weights
from kd_gan_bench.benchmarks.core.registry import NETWORKS


def build_network(spec: Mapping[str, Any], init: str = "pytorch") -> nn.Module:
    """Build a registered network from a plain spec: ``{"arch": name, **constructor kwargs}``, initialised as
    ``init`` says (:func:`kd_gan_bench.methods.networks.init.init_weights`: ``normal``, the public code's ``init_net``, or
    ``pytorch``, PyTorch's default).

    A spec may also name the weights it starts from (``checkpoint``, a published teacher): that is
    the harness's to load, so it is ignored here and the architecture is built with fresh weights."""
    spec = dict(spec)
    spec.pop("checkpoint", None)
    arch = spec.pop("arch")
    cls = NETWORKS.get(arch)
    try:
        net = cls(**spec)
    except TypeError as exc:
        raise ValueError(f"bad arguments for network {arch!r}: {exc}") from None
    return init_weights(net, init)


def state_dict_mismatch(expected: Mapping[str, Any], state: Mapping[str, Any], *, shapes: str, limit: int,
                        may_lack: Callable[[str], bool] = lambda key: False) -> str:
    """Why ``state`` does not load into a model whose state dict is ``expected``: its missing keys (but those
    ``may_lack`` allows), unexpected keys and shape mismatches (``shapes`` names the two sides), at most
    ``limit`` of each; "" when it fits."""
    missing = [k for k in expected if k not in state and not may_lack(k)]
    unexpected = [k for k in state if k not in expected]
    wrong = [f"{k} {tuple(state[k].shape)} vs {tuple(v.shape)}" for k, v in expected.items()
             if k in state and tuple(state[k].shape) != tuple(v.shape)]
    return "; ".join(f"{what} ({len(keys)}): {', '.join(keys[:limit])}{' ...' if len(keys) > limit else ''}"
                     for what, keys in (("missing keys", missing), ("unexpected keys", unexpected),
                                        (f"shape mismatches ({shapes})", wrong)) if keys)

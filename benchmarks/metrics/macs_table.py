"""Forward MACs of networks for the time estimate, without building them when the shipped table knows them.

Counting MACs builds the network (torch, on the meta device). ``macs_table.json`` ships the counts of every
registered suite's networks at their image sizes (``python -m kd_gan_bench.benchmarks.planning.estimate`` refreshes it;
``tests/test_macs_table.py`` checks it is complete and right), so a dry run imports torch only for a
network the table lacks (a ``--set`` that changes one).
"""
from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Iterable

MACS_TABLE = Path(__file__).with_name("macs_table.json")


def _macs_key(spec_json: str, size: int) -> str:
    return f"{size}px {spec_json}"


@lru_cache(maxsize=1)
def _macs_table() -> dict[str, float]:
    try:
        return json.loads(MACS_TABLE.read_text())
    except (OSError, ValueError):
        return {}


def count_gmacs(spec_json: str, size: int) -> float:
    """GMACs of one forward of the network ``spec_json`` at ``size`` px, counted on the meta device."""
    import torch

    from kd_gan_bench.benchmarks.metrics.complexity import count_macs
    from kd_gan_bench.methods.networks.build import build_network

    with torch.device("meta"):
        net = build_network(json.loads(spec_json))
    return count_macs(net, (1, 3, size, size)) / 1e9


@lru_cache(maxsize=256)
def gmacs(spec_json: str, size: int) -> float:
    known = _macs_table().get(_macs_key(spec_json, size))
    return known if known is not None else count_gmacs(spec_json, size)


def write_macs_table(pairs: Iterable[tuple[str, int]]) -> Path:
    """Count the MACs of every (network spec JSON, size) in ``pairs`` and write ``macs_table.json``."""
    table = {_macs_key(spec, size): round(count_gmacs(spec, size), 9) for spec, size in sorted(set(pairs))}
    MACS_TABLE.write_text(json.dumps(table, indent=0, sort_keys=True) + "\n")
    return MACS_TABLE

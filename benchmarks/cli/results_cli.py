"""The commands that read a result store: ``status`` (what is done, failed, blocked, missing, and where
SLURM jobs are), ``collect`` (the store as a CSV table) and ``report`` (the HTML leaderboard with its JSON
and CSV board, or ``--compare`` of two result folders). They import pandas where they run."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any, Callable

from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.benchmarks.core.environment import git_state
from kd_gan_bench.benchmarks.core.store import ResultStore, atomic_write_bytes
from kd_gan_bench.methods import ARTIFACTS


def add_parsers(sub: Any, add_common: Callable[[argparse.ArgumentParser], None]) -> None:
    """The ``status``, ``collect`` and ``report`` subcommands (``add_common`` adds ``--results``)."""
    for name, text in (("status", "what is done / failed / blocked / missing"),
                       ("collect", "the store as a CSV table"), ("report", "render the HTML leaderboard")):
        parser = sub.add_parser(name, help=text)
        add_common(parser)
        if name == "collect":
            parser.add_argument("--output", help="CSV path (default: <results>/results.csv)")
        if name == "report":
            parser.add_argument("--output", help="folder for index.html, leaderboard.json and leaderboard.csv "
                                                 "(default: <results>/report)")
            parser.add_argument("--compare", nargs=2, metavar=("RESULTS_A", "RESULTS_B"),
                                help="instead: print per-row differences (B - A) of two result folders' "
                                     "leaderboards, and whether each is beyond the rows' noise")
            parser.add_argument("--out", help="with --compare: also write the comparison to this CSV file")
        if name == "status":
            parser.add_argument("--all", action="store_true",
                                help="one line per job, not only the summary and problems")


def existing_store(results: str) -> ResultStore:
    """The store at ``results`` for a command that reads one (``status``, ``collect``, ``report``): a folder that
    does not exist or holds no ``jobs/`` or ``runs/`` is bad input (a typo must not create a folder and an
    empty leaderboard)."""
    store = ResultStore(results)
    if not store.root.is_dir():
        raise FileNotFoundError(f"--results {results}: no such folder ({store.root}); pass the folder your grids "
                                f"write to (--results PATH or $KDGAN_RESULTS; default ./results)")
    if not (store.jobs_dir.is_dir() or (store.root / "runs").is_dir()):
        raise ValueError(f"--results {results}: {store.root} holds no results (no jobs/ or runs/ folder): pass the "
                         f"folder a `grid` wrote to (--results PATH or $KDGAN_RESULTS)")
    return store


def render(store: ResultStore, output: str | None, suite: str = "") -> Path:
    """Collect the store and write the leaderboard (HTML, JSON, CSV) to ``output`` (default
    ``<results>/report``); returns the HTML's path."""
    from kd_gan_bench.benchmarks.records.collect import collect  # pandas: only the commands that read the store need it
    from kd_gan_bench.benchmarks.records.published import load_published
    from kd_gan_bench.report.render import render_report

    frame, problems = collect(store)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    out_dir = Path(output) if output else store.root / "report"
    context = {"suite": suite or ", ".join(sorted(set(frame["suite"]) - {""})), "results": str(store.root),
               **git_state()}
    tables = {name: ARTIFACTS.info(name).table for name in ARTIFACTS if ARTIFACTS.info(name).table}
    return render_report(frame, out_dir, context=context, reported=load_published(), artifact_tables=tables)


def status(args: argparse.Namespace) -> int:
    """``status``: counts per status, then one line per job that is not done (every job with ``--all``)."""
    from kd_gan_bench.benchmarks.records.collect import collect

    store = existing_store(args.results)
    submissions = slurm.latest_submissions(store)
    live: dict[str, slurm.LiveState] = {}
    if submissions:
        try:
            live = slurm.reconcile(store, submissions)  # also records jobs that died without a record
        except slurm.SlurmError as exc:
            print(f"warning: cannot ask SLURM ({exc}); queued/running jobs show their last record or as missing",
                  file=sys.stderr)
    frame, problems = collect(store)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    if frame.empty:
        print(f"no jobs in {store.root}: run `python -m kd_gan_bench.benchmarks.run grid` first")
        return 0
    for job_id, state in live.items():
        if state.status in ("queued", "running"):
            frame.loc[frame["job_id"] == job_id, "status"] = state.status
    counts = frame["status"].value_counts().to_dict()
    print(f"{len(frame)} jobs in {store.root}: " + ", ".join(f"{n} {s}" for s, n in sorted(counts.items())))
    shown = frame if args.all else frame[frame["status"] != "done"]
    for row in shown.itertuples():
        state = live.get(row.job_id)
        where = f"  SLURM {state.submission.slurm_id}" + (f" {state.slurm_state}" if state.slurm_state else "") \
            if state else ""
        error = f"  {row.error[:120]}" if isinstance(row.error, str) and row.status not in ("queued", "running") else ""
        print(f"  {row.status:<9} {row.job_id:<15} {row.task:<24} {row.method:<12} {row.student:<24} seed {row.seed}"
              f"{where}{error}")
        if isinstance(row.log_path, str):
            print(f"  {'':<9} log: {row.log_path}")
        if state and (row.status in ("queued", "running") or Path(state.submission.stdout).exists()):
            print(f"  {'':<9} stdout: {state.submission.stdout}\n  {'':<9} stderr: {state.submission.stderr}")
    return 0


def collect_csv(args: argparse.Namespace) -> int:
    """``collect``: the store as one CSV row per expected job."""
    from kd_gan_bench.benchmarks.records.collect import collect
    from kd_gan_bench.report.csv_guard import formula_safe_frame

    store = existing_store(args.results)
    frame, problems = collect(store)
    for problem in problems:
        print(f"warning: {problem}", file=sys.stderr)
    out = Path(args.output) if args.output else store.root / "results.csv"
    out.parent.mkdir(parents=True, exist_ok=True)
    # records' text may start like a spreadsheet formula
    atomic_write_bytes(out, formula_safe_frame(frame).to_csv(index=False).encode())
    print(f"{len(frame)} rows -> {out}")
    return 0


def report(args: argparse.Namespace) -> int:
    """``report``: render the leaderboard, or with ``--compare`` print two folders' per-row differences."""
    if args.compare:
        from kd_gan_bench.benchmarks.cli.compare_cli import compare

        return compare(*args.compare, out=args.out)
    if args.out:
        raise ValueError("--out goes with --compare (the leaderboard's folder is --output)")
    store = existing_store(args.results)
    print(f"leaderboard: {render(store, args.output)}")
    return 0


COMMANDS = {"status": status, "collect": collect_csv, "report": report}

"""Command line: ``python -m kd_gan_bench.benchmarks.run grid|rerun|plan|list|status|collect|report|datasets|teachers|weights|calibrate``.

``grid`` with no arguments runs the built-in ``default`` suite on this machine and writes the
leaderboard. Results go to ``--results`` (default ``$KDGAN_RESULTS`` or ``./results``).
``grid --executor slurm`` submits job arrays to SLURM (``--no-wait`` returns at once; ``status``
follows them later). Bad input exits with status 2 and a message that says what was wrong and
what is valid; the exit statuses are listed in :data:`EXIT_CODES` (and ``--help``).
"""
from __future__ import annotations

import argparse
import dataclasses
import json
import os
import re
import signal
import sys
from datetime import datetime
from pathlib import Path
from typing import Sequence

from kd_gan_bench.benchmarks.planning import cluster_config, plugins, training_plan
from kd_gan_bench.benchmarks.execution import slurm
from kd_gan_bench.benchmarks.cli import datasets_cli, results_cli, teachers_cli, weights_cli
from kd_gan_bench.benchmarks.core.config import PHASES, canonical_json
from kd_gan_bench.benchmarks.core.environment import choose_device
from kd_gan_bench.benchmarks.planning.estimate import calibrate, estimate, format_estimate
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.planning.grid import check_plans, expand
from kd_gan_bench.benchmarks.execution.launcher import EXECUTORS, new_run_dir, resolve_executor, run_grid, write_manifest
from kd_gan_bench.benchmarks.metrics import METRICS
from kd_gan_bench.benchmarks.planning.overrides import OverrideError
from kd_gan_bench.benchmarks.planning.plan import plan_jobs
from kd_gan_bench.benchmarks.records.reruns import only_jobs, stored_jobs
from kd_gan_bench.benchmarks.execution.runner import RunOptions
from kd_gan_bench.benchmarks.core.store import ResultStore, StoreError
from kd_gan_bench.benchmarks.planning.suites import SUITES, suite_resources
from kd_gan_bench.benchmarks.families.teacher_catalog import CHECKPOINTS
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.datasets.catalog import DATA_ROOT_ENV, resolve_data_root
from kd_gan_bench.methods import METHODS, NETWORKS
from kd_gan_bench.methods.networks.network_spec import describe_network
from kd_gan_bench.benchmarks.core.registry import UnknownNameError
from kd_gan_bench.methods.weights.resolver import WeightsError

# Listing, expanding, dry-running and submitting a grid import neither torch nor pandas: the commands that
# need them (collect, status, report, a grid's FID extractor) import them where they run.

EXIT_OK = 0
EXIT_JOBS_FAILED = 1
EXIT_BAD_INPUT = 2
EXIT_SLURM = 3
EXIT_INTERRUPTED = 130
EXIT_CLOSED_PIPE = 141  # 128 + SIGPIPE, what `seq 100000 | head` reports too

EXIT_CODES = {
    EXIT_OK: "success (for `grid`: every job of the grid is done, or was submitted with --no-wait)",
    EXIT_JOBS_FAILED: "`grid` ran, and at least one job failed, timed out or was blocked (after the report)",
    EXIT_BAD_INPUT: "bad input (unknown name, malformed --set, missing file...): nothing ran",
    EXIT_SLURM: "SLURM is unreachable or refused a submission",
    EXIT_INTERRUPTED: "interrupted (Ctrl-C or SIGTERM); finished jobs are kept",
    EXIT_CLOSED_PIPE: "the reader of stdout went away (`list | head`): the command stopped quietly",
}
UNSUCCESSFUL = ("failed", "blocked", "timed_out")


def default_results() -> str:
    return os.environ.get("KDGAN_RESULTS", "results")


DEVICE = re.compile(r"auto|cpu|cuda(:\d+)?")


def positive_int(text: str) -> int:
    """An argparse type: an integer >= 1 (``--max-parallel 0`` or ``-1`` is an error, not a default or a hang)."""
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected an integer >= 1 (jobs at once), got {text!r}; leave the flag out "
                                         f"for one job per CPU core")
    return value


def device_name(text: str) -> str:
    """An argparse type: ``auto``, ``cpu``, ``cuda`` or ``cuda:N`` (whether CUDA is there is checked before the
    jobs start, where this machine runs them)."""
    if not DEVICE.fullmatch(text):
        raise argparse.ArgumentTypeError(f"unknown device {text!r}; valid: auto (CUDA when available), cpu, cuda, "
                                         f"cuda:N")
    return text


def _add_common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--results", default=default_results(),
                        help="result store folder (default: $KDGAN_RESULTS or ./results)")


def _add_execution(parser: argparse.ArgumentParser) -> None:
    """How ``grid`` and ``rerun`` run their jobs: the store, executor, device, weights and reporting."""
    _add_common(parser)
    parser.add_argument("--executor", choices=EXECUTORS, default="local",
                        help="debug: in-process; local: subprocesses; slurm: job arrays on a SLURM cluster; "
                           "auto: slurm when a SLURM controller answers, else local")
    parser.add_argument("--max-parallel", type=positive_int,
                        help="local: concurrent jobs, >= 1 (default: one per CPU core)")
    parser.add_argument("--device", default="auto", type=device_name,
                        help="auto (CUDA when available), cpu, cuda, cuda:N")
    parser.add_argument("--fid-weights", help="torch-fidelity InceptionV3 weights file (pt_inception-2015-12-05)")
    parser.add_argument("--seg-weights", help="DRN-D-105 Cityscapes weights for mIoU tasks (drn-d-105_ms_cityscapes.pth)")
    parser.add_argument("--data-root", help=f"real datasets' root (default: ${DATA_ROOT_ENV} or ./data)")
    parser.add_argument("--force", action="store_true", help="rerun every job, done ones included")
    parser.add_argument("--no-wait", action="store_true",
                        help="slurm: return after submitting; follow with `status`, collect results any time")
    parser.add_argument("--no-report", action="store_true", help="do not render the leaderboard at the end")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")
    cluster_config.add_arguments(parser)


def build_parser() -> argparse.ArgumentParser:
    epilog = "exit status:\n" + "\n".join(f"  {code:<4} {text}" for code, text in EXIT_CODES.items())
    parser = argparse.ArgumentParser(prog="python -m kd_gan_bench.benchmarks.run", description=__doc__.split("\n\n")[0],
                                     epilog=epilog, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command")
    grid = sub.add_parser("grid", help="expand a suite into jobs and run what is missing (default: the default suite)")
    grid.add_argument("--suite", default="default", help="suite name (see `list`)")
    grid.add_argument("--tasks", nargs="+", help="only these tasks")
    grid.add_argument("--methods", nargs="+", help="only these methods (may name methods outside the suite)")
    grid.add_argument("--seeds", nargs="+", type=int, help="these seeds instead of the suite's")
    grid.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE",
                      help="override a suite setting, e.g. teacher.ngf=32, schedule.steps=100, output_kd.lambda_recon=[1,10]")
    grid.add_argument("--jobs", nargs="+", metavar="JOB_ID",
                      help="only these jobs of the expansion (and the jobs they depend on that are not done): "
                           "what a record's rerun_command uses; --force reruns only these")
    grid.add_argument("--dry-run", action="store_true", help="print the job table and run nothing")
    grid.add_argument("--retry-failed", action="store_true",
                      help="also rerun failed and timed-out jobs (missing and blocked ones always rerun)")
    _add_execution(grid)
    rerun = sub.add_parser("rerun", help="rerun one job from its stored config (and its dependencies that are "
                                         "not done); without --force only when it is not done")
    rerun.add_argument("job_id", help="the job's id (`status --all` lists them)")
    _add_execution(rerun)
    cal = sub.add_parser("calibrate", help="measure seconds per training step of a suite's jobs on this machine "
                                           "(for grid --dry-run's GPU-hour estimate)")
    _add_common(cal)
    cal.add_argument("--suite", default="default")
    cal.add_argument("--tasks", nargs="+")
    cal.add_argument("--methods", nargs="+")
    cal.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    cal.add_argument("--device", default="auto", type=device_name)
    datasets_cli.add_parser(sub)
    teachers_cli.add_parser(sub)
    weights_cli.add_parser(sub)
    plan = sub.add_parser("plan", help="the training plan of every job of a suite (networks by role, steps, epochs, "
                                       "optimisers, schedules, loss weights), without running or importing torch")
    plan.add_argument("--suite", default="default", help="suite name (see `list`)")
    plan.add_argument("--tasks", nargs="+", help="only these tasks")
    plan.add_argument("--methods", nargs="+", help="only these methods")
    plan.add_argument("--seeds", nargs="+", type=int, help="these seeds instead of the suite's")
    plan.add_argument("--set", dest="overrides", action="append", default=[], metavar="KEY=VALUE")
    plan.add_argument("--json", action="store_true", help="a JSON list of jobs instead of the readable tree")
    lst = sub.add_parser("list", help="methods, tasks, suites, networks, metrics")
    lst.add_argument("what", nargs="?", choices=("methods", "tasks", "suites", "networks", "metrics"))
    results_cli.add_parsers(sub, _add_common)
    for command in sub.choices.values():
        plugins.add_argument(command)
    return parser


def cmd_list(args: argparse.Namespace) -> int:
    sections = [args.what] if args.what else ["methods", "tasks", "suites", "networks", "metrics"]
    for section in sections:
        print(f"{section}:")
        if section == "methods":
            for name in METHODS:
                info = METHODS.info(name)
                print(f"  {name:<14} [{'/'.join(info.families)}, teacher: {info.teacher_mode}] {info.summary}")
                if info.citation:
                    print(f"  {'':<14} paper: {info.citation}")
                print(f"  {'':<14} defaults: {canonical_json(dict(info.defaults))}")
                if plugins.provider("method", name):
                    print(f"  {'':<14} plugin: {plugins.provider('method', name)}")
        elif section == "tasks":
            for name in TASKS:
                info = TASKS.info(name)
                kind = ("paired, " if info.paired else "unpaired, ") if FAMILIES.get(info.family).by_pairing else ""
                quality = {"fid": f"FID: {info.fid_protocol}", "miou": "mIoU: DRN-D-105"}.get(info.quality_metric,
                                                                                            info.quality_metric)
                print(f"  {name:<26} [{info.family}, {kind}{quality}] {info.description}")
                print(f"  {'':<26} args: {canonical_json(dict(info.defaults))}{_plugin_note('task', name)}")
        elif section == "suites":
            for name, suite in SUITES.items():
                n_jobs = len(expand(suite))
                print(f"  {name:<10} {n_jobs} jobs: {suite.description}")
                if suite.parts:
                    print(f"  {'':<10} parts: {', '.join(suite.parts)}")
                    continue
                print(f"  {'':<10} teacher {describe_network(suite.teacher)}; students "
                      f"{', '.join(describe_network(s) for s in suite.students)}; methods {', '.join(suite.methods)}")
        elif section == "networks":
            for name in NETWORKS:
                print(f"  {name:<26} {NETWORKS.info(name).summary}{_plugin_note('network', name)}")
        elif section == "metrics":
            for name, metric in METRICS.items():
                print(f"  {name:<14} {metric.arrow} {'higher' if metric.higher_is_better else 'lower'} is better: "
                      f"{metric.description}{_plugin_note('metric', name)}")
    return 0


def _plugin_note(kind: str, name: str) -> str:
    """`` (plugin MODULE)`` after an entry a plugin added, else nothing."""
    module = plugins.provider(kind, name)
    return f" (plugin {module})" if module else ""


def _job_table(jobs) -> str:
    lines = [f"{'job id':<15} {'phase':<8} {'task':<24} {'method':<18} {'network':<26} {'seed':>4}  depends on"]
    for job in jobs:
        lines.append(f"{job.job_id:<15} {job.phase:<8} {job.task:<24} {job.method:<18} "
                     f"{describe_network(job.network):<26} {job.seed:>4}  {' '.join(job.dependencies) or '-'}")
    return "\n".join(lines)


def _cluster(args: argparse.Namespace, executor: str, suite) -> cluster_config.ClusterConfig | None:
    """The SLURM requests (validated even before anything is submitted); None off SLURM, with a warning
    when SLURM settings were given anyway."""
    config = cluster_config.from_arguments(args, suite_resources(suite))
    if executor == "slurm":
        return config
    if config.cli or args.cluster_config:
        print(f"warning: SLURM settings are ignored with --executor {executor}", file=sys.stderr)
    return None


def _dry_run(args: argparse.Namespace, jobs: list, store: ResultStore, cluster, why: str) -> int:
    """The job table, what would run, the training-time estimate, the SLURM plan and missing data."""
    print(_job_table(jobs))
    plan = plan_jobs(jobs, store, force=args.force, retry_failed=args.retry_failed)
    counts = {phase: sum(j.phase == phase for j in jobs) for phase in PHASES}
    print(f"\n{len(jobs)} jobs ({counts['teacher']} teachers, "
          + (f"{counts['artifact']} artifacts, " if counts["artifact"] else "")
          + f"{counts['student']} students); {len(plan.run)} to run, "
          f"{len(plan.skipped)} left alone ({why})")
    print(format_estimate(estimate(jobs, store)))
    if cluster is not None:
        print(slurm.describe_plan(plan.run, cluster))
    for line in datasets_cli.data_status(j.task for j in jobs):
        print(line)
    return EXIT_OK


def _run_options(args: argparse.Namespace, jobs: list, store: ResultStore, executor: str) -> RunOptions:
    """The grid's settings every job shares: device, FID extractor (one per grid), segmenter weights; the last
    checks that can refuse the run (no CUDA for ``--device cuda``, a missing weights file, a teacher checkpoint
    that does not fit its network), made before the run's folder exists. ``run_id`` is set when it does."""
    if executor != "slurm":
        choose_device(args.device)  # fail now, not in every job (compute nodes decide for themselves)
    if any(job.teacher.get("checkpoint") not in (None, *CHECKPOINTS) for job in jobs):
        from kd_gan_bench.benchmarks.families.teachers import check_checkpoint_files  # torch: only when a teacher reads a file

        check_checkpoint_files(job.teacher for job in jobs)
    extractor = weights_cli.prefetch_for_jobs(jobs, args.fid_weights, args.seg_weights)
    seg_weights = Path(args.seg_weights).expanduser().absolute() if args.seg_weights else None
    if seg_weights and not seg_weights.is_file():
        raise FileNotFoundError(f"--seg-weights {args.seg_weights}: no such file (DRN-D-105 Cityscapes weights)")
    return RunOptions(results_root=str(store.root), device=args.device, fid_extractor=extractor.name,
                      fid_weights=extractor.weights_path, fid_is_inception=extractor.is_inception,
                      run_id="", seg_weights=str(seg_weights) if seg_weights else None, plugins=plugins.loaded())


def _print_outcome(jobs: list, outcome: dict[str, str], store: ResultStore, verb: str) -> None:
    summary: dict[str, int] = {}
    for status in outcome.values():
        summary[status] = summary.get(status, 0) + 1
    print(f"grid {verb}: " + ", ".join(f"{n} {s}" for s, n in sorted(summary.items())))
    for job in jobs:
        if outcome.get(job.job_id) in UNSUCCESSFUL:
            record = store.read_record(job.job_id)
            error = record.get("error") if isinstance(record, dict) else None
            print(f"  {outcome[job.job_id]}: {job.job_id} ({job.task}, {job.method}): {error}\n"
                  f"    log: {store.job_dir(job.job_id) / 'job.log'}")


def cmd_grid(args: argparse.Namespace) -> int:
    suite = SUITES.get(args.suite)
    jobs = expand(suite, tasks=args.tasks, methods=args.methods, seeds=args.seeds, overrides=args.overrides)
    store = ResultStore(args.results)
    if args.jobs:
        jobs = only_jobs(jobs, args.jobs, store.is_done)
    executor, why = resolve_executor(args.executor)
    cluster = _cluster(args, executor, suite)
    os.environ[DATA_ROOT_ENV] = str(resolve_data_root(args.data_root))  # absolute, inherited by every job
    check_plans(jobs)  # each method's own planning checks (torch-free)
    if args.dry_run:
        return _dry_run(args, jobs, store, cluster, why)
    return _execute(args, jobs, store, suite.name, executor, cluster, why)


def cmd_rerun(args: argparse.Namespace) -> int:
    """Rerun one job from the config its record (or a grid manifest) stored, with its dependencies that are not
    done; ``--force`` reruns a done job."""
    store = ResultStore(args.results)
    jobs = stored_jobs(store, args.job_id)  # an id that is not a job id (a path) is refused there
    executor, why = resolve_executor(args.executor)
    cluster = _cluster(args, executor, SUITES.get(jobs[-1].suite if jobs[-1].suite in SUITES else "default"))
    os.environ[DATA_ROOT_ENV] = str(resolve_data_root(args.data_root))
    args.retry_failed = True  # a failed job (or dependency) is what one reruns
    if store.is_done(args.job_id) and not args.force:
        print(f"job {args.job_id} is done: add --force to run it again")
    return _execute(args, jobs, store, "rerun", executor, cluster, why)


def _execute(args: argparse.Namespace, jobs: list, store: ResultStore, label: str, executor: str, cluster,
             why: str) -> int:
    """Run ``jobs`` into ``store`` (a new run folder and manifest, made after every check that can refuse the
    run), print the outcome, render the leaderboard."""
    options = _run_options(args, jobs, store, executor)
    store.ensure_writable()
    run_dir = new_run_dir(store, label)
    options = dataclasses.replace(options, run_id=run_dir.name)
    write_manifest(run_dir, jobs, {"suite": label, "argv": sys.argv[1:], "created": datetime.now().isoformat(),
                                   "executor": executor})
    if args.executor == "auto":
        print(f"executor: {executor} ({why})")
    print(f"{len(jobs)} jobs; job files and logs under {run_dir} and {store.jobs_dir}/<job id>/job.log")
    outcome = run_grid(jobs, options, executor=executor, run_dir=run_dir, max_parallel=args.max_parallel,
                       force=args.force, retry_failed=args.retry_failed, progress=not args.no_progress,
                       cluster=cluster, wait=not args.no_wait)
    if executor == "slurm" and args.no_wait:
        _print_outcome(jobs, outcome, store, "submitted")
        print(f"follow with: python -m kd_gan_bench.benchmarks.run status --results {store.root}")
        return EXIT_OK
    _print_outcome(jobs, outcome, store, "finished")
    if not args.no_report:
        print(f"leaderboard: {results_cli.render(store, None, suite=label)}")
    return EXIT_JOBS_FAILED if any(status in UNSUCCESSFUL for status in outcome.values()) else EXIT_OK


def cmd_plan(args: argparse.Namespace) -> int:
    jobs = expand(SUITES.get(args.suite), tasks=args.tasks, methods=args.methods, seeds=args.seeds,
                  overrides=args.overrides)
    check_plans(jobs)
    job_plans = training_plan.plans(jobs)
    print(json.dumps(job_plans, indent=1) if args.json else training_plan.format_plans(job_plans))
    return EXIT_OK


def cmd_calibrate(args: argparse.Namespace) -> int:
    jobs = expand(SUITES.get(args.suite), tasks=args.tasks, methods=args.methods, overrides=args.overrides)
    store = ResultStore(args.results)
    store.ensure_writable()
    print(f"calibration written to {calibrate(jobs, store, device=args.device)}")
    return 0


COMMANDS = {"grid": cmd_grid, "rerun": cmd_rerun, "plan": cmd_plan, "list": cmd_list, **results_cli.COMMANDS, "calibrate": cmd_calibrate,
            "datasets": datasets_cli.run, "teachers": teachers_cli.run, "weights": weights_cli.run}


def _interrupt_on_sigterm(signum: int, frame: object) -> None:
    """``kill`` takes the Ctrl-C path: cancel the jobs in flight, keep what finished."""
    raise KeyboardInterrupt


def main(argv: Sequence[str] | None = None) -> int:
    signal.signal(signal.SIGTERM, _interrupt_on_sigterm)
    args = build_parser().parse_args(argv)
    if args.command is None:  # `python -m kd_gan_bench.benchmarks.run` alone: the default grid
        args = build_parser().parse_args(["grid", *(argv or [])])
    try:
        plugins.load(args.plugins)  # before any registry is read: a bad plugin stops every command here
        return COMMANDS[args.command](args)
    except (UnknownNameError, OverrideError, StoreError, FileNotFoundError, ValueError, WeightsError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_BAD_INPUT
    except slurm.SlurmError as exc:  # SLURM down, sbatch refused a request
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_SLURM
    except KeyboardInterrupt:
        print("\ninterrupted: finished jobs are kept in the store; run the same command again to resume",
              file=sys.stderr)
        return EXIT_INTERRUPTED
    except BrokenPipeError:  # `list | head`: the reader has gone; end quietly, as Unix tools do
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())  # Python's final flush of stdout must not fail again
        return EXIT_CLOSED_PIPE


if __name__ == "__main__":
    sys.exit(main())

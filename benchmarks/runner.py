"""Run one job: load data, (load the teacher,) train, evaluate, write the record.

``run_job`` never raises for an ordinary failure: the exception becomes a ``failed`` record with
the error text and traceback, so one failing job never stops the grid and never leaves a half
result. A student whose teacher is not done is recorded ``blocked`` without training. The job's
folder holds ``job.log`` (a human-readable log, appended across restarts), ``record.json``, the
trained generator, the sample strips the report shows and, while unfinished, ``state.pt``.

``JobRunner`` is the picklable callable every executor (debug, local, SLURM) runs. Under SLURM it
also handles time limits and preemption (see its docstring) and exits non-zero when the record is
not ``done``, because SLURM's ``afterok`` dependencies read the exit code.
"""
from __future__ import annotations

import json
import logging
import math
import os
import signal
import subprocess
import time
import traceback
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Iterator

import submitit
import torch

from benchmarks.config import JobConfig
from benchmarks.environment import choose_device, environment
from benchmarks.metrics.complexity import count_macs, count_params
from benchmarks.metrics.latency import measure_latency
from benchmarks.plan import blocked_record, teacher_ready
from benchmarks.protocols import check_ready, quality_metrics
from benchmarks.store import DONE, ResultStore, atomic_torch_save, atomic_write_bytes, outcome_record
from benchmarks.teachers import load_teacher_checkpoint
from datasets import TASKS, ImageTranslationData, load_task
from methods import METHODS, TrainSetup
from methods.networks import build_network
from methods.recipes import resolve_recipe, train_recipe
from methods.training import PreemptedError, Schedule, to_float, to_uint8


@dataclass(frozen=True)
class RunOptions:
    """Per-grid settings that are not part of a job's identity."""

    results_root: str
    device: str = "auto"
    threads: int = 0                  # torch threads per job; 0 leaves torch's default
    fid_extractor: str = "offline-randconv-v1"
    fid_weights: str | None = None
    fid_is_inception: bool = False
    run_id: str = ""                  # the grid run (its folder name under <results>/runs), stamped on records
    max_requeues: int = 3             # SLURM: requeues after a time limit/preemption before ``timed_out``
    seg_weights: str | None = None    # DRN-D-105 weights for mIoU tasks (None: torch.hub's cache)


class FileCheckpointer:
    """Resumable training state in the job folder (``state.pt``), saved atomically.

    ``request_stop`` (called from the SLURM signal handler) is honoured where the saved state is
    consistent: during training it only sets the flag the loop polls, and the loop saves at the next
    step boundary and raises ``PreemptedError``; before training or during evaluation it raises
    ``PreemptedError`` at once (the file holds the last save, or the finished training state);
    once the record is written it is ignored."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.stop_requested = False
        self._stage = "setup"  # setup -> training -> evaluation -> finished

    def load(self) -> dict | None:
        return torch.load(self.path, map_location="cpu", weights_only=False) if self.path.exists() else None

    def save(self, state: dict) -> None:
        atomic_torch_save(state, self.path)

    def requested(self) -> bool:
        return self.stop_requested

    def request_stop(self) -> None:
        if self._stage == "finished":
            return
        self.stop_requested = True
        if self._stage != "training":
            raise PreemptedError(f"stop requested during {self._stage}")

    @contextmanager
    def training(self) -> Iterator[None]:
        """Mark the training span, where stop requests wait for the loop's next step boundary."""
        self._stage = "training"
        try:
            yield
        finally:
            self._stage = "evaluation"
        if self.stop_requested:  # arrived after the loop's last check
            raise PreemptedError("stop requested at the end of training")

    def finish(self) -> None:
        self._stage = "finished"


@contextmanager
def job_logger(log_path: Path) -> Iterator[logging.Logger]:
    """A logger writing to the job's ``job.log`` (appending across restarts) and to stderr."""
    logger = logging.getLogger(f"kdgan.job.{log_path.parent.name}")
    logger.setLevel(logging.INFO)
    logger.propagate = False
    fmt = logging.Formatter("%(asctime)s %(levelname)s %(message)s", "%Y-%m-%d %H:%M:%S")
    handlers = [logging.FileHandler(log_path), logging.StreamHandler()]
    for handler in handlers:
        handler.setFormatter(fmt)
        logger.addHandler(handler)
    try:
        yield logger
    finally:
        for handler in handlers:
            logger.removeHandler(handler)
            handler.close()


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds")


@torch.no_grad()
def translate(generator: torch.nn.Module, images: torch.Tensor, device: torch.device, batch_size: int = 32) -> torch.Tensor:
    """uint8 domain-A images -> uint8 translations, in eval mode."""
    was_training = generator.training
    generator.eval()
    out = [to_uint8(generator(to_float(images[i:i + batch_size], device))) for i in range(0, len(images), batch_size)]
    generator.train(was_training)
    return torch.cat(out)


def save_strip(images: torch.Tensor, path: Path) -> None:
    """A row of uint8 images as one PNG."""
    import torchvision.utils as vutils  # imported here: torchvision's import costs the CLI seconds, jobs need it once

    vutils.save_image(images.float() / 255.0, path, nrow=len(images), padding=0)


def load_teacher(store: ResultStore, config: JobConfig) -> tuple[torch.nn.Module, torch.nn.Module | None]:
    """The teacher generator (and its discriminator) trained by job ``config.teacher_id`` (which is done)."""
    folder = store.job_dir(config.teacher_id)
    teacher = build_network(config.teacher)
    teacher.load_state_dict(torch.load(folder / "generator.pt", map_location="cpu"), strict=True)
    disc_path = folder / "discriminator.pt"
    discriminator = None
    if disc_path.exists():
        discriminator = build_network(_disc_spec(config))
        discriminator.load_state_dict(torch.load(disc_path, map_location="cpu"), strict=True)
    return teacher, discriminator


def _disc_spec(config: JobConfig) -> dict[str, Any]:
    paired = TASKS.get(config.task).paired
    hp = resolve_recipe(config.recipe, paired)
    return {"arch": "patchgan_discriminator", "input_nc": 6 if paired else 3, "ndf": hp["ndf"],
            "n_layers": hp["d_layers"], "norm": hp["d_norm"]}


def evaluate(generator: torch.nn.Module, config: JobConfig, data: ImageTranslationData, options: RunOptions,
             device: torch.device, folder: Path) -> dict[str, Any]:
    """The task's quality metric (FID/KID or mIoU) on the whole test split, params, MACs, latency and
    compression ratios."""
    fake = translate(generator, data.test_a, device)
    shape = (1, 3, data.size, data.size)
    teacher_net = build_network(config.teacher)
    metrics: dict[str, Any] = {
        **quality_metrics(config, data, fake, options, device),
        "params_count": count_params(generator),
        "macs_count": count_macs(generator, shape),
        "teacher_params_count": count_params(teacher_net),
        "teacher_macs_count": count_macs(teacher_net, shape),
    }
    metrics["params"] = metrics["params_count"] / 1e6
    metrics["macs"] = metrics["macs_count"] / 1e9
    metrics["params_ratio"] = metrics["teacher_params_count"] / metrics["params_count"]
    metrics["macs_ratio"] = metrics["teacher_macs_count"] / metrics["macs_count"]
    metrics.update(measure_latency(generator, shape, device, warmup=config.evaluation["latency_warmup"],
                                   repeats=config.evaluation["latency_repeats"]))
    n = config.evaluation["n_samples"]
    save_strip(fake[:n], folder / "samples.png")
    if config.phase == "teacher":
        save_strip(data.test_a[:n], folder / "inputs.png")
    for key, value in metrics.items():
        if isinstance(value, float) and not math.isfinite(value):
            raise FloatingPointError(f"metric {key} is {value}")
    return metrics


def run_job(config: JobConfig, options: RunOptions, checkpointer: FileCheckpointer | None = None) -> dict[str, Any]:
    """Train and evaluate one job, write its record, and return it (``status`` says how it went)."""
    store = ResultStore(options.results_root)
    folder = store.job_dir(config.job_id)
    folder.mkdir(parents=True, exist_ok=True)
    checkpointer = checkpointer or FileCheckpointer(folder / "state.pt")
    timings: dict[str, float] = {}
    record: dict[str, Any] = {"job_id": config.job_id, "config": config.to_dict(), "started_at": _now(),
                              "artifacts": {"log": "job.log"}, "run": options.run_id}
    with job_logger(folder / "job.log") as log:
        ready, teacher_status, teacher_error = teacher_ready(config, store)
        if not ready:
            record = blocked_record(config, teacher_status, teacher_error, options.run_id)
            log.error("blocked: %s", record["error"])
            checkpointer.finish()
            store.write_record(record)
            return record
        t_start = time.perf_counter()
        try:
            if options.threads:
                torch.set_num_threads(options.threads)
            device = choose_device(options.device)
            record["environment"] = environment(device)
            log.info("job %s: %s %s on %s (%s)", config.job_id, config.phase, config.method, config.task, device)
            log.info("config: %s", config.to_dict())
            t = time.perf_counter()
            data = load_task(config.task, **config.task_args)
            timings["data_s"] = time.perf_counter() - t
            check_ready(config, options)
            setup = TrainSetup(data=data, student_spec=config.student or config.teacher, teacher_spec=config.teacher,
                               hparams=config.hparams, schedule=Schedule.from_mapping(config.schedule), device=device,
                               seed=config.seed, recipe=config.recipe, checkpointer=checkpointer, log=log.info)
            if config.teacher_id:
                t = time.perf_counter()
                setup.teacher, setup.teacher_discriminator = load_teacher(store, config)
                timings["teacher_load_s"] = time.perf_counter() - t
            t = time.perf_counter()
            with checkpointer.training():
                if config.phase == "teacher" and config.teacher.get("checkpoint"):
                    outcome = load_teacher_checkpoint(config.teacher, log.info)
                    record["teacher_checkpoint"] = outcome.extras["checkpoint"]
                elif config.phase == "teacher":
                    outcome = train_recipe(setup, config.teacher)
                else:
                    outcome = METHODS.get(config.method)().train(setup)
            timings["train_s"] = time.perf_counter() - t
            atomic_torch_save(outcome.generator.state_dict(), folder / "generator.pt")
            record["artifacts"]["generator"] = "generator.pt"
            if config.phase == "teacher" and outcome.discriminator is not None:
                atomic_torch_save(outcome.discriminator.state_dict(), folder / "discriminator.pt")
            t = time.perf_counter()
            record["metrics"] = evaluate(outcome.generator, config, data, options, device, folder)
            timings["eval_s"] = time.perf_counter() - t
            record["artifacts"]["samples_png"] = "samples.png"
            if config.phase == "teacher":
                record["artifacts"]["inputs_png"] = "inputs.png"
            record["history"] = outcome.history
            record.update(status=DONE, error=None, traceback=None)
            log.info("done: %s", {k: record["metrics"].get(k) for k in ("fid", "kid", "miou", "params", "macs", "latency_ms")})
        except PreemptedError as exc:
            log.info("preempted (%s): resumable training state in %s", exc, checkpointer.path)
            raise
        except Exception as exc:  # every other failure becomes a failed record, never a crash of the grid
            record.update(status="failed", error=f"{type(exc).__name__}: {exc}", traceback=traceback.format_exc())
            log.error("failed: %s\n%s", record["error"], record["traceback"])
        timings["total_s"] = time.perf_counter() - t_start
        record["timings"] = timings
        record["finished_at"] = _now()
        checkpointer.finish()
        store.write_record(record)
        if record["status"] == DONE:
            checkpointer.path.unlink(missing_ok=True)
    return record


#: Exit status of a job that requeued itself (what submitit's own handler uses: ``sys.exit(-1)``).
REQUEUE_EXIT = 255


class JobFailedError(RuntimeError):
    """Raised by ``JobRunner`` under SLURM after a non-done record is written: a non-zero exit."""


def under_slurm() -> bool:
    """True inside a job started by submitit's sbatch script (it exports ``SUBMITIT_EXECUTOR=slurm``)."""
    return os.environ.get("SUBMITIT_EXECUTOR") == "slurm"


@contextmanager
def stop_on_signal(checkpointer: FileCheckpointer) -> Iterator[None]:
    """Route submitit's pre-timeout/preemption signal (``SIGUSR2`` unless ``SUBMITIT_PREEMPT_SIGNAL``
    says otherwise; sbatch ``--signal=USR2@<signal_delay_s>``) to ``checkpointer.request_stop``.

    submitit's own handler would call ``checkpoint()`` and requeue from inside the signal handler,
    i.e. in the middle of an optimiser step; this one lets the loop save a consistent state first.
    submitit's handler is restored afterwards."""
    signum = getattr(signal, "SIG" + submitit.JobEnvironment.USR_SIG)
    previous = signal.signal(signum, lambda _signum, _frame: checkpointer.request_stop())
    try:
        yield
    finally:
        signal.signal(signum, previous)


class JobRunner(submitit.helpers.Checkpointable):
    """The picklable callable submitted to submitit: ``JobRunner(config_dict, options)()``.

    Under SLURM, when the time limit nears (or the job is preempted), SLURM sends ``SIGUSR2``;
    the job saves its training state (networks, optimisers, schedulers, step, RNG states) at the
    next step boundary and requeues itself with ``scontrol requeue``, exiting without a result
    (as submitit does), so SLURM starts it again and ``run_steps`` resumes from the saved step.
    A job folder's ``requeues.json`` counts the requeues of the current grid run; past
    ``options.max_requeues`` the job is recorded ``timed_out`` (its state kept: ``--retry-failed``
    resumes it). Being ``Checkpointable`` covers a signal that lands after submitit loaded the job
    but before ``__call__`` installed its handler: submitit's handler then requeues the job itself
    (counting against its own ``max_num_timeout``, set to the same budget) and it restarts from its
    last save. (Before submitit has loaded the job nothing handles the signal and it kills the
    process; ``signal_delay_s`` must leave the job time to start, see ``benchmarks.slurm``.)
    """

    def __init__(self, config: dict[str, Any], options: RunOptions) -> None:
        self.config, self.options = config, options

    def __call__(self) -> dict[str, Any]:
        config = JobConfig.from_dict(self.config)
        if not under_slurm():
            return run_job(config, self.options)
        checkpointer = FileCheckpointer(ResultStore(self.options.results_root).job_dir(config.job_id) / "state.pt")
        try:
            with stop_on_signal(checkpointer):
                record = run_job(config, self.options, checkpointer)
        except PreemptedError as exc:
            record = self._requeue_or_time_out(config, str(exc))
        if record["status"] != DONE:
            raise JobFailedError(f"job {config.job_id} is {record['status']}: {record.get('error')}")
        return record

    def _requeue_or_time_out(self, config: JobConfig, reason: str) -> dict[str, Any]:
        """Requeue this SLURM job (and exit), or write the ``timed_out`` record when the budget is spent."""
        store = ResultStore(self.options.results_root)
        folder = store.job_dir(config.job_id)
        counter = folder / "requeues.json"
        try:
            saved = json.loads(counter.read_text())
            count = saved["count"] if saved.get("run") == self.options.run_id else 0
        except (OSError, ValueError, KeyError):
            count = 0
        slurm_id = submitit.JobEnvironment().job_id
        with job_logger(folder / "job.log") as log:
            if count < self.options.max_requeues:
                atomic_write_bytes(counter, json.dumps({"run": self.options.run_id, "count": count + 1}).encode())
                try:
                    subprocess.run(["scontrol", "requeue", slurm_id], check=True, capture_output=True, text=True,
                                   timeout=60)
                except (OSError, subprocess.SubprocessError) as exc:
                    detail = getattr(exc, "stderr", None) or exc
                    error = f"stopped ({reason}) and `scontrol requeue {slurm_id}` failed: {detail}".strip()
                else:
                    log.info("requeued SLURM job %s (%d/%d requeues): %s", slurm_id, count + 1,
                             self.options.max_requeues, reason)
                    raise SystemExit(REQUEUE_EXIT)  # like submitit: no result file, SLURM runs the job again
            else:
                error = (f"stopped by the time limit or preemption after {count} requeue(s) (max_requeues="
                         f"{self.options.max_requeues}); training state kept in {folder / 'state.pt'}: rerun "
                         f"with --retry-failed (and a longer --time-min) to resume")
            log.error("timed out: %s", error)
        record = outcome_record(config.to_dict(), "timed_out", error, self.options.run_id, requeues=count,
                                finished_at=_now())
        store.write_record(record)
        return record

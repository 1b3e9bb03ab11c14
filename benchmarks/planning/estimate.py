"""How long a grid will train, from measured step times: what ``grid --dry-run`` prints.

A job's training time is its ``schedule.steps`` times the seconds per step of its *step kind*
(``StepKey``: what one step runs, i.e. the phase or method and whether the task is paired, the
trained network, the pretrained teacher it runs, the image size and the batch size) on a device.
Seconds per step come, in this order of preference, from

1. the store: the median ``train_s / steps`` of done jobs of the same step kind (their records
   name the device they ran on);
2. calibration files ``<results>/calibration/*.json``, written by ``calibrate`` (``python -m
   kd_gan_bench.benchmarks.run calibrate --suite X`` on a GPU node: a few real training steps of every step
   kind of the suite on synthetic data of the right size);
3. scaled measurements: a measured step of the same kind (else of any kind) on the same device,
   scaled by the ratio of work, work = batch x forward MACs of the networks the step runs (the
   trained generator, plus the teacher for pretrained-teacher methods);
4. the built-in CPU table ``BUILTIN_CPU`` (measured on the 2-core development machine), scaled
   the same way. It gives CPU hours, never GPU hours, and says so.

GPU measurements win over CPU ones. Jobs whose teacher is loaded from a checkpoint do not train.
Evaluation time (FID/mIoU, latency) is not included.

Work needs the forward MACs of networks: :mod:`kd_gan_bench.benchmarks.metrics.macs_table` reads them from a shipped table,
so a dry run does not build networks (nor import torch) for any registered suite.
"""
from __future__ import annotations

import json
import statistics
import time
from collections import defaultdict
from dataclasses import asdict, dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import TYPE_CHECKING, Any, Iterable, Sequence

from kd_gan_bench.benchmarks.core.config import PHASES, JobConfig, canonical_json
from kd_gan_bench.benchmarks.core.environment import choose_device, environment
from kd_gan_bench.benchmarks.families.families import FAMILIES
from kd_gan_bench.benchmarks.metrics.macs_table import gmacs as _gmacs, write_macs_table
from kd_gan_bench.benchmarks.core.store import DONE, ResultStore
from kd_gan_bench.datasets import TASKS
from kd_gan_bench.methods import ARTIFACTS, METHODS
from kd_gan_bench.methods.networks.network_spec import describe_network

if TYPE_CHECKING:
    import torch

    from kd_gan_bench.datasets import ImageTranslationData

CALIBRATION_DIR = "calibration"


@dataclass(frozen=True)
class StepKey:
    """What one training step of a job runs."""

    kind: str       # "<phase or method>:<paired|unpaired>"
    network: str    # the trained generator
    teacher: str    # the pretrained teacher the step runs ("" for none)
    size: int
    batch: int

    def label(self) -> str:
        via = f" <- {self.teacher}" if self.teacher else ""
        return f"{self.kind} {self.network}{via} {self.size}px b{self.batch}"


@dataclass(frozen=True)
class Measurement:
    key: StepKey
    s_per_step: float
    device: str        # device label, e.g. "cuda: NVIDIA H100 80GB HBM3" or "cpu"
    source: str
    work: float        # GMAC x batch per step


#: Seconds per step measured by ``calibrate`` on the 2-core development machine (no GPU; torch CPU,
#: 1 thread, other work running beside it, so take them as +-30%): 128px, batch 1, ResNet-9blocks
#: ngf 32 teacher and ngf 16 student, default recipe. The last-resort scale, in CPU seconds:
#: (kind, trained network, pretrained teacher or None, size, batch, seconds per step).
_R32 = {"arch": "resnet_generator", "ngf": 32, "n_blocks": 9}
_R16 = {"arch": "resnet_generator", "ngf": 16, "n_blocks": 9}
BUILTIN_CPU: tuple[tuple[str, dict, dict | None, int, int, float], ...] = (
    ("teacher:paired", _R32, None, 128, 1, 1.24),
    ("teacher:unpaired", _R32, None, 128, 1, 7.42),
    ("scratch:paired", _R16, None, 128, 1, 1.08),
    ("scratch:unpaired", _R16, None, 128, 1, 2.39),
    ("output_kd:paired", _R16, _R32, 128, 1, 0.98),
    ("output_kd:unpaired", _R16, _R32, 128, 1, 0.90),
    ("feature_kd:paired", _R16, _R32, 128, 1, 1.04),
    ("feature_kd:unpaired", _R16, _R32, 128, 1, 1.02),
)


def _size(job: JobConfig) -> int:
    return int(job.task_args.get("size", TASKS.info(job.task).defaults.get("size", 0)))


def _uses_teacher(job: JobConfig) -> bool:
    return job.phase == "student" and job.method in METHODS and METHODS.info(job.method).teacher_mode == "pretrained"


def trains(job: JobConfig) -> bool:
    """False for teacher jobs that load a published checkpoint instead of training."""
    return not (job.phase == "teacher" and job.teacher.get("checkpoint"))


def _kind(job: JobConfig) -> str:
    info = TASKS.info(job.task)
    return ("paired" if info.paired else "unpaired") if FAMILIES.get(info.family).by_pairing else info.family


def _batch_size(job: JobConfig) -> int:
    if job.phase == "artifact":
        return int(job.hparams.get(ARTIFACTS.info(job.method).batch_key, 1))
    return int(job.schedule.get("batch_size", FAMILIES.get(job.family).schedule_defaults["batch_size"]))


def train_steps(job: JobConfig) -> int:
    """Training steps of a job: its schedule's, or an artifact's as it declares them (``step_keys``: cGAN-KD's
    fake set counts its cGAN's and its density-ratio model's)."""
    if job.phase == "artifact":
        return sum(int(job.hparams.get(key) or 0) for key in ARTIFACTS.info(job.method).step_keys)
    return int(job.schedule.get("steps", FAMILIES.get(job.family).schedule_defaults["steps"]))


def step_key(job: JobConfig) -> StepKey:
    return StepKey(f"{job.method}:{_kind(job)}", describe_network(job.network),
                   describe_network(job.teacher) if _uses_teacher(job) else "", _size(job), _batch_size(job))


def network_sizes(jobs: Iterable[JobConfig]) -> set[tuple[str, int]]:
    """The (network spec JSON, size) pairs whose MACs an estimate of ``jobs`` reads."""
    pairs = {(canonical_json(net), size) for _, net, teacher, size, _, _ in BUILTIN_CPU
             for net in (net, teacher) if net}
    for job in jobs:
        pairs.add((canonical_json(dict(job.network)), _size(job)))
        if _uses_teacher(job):
            pairs.add((canonical_json(dict(job.teacher)), _size(job)))
    return pairs


def step_work(job: JobConfig) -> float:
    size = _size(job)
    work = _gmacs(canonical_json(dict(job.network)), size)
    if _uses_teacher(job):
        work += _gmacs(canonical_json(dict(job.teacher)), size)
    return work * _batch_size(job)


def device_label(device: str, name: str | None) -> str:
    """``cuda: NVIDIA H100 80GB HBM3`` or ``cpu: x86_64``: how records and calibrations name a device."""
    return f"{device.split(':')[0]}: {name or '?'}"


def _is_gpu(device: str) -> bool:
    return device.startswith("cuda")


# ------------------------------------------------------------------------------------------ sources


def store_measurements(store: ResultStore) -> list[Measurement]:
    """Median seconds per step of the store's done training jobs, per step kind and device."""
    times: dict[tuple[StepKey, str], list[float]] = defaultdict(list)
    work: dict[StepKey, float] = {}
    for record in store.records():
        if not isinstance(record, dict) or record.get("status") != DONE:
            continue
        try:
            job = JobConfig.from_dict(record["config"])
            train_s, steps = record["timings"]["train_s"], train_steps(job)
            env = record.get("environment") or {}
            device = device_label(env.get("device", "cpu"), env.get("device_name"))
        except (KeyError, TypeError, ValueError):
            continue
        if not trains(job) or job.task not in TASKS or steps < 1:
            continue
        key = step_key(job)
        times[(key, device)].append(train_s / steps)
        work[key] = step_work(job)
    return [Measurement(key, statistics.median(v), device, f"store: median of {len(v)} done job(s)", work[key])
            for (key, device), v in times.items()]


def calibration_measurements(store: ResultStore) -> list[Measurement]:
    out = []
    for path in sorted((store.root / CALIBRATION_DIR).glob("*.json")):
        try:
            entries = json.loads(path.read_text())["measurements"]
            out += [Measurement(StepKey(**e["key"]), e["s_per_step"], e["device"], f"calibration {path.name}",
                                e["work"]) for e in entries]
        except (OSError, ValueError, KeyError, TypeError):
            continue
    return out


def builtin_measurements() -> list[Measurement]:
    out = []
    for kind, net, teacher, size, batch, seconds in BUILTIN_CPU:
        work = batch * (_gmacs(canonical_json(net), size) + (_gmacs(canonical_json(teacher), size) if teacher else 0.0))
        key = StepKey(kind, describe_network(net), describe_network(teacher) if teacher else "", size, batch)
        out.append(Measurement(key, seconds, "cpu: built-in table (2-core development machine)",
                               "built-in CPU table", work))
    return out


# ------------------------------------------------------------------------------------------ estimate


@dataclass
class JobEstimate:
    job: JobConfig
    seconds: float | None   # None: cannot be estimated
    device: str
    source: str


def _pick_device(measurements: Sequence[Measurement]) -> str | None:
    counts: dict[str, int] = defaultdict(int)
    for m in measurements:
        counts[m.device] += 1
    gpus = [d for d in counts if _is_gpu(d)]
    pool = gpus or list(counts)
    return max(pool, key=lambda d: counts[d]) if pool else None


def _scaled(job_key: StepKey, work: float, pool: Sequence[Measurement]) -> tuple[float, str] | None:
    exact = [m for m in pool if m.key == job_key]
    if exact:
        return exact[0].s_per_step, exact[0].source
    same_kind = [m for m in pool if m.key.kind == job_key.kind]
    for candidates, what in ((same_kind, "same step kind"), (pool, "another step kind")):
        if candidates:
            ref = min(candidates, key=lambda m: abs(m.work - work))
            return ref.s_per_step * work / ref.work, f"scaled by MACs from {what} ({ref.key.label()}; {ref.source})"
    return None


def estimate(jobs: Iterable[JobConfig], store: ResultStore) -> list[JobEstimate]:
    measured = store_measurements(store) + calibration_measurements(store)
    device = _pick_device(measured)
    pool = [m for m in measured if m.device == device]
    fallback = builtin_measurements()
    out = []
    for job in jobs:
        if not trains(job):
            out.append(JobEstimate(job, 0.0, "", "published checkpoint: no training"))
            continue
        key, work, steps = step_key(job), step_work(job), train_steps(job)
        found = _scaled(key, work, pool) if pool else None
        where = device or ""
        if found is None:
            found, where = _scaled(key, work, fallback), "cpu: built-in table (2-core development machine)"
        if found is None:
            out.append(JobEstimate(job, None, "", "no measurement"))
        else:
            out.append(JobEstimate(job, steps * found[0], where, found[1]))
    return out


def _seed_text(jobs: Sequence[JobConfig]) -> str:
    """``27 configurations x 3 seeds (0, 1, 2)``: how a phase's job count is made up."""
    seeds = sorted({job.seed for job in jobs})
    configurations = {canonical_json({**job.identity(), "seed": None}) for job in jobs}
    return (f"{len(configurations)} configuration(s) x {len(seeds)} seed(s) "
            f"({', '.join(map(str, seeds))})" if len(configurations) * len(seeds) == len(jobs)
            else f"{len(configurations)} configuration(s), seeds {', '.join(map(str, seeds))}")


def _unit(estimates: Sequence[JobEstimate]) -> str:
    devices = {e.device for e in estimates if e.seconds is not None and trains(e.job)}
    return "GPU-hours" if devices and all(_is_gpu(d) for d in devices) else "device-hours"


def format_estimate(estimates: Sequence[JobEstimate]) -> str:
    """The dry-run summary: per phase, jobs (configurations x seeds), steps and hours; the total with every seed
    included; the sources of the step times."""
    lines = ["training-time estimate (evaluation not included; every seed counted):"]
    for phase in PHASES:
        part = [e for e in estimates if e.job.phase == phase]
        if not part:
            continue
        loaded = [e for e in part if not trains(e.job)]
        training = [e for e in part if trains(e.job)]
        steps = sum(train_steps(e.job) for e in training)
        text = f"  {phase}: {len(part)} job(s) = {_seed_text([e.job for e in part])}"
        if loaded:
            text += f", {len(loaded)} loaded from a published checkpoint (no training)"
        if training:
            known = [e for e in training if e.seconds is not None]
            hours = sum(e.seconds for e in known) / 3600
            devices = sorted({e.device for e in known})
            text += f", {len(training)} training {steps:,} steps: {hours:,.1f} {_unit(known)} on {'; '.join(devices) or '?'}"
            if len(known) < len(training):
                text += f" ({len(training) - len(known)} job(s) without any measurement)"
        lines.append(text)
    known = [e for e in estimates if e.seconds is not None and trains(e.job)]
    seeds = sorted({e.job.seed for e in estimates if e.job.phase == "student"})
    lines.append(f"  total: {len(estimates)} job(s), {sum(e.seconds for e in known) / 3600:,.1f} {_unit(known)} of "
                 f"training with every seed included (students: {len(seeds)} seed(s) each)")
    if not any(_is_gpu(e.device) for e in estimates if e.seconds):
        lines.append("  no GPU step times are known: run `python -m kd_gan_bench.benchmarks.run calibrate --suite NAME` on a GPU "
                     "node (or finish some jobs there) for GPU-hours")
    sources: dict[tuple[str, str], str] = {}
    for e in estimates:
        if trains(e.job):
            sources.setdefault((step_key(e.job).label(), e.device), e.source)
    lines.append("  step times used:")
    lines += [f"    {label} [{device or '-'}]: {source}" for (label, device), source in sorted(sources.items())]
    return "\n".join(lines)


# ------------------------------------------------------------------------------------------ calibrate


def _synthetic(paired: bool, size: int, n: int) -> ImageTranslationData:
    import torch

    from kd_gan_bench.datasets import ImageTranslationData

    gen = torch.Generator().manual_seed(0)
    imgs = [torch.randint(0, 256, (n, 3, size, size), dtype=torch.uint8, generator=gen) for _ in range(4)]
    return ImageTranslationData("calibration", paired, size, *imgs)


def _time_steps(job: JobConfig, steps: int, device: torch.device) -> float:
    import torch

    from kd_gan_bench.methods.core.base import TrainSetup
    from kd_gan_bench.methods.networks.build import build_network
    from kd_gan_bench.methods.core.recipes import train_recipe
    from kd_gan_bench.methods.core.training import Schedule

    data = _synthetic(TASKS.info(job.task).paired, _size(job), max(2, int(job.schedule.get("batch_size", 1))))
    schedule = Schedule.from_mapping({**job.schedule, "steps": steps, "log_every": steps, "checkpoint_every": 0})
    setup = TrainSetup(data=data, student_spec=job.network, teacher_spec=job.teacher, hparams=job.hparams,
                       schedule=schedule, device=device, seed=0, recipe=job.recipe, log=lambda _: None)
    if _uses_teacher(job):
        setup.teacher = build_network(job.teacher).to(device)
    t = time.perf_counter()
    if job.phase == "teacher":
        train_recipe(setup, job.teacher)
    else:
        METHODS.get(job.method)().train(setup)
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    return time.perf_counter() - t


def calibrate(jobs: Iterable[JobConfig], store: ResultStore, device: str = "auto", steps: tuple[int, int] = (2, 6),
              log=print) -> Path:
    """Measure seconds per step of every step kind of ``jobs`` on this machine; write them to the store."""
    dev = choose_device(device)
    label = device_label(dev.type, environment(dev)["device_name"])
    seen: dict[StepKey, JobConfig] = {}
    for job in jobs:
        if trains(job) and FAMILIES.get(job.family).calibrated:
            seen.setdefault(step_key(job), job)
        elif trains(job):
            log(f"  {step_key(job).label()}: not calibrated (calibrate measures image-to-image steps; "
                f"{job.family} step times come from finished jobs)")
    entries = []
    for key, job in seen.items():
        _time_steps(job, 1, dev)  # warm-up: allocator growth, cuDNN autotuning, lazy initialisation
        short, long = (_time_steps(job, n, dev) for n in steps)
        s_per_step = max(long - short, 1e-9) / (steps[1] - steps[0])  # set-up cost cancels out
        log(f"  {key.label()}: {s_per_step:.4f} s/step")
        entries.append({"key": asdict(key), "s_per_step": s_per_step, "device": label, "work": step_work(job)})
    slug = "".join(c if c.isalnum() else "-" for c in label).strip("-").lower()
    path = store.root / CALIBRATION_DIR / f"{slug}.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    previous = {canonical_json(e["key"]): e for e in _read_entries(path)}
    previous.update({canonical_json(e["key"]): e for e in entries})
    path.write_text(json.dumps({"device": label, "updated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
                                "measurements": list(previous.values())}, indent=1))
    return path


def _read_entries(path: Path) -> list[dict[str, Any]]:
    try:
        return json.loads(path.read_text())["measurements"]
    except (OSError, ValueError, KeyError):
        return []


def _all_suite_jobs() -> list[JobConfig]:
    from kd_gan_bench.benchmarks.planning.grid import expand
    from kd_gan_bench.benchmarks.planning.suites import SUITES

    return [job for name in SUITES for job in expand(SUITES.get(name))]


if __name__ == "__main__":  # python -m kd_gan_bench.benchmarks.planning.estimate: refresh macs_table.json for every registered suite
    print(f"wrote {write_macs_table(network_sizes(_all_suite_jobs()))}")

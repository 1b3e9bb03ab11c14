"""How much each distillation method adds to a student training step, at the papers' scale.

    python -m benchmarks.perf.method_step_times [--size 256] [--device auto|cpu|cuda] [--steps 10]
        [--warmup 3] [--batch-size 1] [--students resnet,mobile] [--methods output_kd,...,crd,omgd,dcd,cat_ka]
        [--teacher-ngf 64] [--student-ngf 16] [--blocks 9] [--patch-size N] [--threads N] [--skip-online-teacher]

The setting is the CycleGAN one of the papers (horse2zebra in SRPKD, ReKo and CRD): 256x256 images
(the built-in unpaired task ``synthetic_plain2striped``, so LSGAN, output L1 weight 10 and CRD's
CycleGAN weights), a ResNet-9blocks ngf 64 teacher (CycleGAN's ``resnet_9blocks``) and ResNet-9blocks
students at ngf 16, plain and "mobile" (depthwise-separable blocks: the CRD/OMGD student). Networks
have seeded random weights: a step's cost does not depend on them. The issue's target: the
method-specific losses add at most 20% to an output_kd training step; the VGG16 perceptual part and
CRD's online teacher training are reported separately.

Everything runs through the methods' own code:

* step ms: the method's real ``train`` (the pretrained-teacher loop of :mod:`methods.distill`, CRD's
  own loop) runs ``warmup + steps`` steps with ``log_every = 1``; a step lasts from one ``run_steps``
  log call to the next, the device synchronised at each, so it holds batch sampling, the teacher's
  forward, the discriminator's update, the student's update and the loop's bookkeeping. Median over
  the timed steps. CRD's step is its student step: its online teacher trains only at step 0, a
  warm-up step (``steps_count`` ``student``, ``n_dis`` = all steps, ``teacher_select`` ``latest``); the
  step includes the frozen teacher's forward, the teacher discriminator's GAN term and the VGG16 terms.
* method loss ms: forward + backward of the method-specific loss terms alone, on the tensors of the
  method's last training step (kept by wrapping the method's ``losses``, or CRD's
  ``content_relation_losses``, during that step), one untimed call then the median of ``steps``:
  feature_kd's 1x1 adapters + MSE, srpkd's relation matrices + MSE, reko's attention, top-K, head and
  InfoNCE, CRD's RKD distance + angle on rows, columns and patches, OMGD's SSIM, TV and channel
  distillation (adaptors included), DCD's connectors and discriminator features (``dcd_term``: the
  student side with its backward, the frozen teacher side forward only), cat_ka's kernel alignments (it
  needs ``--batch-size`` >= 2 and is left out at batch 1). For the loop's methods it is the forward of
  their ``losses`` (its output L1, the term output_kd has too, is a negligible part) and the backward of
  the terms output_kd does not have. Shown as % of output_kd's median step.
* separately: CRD's, OMGD's and DCD's VGG16 style + relu2_2 L1 terms (timed like the losses), their
  steps without them, one step of their online teacher (the CycleGAN recipe of
  :func:`methods.recipes.build_recipe` at the teacher's width: both generators and both
  discriminators), and the RKD angle term on the rows of one image (N = size samples of 3 x size
  values) in the chunked Gram form the methods use against the direct form of the public RKD/CRD
  code (:func:`rkd_angle_loss_reference`).
* step MiB: the most memory a timed step needs on top of what was in use when the timed steps began
  (networks, optimiser states, the previous step's gradients): activations, gradients, temporaries.
  CUDA: torch's allocator (``max_memory_allocated`` minus ``memory_allocated``, tensors only). CPU
  (Linux): the process's resident set, ``VmHWM`` (reset through ``/proc/self/clear_refs``) minus
  ``VmRSS``, both taken after glibc's ``malloc_trim`` returned freed heap memory to the system;
  elsewhere it is not measured.

Progress goes to stderr, the table to stdout. The process's torch thread count is in the header: on a
CPU the numbers scale with it and with whatever else runs on the cores.
"""
from __future__ import annotations

import argparse
import ctypes
import dataclasses
import gc
import math
import os
import statistics
import sys
import time
from contextlib import contextmanager
from typing import Any, Callable, Iterator, Mapping

import torch
from torch import nn

import methods  # noqa: F401  (registration)
from benchmarks.environment import choose_device
from datasets import load_task
from datasets.base import ImageTranslationData
from methods import crd as crd_module
from methods import omgd as omgd_module
from methods.base import TrainSetup
from methods.distill import DistillationMethod
from methods.losses.relational import rkd_angle_loss, rkd_angle_loss_reference, row_slices
from methods.networks import build_network, describe_network
from methods.recipes import build_recipe, resolve_recipe
from methods.registry import METHODS
from methods.training import BatchSampler, Schedule

TASK = "synthetic_plain2striped"
METHOD_NAMES = ("output_kd", "feature_kd", "srpkd", "reko", "crd", "omgd", "dcd", "cat_ka")
#: methods that train their teacher in their job: (the function of their module computing their own terms,
#: the position of the student's side among its arguments)
ONLINE = {"crd": ("content_relation_losses", 0), "dcd": ("dcd_term", 2)}
#: methods whose loss needs batch > 1 (kernel alignment is 1 at batch 1)
NEEDS_BATCH = {"cat_ka": 2}
STUDENT_ARCHS = {"resnet": "resnet_generator", "mobile": "mobile_resnet_generator"}
REFERENCE = "output_kd"
TARGET = 0.20  # the method-specific losses may add at most this fraction of an output_kd step
SEED = 0


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def _libc_trim() -> None:
    """Give freed heap memory back to the system (glibc), so resident memory tracks live memory."""
    try:
        ctypes.CDLL(None).malloc_trim(0)
    except (OSError, AttributeError):
        pass


def _proc_kib(field: str) -> int:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise KeyError(field)


class StepMemory:
    """The most memory the timed steps need above the level when they began (see the module docstring)."""

    def __init__(self, device: torch.device) -> None:
        self.device, self.base = device, 0
        if device.type == "cuda":
            self.supported = True
            self.description = "CUDA max_memory_allocated during the timed steps minus memory_allocated before them"
        else:
            self.supported = self._reset_cpu_peak()
            self.description = ("CPU resident set: VmHWM during the timed steps minus VmRSS before them "
                                "(after malloc_trim; VmHWM reset via /proc/self/clear_refs)" if self.supported else
                                "not measured (needs Linux /proc/self/clear_refs)")

    @staticmethod
    def _reset_cpu_peak() -> bool:
        try:
            with open("/proc/self/clear_refs", "w") as refs:
                refs.write("5")  # resets VmHWM to the current resident set size
            return True
        except OSError:
            return False

    def reset(self) -> None:
        """When the timed steps begin: the level to measure above, and a fresh peak."""
        gc.collect()
        if self.device.type == "cuda":
            self.base = torch.cuda.memory_allocated(self.device)
            torch.cuda.reset_peak_memory_stats(self.device)
        elif self.supported:
            _libc_trim()
            self.base = _proc_kib("VmRSS") * 1024
            self._reset_cpu_peak()

    def peak_mib(self) -> float | None:
        if self.device.type == "cuda":
            return (torch.cuda.max_memory_allocated(self.device) - self.base) / 2 ** 20
        return (_proc_kib("VmHWM") * 1024 - self.base) / 2 ** 20 if self.supported else None


class StepClock:
    """``run_steps``'s log callback (``log_every`` 1): notes when each step ends (device synchronised),
    starts the memory measure after the warm-up and reads it after the last step."""

    def __init__(self, label: str, device: torch.device, warmup: int, total: int, memory: StepMemory) -> None:
        self.label, self.device, self.warmup, self.total, self.memory = label, device, warmup, total, memory
        self.ends: list[float] = []
        self.step_mib: float | None = None
        self.last = time.perf_counter()

    def in_last_step(self) -> bool:
        return len(self.ends) == self.total - 1

    def __call__(self, message: str) -> None:
        if not message.startswith("step "):
            return
        _sync(self.device)
        if len(self.ends) + 1 == self.warmup:
            self.memory.reset()
        now = time.perf_counter()
        self.ends.append(now)
        kind = "warm-up" if len(self.ends) <= self.warmup else "timed"
        print(f"  {self.label}: step {len(self.ends)}/{self.total} ({kind}) {1e3 * (now - self.last):.1f} ms",
              file=sys.stderr, flush=True)
        self.last = time.perf_counter()
        if len(self.ends) == self.total:
            self.step_mib = self.memory.peak_mib()

    def median_ms(self) -> float:
        timed = [b - a for a, b in zip(self.ends[self.warmup - 1:], self.ends[self.warmup:])]
        return 1e3 * statistics.median(timed)


def _detached(value: Any) -> Any:
    """``value`` with every tensor in it detached (dicts, sequences and dataclasses followed)."""
    if isinstance(value, torch.Tensor):
        return value.detach()
    if isinstance(value, dict):
        return {k: _detached(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_detached(v) for v in value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return dataclasses.replace(value, **{f.name: _detached(getattr(value, f.name))
                                             for f in dataclasses.fields(value)})
    return value


@contextmanager
def last_call(owner: Any, name: str, when: Callable[[], bool]) -> Iterator[dict[str, Any]]:
    """Wrap ``owner.name`` (a module's function or an object's method) so that the arguments of its
    latest call while ``when()`` holds are kept, detached: the graph is not kept alive."""
    original, own = getattr(owner, name), name in vars(owner)
    seen: dict[str, Any] = {}

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        if when():
            seen.update(args=_detached(args), kwargs=_detached(kwargs))
        return original(*args, **kwargs)

    setattr(owner, name, wrapper)
    try:
        yield seen
    finally:
        if own:
            setattr(owner, name, original)
        else:
            delattr(owner, name)


def _leaf(x: torch.Tensor) -> torch.Tensor:
    return x.detach().requires_grad_()


def time_fwd_bwd(loss: Callable[[], torch.Tensor], device: torch.device, repeats: int) -> float:
    """Median ms of ``loss().backward()`` over ``repeats`` calls after an untimed one."""
    times = []
    for _ in range(1 + repeats):
        _sync(device)
        start = time.perf_counter()
        loss().backward()
        _sync(device)
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times[1:])


@dataclasses.dataclass
class Row:
    """One method's numbers for one student."""

    method: str
    step_ms: float
    loss_ms: float | None        # the method-specific loss terms, forward + backward
    step_mib: float | None       # the most memory a timed step needs above what was in use
    vgg_ms: float | None = None  # CRD's VGG16 terms, forward + backward


@dataclasses.dataclass
class Bench:
    """What every run shares."""

    data: ImageTranslationData
    teacher_spec: Mapping[str, Any]
    device: torch.device
    warmup: int
    steps: int
    batch_size: int
    patch_size: int
    memory: StepMemory
    vgg_source: str = ""

    @property
    def total(self) -> int:
        return self.warmup + self.steps


def online_timing(bench: Bench) -> dict[str, Any]:
    """An online-teacher method's timing settings: its teacher trains at step 0 only (a warm-up step), the
    student steps against the frozen copy."""
    return {"steps_count": "student", "n_dis": bench.total, "teacher_select": "latest"}


def run_method(name: str, student_spec: Mapping[str, Any], bench: Bench) -> Row:
    """Train ``name``'s student for ``warmup + steps`` steps and time it (see the module docstring)."""
    method = METHODS.get(name)()
    label = f"{name} / {describe_network(student_spec)}"
    clock = StepClock(label, bench.device, bench.warmup, bench.total, bench.memory)
    schedule = Schedule(steps=bench.total, batch_size=bench.batch_size, log_every=1)
    if isinstance(method, DistillationMethod):
        torch.manual_seed(SEED)
        setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, method.resolve_hparams({}), schedule,
                           bench.device, SEED, teacher=build_network(bench.teacher_spec), log=clock)
        with last_call(method, "losses", clock.in_last_step) as seen:
            method.train(setup)
        return Row(name, clock.median_ms(), _distill_loss_ms(method, seen, bench), clock.step_mib)
    if name == "omgd":
        return run_omgd(method, student_spec, bench, clock, schedule)
    if name not in ONLINE:
        raise ValueError(f"no timing protocol for method {name!r}")
    module, (own, student_at) = sys.modules[type(method).__module__], ONLINE[name]
    hp = method.resolve_hparams({**online_timing(bench), **({"patch_size": bench.patch_size} if name == "crd" else {})})
    setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, hp, schedule, bench.device, SEED, log=clock)
    with last_call(module, own, clock.in_last_step) as terms, \
            last_call(module, "perceptual_losses", clock.in_last_step) as vgg:
        outcome = method.train(setup)
    bench.vgg_source = outcome.extras["vgg_weights"]
    own_ms = _swapped_loss_ms(getattr(module, own), terms, student_at, bench)
    vgg_ms = _swapped_loss_ms(crd_module.perceptual_losses, vgg, 1, bench)
    return Row(name, clock.median_ms(), own_ms, clock.step_mib, vgg_ms)


def run_omgd(method: Any, student_spec: Mapping[str, Any], bench: Bench, clock: StepClock,
             schedule: Schedule) -> Row:
    """OMGD's student step, timed as CRD's (its CycleGAN teacher trains at step 0 only). Its own terms: SSIM,
    TV and channel distillation (adaptors included), forward + backward; its VGG16 style + relu2_2 terms apart."""
    hp = method.resolve_hparams(online_timing(bench))
    setup = TrainSetup(bench.data, student_spec, bench.teacher_spec, hp, schedule, bench.device, SEED, log=clock)
    with last_call(omgd_module, "image_losses", clock.in_last_step) as images, \
            last_call(omgd_module, "channel_distillation", clock.in_last_step) as cd:
        outcome = method.train(setup)
    bench.vgg_source = outcome.extras["vgg_weights"]
    vgg, student_out, teacher_outs, weights, padding = images["args"]

    def image_terms(kept: set[str]) -> Callable[[], torch.Tensor]:
        only = {k: (w if k in kept else 0.0) for k, w in weights.items()}
        return lambda: sum(omgd_module.image_losses(vgg, _leaf(student_out), teacher_outs, only, padding).values())

    s_feats, t_feats, adaptors = cd["args"]
    cd_ms = time_fwd_bwd(lambda: weights["cd"] * omgd_module.channel_distillation(
        {k: _leaf(v) for k, v in s_feats.items()}, t_feats, adaptors), bench.device, bench.steps)
    own_ms = time_fwd_bwd(image_terms({"ssim", "tv"}), bench.device, bench.steps) + cd_ms
    vgg_ms = time_fwd_bwd(image_terms({"style", "feature"}), bench.device, bench.steps)
    return Row("omgd", clock.median_ms(), own_ms, clock.step_mib, vgg_ms)


def _distill_loss_ms(method: DistillationMethod, seen: Mapping[str, Any], bench: Bench) -> float | None:
    """The method-specific terms of a loop method's ``losses`` (those output_kd lacks), forward + backward."""
    hp, tensors, modules = seen["args"]
    shared = set(METHODS.get(REFERENCE)().losses(hp, tensors, nn.ModuleDict()))
    if set(method.losses(hp, tensors, modules)) <= shared:
        return None

    def loss() -> torch.Tensor:
        student = dataclasses.replace(tensors, student_out=_leaf(tensors.student_out),
                                      student_feats={k: _leaf(v) for k, v in tensors.student_feats.items()})
        return sum(v for k, v in method.losses(hp, student, modules).items() if k not in shared)

    return time_fwd_bwd(loss, bench.device, bench.steps)


def _swapped_loss_ms(fn: Callable[..., Mapping[str, torch.Tensor] | torch.Tensor], seen: Mapping[str, Any],
                     student_at: int, bench: Bench) -> float:
    """Forward + backward of ``fn`` on its captured arguments, the student's side (argument
    ``student_at``: its output, or a dict of its features) fresh leaves each time."""
    args, kwargs = list(seen["args"]), seen["kwargs"]

    def loss() -> torch.Tensor:
        student = args[student_at]
        student = {k: _leaf(v) for k, v in student.items()} if isinstance(student, dict) else _leaf(student)
        out = fn(*args[:student_at], student, *args[student_at + 1:], **kwargs)
        return sum(out.values()) if isinstance(out, Mapping) else out

    return time_fwd_bwd(loss, bench.device, bench.steps)


def teacher_step_ms(bench: Bench) -> float:
    """Median ms of one step of CRD's online teacher: the task's recipe at the teacher's width."""
    paired = bench.data.paired
    gen = torch.Generator().manual_seed(SEED)
    torch.manual_seed(SEED)
    schedule = Schedule(steps=bench.total, batch_size=bench.batch_size)
    model = build_recipe(bench.teacher_spec, resolve_recipe({}, paired), paired, schedule, bench.device, gen)
    sampler = BatchSampler(bench.data.train_a, bench.data.train_b, paired, bench.batch_size, bench.device, gen)
    times = []
    for i in range(bench.total):
        _sync(bench.device)
        start = time.perf_counter()
        model.step(*sampler.sample())
        _sync(bench.device)
        times.append(time.perf_counter() - start)
        print(f"  online teacher: step {i + 1}/{bench.total} {1e3 * times[-1]:.1f} ms", file=sys.stderr, flush=True)
    return 1e3 * statistics.median(times[bench.warmup:])


def angle_forms_ms(bench: Bench) -> tuple[float, float]:
    """RKD angle term on the rows of one size x size image: (chunked Gram form, direct form) ms, fwd + bwd."""
    size = bench.data.size
    gen = torch.Generator().manual_seed(SEED)
    student, teacher = (row_slices(torch.rand(1, 3, size, size, generator=gen).to(bench.device) * 2 - 1)
                        for _ in range(2))

    def timed(form: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
        return time_fwd_bwd(lambda: form(_leaf(student), teacher), bench.device, bench.steps)

    return timed(rkd_angle_loss), timed(rkd_angle_loss_reference)


def _fmt(value: float | None, spec: str) -> str:
    return "-" if value is None or math.isnan(value) else format(value, spec)


def format_student(student: str, rows: list[Row]) -> list[str]:
    """The table of one student, then CRD's separately reported parts and the target's verdicts."""
    ref = next((r.step_ms for r in rows if r.method == REFERENCE), math.nan)
    lines = [f"student {student}",
             f"  {'method':<11}{'step ms':>10}{'x ' + REFERENCE:>13}{'method loss ms':>16}"
             f"{'loss % of ' + REFERENCE + ' step':>26}{'step MiB':>10}"]
    verdicts = []
    for r in rows:
        share = r.loss_ms / ref if r.loss_ms is not None else None
        lines.append(f"  {r.method:<11}{r.step_ms:>10.1f}{_fmt(r.step_ms / ref, '.2f'):>13}{_fmt(r.loss_ms, '.1f'):>16}"
                     f"{_fmt(None if share is None else 100 * share, '.1f'):>26}{_fmt(r.step_mib, '.0f'):>10}")
        if share is not None and not math.isnan(share):
            verdicts.append(f"{r.method} {100 * share:.1f}% {'ok' if share <= TARGET else 'OVER'}")
        if r.vgg_ms is not None:
            lines.append(f"    {r.method} VGG16 style + relu2_2 terms, fwd+bwd: {r.vgg_ms:.1f} ms "
                         f"({_fmt(100 * r.vgg_ms / ref, '.1f')}% of an {REFERENCE} step); {r.method} step without "
                         f"them: {r.step_ms - r.vgg_ms:.1f} ms ({_fmt((r.step_ms - r.vgg_ms) / ref, '.2f')}x)")
    lines.append(f"  target, method-specific losses <= {100 * TARGET:.0f}% of an {REFERENCE} step: "
                 + (", ".join(verdicts) or "nothing to judge"))
    return lines


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="image side (default 256)")
    parser.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    parser.add_argument("--steps", type=int, default=10, help="timed steps per method (default 10)")
    parser.add_argument("--warmup", type=int, default=3, help="untimed steps first, at least 1 (default 3)")
    parser.add_argument("--batch-size", type=int, default=1, help="default 1, the CycleGAN papers' batch")
    parser.add_argument("--methods", default=",".join(METHOD_NAMES), help=f"comma-separated, from {METHOD_NAMES}")
    parser.add_argument("--students", default=",".join(STUDENT_ARCHS),
                        help=f"comma-separated, from {tuple(STUDENT_ARCHS)}")
    parser.add_argument("--teacher-ngf", type=int, default=64)
    parser.add_argument("--student-ngf", type=int, default=16)
    parser.add_argument("--blocks", type=int, default=9, help="residual blocks of teacher and students (default 9)")
    parser.add_argument("--patch-size", type=int, default=None, help="CRD's patch side (default size / 8: 32 at 256)")
    parser.add_argument("--threads", type=int, default=None, help="torch CPU threads (default: torch's)")
    parser.add_argument("--skip-online-teacher", action="store_true",
                        help="do not time a step of CRD's online teacher (the slowest part of the run)")
    args = parser.parse_args(argv)
    args.methods = [m for m in args.methods.split(",") if m]
    args.students = [s for s in args.students.split(",") if s]
    unknown = sorted(set(args.methods) - set(METHOD_NAMES)) + sorted(set(args.students) - set(STUDENT_ARCHS))
    if unknown or args.warmup < 1 or args.steps < 1:
        parser.error(f"unknown method/student {unknown}" if unknown else "--warmup and --steps must be >= 1")
    args.methods = [REFERENCE] + [m for m in args.methods if m != REFERENCE]  # the reference every ratio needs
    args.skipped = [m for m in args.methods if args.batch_size < NEEDS_BATCH.get(m, 1)]
    args.methods = [m for m in args.methods if m not in args.skipped]
    return args


def _header(args: argparse.Namespace, bench: Bench) -> str:
    device = bench.device
    where = (torch.cuda.get_device_name(device) if device.type == "cuda" else
             f"{torch.get_num_threads()} torch thread(s), load average {os.getloadavg()[0]:.2f} on "
             f"{os.cpu_count()} cores")
    return (f"method step times: {args.size}x{args.size} {TASK} (CycleGAN setting), batch {args.batch_size}, "
            f"{device} ({where}), torch {torch.__version__}; medians of {args.steps} timed steps after "
            f"{args.warmup} warm-up; teacher {describe_network(bench.teacher_spec)} (random weights)")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    device = choose_device(args.device)
    bench = Bench(load_task(TASK, size=args.size, n_train=max(8, args.batch_size), n_test=1),
                  {"arch": "resnet_generator", "ngf": args.teacher_ngf, "n_blocks": args.blocks}, device,
                  args.warmup, args.steps, args.batch_size, args.patch_size or max(1, args.size // 8),
                  StepMemory(device))
    print(_header(args, bench), file=sys.stderr, flush=True)
    lines: list[str] = []
    for student in args.students:
        spec = {"arch": STUDENT_ARCHS[student], "ngf": args.student_ngf, "n_blocks": args.blocks}
        lines += format_student(describe_network(spec), [run_method(m, spec, bench) for m in args.methods])
    if "cat_ka" in args.skipped:
        lines.append(f"cat_ka not run: kernel alignment needs --batch-size >= {NEEDS_BATCH['cat_ka']} (it is 1 at "
                     f"batch 1); e.g. --methods cat_ka --batch-size 2")
    online = [m for m in args.methods if m in (*ONLINE, "omgd")]  # OMGD's CycleGAN teacher is CRD's recipe too
    if online and not args.skip_online_teacher:
        lines.append(f"{', '.join(online)} online teacher step (the task's CycleGAN recipe: 2 generators + 2 "
                     f"discriminators, {describe_network(bench.teacher_spec)}): {teacher_step_ms(bench):.1f} ms "
                     f"(not part of the {', '.join(online)} rows)")
        lines.append(f"{', '.join(online)} VGG16 weights: {bench.vgg_source} (timing does not depend on them)")
    chunked, direct = angle_forms_ms(bench)
    lines.append(f"RKD angle term, rows of one image (N {args.size}, D {3 * args.size}), fwd+bwd: chunked Gram form "
                 f"{chunked:.1f} ms, direct form (public code) {direct:.1f} ms ({direct / chunked:.1f}x)")
    print("\n".join(["", _header(args, bench), f"step MiB: {bench.memory.description}", *lines]))
    return 0


if __name__ == "__main__":
    sys.exit(main())

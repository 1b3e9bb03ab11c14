"""The parts :mod:`kd_gan_bench.benchmarks.perf.method_step_times` reports beside the methods' rows: a step of the online
teachers' CycleGAN recipe, and the RKD angle term in the methods' blocked Gram form against the public code's
direct form."""
from __future__ import annotations

import statistics
import sys
from typing import Callable

import torch

from kd_gan_bench.benchmarks.perf.capture import leaf
from kd_gan_bench.benchmarks.perf.method_runs import SEED, Bench
from kd_gan_bench.benchmarks.perf.step_timing import now, sync, time_fwd_bwd
from kd_gan_bench.methods.losses.relational import rkd_angle_loss, rkd_angle_loss_reference, row_slices
from kd_gan_bench.methods.core.recipes import build_recipe, resolve_recipe
from kd_gan_bench.methods.core.training import BatchSampler, Schedule


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
        sync(bench.device)
        start = now()
        model.step(*sampler.sample())
        sync(bench.device)
        times.append(now() - start)
        print(f"  online teacher: step {i + 1}/{bench.total} {1e3 * times[-1]:.1f} ms", file=sys.stderr, flush=True)
    return 1e3 * statistics.median(times[bench.warmup:])


def angle_forms_ms(bench: Bench) -> tuple[float, float]:
    """RKD angle term on the rows of one size x size image: (blocked Gram form, direct form) ms, fwd + bwd."""
    size = bench.data.size
    gen = torch.Generator().manual_seed(SEED)
    student, teacher = (row_slices(torch.rand(1, 3, size, size, generator=gen).to(bench.device) * 2 - 1)
                        for _ in range(2))

    def timed(form: Callable[[torch.Tensor, torch.Tensor], torch.Tensor]) -> float:
        return time_fwd_bwd(lambda: form(leaf(student), teacher), bench.device, bench.steps)

    return timed(rkd_angle_loss), timed(rkd_angle_loss_reference)

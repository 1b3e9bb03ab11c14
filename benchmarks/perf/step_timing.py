"""Timing of training steps and of loss terms (device synchronised around each measure)."""
from __future__ import annotations

import statistics
import sys
import time
from typing import Callable

import torch

from kd_gan_bench.benchmarks.perf.step_memory import StepMemory

#: ``wall``: elapsed time; ``cpu``: the process's CPU time (all its threads), which other processes on shared
#: cores inflate much less (run with 1 thread: with more, idle threads' spinning counts too; CPU device only)
CLOCKS: dict[str, Callable[[], float]] = {"wall": time.perf_counter, "cpu": time.process_time}
_clock = {"now": time.perf_counter}


def use_clock(name: str) -> None:
    """Measure every following time with the clock ``name`` (a key of :data:`CLOCKS`)."""
    _clock["now"] = CLOCKS[name]


def now() -> float:
    """The current reading of the clock chosen by :func:`use_clock` (seconds)."""
    return _clock["now"]()


def sync(device: torch.device) -> None:
    """Wait for the device's queued work (CUDA); nothing on a CPU."""
    if device.type == "cuda":
        torch.cuda.synchronize(device)


class StepClock:
    """``run_steps``'s log callback (``log_every`` 1): notes when each step ends (device synchronised),
    starts the memory measure after the warm-up and reads it after the last step."""

    def __init__(self, label: str, device: torch.device, warmup: int, total: int, memory: StepMemory) -> None:
        self.label, self.device, self.warmup, self.total, self.memory = label, device, warmup, total, memory
        self.ends: list[float] = []
        self.step_mib: float | None = None
        self.last = now()

    def in_last_step(self) -> bool:
        return len(self.ends) == self.total - 1

    def __call__(self, message: str) -> None:
        if not message.startswith("step "):
            return
        sync(self.device)
        if len(self.ends) + 1 == self.warmup:
            self.memory.reset()
        end = now()
        self.ends.append(end)
        kind = "warm-up" if len(self.ends) <= self.warmup else "timed"
        print(f"  {self.label}: step {len(self.ends)}/{self.total} ({kind}) {1e3 * (end - self.last):.1f} ms",
              file=sys.stderr, flush=True)
        self.last = now()
        if len(self.ends) == self.total:
            self.step_mib = self.memory.peak_mib()

    def median_ms(self) -> float:
        timed = [b - a for a, b in zip(self.ends[self.warmup - 1:], self.ends[self.warmup:])]
        return 1e3 * statistics.median(timed)


def time_fwd_bwd(loss: Callable[[], torch.Tensor], device: torch.device, repeats: int) -> float:
    """Median ms of ``loss().backward()`` over ``repeats`` calls after an untimed one."""
    times = []
    for _ in range(1 + repeats):
        sync(device)
        start = now()
        loss().backward()
        sync(device)
        times.append(now() - start)
    return 1e3 * statistics.median(times[1:])


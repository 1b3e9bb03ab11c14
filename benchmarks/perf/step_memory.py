"""The most memory a training step needs above the level when the timed steps began (see
:mod:`kd_gan_bench.benchmarks.perf.method_step_times`): CUDA through torch's allocator, a Linux CPU through the
process's resident set (``VmHWM`` reset via ``/proc/self/clear_refs``, after glibc's ``malloc_trim``)."""
from __future__ import annotations

import ctypes
import gc

import torch


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


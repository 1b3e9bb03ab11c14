"""How long a block of a job took, in the job record's ``timings``."""
from __future__ import annotations

import time
from contextlib import contextmanager
from typing import Iterator


@contextmanager
def timed(timings: dict[str, float], name: str) -> Iterator[None]:
    """Record the block's wall time as ``<name>_s`` and its CPU time (this process, all threads) as
    ``<name>_cpu_s``: on a shared machine CPU time is what compares across runs
    (``benchmarks/perf/job_fixed_cost.py``)."""
    wall, cpu = time.perf_counter(), time.process_time()
    yield
    timings[f"{name}_s"] = time.perf_counter() - wall
    timings[f"{name}_cpu_s"] = time.process_time() - cpu

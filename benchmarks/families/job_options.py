"""What a job runs with besides its config: the grid's settings (:class:`RunOptions`) and its resumable training
state (:class:`FileCheckpointer`). The runner (:mod:`kd_gan_bench.benchmarks.execution.runner`) makes them and a family's job body reads
them through its :class:`kd_gan_bench.benchmarks.families.job_context.JobContext`; torch-free, so the launcher can import them."""
from __future__ import annotations

from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

from kd_gan_bench.benchmarks.core.store import atomic_torch_save, torch_load


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
    planned_at_ns: int = 0            # when the grid planned, by the results folder's clock (0: unknown)
    max_requeues: int = 3             # SLURM: requeues after a time limit/preemption before ``timed_out``
    seg_weights: str | None = None    # DRN-D-105 weights for mIoU tasks (None: torch.hub's cache)
    plugins: tuple[str, ...] = ()     # plugin modules the job's process imports first (kd_gan_bench.benchmarks.planning.plugins)


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
        return torch_load(self.path) if self.path.exists() else None

    def save(self, state: dict) -> None:
        atomic_torch_save(state, self.path)

    def requested(self) -> bool:
        return self.stop_requested

    def request_stop(self) -> None:
        if self._stage == "finished":
            return
        self.stop_requested = True
        if self._stage != "training":
            from kd_gan_bench.methods.core.training import PreemptedError

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
            from kd_gan_bench.methods.core.training import PreemptedError

            raise PreemptedError("stop requested at the end of training")

    def finish(self) -> None:
        self._stage = "finished"

"""Long-lived worker processes for the local executor: torch imported, and InceptionV3 and the real FID statistics
built, once per worker rather than once per job.

A grid of many small jobs spent most of its CPU time on what every job paid again in its own submitit subprocess:
the process start, ``import torch`` and the FID network (``benchmarks/perf/job_fixed_cost.py`` measures it). A
:class:`WorkerPool` keeps up to ``size`` spawned processes and runs each job in an idle one through the same entry
point, :class:`kd_gan_bench.benchmarks.execution.runner.JobRunner`, so job ids, records, claims and resumability are those of any other
executor. The caches a worker keeps between jobs are the ones keyed by everything that defines them
(:func:`kd_gan_bench.benchmarks.metrics.fid._network`, :func:`kd_gan_bench.benchmarks.metrics.fid._cached_real`).

Between jobs a worker puts back the process-wide state a job may change (torch's thread counts, deterministic and
cuDNN flags, default dtype, grad mode, the global RNGs of torch, numpy and ``random``, the environment and the
working directory) as it was when the worker started, so a job sees what it would see in a fresh process. Each job's
stdout and stderr (tracebacks, C-level output included) go to its own file, ``<run folder>/logs/<job id>.log``.

A worker asks PyTorch to put its large CPU buffers on transparent huge pages (:data:`HUGE_PAGES_SWITCH`), which
cuts the page faults of the FID network's large activations.

A worker that dies (killed, segfault, out of memory) takes only its job with it: the job's handle reports
:class:`WorkerDiedError` (the launcher records the job ``job process died (...)``) and the next job starts a fresh
worker. Workers ignore SIGINT: Ctrl-C reaches the whole process group, and the launcher stops the workers itself
(:meth:`WorkerPool.shutdown`).
"""
from __future__ import annotations

import multiprocessing
import os
import random
import signal
import sys
import traceback
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Iterator

#: Seconds a worker gets to exit after SIGTERM before it is killed.
STOP_GRACE_S = 5.0

#: PyTorch's switch (torch >= 2.2, pytorch/pytorch#115990) that backs its CPU buffers of 2 MB and more with transparent
#: huge pages. A worker sets it to 1 unless the environment already sets it: InceptionV3's activations on a batch of
#: 32 images are buffers of up to 180 MB, allocated and freed layer by layer, and with 4 KB pages the kernel faulted
#: and zeroed each one afresh: a quarter of a student's FID time alone on a core (2.4 -> 1.8 CPU s for its 32
#: translations), less beside a second busy worker (the default grid's median evaluation 2.44 -> 2.31 CPU s); the
#: rest of a job is unchanged. The kernel must allow THP (``madvise`` or ``always``), else the switch does nothing.
HUGE_PAGES_SWITCH = "THP_MEM_ALLOC_ENABLE"


class WorkerDiedError(RuntimeError):
    """The worker process running a job ended without returning the job's result."""


class JobError(RuntimeError):
    """A job raised in its worker; the message carries the exception's type, text and traceback."""


class _GlobalState:
    """The process-wide settings a job may change, captured once in a fresh worker and put back after each job."""

    def __init__(self) -> None:
        import numpy as np
        import torch

        self.threads = torch.get_num_threads()
        self.interop = torch.get_num_interop_threads()
        self.deterministic = (torch.are_deterministic_algorithms_enabled(),
                              torch.is_deterministic_algorithms_warn_only_enabled())
        self.cudnn = (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
                      torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32)
        self.matmul_precision = torch.get_float32_matmul_precision()
        self.dtype = torch.get_default_dtype()
        self.grad = torch.is_grad_enabled()
        self.rng = (torch.random.get_rng_state(), np.random.get_state(), random.getstate())
        self.environ = dict(os.environ)
        self.cwd = os.getcwd()

    def restore(self) -> None:
        import numpy as np
        import torch

        torch.set_num_threads(self.threads)  # the inter-op pool cannot be resized once used; jobs never set it
        torch.use_deterministic_algorithms(self.deterministic[0], warn_only=self.deterministic[1])
        (torch.backends.cudnn.benchmark, torch.backends.cudnn.deterministic,
         torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32) = self.cudnn
        torch.set_float32_matmul_precision(self.matmul_precision)
        torch.set_default_dtype(self.dtype)
        torch.set_grad_enabled(self.grad)
        torch.random.set_rng_state(self.rng[0])  # CUDA's generators: jobs seed every device (torch.manual_seed)
        np.random.set_state(self.rng[1])
        random.setstate(self.rng[2])
        os.environ.clear()
        os.environ.update(self.environ)
        os.chdir(self.cwd)


@contextmanager
def _output_to(path: Path) -> Iterator[None]:
    """Send this process's stdout and stderr (file descriptors 1 and 2, so C-level output too) to ``path``."""
    path.parent.mkdir(parents=True, exist_ok=True)
    sys.stdout.flush()
    sys.stderr.flush()
    saved = os.dup(1), os.dup(2)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o666)  # the umask applies, as for every results file
    try:
        os.dup2(fd, 1)
        os.dup2(fd, 2)
        yield
    finally:
        sys.stdout.flush()
        sys.stderr.flush()
        os.dup2(saved[0], 1)
        os.dup2(saved[1], 2)
        for f in (fd, *saved):
            os.close(f)


def _serve(conn: Any) -> None:
    """A worker's loop: receive ``(callable, log path)``, run it with its output in that file, send back
    ``("ok", result)`` or ``("error", text)``; a ``None`` message ends it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    os.environ.setdefault(HUGE_PAGES_SWITCH, "1")  # before torch is imported: it reads the switch once
    baseline = _GlobalState()
    while True:
        try:
            message = conn.recv()
        except EOFError:
            return
        if message is None:
            return
        fn, log_path = message
        with _output_to(Path(log_path)):
            try:
                reply = ("ok", fn())
            except BaseException as exc:  # SystemExit from a job must not end the worker silently either
                traceback.print_exc()
                reply = ("error", f"{type(exc).__name__}: {exc}\n{traceback.format_exc()}")
        baseline.restore()
        conn.send(reply)


class _Worker:
    """One spawned worker process and its end of the pipe."""

    def __init__(self, context: Any) -> None:
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_serve, args=(child,), name="kdgan-worker")
        self.process.start()
        child.close()
        self.job: WorkerJob | None = None

    def stop(self) -> None:
        if self.process.is_alive():
            self.process.terminate()
            self.process.join(STOP_GRACE_S)
        if self.process.is_alive():
            self.process.kill()
            self.process.join()
        self.conn.close()


class WorkerJob:
    """The handle of a job given to a worker, with the part of submitit's ``Job`` interface the launcher uses."""

    def __init__(self, worker: _Worker, log_path: Path) -> None:
        self.worker, self.log_path = worker, log_path
        self._reply: tuple[str, Any] | None = None

    def done(self) -> bool:
        if self._reply is not None:
            return True
        conn, process = self.worker.conn, self.worker.process
        try:
            if conn.poll():
                self._reply = conn.recv()
        except (EOFError, OSError):
            pass
        if self._reply is None and not process.is_alive():
            process.join()
            code = process.exitcode
            how = f"killed by signal {signal.Signals(-code).name}" if code and code < 0 else f"exit code {code}"
            self._reply = ("died", f"worker process {process.pid} ended ({how}) without the job's result; "
                                   f"its output: {self.log_path}")
        if self._reply is not None:
            self.worker.job = None
        return self._reply is not None

    def exception(self) -> BaseException | None:
        self._wait()
        kind, value = self._reply
        if kind == "died":
            return WorkerDiedError(value)
        return JobError(value) if kind == "error" else None

    def result(self) -> Any:
        error = self.exception()
        if error is not None:
            raise error
        return self._reply[1]

    def _wait(self) -> None:
        while not self.done():
            self.worker.conn.poll(0.1)


class WorkerPool:
    """Up to ``size`` long-lived spawned workers, started as jobs need them; dead ones are replaced."""

    def __init__(self, size: int, log_dir: Path) -> None:
        self.size, self.log_dir = size, log_dir
        self.context = multiprocessing.get_context("spawn")
        self.workers: list[_Worker] = []

    def submit(self, fn: Callable[[], Any], name: str) -> WorkerJob:
        """Run ``fn`` (picklable) in an idle worker, its output in ``<log_dir>/<name>.log``."""
        self.workers = [w for w in self.workers if w.process.is_alive() or w.job is not None]
        worker = next((w for w in self.workers if w.job is None), None)
        if worker is None:
            if len(self.workers) >= self.size:
                raise RuntimeError(f"all {self.size} workers are busy")
            worker = _Worker(self.context)
            self.workers.append(worker)
        log_path = self.log_dir / f"{name}.log"
        worker.job = WorkerJob(worker, log_path)
        worker.conn.send((fn, str(log_path)))
        return worker.job

    def shutdown(self) -> None:
        """Stop every worker (SIGTERM, then SIGKILL after :data:`STOP_GRACE_S`)."""
        for worker in self.workers:
            worker.stop()
        self.workers = []

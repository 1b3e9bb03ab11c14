"""Wall-clock latency of one batch-1 forward pass.

Protocol: the model in eval mode under ``torch.inference_mode``, ``warmup`` untimed forwards (first
calls pay for allocator growth, cuDNN autotuning, lazy initialisation), then ``repeats`` timed
forwards, each timed on its own with ``time.perf_counter``; on CUDA the device is synchronised
before and after every timed forward, since kernel launches are asynchronous. We report the median
(robust to the occasional scheduler hiccup) and the interquartile range. Latency depends on the
machine, threads and library versions, so it is recorded together with how it was measured (device and
its name, runtime: torch with CUDA/cuDNN versions or CPU, torch threads, batch 1, warm-up and timed repeats,
median and IQR) and is only comparable within one machine; MACs (``complexity.count_macs``) are the portable
cost measure. The report shows the protocol as a footnote of its latency column.
"""
from __future__ import annotations

import platform
import statistics
import time
from typing import Any

import torch
from torch import nn

__all__ = ["measure_latency", "latency_protocol"]


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure_latency(model: nn.Module, input_shape: tuple[int, ...], device: torch.device,
                    warmup: int = 3, repeats: int = 10) -> dict[str, Any]:
    """Median and IQR of batch-1 forward times of ``model`` on ``device``, in milliseconds.

    ``input_shape`` is the input shape with or without the batch dimension; the batch is forced
    to 1. The model is moved to ``device`` (and stays there) and put in eval mode; its previous
    train/eval mode is restored afterwards.

    Returns ``{"latency_ms", "latency_ms_iqr", "latency_repeats", "latency_device"}`` and the protocol
    (:func:`latency_protocol`).
    """
    if repeats < 1:
        raise ValueError(f"repeats must be >= 1, got {repeats}")
    device = torch.device(device)
    shape = tuple(int(s) for s in input_shape)
    if len(shape) == 4:
        shape = shape[1:]
    ref = next(iter(model.parameters()), None)
    dtype = ref.dtype if ref is not None and ref.is_floating_point() else torch.float32
    model.to(device)
    x = torch.randn((1, *shape), generator=torch.Generator().manual_seed(0), dtype=torch.float32).to(device, dtype)

    was_training = model.training
    times_ms: list[float] = []
    try:
        model.eval()
        with torch.inference_mode():
            for _ in range(max(0, warmup)):
                model(x)
            for _ in range(repeats):
                _sync(device)
                t0 = time.perf_counter()
                model(x)
                _sync(device)
                times_ms.append((time.perf_counter() - t0) * 1e3)
    finally:
        model.train(was_training)

    if len(times_ms) >= 2:
        q1, _, q3 = statistics.quantiles(times_ms, n=4, method="inclusive")
        iqr = q3 - q1
    else:
        iqr = 0.0
    return {
        "latency_ms": float(statistics.median(times_ms)),
        "latency_ms_iqr": float(iqr),
        "latency_repeats": int(repeats),
        "latency_device": str(device),
        **latency_protocol(device, warmup),
    }


def latency_protocol(device: torch.device, warmup: int) -> dict[str, Any]:
    """How a latency was measured: device name, runtime (torch and CUDA/cuDNN versions, or CPU), torch threads,
    batch size and warm-up forwards."""
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        runtime = f"torch {torch.__version__}, CUDA {torch.version.cuda}, cuDNN {torch.backends.cudnn.version()}"
    else:
        name = platform.processor() or platform.machine() or "cpu"
        runtime = f"torch {torch.__version__}, CPU"
    return {"latency_device_name": name, "latency_runtime": runtime, "latency_threads": torch.get_num_threads(),
            "latency_batch": 1, "latency_warmup": max(0, int(warmup))}

"""What a network costs, recorded by every model job (``kd_gan_bench.benchmarks.families.job_context.compression_metrics``)."""
from __future__ import annotations

from kd_gan_bench.benchmarks.metrics import describe_metric

for _name, _label, _hib, _unit, _fmt, _text in (
    ("params", "Params (M)", False, "M", "{:.3f}", "trainable + buffer-free parameters of the model, millions"),
    ("macs", "MACs (G)", False, "G", "{:.3f}",
     "multiply-accumulates of one forward at the task resolution, literature convention (torchprofile)"),
    ("latency_ms", "Latency (ms)", False, "ms", "{:.2f}", "median batch-1 forward time after warm-up"),
    ("macs_ratio", "MACs ratio", True, "", "{:.1f}x", "teacher MACs / student MACs"),
    ("params_ratio", "Params ratio", True, "", "{:.1f}x", "teacher params / student params"),
):
    describe_metric(_name, label=_label, higher_is_better=_hib, unit=_unit, fmt=_fmt, kind="cost", description=_text)

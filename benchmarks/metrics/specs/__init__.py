"""The metric spec modules: each registers its metric(s) with :func:`benchmarks.metrics.metric` when
imported, and imports nothing heavy at module level. Every module here is loaded by
:data:`benchmarks.metrics.METRICS` on first use."""

"""The metric spec modules: each registers its metric(s) with :func:`kd_gan_bench.benchmarks.metrics.metric` when
imported, and imports nothing heavy at module level. Every module here is loaded by
:data:`kd_gan_bench.benchmarks.metrics.METRICS` on first use."""

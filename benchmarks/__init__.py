"""The benchmark harness (``kd_gan_bench.benchmarks``), in rooms by concern, bottom to top: ``core`` (registries,
job config, result store files), ``metrics``, ``families``, ``planning``, ``records``, ``execution``, then ``cli`` on
top (``perf``: measurement scripts). Empty on purpose: ``python -m benchmarks.run`` loads it under the checkout's
name, and nothing else may be (see ``run.py``)."""

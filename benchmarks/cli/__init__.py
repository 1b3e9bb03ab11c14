"""The command line, the top layer: ``python -m kd_gan_bench.benchmarks.run`` dispatches into :mod:`.main`; only this room imports ``report``."""

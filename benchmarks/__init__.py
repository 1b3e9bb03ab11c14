"""The benchmark harness: registries, suites, grid expansion, launcher, job runner, result store, metrics, CLI."""

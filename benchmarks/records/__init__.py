"""Reading records back: the results table, provenance (how to make a record again), reruns and the published reference numbers."""

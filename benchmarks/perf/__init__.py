"""Performance measurements of the harness itself (not of the methods)."""

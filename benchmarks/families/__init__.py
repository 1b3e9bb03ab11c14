"""Each task family's declaration and job body, and what the runner hands a body (its context, options and checkpointer)."""

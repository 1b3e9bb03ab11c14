"""The method contract, the student loops, training state and the planning helpers every method shares (torch only
where a module says so: importing this package imports nothing)."""

"""Benchmarks: ``python -m bench [AREA...] [--quick]`` runs them and prints one table per area."""

"""The expression tests' fixtures (the helpers themselves are in expr_harness.py, importable by name)."""

from tests.unit.gateway.rules.expr_harness import compile_, env

__all__ = ["compile_", "env"]

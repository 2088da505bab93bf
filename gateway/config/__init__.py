"""Mapping files: YAML with line numbers, two-phase validation, profiles and cross-file checks."""

from typing import Any

from gateway.config.errors import ConfigError, ConfigErrors

__all__ = ["ConfigError", "ConfigErrors", "load_mappings"]


def __getattr__(name: str) -> Any:
    # Imported lazily: adapters import gateway.config.models, and the loader imports adapters.
    if name == "load_mappings":
        from gateway.config.loader import load_mappings

        return load_mappings
    raise AttributeError(name)

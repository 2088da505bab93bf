"""Mapping files: YAML with line numbers, two-phase validation, profiles and cross-file checks."""

from gateway.config.errors import ConfigError, ConfigErrors
from gateway.config.loader import load_mappings

__all__ = ["ConfigError", "ConfigErrors", "load_mappings"]

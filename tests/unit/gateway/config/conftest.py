"""Helpers for mapping tests: load in-memory files, or collect every error line they produce."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.model import TwinModel

SIM = "sources:\n  - {id: sim1, kind: sim, interval: 100ms}\n"

Load = Callable[..., TwinModel]
Errors = Callable[..., list[str]]


def _load(text: str = "", **more: str) -> TwinModel:
    files = {"m.yaml": text, **{f"{name}.yaml": t for name, t in more.items()}}
    return load_mappings(list(files), texts=files, env={})


def _errors(text: str = "", **more: str) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        _load(text, **more)
    return [str(e) for e in exc.value.errors]


@pytest.fixture
def load() -> Load:
    """``load(text, other=text2)``: the model of m.yaml (and other.yaml ...)."""
    return _load


@pytest.fixture
def errors() -> Errors:
    """``errors(text, other=text2)``: every error line of loading them (the load must fail)."""
    return _errors

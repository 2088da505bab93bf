"""Northbound services by the name of their section under ``gateway:`` in a mapping.

Each service contributes the pydantic model of its section, like adapters do, so the core schema never
changes when a service is added. A service is built from (config, view) and has async start/stop: the view
(``gateway.twin.view.TwinView``) is all of the running gateway it sees.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import import_module
from typing import TYPE_CHECKING, Protocol

from pydantic import BaseModel

if TYPE_CHECKING:
    from gateway.twin.view import TwinView


class Service(Protocol):
    """A running northbound face of the twin."""

    name: str

    async def start(self) -> None:
        """Start serving."""

    async def stop(self) -> None:
        """Stop serving; idempotent."""

    def endpoints(self) -> list[str]:
        """Where clients connect (for the start-up summary)."""


@dataclass(frozen=True)
class ServiceSpec:
    """How to validate and build one service."""

    name: str
    config_model: type[BaseModel]
    factory: str  # "module:callable" taking (config, view) -> Service
    default_enabled: bool = True

    def build(self, config: BaseModel, view: TwinView) -> Service:
        """Instantiate the service over the twin's view."""
        module, _, attr = self.factory.partition(":")
        return getattr(import_module(module), attr)(config, view)


# section name -> "module:SPEC" (imported lazily so the core loads without every service's dependencies)
BUILTIN: dict[str, str] = {
    "opcua": "gateway.northbound.opcua.config:SPEC",
    "http": "gateway.northbound.http.config:SPEC",
}


def service_specs() -> dict[str, ServiceSpec]:
    """Every service whose module is present."""
    out: dict[str, ServiceSpec] = {}
    for name, target in BUILTIN.items():
        module, _, attr = target.partition(":")
        try:
            out[name] = getattr(import_module(module), attr)
        except ImportError:
            continue
    return out

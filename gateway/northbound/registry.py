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
    from gateway.model import TwinModel
    from gateway.twin.view import TwinView


@dataclass(frozen=True)
class ServiceIssue:
    """A problem a service finds in its settings only once the model is known (e.g. two points on one topic):
    ``path`` is below the service's section (``("brokers", 0, "uns", "topic")``), the loader adds file:line."""

    path: tuple[str | int, ...]
    message: str


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
    # "module:callable" taking (config, TwinModel) -> list[ServiceIssue]: checks that need the assets and points
    check: str | None = None

    def build(self, config: BaseModel, view: TwinView) -> Service:
        """Instantiate the service over the twin's view."""
        module, _, attr = self.factory.partition(":")
        return getattr(import_module(module), attr)(config, view)

    def check_model(self, config: BaseModel, model: TwinModel) -> list[ServiceIssue]:
        """The settings' problems with this model (none without a ``check``)."""
        if self.check is None:
            return []
        module, _, attr = self.check.partition(":")
        issues: list[ServiceIssue] = getattr(import_module(module), attr)(config, model)
        return issues


# section name -> "module:SPEC" (imported lazily so the core loads without every service's dependencies)
BUILTIN: dict[str, str] = {
    "opcua": "gateway.northbound.opcua.config:SPEC",
    "http": "gateway.northbound.http.config:SPEC",
    "mqtt": "gateway.northbound.mqtt.config:SPEC",
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

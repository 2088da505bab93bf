"""Adapters by ``kind``: the built-in list plus third-party adapters from the ``twinbridge.adapters`` entry points."""

from __future__ import annotations

import logging
from importlib import import_module
from importlib.metadata import entry_points

from adapters.contract.adapter import Adapter, DiscoveryCommand

log = logging.getLogger(__name__)

# kind -> "module:Class"; imported lazily so a missing optional dependency only hurts its own kind.
BUILTIN: dict[str, str] = {
    "sim": "adapters.sim.adapter:SimAdapter",
    "modbus": "adapters.modbus.adapter:ModbusAdapter",
    "opcua": "adapters.opcua.adapter:OpcUaAdapter",
    "mqtt": "adapters.mqtt.adapter:MqttAdapter",
}

_loaded: dict[str, type[Adapter]] = {}


class UnknownAdapter(LookupError):
    """No adapter is registered for a kind."""


def known_kinds() -> list[str]:
    """Every kind that can be used in a mapping."""
    kinds = set(_loaded) | {k for k, v in BUILTIN.items() if _importable(v)}
    kinds |= {ep.name for ep in entry_points(group="twinbridge.adapters")}
    return sorted(kinds)


def _importable(target: str) -> bool:
    module = target.split(":", maxsplit=1)[0]
    try:
        import_module(module)
    except ImportError:
        return False
    return True


def register(cls: type[Adapter]) -> type[Adapter]:
    """Register an adapter class under its ``kind`` (usable as a decorator)."""
    _loaded[cls.kind] = cls
    return cls


def get_adapter(kind: str) -> type[Adapter]:
    """The adapter class for ``kind``; ``UnknownAdapter`` names the known kinds."""
    if kind in _loaded:
        return _loaded[kind]
    target = BUILTIN.get(kind)
    if target is None:
        for ep in entry_points(group="twinbridge.adapters"):
            if ep.name == kind:
                target = ep.value
                break
    if target is None:
        raise UnknownAdapter(f"unknown adapter kind '{kind}' (known: {', '.join(known_kinds())})")
    module, _, attr = target.partition(":")
    try:
        cls = getattr(import_module(module), attr)
    except (ImportError, AttributeError) as exc:
        raise UnknownAdapter(f"adapter kind '{kind}' cannot be loaded: {exc}") from exc
    _loaded[kind] = cls
    return cls


def discovery_kinds() -> list[str]:
    """The kinds whose adapter offers ``twinbridge discover <kind>``."""
    out = []
    for kind in known_kinds():
        try:
            if get_adapter(kind).discovery:
                out.append(kind)
        except UnknownAdapter:  # a broken third-party adapter offers nothing
            continue
    return out


def get_discovery(kind: str) -> DiscoveryCommand:
    """The discovery command of ``kind``; ``UnknownAdapter`` names the kinds that offer one."""
    try:
        target = get_adapter(kind).discovery
    except UnknownAdapter:
        target = None
    if not target:
        raise UnknownAdapter(f"no discovery for kind '{kind}' (offered by: {', '.join(discovery_kinds()) or 'none'})")
    module, _, attr = target.partition(":")
    command: DiscoveryCommand = getattr(import_module(module), attr)
    return command

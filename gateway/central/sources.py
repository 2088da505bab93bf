"""What a mirrored point reads from: a read-only copy of its edge source and of its protocol address.

The central view has no adapters. Each edge source becomes a ``RemoteSource`` named ``<gateway>.<source>`` (edge
source ids have no dot, so two gateways' ``plc1`` never collide and the name splits back unambiguously), and each
point's protocol address a ``RemoteAddress`` carrying what the edge wrote about it (its reference class, target
and triples), so the central view's graph, REST and OPC UA describe it as the edge does.
"""

from __future__ import annotations

import functools
from typing import Any

from pydantic import Field

from adapters.contract.config import Address, SourceConfig

REMOTE_KIND = "remote"


def source_id(gateway: str, source: str) -> str:
    """The central view's id of an edge gateway's source."""
    return f"{gateway}.{source}"


class RemoteSource(SourceConfig):
    """An edge gateway's source as the central view lists it (no connection of its own)."""

    id: str  # <gateway>.<source>: a gateway name may hold dots, an edge Id may not
    kind: str = REMOTE_KIND
    gateway: str = Field(description="the edge gateway that owns the source")
    source: str = Field(description="the source's id on that gateway")
    source_kind: str = Field(description="the edge source's kind (modbus, opcua...)")
    edge_endpoint: str | None = None

    def endpoint(self) -> str | None:
        return self.edge_endpoint


class RemoteAddress(Address):
    """A point's protocol address as its edge gateway described it in the graph (read only here)."""

    gateway: str
    target_uri: str | None = Field(None, serialization_alias="target")
    address_writable: bool = Field(True, serialization_alias="writable")
    # (predicate IRI, object) as the edge wrote them; an object is an IRI or a plain literal value
    triples: tuple[tuple[str, Any], ...] = ()

    def writable(self) -> bool:
        return self.address_writable

    def rdf(self) -> list[tuple[str, Any]]:
        return list(self.triples)

    def target(self, source: SourceConfig) -> str | None:
        return self.target_uri


@functools.cache
def address_class(ref_class: str) -> type[RemoteAddress]:
    """A RemoteAddress subclass whose ``ref_class`` is the edge address's (a class variable in the contract)."""
    name = "RemoteAddress_" + "".join(c if c.isalnum() else "_" for c in ref_class.rsplit("#", 1)[-1])
    cls: type[RemoteAddress] = type(name, (RemoteAddress,), {"ref_class": ref_class, "__module__": __name__})
    return cls


def make_address(
    ref_class: str, gateway: str, target: str | None, writable: bool, triples: list[tuple[str, Any]]
) -> RemoteAddress:
    """The read-only address of a mirrored point."""
    return address_class(ref_class)(
        gateway=gateway, target_uri=target, address_writable=writable, triples=tuple(triples)
    )

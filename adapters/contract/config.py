"""The config bases every adapter's source and address models subclass, and their field types."""

from __future__ import annotations

import random
from collections.abc import Iterator
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field

from adapters.contract.types import Duration, Id


class StrictModel(BaseModel):
    """Base of every mapping model: unknown keys are errors, instances are immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class ReconnectSettings(StrictModel):
    """Capped exponential backoff between connection attempts."""

    initial: Duration = 1.0
    max: Duration = 30.0
    jitter: float = Field(0.2, ge=0.0, le=1.0, description="random fraction added to or taken from each delay")

    def delays(self, rng: random.Random | None = None) -> Iterator[float]:
        """The waits between attempts: initial, 2*initial, ... max, max, ..., each +-jitter."""
        return backoff_delays(self.initial, self.max, self.jitter, rng)


def backoff_delays(initial: float, cap: float, jitter: float, rng: random.Random | None = None) -> Iterator[float]:
    """Capped doubling delays with +-jitter: initial, 2*initial, ... cap, cap, ..."""
    rng = rng or random.Random()
    delay = initial
    while True:
        spread = delay * jitter
        yield max(0.0, delay + rng.uniform(-spread, spread))
        delay = min(cap, delay * 2)


class SourceConfig(StrictModel):
    """Settings every source has; an adapter's ``config_model`` subclasses this with its own fields."""

    id: Id
    kind: str
    label: str | None = None
    enabled: bool = True
    reconnect: ReconnectSettings = ReconnectSettings()
    on_disconnect: Literal["bad", "uncertain"] = Field(
        "bad",
        description="while the source is down, mark its points Bad, or keep the last value as Uncertain",
    )
    history: dict[str, Any] | None = Field(None, description="what to record of its points' past (docs/history.md)")

    def endpoint(self) -> str | None:
        """A credential-free description of where the source connects (shown in the graph and logs)."""
        url = getattr(self, "url", None)
        return str(url) if url else None


class Address(StrictModel):
    """Base of an adapter's per-point address model."""

    ref_class: ClassVar[str] = "https://w3id.org/twinbridge#ProtocolReference"

    def writable(self) -> bool:
        """Whether the address itself can be written (an input register cannot)."""
        return True

    def rdf(self) -> list[tuple[str, Any]]:
        """Adapter-specific (predicate IRI, object) pairs describing this address in the graph.

        Objects are ``adapters.contract.rdf.IRI`` for resources, else plain Python literals.
        """
        return []

    def target(self, source: SourceConfig) -> str | None:
        """A URI form of the address for ``hctl:hasTarget`` (e.g. ``modbus+tcp://host:502/1/40001``)."""
        return None

    def with_offset(self, offset: int) -> Self:
        """The same address moved by ``offset`` (used by profile instances); unsupported by default."""
        raise ValueError("address_offset is not supported by this kind of source")

    def key(self) -> str | None:
        """A string identifying the device location this address reads, for duplicate/overlap checks."""
        return None

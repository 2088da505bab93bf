"""The ``echo`` adapter: each point repeats the value its address names, every ``interval``.

It imports only the adapter contract, like a third-party adapter shipped in its own distribution.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any, Literal

from pydantic import Field

from adapters.contract.adapter import Adapter
from adapters.contract.config import Address, SourceConfig
from adapters.contract.rdf import TB
from adapters.contract.sample import Sample, utcnow
from adapters.contract.types import Duration


class EchoSourceConfig(SourceConfig):
    """An echo source: how often every point repeats its value."""

    kind: Literal["echo"] = "echo"
    interval: Duration = 0.02


class EchoAddress(Address):
    """The value a point repeats, and a free note (profiles may leave ``{echo_run}`` in it)."""

    ref_class = TB + "EchoReference"

    value: float = Field(ge=0, description="the value to repeat (not negative)")
    note: str | None = None

    def rdf(self) -> list[tuple[str, Any]]:
        """tb:echoValue (declared in this folder's ontology.ttl)."""
        return [(TB + "echoValue", self.value)]


class EchoAdapter(Adapter):
    """Repeats each point's address value until stopped."""

    kind = "echo"
    config_model = EchoSourceConfig
    address_model = EchoAddress
    profile_placeholders = frozenset({"echo_run"})
    discovery = "tests.integration.gateway.runtime.echo_plugin.discover:main"

    config: EchoSourceConfig

    async def start(self) -> None:
        """Nothing to connect to."""
        self._stopped = asyncio.Event()

    async def stop(self) -> None:
        """Let ``samples()`` end."""
        self._stopped.set()

    async def samples(self) -> AsyncIterator[Sample]:
        """One sample per point and interval."""
        while not self._stopped.is_set():
            now = utcnow()
            for p in list(self.points.values()):
                assert isinstance(p.address, EchoAddress)
                yield Sample(p.id, p.address.value, now, adapter=self.name)
            try:
                await asyncio.wait_for(self._stopped.wait(), self.config.interval)
            except TimeoutError:
                continue

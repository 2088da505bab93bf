"""A gateway's claim on its name in the shared store: one lease per name, so two gateways never share graphs.

The claim is one conditional SPARQL update (atomic in a transactional store): it replaces the lease triples
only when nobody else holds an unexpired lease, then a read-back says who holds it. A gateway renews well before
expiry; one that stops releases it, so its successor starts at once, and one that crashed is succeeded when the
lease runs out. Clocks of the gateways are compared through the expiry times they write: keep them in NTP sync.
"""

from __future__ import annotations

import os
import socket
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from adapters.contract.rdf import RDF
from gateway.remote_store.client import SparqlStore
from gateway.remote_store.graphs import (
    BASE_IRI,
    GATEWAY_CLASS,
    HOST,
    INSTANCE,
    LEASE_UNTIL,
    NAME,
    STARTED_AT,
    GatewayGraphs,
)
from gateway.twin.terms import datetime_literal, string_literal

_LEASE_TERMS = (INSTANCE, HOST, LEASE_UNTIL, STARTED_AT)


@dataclass(frozen=True, slots=True)
class Holder:
    """Who holds a name's lease, as the store says."""

    instance: str
    host: str
    until: datetime | None


class NameTaken(Exception):
    """Another running gateway holds this name's lease."""

    def __init__(self, name: str, holder: Holder) -> None:
        self.holder = holder
        until = holder.until.isoformat(timespec="seconds") if holder.until else "?"
        super().__init__(
            f"gateway name {name!r} is held by another gateway (instance {holder.instance} on {holder.host}, "
            f"lease until {until}); give this gateway another twin name, or stop the other"
        )


class Lease:
    """One gateway instance's lease on its name."""

    def __init__(self, store: SparqlStore, graphs: GatewayGraphs, base_iri: str, duration: float) -> None:
        self.store = store
        self.graphs = graphs
        self.base_iri = base_iri
        self.duration = duration
        self.instance = os.urandom(8).hex()
        self.host = f"{socket.gethostname()} pid {os.getpid()}"
        self.started = datetime.now(UTC)
        self.until: datetime | None = None

    def _claim_update(self, now: datetime) -> str:
        g, gw = self.graphs.meta, self.graphs.gateway
        until = now + timedelta(seconds=self.duration)
        terms = ", ".join(f"<{t}>" for t in _LEASE_TERMS)
        # Plain DELETE WHERE + INSERT DATA: conditional updates (FILTER NOT EXISTS) are not evaluated alike by
        # every store (Virtuoso 7 inserts regardless), so the condition is checked by reading before and after.
        return f"""DELETE {{ GRAPH <{g}> {{ <{gw}> ?p ?o }} }} WHERE {{ GRAPH <{g}> {{ <{gw}> ?p ?o }}
  FILTER (?p IN ({terms})) }} ;
INSERT DATA {{ GRAPH <{g}> {{
  <{gw}> <{RDF}type> <{GATEWAY_CLASS}> ; <{NAME}> {string_literal(self.graphs.name)} ;
    <{BASE_IRI}> {string_literal(self.base_iri)} ;
    <{INSTANCE}> {string_literal(self.instance)} ; <{HOST}> {string_literal(self.host)} ;
    <{LEASE_UNTIL}> {datetime_literal(until)} ; <{STARTED_AT}> {datetime_literal(self.started)} . }} }}"""

    async def holders(self) -> list[Holder]:
        """Every lease the store holds for this name (one, unless two gateways raced a store without
        transactions)."""
        g, gw = self.graphs.meta, self.graphs.gateway
        rows = await self.store.select(
            f"""SELECT ?i ?h ?u WHERE {{ GRAPH <{g}> {{ <{gw}> <{INSTANCE}> ?i .
                OPTIONAL {{ <{gw}> <{HOST}> ?h }} OPTIONAL {{ <{gw}> <{LEASE_UNTIL}> ?u }} }} }}"""
        )
        out = []
        for row in rows:
            until = _parse_time(row["u"].value) if "u" in row else None
            out.append(Holder(row["i"].value, row["h"].value if "h" in row else "?", until))
        return out

    async def claim(self) -> None:
        """Take or renew the lease; :class:`NameTaken` when another instance holds it unexpired.

        Two instances racing for a free name may both write their lease; the read-back then finds both, and the
        smaller instance id keeps the name while the other withdraws, so exactly one wins.
        """
        now = datetime.now(UTC)
        others = [h for h in await self.holders() if h.instance != self.instance and _alive(h, now)]
        if others:
            self.until = None
            raise NameTaken(self.graphs.name, others[0])
        await self.store.update(self._claim_update(now))
        holders = await self.holders()
        rivals = sorted((h for h in holders if h.instance != self.instance and _alive(h, now)), key=_key)
        ours = [h for h in holders if h.instance == self.instance]
        if not ours or (rivals and rivals[0].instance < self.instance):
            self.until = None
            if ours:
                await self._withdraw()
            raise NameTaken(self.graphs.name, rivals[0] if rivals else Holder("?", "?", None))
        self.until = ours[0].until

    async def _withdraw(self) -> None:
        g, gw = self.graphs.meta, self.graphs.gateway
        lease = " ".join(f"<{gw}> <{t}> ?o{i} ." for i, t in enumerate(_LEASE_TERMS[1:], 1))
        await self.store.update(
            f"""DELETE {{ GRAPH <{g}> {{ <{gw}> <{INSTANCE}> {string_literal(self.instance)} . {lease} }} }}
WHERE {{ GRAPH <{g}> {{ <{gw}> <{INSTANCE}> {string_literal(self.instance)} . {lease} }} }}"""
        )

    async def release(self) -> None:
        """Give the lease up (only if it is still ours), so a successor need not wait for it to expire."""
        g, gw = self.graphs.meta, self.graphs.gateway
        await self.store.update(
            f"""DELETE {{ GRAPH <{g}> {{ <{gw}> <{LEASE_UNTIL}> ?u }} }}
INSERT {{ GRAPH <{g}> {{ <{gw}> <{LEASE_UNTIL}> {datetime_literal(datetime.now(UTC))} }} }}
WHERE {{ GRAPH <{g}> {{ <{gw}> <{INSTANCE}> {string_literal(self.instance)} ; <{LEASE_UNTIL}> ?u }} }}"""
        )
        self.until = None


def _alive(holder: Holder, now: datetime) -> bool:
    return holder.until is None or holder.until > now


def _key(holder: Holder) -> str:
    return holder.instance


def _parse_time(text: str) -> datetime | None:
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return t if t.tzinfo is not None else t.replace(tzinfo=UTC)

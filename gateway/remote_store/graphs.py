"""The graphs one gateway owns in a shared store, and the terms of its ``meta`` graph (lease, model hash).

``<graph>gateway/<name>/model`` and ``/live`` hold exactly the gateway's own model and live graphs;
``/meta`` its claim on the name (instance id, host, lease expiry) and what it last pushed (model hash and
triple count, so a catch-up can tell cheaply whether the store lost the model). ``<graph>ontology`` is shared:
every gateway only ever inserts into it, so none removes what another needs.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.contract.rdf import TB

GATEWAY_CLASS = TB + "Gateway"
NAME = TB + "name"
INSTANCE = TB + "instance"
HOST = TB + "host"
LEASE_UNTIL = TB + "leaseUntil"
STARTED_AT = TB + "startedAt"
BASE_IRI = TB + "baseIri"
MODEL_HASH = TB + "modelHash"
MODEL_TRIPLES = TB + "modelTriples"
ONTOLOGY_HASH = TB + "ontologyHash"


@dataclass(frozen=True, slots=True)
class GatewayGraphs:
    """IRIs of one gateway's graphs in the store."""

    base: str  # the store's graph base (StoreSettings.graph, else the twin's base_iri)
    name: str

    @property
    def gateway(self) -> str:
        """The gateway itself (subject of its meta triples)."""
        return f"{self.base}gateway/{self.name}"

    @property
    def model(self) -> str:
        return f"{self.gateway}/model"

    @property
    def live(self) -> str:
        return f"{self.gateway}/live"

    @property
    def meta(self) -> str:
        return f"{self.gateway}/meta"

    @property
    def ontology(self) -> str:
        """The shared ontology graph."""
        return f"{self.base}ontology"

    @staticmethod
    def name_of(base: str, graph_iri: str) -> str | None:
        """The gateway name of one of its graph IRIs, or None."""
        prefix = f"{base}gateway/"
        if not graph_iri.startswith(prefix):
            return None
        name, _, kind = graph_iri[len(prefix) :].partition("/")
        return name if kind in ("model", "live", "meta") else None

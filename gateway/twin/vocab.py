"""IRIs the twin materializes (see docs/twin-graph.md)."""

from __future__ import annotations

from adapters.contract.rdf import BRICK, HCTL, MODV, MQV, QK, QUDT, RDF, RDFS, REF, SOSA, TB, UNIT, XSD

RDF_TYPE = RDF + "type"
LABEL = RDFS + "label"
COMMENT = RDFS + "comment"

# live-state properties, in the order they are written
VALUE = TB + "value"
SOURCE_TIME = TB + "sourceTime"
GATEWAY_TIME = TB + "gatewayTime"
QUALITY = TB + "quality"
STATUS_CODE = TB + "statusCode"
QUALITY_REASON = TB + "qualityReason"
QUALITY_CHANGED_AT = TB + "qualityChangedAt"
QUALITY_IRIS = (TB + "Good", TB + "Uncertain", TB + "Bad")

PREFIXES: dict[str, str] = {
    "tb": TB,
    "brick": BRICK,
    "ref": REF,
    "sosa": SOSA,
    "qudt": QUDT,
    "unit": UNIT,
    "quantitykind": QK,
    "hctl": HCTL,
    "modv": MODV,
    "mqv": MQV,
    "xsd": XSD,
    "rdf": RDF,
    "rdfs": RDFS,
}


class TwinIRIs:
    """Instance IRIs under a twin's base IRI."""

    __slots__ = ("base", "graph_live", "graph_model", "graph_ontology")

    def __init__(self, base: str) -> None:
        self.base = base
        self.graph_model = base + "graph/model"
        self.graph_live = base + "graph/live"
        self.graph_ontology = base + "graph/ontology"

    def asset(self, aid: str) -> str:
        """IRI of an asset."""
        return f"{self.base}asset/{aid}"

    def point(self, pid: str) -> str:
        """IRI of a point."""
        return f"{self.base}point/{pid}"

    def ref(self, pid: str) -> str:
        """IRI of a point's protocol address."""
        return f"{self.base}point/{pid}/ref"

    def location(self, lid: str) -> str:
        """IRI of a location."""
        return f"{self.base}location/{lid}"

    def source(self, sid: str) -> str:
        """IRI of a source."""
        return f"{self.base}source/{sid}"

    def point_id(self, point_iri: str) -> str | None:
        """The point id of a point IRI, or None."""
        prefix = self.base + "point/"
        if point_iri.startswith(prefix) and "/" not in point_iri[len(prefix) :]:
            return point_iri[len(prefix) :]
        return None

    def asset_id(self, asset_iri: str) -> str | None:
        """The asset id of an asset IRI, or None."""
        prefix = self.base + "asset/"
        return asset_iri[len(prefix) :] if asset_iri.startswith(prefix) else None

    def location_id(self, location_iri: str) -> str | None:
        """The location id of a location IRI, or None."""
        prefix = self.base + "location/"
        return location_iri[len(prefix) :] if location_iri.startswith(prefix) else None

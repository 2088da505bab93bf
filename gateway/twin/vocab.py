"""IRIs the twin materializes (see docs/twin-graph.md)."""

from __future__ import annotations

from urllib.parse import quote

from adapters.contract.rdf import BRICK, HCTL, MODV, MQV, QK, QUDT, RDF, RDFS, REF, SOSA, TB, UNIT, XSD

# characters of a property key kept as they are in its IRI (a prefixed key such as ex:warrantyEnd keeps its colon)
_KEY_SAFE = ":-._~"

OWL = "http://www.w3.org/2002/07/owl#"
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

# the same value and time in standard terms (TwinSettings.standard_values): SOSA on the point, Brick on its
# value node <{point}/value> (brick:lastKnownValue), so apps that know only SOSA or only Brick find them
SOSA_RESULT = SOSA + "hasSimpleResult"
SOSA_RESULT_TIME = SOSA + "resultTime"
BRICK_LAST_KNOWN_VALUE = BRICK + "lastKnownValue"
BRICK_VALUE = BRICK + "value"
BRICK_TIMESTAMP = BRICK + "timestamp"

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

    __slots__ = ("base", "graph_alarms", "graph_live", "graph_model", "graph_ontology")

    def __init__(self, base: str) -> None:
        self.base = base
        self.graph_model = base + "graph/model"
        self.graph_live = base + "graph/live"
        self.graph_ontology = base + "graph/ontology"
        self.graph_alarms = base + "graph/alarms"  # active alarm conditions (gateway.analytics)

    def asset(self, aid: str) -> str:
        """IRI of an asset."""
        return f"{self.base}asset/{aid}"

    def point(self, pid: str) -> str:
        """IRI of a point."""
        return f"{self.base}point/{pid}"

    def ref(self, pid: str) -> str:
        """IRI of a point's protocol address."""
        return f"{self.base}point/{pid}/ref"

    def value(self, pid: str) -> str:
        """IRI of a point's value node (``brick:lastKnownValue``)."""
        return f"{self.base}point/{pid}/value"

    def location(self, lid: str) -> str:
        """IRI of a location."""
        return f"{self.base}location/{lid}"

    def source(self, sid: str) -> str:
        """IRI of a source."""
        return f"{self.base}source/{sid}"

    @staticmethod
    def property(entity_iri: str, key: str) -> str:
        """IRI of the quantity value node of an entity's property: ``{entity}/property/rated_power``."""
        return f"{entity_iri}/property/{quote(key, safe=_KEY_SAFE)}"

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

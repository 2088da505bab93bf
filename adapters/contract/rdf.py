"""RDF terms adapters write into the twin: the IRI marker type and the namespaces."""

from __future__ import annotations

TB = "https://w3id.org/twinbridge#"
BRICK = "https://brickschema.org/schema/Brick#"
REF = "https://brickschema.org/schema/Brick/ref#"
SOSA = "http://www.w3.org/ns/sosa/"
QUDT = "http://qudt.org/schema/qudt/"
UNIT = "http://qudt.org/vocab/unit/"
QK = "http://qudt.org/vocab/quantitykind/"
HCTL = "https://www.w3.org/2019/wot/hypermedia#"
MODV = "https://www.w3.org/2019/wot/modbus#"
MQV = "https://www.w3.org/2019/wot/mqtt#"
XSD = "http://www.w3.org/2001/XMLSchema#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"


class IRI(str):
    """A string that is an IRI (rendered ``<...>``) rather than a literal."""

    __slots__ = ()

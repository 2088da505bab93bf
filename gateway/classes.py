"""Class names in mappings: prefixes, Brick class lookup with suggestions, class families and hierarchy.

Brick classes come from ontology/brick-classes.tsv (derived from Brick 1.4 by scripts/derive_brick.py) and
their quantities from ontology/brick-quantities.tsv (scripts/derive_brick_quantities.py), the
twinbridge classes from ontology/twinbridge.ttl; each is read once, at first use. Classes in other namespaces
given as full IRIs (or ``sosa:``/``ssn:`` curies) are accepted as they are: custom ontologies are welcome.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import pyoxigraph as ox

PREFIXES: dict[str, str] = {
    "tb": "https://w3id.org/twinbridge#",
    "brick": "https://brickschema.org/schema/Brick#",
    "ref": "https://brickschema.org/schema/Brick/ref#",
    "sosa": "http://www.w3.org/ns/sosa/",
    "ssn": "http://www.w3.org/ns/ssn/",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "quantitykind": "http://qudt.org/vocab/quantitykind/",
    "schema": "http://schema.org/",  # nameplate terms Brick lacks (schema:manufacturer, schema:serialNumber)
    "hctl": "https://www.w3.org/2019/wot/hypermedia#",
    "modv": "https://www.w3.org/2019/wot/modbus#",
    "mqv": "https://www.w3.org/2019/wot/mqtt#",
    "xsd": "http://www.w3.org/2001/XMLSchema#",
    "rdf": "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
    "rdfs": "http://www.w3.org/2000/01/rdf-schema#",
    "owl": "http://www.w3.org/2002/07/owl#",
    "sh": "http://www.w3.org/ns/shacl#",
}
TB = PREFIXES["tb"]
BRICK = PREFIXES["brick"]
SOSA = PREFIXES["sosa"]

# The twin ontology's own classes usable as asset/point types in mappings (declared in ontology/twinbridge.ttl,
# checked by tests/unit/gateway/test_classes.py), with the Brick family each belongs to.
TB_CLASSES: dict[str, str] = {
    "Asset": "location",
    "Site": "location",
    "Area": "location",
    "Line": "location",
    "Equipment": "equipment",
    "Point": "point",
    "Measurement": "point",
    "Setpoint": "point",
    "Command": "point",
    "Status": "point",
}
_SOSA_FAMILIES = {"Sensor": "point", "Actuator": "point", "Platform": "equipment"}
_ONTOLOGY = Path(__file__).resolve().parent.parent / "ontology"
_TABLE = _ONTOLOGY / "brick-classes.tsv"
_QUANTITIES = _ONTOLOGY / "brick-quantities.tsv"
_TWINBRIDGE_TTL = _ONTOLOGY / "twinbridge.ttl"


class ClassError(ValueError):
    """A class name that cannot be resolved."""


@dataclass(frozen=True, slots=True)
class BrickClass:
    """One Brick class."""

    name: str
    family: str | None
    parents: tuple[str, ...]
    label: str


@cache
def _brick() -> dict[str, BrickClass]:
    out: dict[str, BrickClass] = {}
    for line in _TABLE.read_text(encoding="utf-8").splitlines():
        if not line or line.startswith("#"):
            continue
        name, family, parents, label = (line.split("\t") + [""] * 4)[:4]
        out[name] = BrickClass(name, family or None, tuple(p for p in parents.split(",") if p), label or name)
    return out


@cache
def _tb() -> dict[str, tuple[tuple[str, ...], str]]:
    """twinbridge class IRI -> (direct superclass IRIs, label), from ontology/twinbridge.ttl."""
    store = ox.Store()
    store.bulk_load(path=str(_TWINBRIDGE_TTL), format=ox.RdfFormat.TURTLE)
    parents: dict[str, list[str]] = {}
    labels: dict[str, str] = {}
    query = """SELECT ?c ?p ?l WHERE { ?c a <http://www.w3.org/2002/07/owl#Class> .
        OPTIONAL { ?c <http://www.w3.org/2000/01/rdf-schema#subClassOf> ?p FILTER(isIRI(?p)) }
        OPTIONAL { ?c <http://www.w3.org/2000/01/rdf-schema#label> ?l } }"""
    for sol in store.query(query):  # type: ignore[union-attr]
        c = sol["c"]
        if not isinstance(c, ox.NamedNode) or not c.value.startswith(TB):
            continue
        ps = parents.setdefault(c.value, [])
        if sol["p"] is not None and sol["p"].value not in ps:
            ps.append(sol["p"].value)
        if sol["l"] is not None:
            labels[c.value] = sol["l"].value
    # tb parents first (nearest in the twin's own terms), then the aligned classes, each sorted
    return {
        c: (tuple(sorted(ps, key=lambda p: (not p.startswith(TB), p))), labels.get(c, c[len(TB) :]))
        for c, ps in parents.items()
    }


def expand(curie: str) -> str:
    """``brick:Boiler`` -> full IRI; full IRIs are returned unchanged; ``ClassError`` for unknown prefixes."""
    if curie.startswith(("http://", "https://", "urn:")):
        return curie
    prefix, sep, local = curie.partition(":")
    if not sep:
        raise ClassError(f"'{curie}' has no prefix (write brick:{curie} or a full IRI)")
    ns = PREFIXES.get(prefix)
    if ns is None:
        close = difflib.get_close_matches(prefix, list(PREFIXES), n=1)
        hint = f"did you mean '{close[0]}'? " if close else ""
        raise ClassError(f"unknown prefix '{prefix}' in '{curie}' ({hint}known: {', '.join(PREFIXES)})")
    return ns + local


def compact(iri: str) -> str:
    """The curie form of an IRI when a known prefix matches, else the IRI."""
    best = ""
    for prefix, ns in PREFIXES.items():
        if iri.startswith(ns) and len(ns) > len(PREFIXES.get(best, "")):
            best = prefix
    return f"{best}:{iri[len(PREFIXES[best]) :]}" if best else iri


def resolve_class(text: str) -> str:
    """The IRI of a class written in a mapping (``brick:Boiler``, ``tb:Site``, a full IRI); a bare name is taken
    as a Brick class if Brick has it (``Boiler``), else as a twinbridge class (``Measurement``)."""
    text = text.strip()
    if ":" not in text:
        if text in _brick():
            return BRICK + text
        if text in TB_CLASSES:
            return TB + text
        close = _close_brick(text)
        hint = f"did you mean {', '.join('brick:' + c for c in close)}? " if close else ""
        raise ClassError(f"unknown class '{text}' ({hint}write a curie such as brick:Boiler, or a full IRI)")
    iri = expand(text)
    if iri.startswith(BRICK):
        name = iri[len(BRICK) :]
        if name not in _brick():
            close = _close_brick(name)
            hint = f" (did you mean {', '.join('brick:' + c for c in close)}?)" if close else ""
            raise ClassError(f"unknown Brick class brick:{name}{hint}")
    elif iri.startswith(TB):
        name = iri[len(TB) :]
        if name not in TB_CLASSES:
            raise ClassError(f"unknown twinbridge class tb:{name} (known: {', '.join('tb:' + c for c in TB_CLASSES)})")
    return iri


def _close_brick(name: str) -> list[str]:
    """Brick class names close to a mistyped one, case-insensitively (``boiler`` -> ``Boiler``)."""
    by_lower = {n.lower(): n for n in _brick()}
    if name.lower() in by_lower:
        return [by_lower[name.lower()]]
    return [by_lower[m] for m in difflib.get_close_matches(name.lower(), list(by_lower), n=3, cutoff=0.6)]


def brick_family(iri: str) -> str | None:
    """``point``, ``equipment``, ``location`` or ``collection`` for Brick/twinbridge/SOSA classes, else None."""
    if iri.startswith(BRICK):
        c = _brick().get(iri[len(BRICK) :])
        return c.family if c else None
    if iri.startswith(TB):
        return TB_CLASSES.get(iri[len(TB) :])
    if iri.startswith(SOSA):
        return _SOSA_FAMILIES.get(iri[len(SOSA) :])
    return None


def parents(iri: str) -> tuple[str, ...]:
    """The direct superclasses of a Brick or twinbridge class (empty for other classes)."""
    if iri.startswith(BRICK):
        c = _brick().get(iri[len(BRICK) :])
        return tuple(BRICK + p for p in c.parents) if c else ()
    if iri.startswith(TB):
        entry = _tb().get(iri)
        return entry[0] if entry else ()
    return ()


def superclasses(iri: str) -> list[str]:
    """Every superclass of a Brick or twinbridge class, nearest first (breadth first), without the class itself.

    tb:Measurement -> tb:Point, brick:Sensor, sosa:Sensor, brick:Point, ... (from twinbridge.ttl and Brick).
    """
    out: list[str] = []
    frontier = list(parents(iri))
    while frontier:
        nxt: list[str] = []
        for p in frontier:
            if p not in out and p != iri:
                out.append(p)
                nxt.extend(parents(p))
        frontier = nxt
    return out


def is_a(iri: str, ancestor: str) -> bool:
    """True when class ``iri`` is ``ancestor`` or one of its subclasses (Brick/twinbridge hierarchy)."""
    return iri == ancestor or ancestor in superclasses(iri)


def label(iri: str) -> str:
    """A human label of a class ("Supply Water Temperature Sensor")."""
    if iri.startswith(BRICK):
        c = _brick().get(iri[len(BRICK) :])
        if c:
            return c.label
    elif iri.startswith(TB) and iri in _tb():
        return _tb()[iri][1]
    local = iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return local.replace("_", " ")


@dataclass(frozen=True, slots=True)
class Quantity:
    """What a Brick point class measures: a QUDT quantity kind (``Temperature``) or a Brick quantity
    (``brick:Position``), and the QUDT dimension vectors its unit may have (the quantity's own first)."""

    name: str
    dimensions: tuple[str, ...]
    source: str  # "declared", or "from <superclass>" when Brick declares it on the nearest superclass


@cache
def _quantities() -> dict[str, Quantity]:
    out: dict[str, Quantity] = {}
    for line in _QUANTITIES.read_text(encoding="utf-8").splitlines():
        if line and not line.startswith("#"):
            name, quantity, dims, source = line.split("\t")
            out[BRICK + name] = Quantity(quantity, tuple(dims.split(",")), source)
    return out


def quantity(iri: str) -> Quantity | None:
    """The quantity Brick 1.4 gives a point class (ontology/brick-quantities.tsv), None where it gives none."""
    return _quantities().get(iri)

"""Class names in mappings: prefixes, Brick class lookup with suggestions, class families and hierarchy.

Brick classes come from ontology/brick-classes.tsv (derived from Brick 1.4 by scripts/derive_brick.py), read
once at first use. Classes in other namespaces given as full IRIs are accepted as they are (custom ontologies).
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass
from functools import cache
from pathlib import Path

PREFIXES: dict[str, str] = {
    "tb": "https://w3id.org/twinbridge#",
    "brick": "https://brickschema.org/schema/Brick#",
    "ref": "https://brickschema.org/schema/Brick/ref#",
    "sosa": "http://www.w3.org/ns/sosa/",
    "ssn": "http://www.w3.org/ns/ssn/",
    "qudt": "http://qudt.org/schema/qudt/",
    "unit": "http://qudt.org/vocab/unit/",
    "quantitykind": "http://qudt.org/vocab/quantitykind/",
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

# The twin ontology's own classes usable in mappings (ontology/twinbridge.ttl), with their family.
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
_TABLE = Path(__file__).resolve().parent.parent / "ontology" / "brick-classes.tsv"


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
    """The IRI of a class written in a mapping; a bare name is taken as a Brick class if Brick has it."""
    text = text.strip()
    if ":" not in text and text in _brick():
        return BRICK + text
    if ":" not in text and text in TB_CLASSES:
        return TB + text
    iri = expand(text)
    if iri.startswith(BRICK):
        name = iri[len(BRICK) :]
        if name not in _brick():
            close = difflib.get_close_matches(name, list(_brick()), n=3, cutoff=0.6)
            hint = f" (did you mean {', '.join('brick:' + c for c in close)}?)" if close else ""
            raise ClassError(f"unknown Brick class brick:{name}{hint}")
    elif iri.startswith(TB):
        name = iri[len(TB) :]
        if name not in TB_CLASSES:
            raise ClassError(f"unknown twinbridge class tb:{name} (known: {', '.join('tb:' + c for c in TB_CLASSES)})")
    return iri


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


def superclasses(iri: str) -> list[str]:
    """Every Brick superclass of a Brick class, nearest first (breadth first)."""
    if not iri.startswith(BRICK):
        return []
    table = _brick()
    out: list[str] = []
    frontier = list(table[iri[len(BRICK) :]].parents) if iri[len(BRICK) :] in table else []
    while frontier:
        nxt: list[str] = []
        for name in frontier:
            full = BRICK + name
            if full not in out:
                out.append(full)
                nxt.extend(table[name].parents if name in table else ())
        frontier = nxt
    return out


def label(iri: str) -> str:
    """A human label of a class ("Supply Water Temperature Sensor")."""
    if iri.startswith(BRICK):
        c = _brick().get(iri[len(BRICK) :])
        if c:
            return c.label
    local = iri.rsplit("#", 1)[-1].rsplit("/", 1)[-1]
    return local.replace("_", " ")

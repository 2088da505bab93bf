"""Derive ontology/brick-properties.ttl, Brick's relationship and property declarations, from Brick.ttl.

Usage: python scripts/derive_brick_properties.py [PATH_TO/Brick.ttl [OUT.ttl]]   (defaults: the installed
brickschema's Brick 1.4, ontology/brick-properties.ttl)

The twin loads the file into its ontology graph beside brick.ttl (classes), so SPARQL can ask which relation is
the inverse of which (``brick:feeds owl:inverseOf brick:isFedBy``) and what a property specializes
(``brick:ratedMaximumCurrentInput rdfs:subPropertyOf brick:ratedCurrentInput``) without loading all of Brick.
Kept per property: its OWL/RDF property types, ``rdfs:label`` (language tag dropped), ``skos:definition`` as
``rdfs:comment``, ``owl:inverseOf`` and ``rdfs:subPropertyOf``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

BRICK = "https://brickschema.org/schema/Brick#"
OWL = "http://www.w3.org/2002/07/owl#"
RDF = "http://www.w3.org/1999/02/22-rdf-syntax-ns#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
PROPERTY_TYPES = [
    OWL + n
    for n in (
        "ObjectProperty",
        "DatatypeProperty",
        "SymmetricProperty",
        "AsymmetricProperty",
        "TransitiveProperty",
        "IrreflexiveProperty",
    )
] + [RDF + "Property"]
PREFIXES = {"brick": BRICK, "owl": OWL, "rdf": RDF, "rdfs": RDFS}
QUERY = f"""
SELECT DISTINCT ?p ?pred ?o WHERE {{
  ?p a ?type . VALUES ?type {{ {" ".join(f"<{t}>" for t in PROPERTY_TYPES)} }}
  FILTER(STRSTARTS(STR(?p), "{BRICK}"))
  ?p ?pred ?o .
  FILTER(?pred IN (<{RDF}type>, <{RDFS}label>, <{SKOS}definition>, <{OWL}inverseOf>, <{RDFS}subPropertyOf>))
}}
"""


def _default_source() -> Path:
    import brickschema  # type: ignore[import-untyped]

    return Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"


def _curie(value: str) -> str:
    for prefix, ns in PREFIXES.items():
        if value.startswith(ns) and value[len(ns) :].replace("_", "").isalnum():
            return f"{prefix}:{value[len(ns) :]}"
    return f"<{value}>"


def _literal(value: str) -> str:
    one_line = " ".join(value.split())
    return '"' + one_line.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _statements(store: ox.Store) -> dict[str, list[tuple[str, str]]]:
    """property -> sorted (predicate, object) pairs, in the derived file's terms."""
    out: dict[str, set[tuple[str, str]]] = {}
    solutions = store.query(QUERY)
    assert isinstance(solutions, ox.QuerySolutions)
    for sol in solutions:
        pred, obj = sol["pred"].value, sol["o"]
        if pred == RDF + "type":
            if obj.value not in PROPERTY_TYPES:
                continue  # Brick's own meta-classes (brick:Relationship, brick:EntityProperty) are not kept
            pair = ("a", _curie(obj.value))
        elif pred in (RDFS + "label", SKOS + "definition"):
            if not isinstance(obj, ox.Literal) or obj.language not in (None, "en"):
                continue
            pair = ("rdfs:label" if pred.endswith("label") else "rdfs:comment", _literal(obj.value))
        elif isinstance(obj, ox.NamedNode):
            pair = (_curie(pred), _curie(obj.value))
        else:
            continue
        out.setdefault(sol["p"].value, set()).add(pair)
    # properties are lowerCamelCase; brick:EntityProperty, a class Brick also types rdf:Property, is left out
    return {p: sorted(pairs) for p, pairs in out.items() if p[len(BRICK)].islower()}


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else _default_source()
    out = (
        Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parent.parent / "ontology" / "brick-properties.ttl"
    )
    store = ox.Store()
    store.bulk_load(path=str(src), format=ox.RdfFormat.TURTLE)
    blocks = []
    for prop, pairs in sorted(_statements(store).items()):
        by_predicate: dict[str, list[str]] = {}
        for p, o in pairs:
            by_predicate.setdefault(p, []).append(o)
        body = " ;\n    ".join(f"{p} {', '.join(objs)}" for p, objs in by_predicate.items())
        blocks.append(f"{_curie(prop)} {body} .")
    head = (
        "# Derived from Brick 1.4 (brickschema package, BSD-3-Clause) by scripts/derive_brick_properties.py\n"
        + "".join(f"@prefix {p}: <{ns}> .\n" for p, ns in PREFIXES.items())
        + "\n"
    )
    out.write_text(head + "\n".join(blocks) + "\n", encoding="utf-8")
    print(f"{len(blocks)} Brick properties -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

"""Derive ontology/brick-relations.tsv and ontology/brick-substances.tsv from the brickschema package's Brick.ttl.

Usage: python scripts/derive_brick_relations.py [PATH_TO/Brick.ttl [OUT_DIR]]   (defaults: the installed
brickschema's Brick 1.4, ontology/)

brick-relations.tsv lists the relationships a mapping may write between entities of the twin (equipment, points,
locations, collections), one row per direction. From Brick 1.4 (each row is checked against it):
- that the relationship exists (``a brick:Relationship``), its ``owl:inverseOf``, its ``rdfs:label``;
- its OWL characteristics: ``owl:SymmetricProperty``, ``owl:AsymmetricProperty``, ``owl:IrreflexiveProperty``;
- the class Brick's SHACL shape for it requires of the object (``bsh:<relation>Shape sh:class``, e.g.
  hasSubMeter -> brick:Meter, hasInputSubstance -> brick:Substance), which must agree with the endpoints below.
Brick 1.4 states no domains, so the endpoints (which families a relation goes from and to) are those of
Brick's relationship documentation (https://docs.brickschema.org/brick/relationships.html: "feeds describes
downstream equipment and locations", "Floor hasPart Room", "AHU hasPart Supply Fan", ...) and Brick's meter
rule (bsh:MeterRelationshipRule: between meters use hasSubMeter, not meters). ``acyclic`` is twinbridge's
reading of composition: hasPart and the sub-meter hierarchy are partial orders, so no cycle of any length.
tb:controls / tb:isControlledBy are twinbridge's own (Brick 1.4 has no control relationship).

brick-substances.tsv lists Brick 1.4's substances (``?s a brick:Substance``: brick:Hot_Water, brick:Natural_Gas,
...), the targets of hasInputSubstance / hasOutputSubstance, with their ``skos:broader`` and label.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

BRICK = "https://brickschema.org/schema/Brick#"
BSH = "https://brickschema.org/schema/BrickShape#"
OWL = "http://www.w3.org/2002/07/owl#"
RDFS = "http://www.w3.org/2000/01/rdf-schema#"
SH = "http://www.w3.org/ns/shacl#"
SKOS = "http://www.w3.org/2004/02/skos/core#"
RDF_TYPE = "http://www.w3.org/1999/02/22-rdf-syntax-ns#type"

# relation -> (endpoints "subject families>object families; ...", subject class, object class, acyclic)
# A class "Meter" means the entity must be a brick:Meter (or subclass), "!Meter" that it must not be one.
ENTITY = "equipment|location|collection"
BRICK_ROWS: dict[str, tuple[str, str, str, bool]] = {
    "feeds": (f"equipment>{ENTITY}; collection>{ENTITY}", "", "", False),
    "isFedBy": ("equipment>equipment|collection; location>equipment|collection; collection>equipment|collection",
                "", "", False),
    "hasPart": (f"equipment>equipment; location>location; collection>{ENTITY}", "", "", True),
    "isPartOf": ("equipment>equipment|collection; location>location|collection; collection>collection",
                 "", "", True),
    "meters": (f"equipment>{ENTITY}", "Meter", "!Meter", False),
    "isMeteredBy": (f"{ENTITY}>equipment", "!Meter", "Meter", False),
    "hasSubMeter": ("equipment>equipment", "Meter", "Meter", True),
    "isSubMeterOf": ("equipment>equipment", "Meter", "Meter", True),
    "hasInputSubstance": ("equipment|collection>substance", "", "", False),
    "hasOutputSubstance": ("equipment|collection>substance", "", "", False),
    "connectedTo": ("equipment>equipment; location>location", "", "", False),
    "hasLocation": ("equipment|point|location|collection>location", "", "", False),
    "isLocationOf": ("location>equipment|point|location|collection", "", "", False),
    "hasPoint": (f"{ENTITY}>point", "", "", False),
    "isPointOf": (f"point>{ENTITY}", "", "", False),
}  # fmt: skip
# the object class Brick's shape requires -> the families an object of that class can be
SHAPE_FAMILIES = {
    "Entity": {"equipment", "location", "collection", "point"},
    "Location": {"location"},
    "Meter": {"equipment"},
    "Point": {"point"},
    "Substance": {"substance"},
}
TB_ROWS = [
    "tb:controls\ttb:isControlledBy\tequipment>equipment|collection\t\t\tasymmetric,irreflexive\t"
    "Controls\tIsControlledBy\tControls",
    "tb:isControlledBy\ttb:controls\tequipment|collection>equipment\t\t\tasymmetric,irreflexive\t"
    "IsControlledBy\tControls\tIs controlled by",
]
HEAD = (
    "# Derived from Brick 1.4 (brickschema package, BSD-3-Clause) by scripts/derive_brick_relations.py\n"
    "# relation\tinverse\tendpoints\tsubject_class\tobject_class\tflags\topcua_name\topcua_inverse_name\tlabel\n"
)


def _default_source() -> Path:
    import brickschema

    return Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"


def _objects(store: ox.Store, subject: str, predicate: str) -> list[str]:
    return sorted(
        str(q.object.value) for q in store.quads_for_pattern(ox.NamedNode(subject), ox.NamedNode(predicate), None)
    )


def _opcua(local: str) -> str:
    return local[:1].upper() + local[1:]


def relation_row(store: ox.Store, name: str) -> str:
    """The table row of one Brick relationship, checked against Brick.ttl."""
    endpoints, subject_class, object_class, acyclic = BRICK_ROWS[name]
    iri = BRICK + name
    types = set(_objects(store, iri, RDF_TYPE))
    if BRICK + "Relationship" not in types:
        raise SystemExit(f"brick:{name} is no brick:Relationship in this Brick.ttl")
    inverses = [i[len(BRICK) :] for i in _objects(store, iri, OWL + "inverseOf")]
    symmetric = OWL + "SymmetricProperty" in types
    flags = [f for f, t in (("symmetric", "Symmetric"), ("asymmetric", "Asymmetric"), ("irreflexive", "Irreflexive"))
             if OWL + t + "Property" in types] + (["acyclic"] if acyclic else [])  # fmt: skip
    shape_class = [c[len(BRICK) :] for c in _objects(store, BSH + name + "Shape", SH + "class") if c.startswith(BRICK)]
    ranges = {f for part in endpoints.split(";") for f in part.split(">")[1].strip().split("|")}
    for c in shape_class:
        if not ranges <= SHAPE_FAMILIES[c] or (c == "Meter" and object_class != "Meter"):
            raise SystemExit(f"brick:{name}: Brick's shape wants brick:{c} objects; the endpoints say {endpoints}")
    labels = _objects(store, iri, RDFS + "label")
    inverse = f"brick:{inverses[0]}" if inverses else ("brick:" + name if symmetric else "")
    inverse_name = _opcua(inverses[0]) if inverses else (_opcua(name) if symmetric else "")
    cols = [f"brick:{name}", inverse, endpoints, subject_class, object_class, ",".join(flags), _opcua(name)]
    return "\t".join([*cols, inverse_name, labels[0] if labels else name])


def substance_rows(store: ox.Store) -> list[str]:
    """name, broader substances, label of every Brick substance."""
    rows = []
    for q in store.quads_for_pattern(None, ox.NamedNode(RDF_TYPE), ox.NamedNode(BRICK + "Substance")):
        iri = q.subject.value
        if not iri.startswith(BRICK):
            continue
        broader = [b[len(BRICK) :] for b in _objects(store, iri, SKOS + "broader") if b.startswith(BRICK)]
        labels = _objects(store, iri, RDFS + "label")
        name = iri[len(BRICK) :]
        rows.append(f"{name}\t{','.join(broader)}\t{labels[0] if labels else name.replace('_', ' ')}")
    return sorted(set(rows))


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else _default_source()
    out_dir = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parent.parent / "ontology"
    store = ox.Store()
    store.bulk_load(path=str(src), format=ox.RdfFormat.TURTLE)
    rows = [relation_row(store, name) for name in BRICK_ROWS] + TB_ROWS
    (out_dir / "brick-relations.tsv").write_text(HEAD + "\n".join(rows) + "\n", encoding="utf-8")
    subs = substance_rows(store)
    head = HEAD.splitlines()[0] + "\n# substance\tbroader\tlabel\n"
    (out_dir / "brick-substances.tsv").write_text(head + "\n".join(subs) + "\n", encoding="utf-8")
    print(f"{len(rows)} relations, {len(subs)} substances -> {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

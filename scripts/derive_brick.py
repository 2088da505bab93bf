"""Derive the Brick class tables from the brickschema package's Brick.ttl (BSD-3-Clause).

Usage: python scripts/derive_brick.py [PATH_TO/Brick.ttl [OUT_DIR]]   (defaults: the installed brickschema's
Brick 1.4, ontology/)

Writes ontology/brick-classes.tsv (class, family, direct superclasses, label) for fast lookups and
ontology/brick.ttl (owl:Class, rdfs:subClassOf, rdfs:label of every Brick class) which the twin loads into its
ontology graph so SPARQL can use ``rdfs:subClassOf*``.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

BRICK = "https://brickschema.org/schema/Brick#"
ROOTS = {"Point": "point", "Equipment": "equipment", "Location": "location", "Collection": "collection"}
QUERY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?c ?parent ?label WHERE {
  ?c a owl:Class .
  FILTER(STRSTARTS(STR(?c), "https://brickschema.org/schema/Brick#"))
  OPTIONAL { ?c rdfs:subClassOf ?parent
             FILTER(isIRI(?parent) && STRSTARTS(STR(?parent), "https://brickschema.org/schema/Brick#")) }
  OPTIONAL { ?c rdfs:label ?label }
}
"""


def _default_source() -> Path:
    import brickschema

    return Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"


def main(argv: list[str]) -> int:
    src = Path(argv[1]) if len(argv) > 1 else _default_source()
    out_dir = Path(argv[2]) if len(argv) > 2 else Path(__file__).resolve().parent.parent / "ontology"
    store = ox.Store()
    store.bulk_load(path=str(src), format=ox.RdfFormat.TURTLE)
    parents: dict[str, set[str]] = {}
    labels: dict[str, str] = {}
    for sol in store.query(QUERY):
        name = sol["c"].value[len(BRICK) :]
        parents.setdefault(name, set())
        if sol["parent"] is not None:
            parents[name].add(sol["parent"].value[len(BRICK) :])
        if sol["label"] is not None:
            labels[name] = sol["label"].value

    def family(name: str, seen: frozenset[str] = frozenset()) -> str:
        if name in ROOTS:
            return ROOTS[name]
        for p in sorted(parents.get(name, ())):
            if p not in seen:
                f = family(p, seen | {name})
                if f:
                    return f
        return ""

    rows, ttl = [], []
    for name in sorted(parents):
        fam = family(name)
        sup = sorted(p for p in parents[name] if p in parents)
        label = labels.get(name, name.replace("_", " ")).replace("\t", " ")
        rows.append(f"{name}\t{fam}\t{','.join(sup)}\t{label}")
        quoted = label.replace("\\", "\\\\").replace('"', '\\"')
        ttl.append(
            f'brick:{name} a owl:Class ; rdfs:label "{quoted}"'
            + "".join(f" ;\n    rdfs:subClassOf brick:{p}" for p in sup)
            + " ."
        )
    head = "# Derived from Brick 1.4 (brickschema package, BSD-3-Clause) by scripts/derive_brick.py\n"
    table = head + "# class\tfamily\tsuperclasses\tlabel\n" + "\n".join(rows) + "\n"
    (out_dir / "brick-classes.tsv").write_text(table, encoding="utf-8")
    prefixes = (
        "@prefix brick: <https://brickschema.org/schema/Brick#> .\n"
        "@prefix owl: <http://www.w3.org/2002/07/owl#> .\n"
        "@prefix rdfs: <http://www.w3.org/2000/01/rdf-schema#> .\n\n"
    )
    (out_dir / "brick.ttl").write_text(head + prefixes + "\n".join(ttl) + "\n", encoding="utf-8")
    print(f"{len(rows)} Brick classes -> {out_dir}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

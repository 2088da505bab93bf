"""Derive ontology/units.tsv from the QUDT units vocabulary (CC BY 4.0, QUDT.org).

Usage: python scripts/derive_units.py [PATH_TO/VOCAB_QUDT-UNITS-ALL.ttl [OUT.tsv]]   (defaults: the QUDT copy
next to the checkout, ../shared/vocab/qudt/, and ontology/units.tsv)

One row per unit: name, symbol, label, quantity kinds, conversion multiplier and offset (SI = (v + offset) *
multiplier), UNECE common code and dimension vector. The gateway loads the table at first use; a user's
machine never needs the QUDT files.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pyoxigraph as ox

UNIT = "http://qudt.org/vocab/unit/"
QK = "http://qudt.org/vocab/quantitykind/"
DIM = "http://qudt.org/vocab/dimensionvector/"

QUERY = """
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?u (SAMPLE(?sym) AS ?symbol) (SAMPLE(?lab) AS ?label) (GROUP_CONCAT(DISTINCT STR(?qk); separator=",") AS ?qks)
       (SAMPLE(?mul) AS ?multiplier) (SAMPLE(?off) AS ?offset) (SAMPLE(?unece) AS ?code) (SAMPLE(?dim) AS ?dimension)
       (SAMPLE(?dep) AS ?deprecated)
WHERE {
  ?u a qudt:Unit .
  OPTIONAL { ?u qudt:symbol ?sym }
  OPTIONAL { ?u rdfs:label ?lab FILTER(LANG(?lab) = "en" || LANG(?lab) = "en-us" || LANG(?lab) = "") }
  OPTIONAL { ?u qudt:hasQuantityKind|qudt:unitForQuantityKind ?qk }
  OPTIONAL { ?u qudt:conversionMultiplier ?mul }
  OPTIONAL { ?u qudt:conversionOffset ?off }
  OPTIONAL { ?u qudt:uneceCommonCode ?unece }
  OPTIONAL { ?u qudt:hasDimensionVector ?dim }
  OPTIONAL { ?u qudt:deprecated ?dep }
}
GROUP BY ?u
"""


def _clean(text: str) -> str:
    return text.replace("\t", " ").replace("\n", " ").strip()


def main(argv: list[str]) -> int:
    root = Path(__file__).resolve().parent.parent
    src = Path(argv[1]) if len(argv) > 1 else root.parent / "shared" / "vocab" / "qudt" / "VOCAB_QUDT-UNITS-ALL.ttl"
    out = Path(argv[2]) if len(argv) > 2 else root / "ontology" / "units.tsv"
    store = ox.Store()
    store.bulk_load(path=str(src), format=ox.RdfFormat.TURTLE)
    sols = [s for s in store.query(QUERY)]
    # Rank a unit's quantity kinds most general first: by how many units serve the kind, then by name length
    # (DEG_C -> Temperature before BoilingPoint).
    usage: dict[str, int] = {}
    for sol in sols:
        for q in sol["qks"].value.split(",") if sol["qks"] else []:
            usage[q] = usage.get(q, 0) + 1
    rows = []
    for sol in sols:
        iri = sol["u"].value
        if not iri.startswith(UNIT) or (sol["deprecated"] is not None and sol["deprecated"].value == "true"):
            continue
        name = iri[len(UNIT) :]
        found = [q for q in (sol["qks"].value.split(",") if sol["qks"] else []) if q.startswith(QK)]
        found.sort(key=lambda q: (-usage[q], len(q), q))
        qks = [q[len(QK) :] for q in found if not q.endswith("/Unknown")]
        dim = sol["dimension"].value if sol["dimension"] is not None else ""
        rows.append(
            "\t".join(
                [
                    name,
                    _clean(sol["symbol"].value) if sol["symbol"] is not None else "",
                    _clean(sol["label"].value) if sol["label"] is not None else name,
                    ",".join(qks),
                    sol["multiplier"].value if sol["multiplier"] is not None else "",
                    sol["offset"].value if sol["offset"] is not None else "",
                    sol["code"].value if sol["code"] is not None else "",
                    dim[len(DIM) :] if dim.startswith(DIM) else dim,
                ]
            )
        )
    rows.sort()
    header = (
        "# Derived from the QUDT units vocabulary (qudt/qudt-public-repo, CC BY 4.0, QUDT.org) by "
        "scripts/derive_units.py\n# name\tsymbol\tlabel\tquantity_kinds\tmultiplier\toffset\tunece\tdimension\n"
    )
    out.write_text(header + "\n".join(rows) + "\n", encoding="utf-8")
    print(f"{len(rows)} units -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

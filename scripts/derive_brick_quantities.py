"""Derive ontology/brick-quantities.tsv: the quantity each Brick point class measures, with its dimension vector.

Usage: python scripts/derive_brick_quantities.py [Brick.ttl [QUANTITY-KINDS.ttl [OUT.tsv]]]
(defaults: the installed brickschema's Brick 1.4, the QUDT copy next to the checkout
../shared/vocab/qudt/VOCAB_QUDT-QUANTITY-KINDS-ALL.ttl, and ontology/brick-quantities.tsv; the units' dimensions
and quantity kinds come from ontology/units.tsv)

How the mapping is derived:
- a class's quantity is what Brick declares on it with ``brick:hasQuantity`` or ``qudt:hasQuantityKind``
  (Brick 1.4 writes both, with the same value, on about 650 point classes);
- a class that declares none takes the quantity of its nearest superclasses that declare one, if they
  all have the same dimension (e.g. Leaving_Hot_Water_Temperature_Setpoint from Temperature_Setpoint);
  a class whose declarations (or nearest ancestors') disagree in dimension gets no row;
- the dimension vector of a QUDT quantity kind comes from QUDT's ``qudt:hasDimensionVector``; Brick's own
  quantities (brick:Differential_Temperature, brick:Position, ...) carry one in Brick.ttl;
- the dimensions a unit may have on such a point: the quantity's own, those of the units QUDT files under that
  quantity kind (ontology/units.tsv), and those of the ``qudt:applicableUnit``s of the quantity and of the
  quantities Brick files under it with ``skos:narrower`` (Brick's Speed lists m/s and rad/s alike and has
  Rotational_Speed under it, so rev/min fits a Motor_Speed_Sensor).
Units are compared by dimension, not by quantity-kind name: QUDT lists unit:PA under ForcePerArea, not
Pressure, so a name comparison would refuse pascals on a pressure sensor.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

import pyoxigraph as ox

BRICK = "https://brickschema.org/schema/Brick#"
QK = "http://qudt.org/vocab/quantitykind/"
DIM = "http://qudt.org/vocab/dimensionvector/"
QUERY = """
PREFIX owl: <http://www.w3.org/2002/07/owl#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX qudt: <http://qudt.org/schema/qudt/>
PREFIX brick: <https://brickschema.org/schema/Brick#>
SELECT ?c ?parent ?q WHERE {
  ?c a owl:Class . FILTER(STRSTARTS(STR(?c), STR(brick:)))
  { ?c rdfs:subClassOf ?parent FILTER(isIRI(?parent) && STRSTARTS(STR(?parent), STR(brick:))) }
  UNION { ?c brick:hasQuantity|qudt:hasQuantityKind ?q }
}
"""
DIMS = "PREFIX qudt: <http://qudt.org/schema/qudt/> SELECT ?k ?d WHERE { ?k qudt:hasDimensionVector ?d }"
# the applicable units of a quantity and of the quantities narrower than it (brick:Speed -> brick:Rotational_Speed)
APPLICABLE = """PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX skos: <http://www.w3.org/2004/02/skos/core#>
SELECT ?k ?u WHERE { ?k skos:narrower*/qudt:applicableUnit ?u }"""
UNIT = "http://qudt.org/vocab/unit/"


def _unit_dimensions(units_tsv: Path) -> tuple[dict[str, str], dict[str, set[str]]]:
    """Each unit's dimension, and the dimensions of the units filed under each quantity kind."""
    of_unit: dict[str, str] = {}
    of_kind: dict[str, set[str]] = {}
    for line in units_tsv.read_text(encoding="utf-8").splitlines():
        if line.startswith("#") or not line:
            continue
        name, _, _, kinds, _, _, _, dim = (line.split("\t") + [""] * 8)[:8]
        if dim:
            of_unit[name] = dim
            for k in filter(None, kinds.split(",")):
                of_kind.setdefault(QK + k, set()).add(dim)
    return of_unit, of_kind


def _name(iri: str) -> str:
    """qudtqk:Temperature -> Temperature, brick:Position -> brick:Position."""
    return iri[len(QK) :] if iri.startswith(QK) else "brick:" + iri[len(BRICK) :]


def _select(store: ox.Store, query: str) -> ox.QuerySolutions:
    result = store.query(query)
    assert isinstance(result, ox.QuerySolutions)
    return result


def _load(*paths: Path) -> ox.Store:
    store = ox.Store()
    for p in paths:
        store.bulk_load(path=str(p), format=ox.RdfFormat.TURTLE)
    return store


def rows(brick_ttl: Path, kinds_ttl: Path, units_tsv: Path) -> list[str]:
    """The table's rows: class, quantity, the dimensions its unit may have (the quantity's own first), and
    where the quantity comes from."""
    brick = _load(brick_ttl)
    dims = {s["k"].value: s["d"].value[len(DIM) :] for s in _select(_load(kinds_ttl), DIMS)}
    dims |= {s["k"].value: s["d"].value[len(DIM) :] for s in _select(brick, DIMS)}
    of_unit, allowed = _unit_dimensions(units_tsv)
    for s in _select(brick, APPLICABLE):
        dim = of_unit.get(s["u"].value.removeprefix(UNIT))
        if dim:
            allowed.setdefault(s["k"].value, set()).add(dim)
    parents: dict[str, set[str]] = {}
    declared: dict[str, set[str]] = {}
    for s in _select(brick, QUERY):
        name = s["c"].value[len(BRICK) :]
        parents.setdefault(name, set())
        if s["parent"] is not None:
            parents[name].add(s["parent"].value[len(BRICK) :])
        if s["q"] is not None and s["q"].value in dims:
            declared.setdefault(name, set()).add(s["q"].value)
    out = []
    for name in sorted(parents):
        found = _quantity(name, parents, declared)
        if found is None:
            continue
        quantities, origin = found
        dimensions = {dims[q] for q in quantities}
        if len(dimensions) == 1:
            q = sorted(quantities)[0]
            fits = [dims[q], *sorted(allowed.get(q, set()) - {dims[q]})]
            out.append(f"{name}\t{_name(q)}\t{','.join(fits)}\t{origin}")
    return out


def _quantity(name: str, parents: dict[str, set[str]], declared: dict[str, set[str]]) -> tuple[set[str], str] | None:
    """The quantities declared on ``name``, else on its nearest declaring superclasses (breadth first)."""
    if name in declared:
        return declared[name], "declared"
    seen, level = {name}, set(parents.get(name, ()))
    while level:
        hits = sorted(c for c in level if c in declared)
        if hits:
            return set().union(*(declared[c] for c in hits)), "from " + ",".join(hits)
        seen |= level
        level = {p for c in level for p in parents.get(c, ()) if p not in seen}
    return None


def _default_brick() -> Path:
    import brickschema  # type: ignore[import-untyped, import-not-found, unused-ignore]

    return Path(brickschema.__file__).parent / "ontologies" / "1.4" / "Brick.ttl"


def main(argv: Iterable[str]) -> int:
    args = list(argv)[1:]
    root = Path(__file__).resolve().parent.parent
    brick = Path(args[0]) if args else _default_brick()
    kinds = Path(args[1]) if len(args) > 1 else root.parent / "shared/vocab/qudt/VOCAB_QUDT-QUANTITY-KINDS-ALL.ttl"
    out = Path(args[2]) if len(args) > 2 else root / "ontology" / "brick-quantities.tsv"
    table = rows(brick, kinds, root / "ontology" / "units.tsv")
    head = (
        "# Derived from Brick 1.4 (brickschema package, BSD-3-Clause) and QUDT quantity kinds (CC BY 4.0, QUDT.org)"
        " by scripts/derive_brick_quantities.py\n# class\tquantity\tdimensions of its units\tsource\n"
    )
    out.write_text(head + "\n".join(table) + "\n", encoding="utf-8")
    print(f"{len(table)} Brick classes with a quantity -> {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv))

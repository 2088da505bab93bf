"""Materialization: SPARQL over a freshly built twin returns the mapping's assets, points, units and types."""

from __future__ import annotations

import textwrap

from gateway.config.loader import load_mappings
from gateway.twin.twin import Twin

MAPPING = """\
twin: {base_iri: "http://m.local/"}
sources:
  - {id: sim1, kind: sim, label: Simulator}
assets:
  - {id: site, type: site, label: Site}
  - {id: hall, type: area, parent: site, label: Hall}
  - {id: line1, type: line, parent: hall, label: Line 1}
  - id: ahu1
    type: brick:AHU
    parent: line1
    label: AHU 1
    source: sim1
    points:
      - {id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float, min: 0, max: 50,
         label: Supply air temperature, transform: {source_unit: DEG_F}}
      - {id: fan, type: command, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: uint16, writable: true}
      - {id: run, type: status, class: brick:Run_Status, datatype: bool, address: {signal: square}}
"""
P = """PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <https://brickschema.org/schema/Brick#>
PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX unit: <http://qudt.org/vocab/unit/>
PREFIX ref: <https://brickschema.org/schema/Brick/ref#> PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
PREFIX xsd: <http://www.w3.org/2001/XMLSchema#> PREFIX sosa: <http://www.w3.org/ns/sosa/>
PREFIX hctl: <https://www.w3.org/2019/wot/hypermedia#> PREFIX quantitykind: <http://qudt.org/vocab/quantitykind/>
"""


def twin() -> Twin:
    return Twin(load_mappings(["m.yaml"], texts={"m.yaml": textwrap.dedent(MAPPING)}))


def select(t: Twin, q: str) -> list[dict[str, str]]:
    from gateway.twin.twin import materialize

    return [{k: v.value for k, v in row.items()} for row in materialize(t.query_sync(P + q))]


def test_asset_hierarchy_and_levels() -> None:
    t = twin()
    rows = select(
        t,
        "SELECT ?a ?level ?parent WHERE { ?a a ?level . FILTER(?level IN (tb:Site, tb:Area, tb:Line, "
        "tb:Equipment)) OPTIONAL { ?a brick:isPartOf ?parent } } ORDER BY ?a",
    )
    got = {
        r["a"].rsplit("/", 1)[1]: (r["level"].rsplit("#", 1)[1], r.get("parent", "").rsplit("/", 1)[-1]) for r in rows
    }
    assert got == {
        "site": ("Site", ""),
        "hall": ("Area", "site"),
        "line1": ("Line", "hall"),
        "ahu1": ("Equipment", "line1"),
    }
    assert bool(
        t.query_sync(
            P + "ASK { <http://m.local/asset/ahu1> a brick:AHU . "
            "<http://m.local/asset/site> brick:hasPart <http://m.local/asset/hall> }"
        )
    )
    # the whole subtree of the site, through the hierarchy
    rows = select(t, "SELECT ?p WHERE { ?p brick:isPointOf/brick:isPartOf+ <http://m.local/asset/site> }")
    assert len(rows) == 3


def test_points_units_types_and_kinds() -> None:
    t = twin()
    rows = select(
        t,
        """SELECT ?p ?dt ?u ?qk ?label ?min ?max WHERE { ?p a tb:Point ; tb:datatype ?dt ; rdfs:label ?label .
        OPTIONAL { ?p qudt:hasUnit ?u } OPTIONAL { ?p qudt:hasQuantityKind ?qk }
        OPTIONAL { ?p tb:minValue ?min } OPTIONAL { ?p tb:maxValue ?max } }""",
    )
    by = {r["p"].rsplit("/", 1)[1]: r for r in rows}
    assert by["ahu1.sat"]["dt"].endswith("#float") and by["ahu1.sat"]["u"].endswith("unit/DEG_C")
    assert by["ahu1.sat"]["qk"].endswith("quantitykind/Temperature")
    assert by["ahu1.sat"]["label"] == "Supply air temperature"
    assert float(by["ahu1.sat"]["min"]) == 0 and float(by["ahu1.sat"]["max"]) == 50
    assert by["ahu1.fan"]["dt"].endswith("#unsignedShort")
    assert by["ahu1.run"]["dt"].endswith("#boolean") and "u" not in by["ahu1.run"]
    assert bool(
        t.query_sync(
            P + "ASK { <http://m.local/point/ahu1.sat> a tb:Measurement, sosa:Sensor, "
            "brick:Supply_Air_Temperature_Sensor ; tb:sourceUnit unit:DEG_F . "
            "<http://m.local/point/ahu1.fan> a tb:Command, sosa:Actuator ; tb:writable true }"
        )
    )


def test_units_and_addresses() -> None:
    t = twin()
    rows = select(t, "SELECT ?sym ?code WHERE { unit:DEG_C qudt:symbol ?sym ; qudt:uneceCommonCode ?code }")
    assert rows == [{"sym": "°C", "code": "CEL"}]
    assert bool(t.query_sync(P + "ASK { unit:DEG_F a qudt:Unit }"))  # source units are described too
    rows = select(
        t,
        """SELECT ?ref ?src ?target ?signal WHERE { <http://m.local/point/ahu1.run>
        ref:hasExternalReference ?ref . ?ref a ref:ExternalReference, tb:SimReference ; tb:viaSource ?src ;
        hctl:hasTarget ?target ; tb:signal ?signal }""",
    )
    assert rows == [
        {
            "ref": "http://m.local/point/ahu1.run/ref",
            "src": "http://m.local/source/sim1",
            "target": "sim://sim1/square",
            "signal": "square",
        }
    ]
    rows = select(
        t, "SELECT ?kind ?label WHERE { <http://m.local/source/sim1> a tb:Source ; tb:kind ?kind ; rdfs:label ?label }"
    )
    assert rows == [{"kind": "sim", "label": "Simulator"}]


def test_live_initial_state() -> None:
    t = twin()
    rows = select(t, "SELECT ?p ?q ?s WHERE { ?p tb:quality ?q ; tb:statusCode ?s }")
    assert len(rows) == 3
    assert {r["q"] for r in rows} == {"https://w3id.org/twinbridge#Bad"}
    assert {r["s"] for r in rows} == {"BadWaitingForInitialData"}

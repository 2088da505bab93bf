"""From a mapping to the graph: locations, relations and nameplates written in the mapping syntax are loaded,
pass the SHACL check `twinbridge validate` runs, and answer over SPARQL (loader and twin together)."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.contract.sample import Quality, Sample
from gateway.config.loader import load_mappings
from gateway.shacl import check_model
from gateway.twin.twin import Twin

MAPPING = """\
twin: {base_iri: "http://plant.local/"}
prefixes: {ex: "http://example.com/plant#"}
relation_types:
  - {id: "ex:maintainedBy", inverse: "ex:maintains", label: "Maintained by"}
sources:
  - {id: sim1, kind: sim}
locations:
  - {id: plant, type: site, label: Demo plant}
  - {id: hq, type: building, parent: plant, properties: {year_built: 1998}}
  - {id: hq-f1, type: floor, parent: hq, label: Ground floor}
  - {id: boilerroom, type: room, parent: hq-f1}
  - {id: office, type: room, parent: hq-f1}
assets:
  - {id: team-a, type: brick:Equipment, label: Team A placeholder}
  - id: boiler1
    type: brick:Boiler
    location: boilerroom
    source: sim1
    relations:
      feeds: [ahu1]
      hasInputSubstance: brick:Natural_Gas
      "ex:maintainedBy": team-a
    properties:
      manufacturer: Viessmann
      serial_number: "7143-22-0012"
      install_date: 2019-05-14
      documents: ["https://example.com/manual.pdf"]
      rated_power: 40 kW
    points:
      - {id: supply_temp, unit: DEG_C, datatype: float, class: brick:Supply_Water_Temperature_Sensor}
  - id: ahu1
    type: brick:AHU
    location: boilerroom
    source: sim1
    relations: {feeds: [office]}
    points:
      - {id: room_temp, unit: DEG_C, datatype: float, location: office, class: brick:Zone_Air_Temperature_Sensor}
"""
P = """PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <https://brickschema.org/schema/Brick#>
PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX schema: <http://schema.org/>
PREFIX ex: <http://example.com/plant#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX sosa: <http://www.w3.org/ns/sosa/>
"""


def test_a_topology_mapping_validates_and_answers() -> None:
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": MAPPING})
    assert [str(e) for e in check_model(model)] == []
    twin = Twin(model)
    twin.apply(Sample("ahu1.room_temp", 21.5, datetime.now(UTC), Quality.GOOD, "Good", None, "sim1"))

    def ids(query: str) -> set[str]:
        return {row[0].value for row in twin.query_sync(P + query)}

    # rooms the boiler serves, through the air handler, and what is located there
    assert ids('SELECT ?id WHERE { ?b tb:id "boiler1" ; brick:feeds+ ?x . ?x tb:id ?id }') == {"ahu1", "office"}
    assert ids('SELECT ?id WHERE { ?r tb:id "office" ; brick:isFedBy/brick:isFedBy ?b . ?b tb:id ?id }') == {"boiler1"}
    assert ids('SELECT ?id WHERE { ?f tb:id "hq-f1" . ?p a brick:Point ; brick:hasLocation/brick:isPartOf* ?f ;'
               " tb:id ?id }") == {"boiler1.supply_temp", "ahu1.room_temp"}  # fmt: skip
    assert ids('SELECT ?v WHERE { ?r tb:id "office" . ?s brick:hasLocation ?r ; sosa:hasSimpleResult ?v }') == {"21.5"}
    assert twin.query_sync(
        P + 'ASK { ?b tb:id "boiler1" ; schema:manufacturer "Viessmann" ; schema:serialNumber "7143-22-0012" ; '
        'tb:installDate "2019-05-14"^^xsd:date ; brick:hasInputSubstance brick:Natural_Gas ; '
        "brick:ratedPowerOutput [ a qudt:QuantityValue ; qudt:numericValue 40.0e0 ; qudt:hasUnit ?u ] . "
        '?t tb:id "team-a" ; ex:maintains ?b . ?b ex:maintainedBy ?t }'
    )


def test_a_part_with_two_wholes_loads_and_conforms() -> None:
    """Brick lets a part have several wholes: a room of its floor is part of an HVAC zone too, and a pump part of
    its boiler (the tree parent) and of the hot water system; the loader and the SHACL check agree on it."""
    extra = MAPPING.replace(
        "  - {id: office, type: room, parent: hq-f1}\n",
        "  - {id: office, type: room, parent: hq-f1, relations: {isPartOf: zone1}}\n"
        "  - {id: zone1, type: zone, parent: hq-f1}\n",
    ) + (
        "  - {id: hws, type: brick:Hot_Water_System, label: Hot water system}\n"
        "  - {id: pump1, type: brick:Pump, parent: boiler1, relations: {isPartOf: hws}}\n"
    )
    model = load_mappings(["plant.yaml"], texts={"plant.yaml": extra})
    assert [str(e) for e in check_model(model)] == []
    twin = Twin(model)
    wholes = 'SELECT ?id WHERE {{ ?x tb:id "{}" ; brick:isPartOf ?w . ?w tb:id ?id }}'
    assert {r[0].value for r in twin.query_sync(P + wholes.format("pump1"))} == {"boiler1", "hws"}
    assert {r[0].value for r in twin.query_sync(P + wholes.format("office"))} == {"hq-f1", "zone1"}

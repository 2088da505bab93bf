"""Relationship and quantity shapes: the topology plant conforms; each violation is reported at the location,
asset, point or property it concerns, by model (what a loader could hand over) or by an edited graph (what only a
hand-edited or third-party graph can hold)."""

from __future__ import annotations

import re
from dataclasses import replace
from datetime import UTC, datetime

import pyoxigraph as ox

from adapters.contract.model import Property, Relation, TargetKind
from adapters.contract.rdf import BRICK
from adapters.contract.sample import Quality, Sample
from gateway.model import TwinModel
from gateway.shacl import check_graph, check_model, validate_ntriples
from gateway.twin.materialize import model_ntriples
from gateway.twin.twin import Twin
from gateway.twin.vocab import TwinIRIs
from tests.unit.gateway.twin.topology_plant import BASE, feeds, topology_model

B = f"<{BRICK}"
QUDT = "<http://qudt.org/schema/qudt/"
BOILER, AHU, HALL = f"<{BASE}asset/boiler1>", f"<{BASE}asset/ahu1>", f"<{BASE}location/hall>"
RATED = f"<{BASE}asset/boiler1/property/rated_power>"


def messages(model: TwinModel) -> list[str]:
    return [str(e) for e in check_model(model)]


def edited(model: TwinModel, *, drop: str = "", add: str = "") -> list[str]:
    """Errors of the model's graph with the lines matching regex ``drop`` removed and ``add`` appended."""
    text = model_ntriples(model, TwinIRIs(model.settings.base_iri))
    lines = [ln for ln in text.splitlines(keepends=True) if not (drop and re.search(drop, ln))]
    assert len(lines) < len(text.splitlines()) or not drop, f"nothing matched {drop!r}"
    return [str(e) for e in check_graph(model, "".join(lines) + add)]


def test_the_topology_plant_conforms() -> None:
    assert messages(topology_model()) == []


def test_an_asset_located_in_something_that_is_no_location() -> None:
    model = topology_model()
    model.assets["boiler1"] = replace(model.assets["boiler1"], location="nowhere")
    assert messages(model) == [
        "plant.yaml:20:5: asset 'boiler1': brick:hasLocation must name a location (a site, building, floor, room, "
        "zone...) (got location 'nowhere')",
        # the inverse, and its point, which inherits the place
        "<twin>: location 'nowhere': only a location can be the location of something (brick:isLocationOf)",
        "<twin>: point 'boiler1.supply_temp': brick:hasLocation must name a location (a site, building, floor, "
        "room, zone...) (got location 'nowhere')",
    ]
    assert edited(topology_model(), add=f"{BOILER} {B}hasLocation> {AHU} .\n") == [
        "plant.yaml:20:5: asset 'boiler1': brick:hasLocation must name a location (a site, building, floor, room, "
        "zone...) (got asset 'ahu1')"
    ]


def test_only_a_location_is_the_location_of_something() -> None:
    assert edited(topology_model(), add=f"{BOILER} {B}isLocationOf> {AHU} .\n") == [
        "plant.yaml:20:5: asset 'boiler1': only a location can be the location of something (brick:isLocationOf)"
    ]


def test_a_point_cannot_feed_anything() -> None:
    model = topology_model()
    sat = model.points["ahu1.sat"]
    model.points["ahu1.sat"] = replace(sat, relations=(feeds("room101", TargetKind.LOCATION),))
    assert messages(model) == [
        # the inverse names the point as the feeder too
        "plant.yaml:7:5: location 'room101': brick:isFedBy must name equipment or a collection (got point 'ahu1.sat')",
        "<twin>: point 'ahu1.sat': only equipment (or a collection: a system, a loop) can feed something (brick:feeds)",
    ]


def test_a_point_cannot_be_fed() -> None:
    model = topology_model()
    model.assets["boiler1"] = replace(model.assets["boiler1"], relations=(feeds("ahu1.sat", TargetKind.POINT),))
    assert messages(model) == [
        "plant.yaml:20:5: asset 'boiler1': brick:feeds must name equipment, a location or a collection (a point "
        "cannot be fed) (got point 'ahu1.sat')"
    ]


def test_a_point_of_a_point_and_has_point_of_a_location() -> None:
    stray = f"<{BASE}point/x.y>"
    got = edited(
        topology_model(),
        add=f"{stray} <http://www.w3.org/1999/02/22-rdf-syntax-ns#type> {B}Point> .\n"
        f"{stray} {B}isPointOf> <{BASE}point/ahu1.sat> .\n{BOILER} {B}hasPoint> {HALL} .\n",
    )
    assert got == [
        "plant.yaml:20:5: asset 'boiler1': brick:hasPoint must name a point (got location 'hall')",
        "<twin>: point 'ahu1.sat': what a point belongs to (brick:isPointOf) must be equipment, a location or a "
        "collection",
    ]


def test_a_location_is_part_of_locations_only_and_may_have_several_wholes() -> None:
    model = topology_model()
    model.locations["hall"] = replace(model.locations["hall"], parent="boiler1")
    assert messages(model) == [
        "plant.yaml:6:5: location 'hall': a location can only be part of another location (a site, building, floor, "
        "room, zone...) (got location 'boiler1')"
    ]
    # Brick lets a part have several wholes: a room of its floor is also part of an HVAC zone
    assert edited(topology_model(), add=f"{HALL} {B}isPartOf> <{BASE}location/hq> .\n") == []


def test_a_location_has_one_id_and_one_label() -> None:
    got = edited(topology_model(), drop=r"location/hall> <https://w3id.org/twinbridge#id>", add=(
        f'{HALL} <http://www.w3.org/2000/01/rdf-schema#label> "Second" .\n'))  # fmt: skip
    assert got == [
        "plant.yaml:6:5: location 'hall': a location has exactly one id, a string",
        "plant.yaml:6:5: location 'hall': a location has exactly one label, a plain string",
    ]


def test_a_quantity_value_has_one_number_and_one_known_unit() -> None:
    model = topology_model()
    nameplate = [replace(p, unit="FAHR") if p.key == "rated_power" else p for p in model.assets["boiler1"].properties]
    model.assets["boiler1"] = replace(model.assets["boiler1"], properties=tuple(nameplate))
    assert messages(model) == [
        "plant.yaml:30:7: asset 'boiler1' property 'rated_power': the quantity's unit is not a known QUDT unit "
        "(got unit:FAHR)"
    ]
    assert edited(topology_model(), drop=r"property/rated_power> <http://qudt.org/schema/qudt/hasUnit>") == [
        "plant.yaml:30:7: asset 'boiler1' property 'rated_power': a quantity value has exactly one unit (qudt:hasUnit)"
    ]
    assert edited(topology_model(), add=f'{RATED} {QUDT}numericValue> "forty" .\n') == [
        "plant.yaml:30:7: asset 'boiler1' property 'rated_power': a quantity value has exactly one number "
        "(qudt:numericValue)",
        "plant.yaml:30:7: asset 'boiler1' property 'rated_power': a quantity value's number must be numeric "
        "(xsd:double, decimal, integer or float) (got forty)",
    ]


def test_a_property_without_an_origin_is_reported_at_its_entity() -> None:
    model = topology_model()
    zone = model.points["ahu1.zone_temp"]
    model.points["ahu1.zone_temp"] = replace(
        zone, properties=(Property("accuracy", "http://example.com/plant#accuracy", 0.5, "Accuracy", "NOPE"),)
    )
    model.points["ahu1.zone_temp"] = replace(model.points["ahu1.zone_temp"], origin=model.locations["hall"].origin)
    assert messages(model) == [
        "plant.yaml:6:5: point 'ahu1.zone_temp' property 'accuracy': the quantity's unit is not a known QUDT unit "
        "(got unit:NOPE)"
    ]


def test_a_custom_relation_is_not_held_to_brick_families() -> None:
    model = topology_model()
    custom = Relation("http://example.com/plant#near", "ahu1.sat", TargetKind.POINT, "Near")
    model.assets["boiler1"] = replace(model.assets["boiler1"], relations=(custom,))
    assert messages(model) == []


# -- the standard live terms (graph live with graph model) ----------------------------------------------------

SOSA = "http://www.w3.org/ns/sosa/"
XSD = "http://www.w3.org/2001/XMLSchema#"


def _running_union() -> str:
    """The topology plant's graphs, with a value on every point, as one N-Triples text."""
    twin = Twin(topology_model())
    now = datetime.now(UTC)
    for pid in twin.model.points:
        twin.apply(Sample(pid, True if pid == "ahu1.run" else 20.5, now, Quality.GOOD, "Good", None, "sim1"))
    twin.flush()
    graphs = (twin.ids.graph_model, twin.ids.graph_live, twin.ids.graph_ontology)
    return "".join(twin.store.dump(format=ox.RdfFormat.N_TRIPLES, from_graph=ox.NamedNode(g)).decode() for g in graphs)


def test_the_standard_live_terms_written_by_the_twin_conform() -> None:
    assert validate_ntriples(_running_union()) == []


def test_standard_live_terms_that_disagree_with_the_twins_own() -> None:
    p, node = f"<{BASE}point/ahu1.sat>", f"<{BASE}point/ahu1.sat/value>"
    data = _running_union() + (
        f'{p} <{SOSA}hasSimpleResult> "99.0"^^<{XSD}double> .\n'
        f'{p} <{SOSA}resultTime> "2020-01-01T00:00:00+00:00"^^<{XSD}dateTime> .\n'
        f'{node} {B}value> "98.0"^^<{XSD}double> .\n'
        f'{node} {B}timestamp> "yesterday" .\n'
    )
    got = {(v.focus.removeprefix(BASE), v.message) for v in validate_ntriples(data)}
    assert got == {
        ("point/ahu1.sat", "a point's SOSA result (sosa:hasSimpleResult) is its one tb:value"),
        ("point/ahu1.sat", "a point's SOSA result time (sosa:resultTime) is its one tb:sourceTime"),
        ("point/ahu1.sat/value", "a last known value has at most one brick:value"),
        ("point/ahu1.sat/value", "a last known value has at most one brick:timestamp, an xsd:dateTime"),
    }

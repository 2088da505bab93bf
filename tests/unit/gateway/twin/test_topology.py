"""The twin graph's topology: locations, placements, relations both ways and nameplate properties, over SPARQL."""

from __future__ import annotations

import pytest

from adapters.contract.model import Asset, AssetLevel, Property, TargetKind
from adapters.contract.rdf import BRICK
from gateway.twin.topology import property_triples
from gateway.twin.twin import Twin
from tests.conftest import make_point
from tests.unit.gateway.twin.topology_plant import BASE, EX, feeds, location, topology_model

P = f"""PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <{BRICK}>
PREFIX qudt: <http://qudt.org/schema/qudt/> PREFIX unit: <http://qudt.org/vocab/unit/>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#> PREFIX xsd: <http://www.w3.org/2001/XMLSchema#>
PREFIX owl: <http://www.w3.org/2002/07/owl#> PREFIX schema: <http://schema.org/> PREFIX ex: <{EX}>
PREFIX asset: <{BASE}asset/> PREFIX loc: <{BASE}location/> PREFIX point: <{BASE}point/>
"""


@pytest.fixture(scope="module")
def twin() -> Twin:
    return Twin(topology_model())


def local(value: str) -> str:
    """The id of a twin IRI (``.../asset/ahu1`` -> ``ahu1``) or the local name of a term."""
    return value.rsplit("/", 1)[-1].rsplit("#", 1)[-1]


def column(twin: Twin, query: str) -> set[str]:
    """The local names of the one variable the query selects."""
    result = twin.query_sync(P + query)
    [name] = [v.value for v in result.variables]
    return {local(row[name].value) for row in result}


def ask(twin: Twin, query: str) -> bool:
    return bool(twin.query_sync(P + f"ASK {{ {query} }}"))


def test_feeds_transitively_through_a_property_path(twin: Twin) -> None:
    assert column(twin, "SELECT ?x WHERE { asset:boiler1 brick:feeds+ ?x }") == {"ahu1", "room101"}
    assert column(twin, "SELECT ?x WHERE { loc:room101 brick:isFedBy+ ?x }") == {"ahu1", "boiler1"}


def test_every_relation_in_both_directions(twin: Twin) -> None:
    assert ask(twin, "asset:boiler1 brick:feeds asset:ahu1 . asset:ahu1 brick:isFedBy asset:boiler1")
    assert ask(twin, "asset:ahu1 brick:feeds loc:room101 . loc:room101 brick:isFedBy asset:ahu1")
    assert ask(twin, "asset:plc1 tb:controls asset:boiler1 . asset:boiler1 tb:isControlledBy asset:plc1")
    # a custom relation to a custom IRI (a term outside the twin) gets its declared inverse too
    assert ask(twin, "asset:boiler1 ex:maintainedBy ex:teamA . ex:teamA ex:maintains asset:boiler1")
    # a point-to-point relation without an inverse: one direction only
    assert ask(twin, "point:ahu1.zone_temp ex:derivedFrom point:boiler1.supply_temp")
    assert column(twin, "SELECT ?p WHERE { point:boiler1.supply_temp ?p point:ahu1.zone_temp }") == set()


def test_a_term_target_is_the_term_itself(twin: Twin) -> None:
    assert ask(twin, "asset:boiler1 brick:hasInputSubstance brick:Natural_Gas")
    # no inverse: nothing is said about the Brick term
    assert column(twin, "SELECT ?p WHERE { GRAPH ?g { brick:Natural_Gas ?p ?o } FILTER(?g != <%s>) }" % (
        BASE + "graph/ontology")) == set()  # fmt: skip


def test_location_tree_both_ways_with_brick_classes(twin: Twin) -> None:
    assert column(twin, "SELECT ?l WHERE { ?l brick:isPartOf+ loc:plant }") == {
        "hq", "f1", "boilerroom", "hall", "room101"
    }  # fmt: skip
    assert column(twin, "SELECT ?l WHERE { loc:f1 brick:hasPart ?l }") == {"boilerroom", "hall", "room101"}
    assert ask(twin, 'loc:hall a tb:Location, brick:Room, brick:Mechanical_Room ; tb:id "hall" ; rdfs:label "Hall"')
    # tb:Location is a brick:Location, and brick:Room one through Brick's own hierarchy
    assert column(twin, "SELECT ?l WHERE { ?l a/rdfs:subClassOf* brick:Location ; tb:id ?id }") >= {
        "plant", "hq", "f1", "boilerroom", "hall", "room101"
    }  # fmt: skip
    assert column(twin, "SELECT ?l WHERE { ?l a brick:Room }") == {"boilerroom", "hall", "room101"}


def test_assets_and_points_are_located_and_points_inherit_their_assets_place(twin: Twin) -> None:
    assert ask(twin, "asset:boiler1 brick:hasLocation loc:boilerroom . loc:boilerroom brick:isLocationOf asset:boiler1")
    # boiler1.supply_temp sets no location: it is where its asset is
    assert ask(twin, "point:boiler1.supply_temp brick:hasLocation loc:boilerroom")
    assert ask(twin, "point:ahu1.zone_temp brick:hasLocation loc:room101 . loc:room101 brick:isLocationOf ?p")
    # every point on the first floor, at any depth
    assert column(twin, "SELECT ?p WHERE { ?p a brick:Point ; brick:hasLocation/brick:isPartOf* loc:f1 }") == {
        "boiler1.supply_temp", "ahu1.sat", "ahu1.zone_temp", "ahu1.fan", "ahu1.run", "plc1.cpu_load"
    }  # fmt: skip
    # rooms fed by the boiler (through the AHU) and the sensors located in them
    rows = column(
        twin,
        "SELECT ?s WHERE { asset:boiler1 brick:feeds+ ?room . ?room a brick:Room . ?s brick:hasLocation ?room }",
    )
    assert rows == {"ahu1.zone_temp"}


def test_a_quantity_property_is_a_qudt_quantity_value(twin: Twin) -> None:
    rows = twin.query_sync(
        P
        + """SELECT ?n ?u ?bv ?bu ?symbol WHERE { asset:boiler1 brick:ratedPowerOutput ?q .
        ?q a qudt:QuantityValue ; qudt:numericValue ?n ; qudt:hasUnit ?u ; brick:value ?bv ; brick:hasUnit ?bu .
        ?u qudt:symbol ?symbol }"""
    )
    assert [(float(r["n"].value), r["n"].datatype.value, local(r["u"].value), float(r["bv"].value),
             local(r["bu"].value), r["symbol"].value) for r in rows] == [
        (40.0, "http://www.w3.org/2001/XMLSchema#double", "KiloW", 40.0, "KiloW", "kW")
    ]  # fmt: skip
    assert column(twin, "SELECT ?q WHERE { asset:boiler1 brick:ratedPowerOutput ?q }") == {"rated_power"}
    # on a point too, with its unit described in the ontology graph
    assert ask(twin, 'point:ahu1.zone_temp ex:accuracy/qudt:hasUnit unit:K . unit:K qudt:symbol "K"')


def test_plain_properties_are_literals_and_documents_one_iri_each(twin: Twin) -> None:
    assert ask(twin, 'asset:boiler1 schema:manufacturer "Viessmann" ; tb:installDate "2019-05-14"^^xsd:date')
    assert ask(twin, "asset:boiler1 ex:heated true . loc:hq brick:yearBuilt 1998")
    docs = twin.query_sync(P + "SELECT ?d WHERE { asset:boiler1 rdfs:seeAlso ?d }")
    # one IRI per document; a space (not allowed in an IRI) is percent-encoded instead of breaking the graph
    assert sorted(r["d"].value for r in docs) == [
        "https://example.com/data%20sheet.pdf",
        "https://example.com/manual.pdf",
    ]


def test_a_quantity_that_is_not_a_number_is_refused_plainly() -> None:
    bad = Property("rated_power", BRICK + "ratedPowerOutput", "forty", "Rated power", "KiloW")
    with pytest.raises(ValueError, match="property 'rated_power' has unit KiloW but its value 'forty' is not a number"):
        list(property_triples("http://t/asset/a", [bad]))


def test_the_ontology_graph_declares_brick_and_custom_relations(twin: Twin) -> None:
    ontology = f"<{BASE}graph/ontology>"
    q = "ASK {{ GRAPH {g} {{ {body} }} }}"
    assert twin.query_sync(P + q.format(g=ontology, body="brick:feeds owl:inverseOf brick:isFedBy ; rdfs:label ?l"))
    assert twin.query_sync(P + q.format(g=ontology, body="brick:hasLocation owl:inverseOf brick:isLocationOf"))
    assert twin.query_sync(P + q.format(g=ontology, body="tb:controls owl:inverseOf tb:isControlledBy"))
    assert twin.query_sync(
        P + q.format(g=ontology, body="brick:ratedMaximumCurrentInput rdfs:subPropertyOf brick:ratedCurrentInput")
    )
    # the integrator's relation, declared from the model with its label and inverse
    assert twin.query_sync(
        P + q.format(g=ontology, body='ex:maintainedBy a owl:ObjectProperty ; rdfs:label "MaintainedBy" ; '
                     'owl:inverseOf ex:maintains . ex:maintains rdfs:label "Maintains"')
    )  # fmt: skip
    # an app can follow any relation by its declared inverse without knowing its name
    rows = column(twin, "SELECT ?x WHERE { asset:ahu1 ?inv ?x . brick:feeds owl:inverseOf ?inv }")
    assert rows == {"boiler1"}


def test_locations_assets_and_points_added_at_run_time_bring_their_topology() -> None:
    twin = Twin(topology_model())
    seen: list[tuple[list[str], list[str]]] = []
    twin.add_model_listener(lambda assets, points: seen.append(([a.id for a in assets], [p.id for p in points])))
    annex = location("annex", "Building", "plant", 40)
    pump = Asset(
        "pump9",
        AssetLevel.EQUIPMENT,
        (BRICK + "Pump",),
        "Pump 9",
        location="annex",
        relations=(feeds("ahu1"), feeds("annex", TargetKind.LOCATION)),
        properties=(Property("rated_power", BRICK + "ratedPowerOutput", 2.2, "Rated power", "KiloW"),),
    )
    twin.add([pump], [make_point("pump9.flow", unit="M3-PER-HR")], [annex])
    assert seen == [(["pump9"], ["pump9.flow"])]
    assert twin.model.locations["annex"] is annex
    assert ask(twin, "loc:annex brick:isPartOf loc:plant . loc:plant brick:hasPart loc:annex")
    # the inverse lands on the existing AHU; the new point sits where its asset is
    assert ask(twin, "asset:ahu1 brick:isFedBy asset:pump9 . loc:annex brick:isFedBy asset:pump9")
    assert ask(twin, "point:pump9.flow brick:hasLocation loc:annex")
    assert column(twin, "SELECT ?x WHERE { asset:pump9 brick:feeds+ ?x }") == {"ahu1", "annex", "room101"}
    assert ask(twin, "asset:pump9 brick:ratedPowerOutput/qudt:numericValue 2.2e0")
    assert ask(twin, f"GRAPH <{BASE}graph/ontology> {{ unit:M3-PER-HR qudt:symbol ?s }}")

"""How relations and properties are named in OPC UA: one type per relation pair, its active side, clashes."""

from __future__ import annotations

import logging

import pytest
from asyncua import ua

from adapters.contract.model import Asset, AssetLevel, Property, Relation, TargetKind
from gateway.model import TwinModel, TwinSettings
from gateway.northbound.opcua.address_space import NodeIds
from gateway.northbound.opcua.topology import Topology, TopologyBatch

BRICK = "https://brickschema.org/schema/Brick#"
EX = "http://example.com/plant#"


def _model(*assets: Asset) -> TwinModel:
    model = TwinModel(settings=TwinSettings())
    model.assets.update({a.id: a for a in assets})
    return model


def _asset(aid: str, *relations: Relation, properties: tuple[Property, ...] = ()) -> Asset:
    return Asset(aid, AssetLevel.EQUIPMENT, (), aid, relations=relations, properties=properties)


def _batch(*assets: Asset) -> TopologyBatch:
    model = _model(*assets)
    return Topology(NodeIds(2)).batch(model, model.assets.values(), [], set())


def _types(batch: TopologyBatch) -> dict[str, str | None]:
    """BrowseName -> InverseName of the batch's reference types."""
    out = {}
    for it in batch.types:
        attrs = it.NodeAttributes
        inverse = attrs.InverseName.Text if attrs.SpecifiedAttributes & ua.NodeAttributesMask.InverseName else None
        out[it.BrowseName.Name] = inverse
    return out


def _refs(batch: TopologyBatch) -> list[tuple[str, str, str]]:
    return [(str(s.Identifier), t.name, str(o.Identifier)) for s, t, o in batch.references]


def _rel(pred: str, target: str, name: str, inverse: str | None, inverse_name: str | None) -> Relation:
    return Relation(pred, target, TargetKind.ASSET, name, inverse, inverse_name)


FEEDS = (BRICK + "feeds", "Feeds", BRICK + "isFedBy", "IsFedBy")
IS_FED_BY = (BRICK + "isFedBy", "IsFedBy", BRICK + "feeds", "Feeds")


def test_a_relation_and_its_inverse_are_one_type_named_after_the_active_side() -> None:
    p, n, i, inn = IS_FED_BY
    batch = _batch(_asset("vav1", _rel(p, "ahu1", n, i, inn)), _asset("ahu1"))
    assert _types(batch) == {"Feeds": "IsFedBy"}
    assert _refs(batch) == [("ahu1", "Feeds", "vav1")]


def test_the_same_relation_stated_from_both_ends_is_one_reference() -> None:
    p, n, i, inn = FEEDS
    q, m, j, jnn = IS_FED_BY
    batch = _batch(_asset("ahu1", _rel(p, "vav1", n, i, inn)), _asset("vav1", _rel(q, "ahu1", m, j, jnn)))
    assert _refs(batch) == [("ahu1", "Feeds", "vav1")]


@pytest.mark.parametrize(
    ("pred", "name", "inverse", "inverse_name", "expected"),
    [
        (EX + "maintainedBy", "Maintained by", EX + "maintains", "Maintains", ("Maintains", "Maintained by")),
        (EX + "hosts", "Hosts", EX + "isHostedOn", "IsHostedOn", ("Hosts", "IsHostedOn")),
        (EX + "isPartOfLoop", "IsPartOfLoop", EX + "hasLoopPart", "HasLoopPart", ("HasLoopPart", "IsPartOfLoop")),
        # names that do not tell: the smaller IRI names the type
        (EX + "b", "B", EX + "a", "A", ("A", "B")),
        (EX + "a", "A", EX + "b", "B", ("A", "B")),
    ],
)
def test_the_active_side_is_known_by_its_name_else_by_the_iri(
    pred: str, name: str, inverse: str, inverse_name: str, expected: tuple[str, str]
) -> None:
    batch = _batch(_asset("x", _rel(pred, "y", name, inverse, inverse_name)), _asset("y"))
    assert _types(batch) == {expected[0]: expected[1]}


def test_a_relation_without_an_inverse_gets_an_inverse_name() -> None:
    batch = _batch(
        _asset("x", _rel(EX + "hasSpare", "y", "HasSpare", None, None), _rel(EX + "backs", "y", "Backs", None, None)),
        _asset("y"),
    )
    assert _types(batch) == {"HasSpare": "IsSpareOf", "Backs": "InverseOfBacks"}


def test_a_symmetric_relation_has_no_inverse_name_and_one_reference() -> None:
    c = BRICK + "connectedTo"
    batch = _batch(
        _asset("b", _rel(c, "a", "ConnectedTo", c, "ConnectedTo")),
        _asset("a", _rel(c, "b", "ConnectedTo", c, "ConnectedTo")),
    )
    assert _types(batch) == {"ConnectedTo": None}
    assert _refs(batch) == [("a", "ConnectedTo", "b")]


def test_two_relations_with_one_name_are_told_apart_by_curie(caplog: pytest.LogCaptureFixture) -> None:
    p, n, i, inn = FEEDS
    own = _rel(EX + "feeds", "y", "Feeds", EX + "fedBy", "Fed by")
    with caplog.at_level(logging.WARNING, logger="twinbridge.opcua"):
        batch = _batch(_asset("x", _rel(p, "y", n, i, inn), own), _asset("y"))
    assert _types(batch) == {"Feeds": "IsFedBy", EX.replace(":", "_") + "feeds": "Fed by"}
    assert "two relations are named Feeds in OPC UA" in caplog.text


def test_properties_are_named_in_pascal_case_and_a_clash_shows_once(caplog: pytest.LogCaptureFixture) -> None:
    props = (
        Property("serial_number", "http://schema.org/serialNumber", "7143", "Serial number"),
        Property("ex:serial", EX + "serial", "other", "serial number"),
        Property("ex:eu", EX + "eu", "x", "Engineering units"),
    )
    with caplog.at_level(logging.WARNING, logger="twinbridge.opcua"):
        batch = _batch(_asset("x", properties=props))
    assert [(it.BrowseName.Name, it.NodeAttributes.Value.Value) for it in batch.nodes] == [("SerialNumber", "7143")]
    assert "x: OPC UA property SerialNumber given twice" in caplog.text
    assert "x: OPC UA property EngineeringUnits given twice (or a point's own)" in caplog.text

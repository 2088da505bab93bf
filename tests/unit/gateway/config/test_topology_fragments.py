"""Fragments discovered at run time go through the same topology checks, against the running twin: its
locations, its entities as relation targets, its declared vocabulary."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from adapters.contract.model import Asset, Point, TargetKind
from gateway.config.fragments import FragmentDiscovery
from tests.unit.gateway.config.conftest import SIM, Load

PLANT = (
    SIM
    + """\
prefixes: {ex: "http://example.com/plant#"}
relation_types:
  - {id: "ex:maintainedBy", inverse: "ex:maintains"}
locations:
  - {id: hall1, type: room}
assets:
  - {id: boiler1, type: brick:Boiler}
  - {id: team-a, type: brick:Equipment}
"""
)


def discovery(load: Load) -> tuple[FragmentDiscovery, list[Asset]]:
    model = load(PLANT)
    added: list[Asset] = []

    def add(assets: Sequence[Asset], points: Sequence[Point]) -> list[Point]:
        added.extend(assets)
        return list(points)

    return FragmentDiscovery(model, "sim1", add), added


def fragment(**asset: Any) -> dict[str, Any]:
    return {"origin": "found on sim1", "assets": [{"id": "pump7", "type": "brick:Pump", **asset}]}


def test_a_fragment_relates_to_the_running_twin(load: Load) -> None:
    found, added = discovery(load)
    result = found(
        fragment(
            location="hall1",
            relations={"isFedBy": "boiler1", "ex:maintainedBy": "team-a"},
            properties={"manufacturer": "Grundfos", "ex:warrantyEnd": "2030-01-01"},
        )
    )
    assert result.errors == []
    [pump] = added
    assert pump.location == "hall1"
    assert [(r.target, r.target_kind, r.name) for r in pump.relations] == [
        ("boiler1", TargetKind.ASSET, "IsFedBy"),
        ("team-a", TargetKind.ASSET, "MaintainedBy"),
    ]
    assert [p.key for p in pump.properties] == ["manufacturer", "ex:warrantyEnd"]


def test_a_fragment_is_refused_for_what_a_mapping_would_be(load: Load) -> None:
    found, added = discovery(load)
    result = found(fragment(location="hall2", relations={"feeds": "boiler9", "ex:fixedBy": "team-a"}))
    assert result.errors == [
        "found on sim1: assets[0].location: unknown location 'hall2' (nearest known: 'hall1')",
        "found on sim1: assets[0].relations.feeds: unknown target 'boiler9' of feeds: no asset, point or location"
        " has this id (nearest known: 'boiler1')",
        "found on sim1: assets[0].relations.ex:fixedBy: undeclared relation ex:fixedBy: declare it under"
        ' relation_types: (- {id: "ex:fixedBy", inverse: ..., label: ...})',
    ]
    assert added == []
    clash = found({"origin": "found on sim1", "assets": [{"id": "hall1", "type": "brick:Pump"}]})
    assert clash.errors == ["found on sim1: assets[0].id: asset id 'hall1' is a location of the twin: rename the asset"]

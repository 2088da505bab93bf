"""The REST topology indexes (gateway/northbound/http/topology.py) on models built in code."""

from __future__ import annotations

import dataclasses

from adapters.contract.model import Asset, AssetLevel, Location, Relation, TargetKind
from gateway.model import TwinModel
from gateway.northbound.http.topology import FEEDS, IS_FED_BY, TopologyCache, nearest
from tests.conftest import make_model, make_point


def _feeds(target: str) -> Relation:
    return Relation(FEEDS, target, TargetKind.ASSET, "Feeds", IS_FED_BY, "IsFedBy")


def _loop() -> TwinModel:
    """a feeds b, b feeds c, c feeds a (Brick forbids feeds from a thing to itself, not a loop through others)."""
    model = make_model([make_point("a.p"), make_point("b.p"), make_point("c.p"), make_point("d.p")])
    for src, dst in (("a", "b"), ("b", "c"), ("c", "a")):
        model.assets[src] = dataclasses.replace(model.assets[src], relations=(_feeds(dst),))
    return model


def test_a_loop_of_feeds_ends_and_comes_back_to_the_feeder() -> None:
    topo = TopologyCache().get(_loop())
    keys = {ident for _, ident in topo.fed_by("a")}
    assert keys == {"a", "b", "c"}
    assert topo.points_fed_by("a") == {"a.p", "b.p", "c.p"}  # a's own points: the loop feeds a too
    assert topo.points_fed_by("d") == set()


def test_a_location_cycle_cannot_hang_the_path() -> None:
    model = make_model([make_point("a.p")])
    model.locations["x"] = Location("x", (), "X", parent="y")
    model.locations["y"] = Location("y", (), "Y", parent="x")
    path = TopologyCache().get(model).path("x")
    assert path[-1] == "x" and len(path) <= 3


def test_the_cache_rebuilds_only_when_the_model_changed() -> None:
    cache, model = TopologyCache(), _loop()
    first = cache.get(model)
    assert cache.get(model) is first
    cache.invalidate([], [])  # the model listener's call
    second = cache.get(model)
    assert second is not first and cache.get(model) is second
    model.assets["e"] = Asset("e", AssetLevel.EQUIPMENT, (), "E")  # changed without the listener
    assert cache.get(model) is not second
    other = _loop()
    assert cache.get(other).model is other


def test_a_relation_to_an_entity_no_longer_there_shows_its_id() -> None:
    model = _loop()
    topo = TopologyCache().get(model)
    del model.assets["b"]
    assert topo.label(TargetKind.ASSET, "b") is None and topo.label(TargetKind.ASSET, "a") == "a"


def test_nearest_ids_by_spelling_then_by_part() -> None:
    known = ["boiler1", "ahu1", "hq-f1", "hq-f2-lab"]
    assert nearest("boiler2", known) == ["boiler1"]
    assert nearest("lab", known) == ["hq-f2-lab"]
    assert nearest("zzz", known) == []

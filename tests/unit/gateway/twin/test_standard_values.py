"""Standard answers: SOSA-only and Brick-only queries find every point's value, time and unit; the switch that
turns the extra live triples off; the live diff still writes only what changed."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pyoxigraph as ox
import pytest

from adapters.contract.sample import PointState, Quality, Sample
from gateway.twin.live import LiveTable
from gateway.twin.twin import Twin
from gateway.twin.vocab import TwinIRIs
from tests.conftest import make_point
from tests.unit.gateway.twin.topology_plant import BASE, topology_model

T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
VALUES: dict[str, float | bool] = {
    "boiler1.supply_temp": 71.5,
    "ahu1.sat": 18.25,
    "ahu1.zone_temp": 21.0,
    "ahu1.fan": 55.0,
    "ahu1.run": True,
    "plc1.cpu_load": 12.5,
}
UNITS = {
    "boiler1.supply_temp": "DEG_C",
    "ahu1.sat": "DEG_C",
    "ahu1.zone_temp": "DEG_C",
    "ahu1.fan": "PERCENT",
    "plc1.cpu_load": "PERCENT",
}
# written against SOSA (and QUDT for the unit, as SOSA leaves units to it) alone: no tb: term
SOSA_ONLY = """PREFIX sosa: <http://www.w3.org/ns/sosa/> PREFIX qudt: <http://qudt.org/schema/qudt/>
SELECT ?s ?v ?t ?u WHERE {
  { ?s a sosa:Sensor } UNION { ?s a sosa:Actuator }
  ?s sosa:hasSimpleResult ?v ; sosa:resultTime ?t .
  OPTIONAL { ?s qudt:hasUnit ?u }
}"""
# written against Brick alone
BRICK_ONLY = """PREFIX brick: <https://brickschema.org/schema/Brick#>
SELECT ?p ?v ?t ?u WHERE {
  ?p a brick:Point ; brick:lastKnownValue ?last .
  ?last brick:value ?v ; brick:timestamp ?t .
  OPTIONAL { ?p brick:hasUnit ?u }
}"""


def running(*, standard_values: bool = True) -> Twin:
    """The topology plant with a Good sample applied to every point and flushed."""
    twin = Twin(topology_model(standard_values=standard_values))
    for i, (pid, value) in enumerate(VALUES.items()):
        twin.apply(Sample(pid, value, T0 + timedelta(seconds=i), Quality.GOOD, "Good", None, "sim1"))
    twin.flush()
    return twin


def answers(twin: Twin, query: str) -> dict[str, tuple[str, datetime, str | None]]:
    """point id -> (value, time, unit local name) of every row."""
    out = {}
    for row in twin.query_sync(query):
        pid = row[0].value.rsplit("/", 1)[1]
        assert pid not in out, f"{pid} answered twice"
        unit = row[3].value.rsplit("/", 1)[1] if row[3] is not None else None
        out[pid] = (row[1].value, datetime.fromisoformat(row[2].value), unit)
    return out


def expected() -> dict[str, tuple[str, datetime, str | None]]:
    return {
        pid: ("true" if v is True else str(float(v)), T0 + timedelta(seconds=i), UNITS.get(pid))
        for i, (pid, v) in enumerate(VALUES.items())
    }


@pytest.mark.parametrize("query", [SOSA_ONLY, BRICK_ONLY], ids=["sosa", "brick"])
def test_a_standard_only_query_finds_every_points_value_time_and_unit(query: str) -> None:
    got = answers(running(), query)
    assert {pid: (float(v) if v != "true" else v, t, u) for pid, (v, t, u) in got.items()} == {
        pid: (float(v) if v != "true" else v, t, u) for pid, (v, t, u) in expected().items()
    }


def test_standard_terms_follow_every_new_value() -> None:
    twin = running()
    later = T0 + timedelta(minutes=5)
    twin.apply(Sample("ahu1.sat", 19.5, later, Quality.GOOD, "Good", None, "sim1"))
    assert answers(twin, SOSA_ONLY)["ahu1.sat"] == ("19.5", later, "DEG_C")
    assert answers(twin, BRICK_ONLY)["ahu1.sat"] == ("19.5", later, "DEG_C")


def test_before_the_first_sample_no_standard_value_is_claimed() -> None:
    twin = Twin(topology_model())
    assert answers(twin, SOSA_ONLY) == {} and answers(twin, BRICK_ONLY) == {}
    # the link to the value node is static (model graph), the node's value and time live
    assert twin.query_sync(
        f"ASK {{ GRAPH <{BASE}graph/model> {{ <{BASE}point/ahu1.sat> "
        f"<https://brickschema.org/schema/Brick#lastKnownValue> <{BASE}point/ahu1.sat/value> }} }}"
    )


def test_the_switch_turns_the_standard_terms_off_and_keeps_tb_values() -> None:
    twin = running(standard_values=False)
    assert answers(twin, SOSA_ONLY) == {} and answers(twin, BRICK_ONLY) == {}
    for term in ("http://www.w3.org/ns/sosa/hasSimpleResult", "https://brickschema.org/schema/Brick#lastKnownValue"):
        assert not list(twin.store.quads_for_pattern(None, ox.NamedNode(term), None))
    [row] = list(twin.query_sync("SELECT (COUNT(*) AS ?n) WHERE { ?p <https://w3id.org/twinbridge#value> ?v }"))
    assert int(row["n"].value) == len(VALUES)


def _changed_lines(update: str) -> tuple[list[str], list[str]]:
    """(deleted, inserted) N-Triples lines of a LiveTable update."""
    deleted, _, inserted = update.partition("INSERT DATA")
    return (
        [ln for ln in deleted.splitlines() if ln.startswith("<")],
        [ln for ln in inserted.splitlines() if ln.startswith("<")],
    )


def test_the_live_diff_writes_only_what_changed() -> None:
    table = LiveTable(TwinIRIs("http://t/"))
    table.add_points([make_point("a.x")])
    table.set(PointState("a.x", 1.0, T0, T0, Quality.GOOD, "Good", None))
    table.take_update()
    # a new value: value and times in the three vocabularies, nothing about quality
    table.set(PointState("a.x", 2.0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), Quality.GOOD, "Good", None))
    deleted, inserted = _changed_lines(table.take_update()[0])
    predicates = sorted(ln.split(" ")[1].strip("<>").rsplit("/", 1)[-1].rsplit("#", 1)[-1] for ln in inserted)
    assert predicates == ["gatewayTime", "hasSimpleResult", "resultTime", "sourceTime", "timestamp", "value", "value"]
    assert len(deleted) == len(inserted)
    # a fault without a value keeps value and source time: no standard triple is rewritten
    table.set(
        PointState("a.x", 2.0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=2), Quality.BAD, "BadTimeout", "x")
    )
    deleted, inserted = _changed_lines(table.take_update()[0])
    assert not any("sosa" in ln or "Brick#" in ln for ln in deleted + inserted)
    assert len(inserted) == 4  # quality, status, reason, gateway time


def test_without_standard_values_a_new_value_rewrites_three_triples() -> None:
    table = LiveTable(TwinIRIs("http://t/"), standard_values=False)
    table.add_points([make_point("a.x")])
    table.set(PointState("a.x", 1.0, T0, T0, Quality.GOOD, "Good", None))
    table.take_update()
    table.set(PointState("a.x", 2.0, T0 + timedelta(seconds=1), T0 + timedelta(seconds=1), Quality.GOOD, "Good", None))
    deleted, inserted = _changed_lines(table.take_update()[0])
    assert len(deleted) == len(inserted) == 3  # value, source time, gateway time

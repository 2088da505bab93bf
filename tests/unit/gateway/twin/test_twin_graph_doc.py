"""Every SPARQL example of docs/twin-graph.md answers as the page says, on the plant it describes."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from adapters.contract.sample import Quality, Sample
from gateway.twin.twin import Twin
from tests.unit.gateway.twin.topology_plant import BASE, topology_model

ROOT = Path(__file__).resolve().parents[4]
T0 = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
VALUES = {"boiler1.supply_temp": 71.5, "ahu1.sat": 18.25, "ahu1.zone_temp": 21.0, "ahu1.fan": 55.0, "ahu1.run": True}


def doc_queries() -> list[str]:
    text = (ROOT / "docs" / "twin-graph.md").read_text(encoding="utf-8")
    return re.findall(r"```sparql\n(.*?)```", text, flags=re.S)


def running(*, standard_values: bool = True) -> Twin:
    twin = Twin(topology_model(standard_values=standard_values))
    for i, (pid, value) in enumerate(VALUES.items()):
        twin.apply(Sample(pid, value, T0 + timedelta(seconds=i), Quality.GOOD, "Good", None, "sim1"))
    return twin


@pytest.fixture(scope="module")
def twin() -> Twin:
    return running()


def rows(twin: Twin, sparql: str) -> list[tuple[str | None, ...]]:
    """Rows as text: twin IRIs as their ids, unit IRIs as unit names, numbers as Python's float text."""
    result = twin.query_sync(sparql)
    names = [v.value for v in result.variables]

    def text(term: object) -> str | None:
        if term is None:
            return None
        value: str = term.value  # type: ignore[attr-defined]
        if value.startswith((BASE, "http://qudt.org/vocab/unit/")):
            return value.rsplit("/", 1)[1]
        datatype = getattr(term, "datatype", None)
        if datatype is not None and datatype.value.endswith(("#double", "#decimal")):
            return str(float(value))
        return value

    return sorted(tuple(text(s[n]) for n in names) for s in result)


def test_the_page_has_the_queries_this_test_checks() -> None:
    assert len(doc_queries()) == 6


def test_what_boiler1_feeds(twin: Twin) -> None:
    assert rows(twin, doc_queries()[0]) == [("ahu1",), ("room101",)]


def test_rooms_served_by_boiler1_and_their_points(twin: Twin) -> None:
    assert rows(twin, doc_queries()[1]) == [("room101", "ahu1.zone_temp", "21.0")]


def test_points_on_a_floor(twin: Twin) -> None:
    assert rows(twin, doc_queries()[2]) == sorted(
        [
            ("boiler1.supply_temp", "boilerroom"),
            ("ahu1.sat", "hall"),
            ("ahu1.zone_temp", "room101"),
            ("ahu1.fan", "hall"),
            ("ahu1.run", "hall"),
            ("plc1.cpu_load", "hall"),
        ]
    )


def test_a_nameplate(twin: Twin) -> None:
    assert rows(twin, doc_queries()[3]) == [("Viessmann", "40.0", "kW")]


def _values_and_units() -> list[tuple[str, str, str, str | None]]:
    units = {"ahu1.fan": "PERCENT", "ahu1.run": None}
    return sorted(
        (pid, "true" if v is True else str(float(v)), (T0 + timedelta(seconds=i)).isoformat(), units.get(pid, "DEG_C"))
        for i, (pid, v) in enumerate(VALUES.items())
    )


def _normalized(got: list[tuple[str | None, ...]]) -> list[tuple[str | None, ...]]:
    # Oxigraph writes a UTC time with Z; compare as datetimes in isoformat
    return sorted((p, v, datetime.fromisoformat(t).isoformat() if t else None, u) for p, v, t, u in got)


@pytest.mark.parametrize("index", [4, 5], ids=["sosa-only", "brick-only"])
def test_standard_only_queries_find_every_value_time_and_unit(twin: Twin, index: int) -> None:
    assert _normalized(rows(twin, doc_queries()[index])) == _values_and_units()


@pytest.mark.parametrize("index", [4, 5], ids=["sosa-only", "brick-only"])
def test_standard_only_queries_find_nothing_when_turned_off(index: int) -> None:
    assert rows(running(standard_values=False), doc_queries()[index]) == []

"""UNS payloads: a value's JSON (value, unit, quality, status and its code, reason, times) and an asset's _meta."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone

import pytest

from adapters.contract.model import Asset, AssetLevel, DataType, PointKind
from adapters.contract.sample import PointState, Quality, Value
from gateway.northbound.mqtt.uns_payload import PointPayload, meta_json, time_json, value_json
from tests.conftest import make_point

T0 = datetime(2025, 3, 1, 12, 0, 0, 250_000, tzinfo=UTC)
B = "https://brickschema.org/schema/Brick#"


def _json(payload: bytes) -> dict:
    return json.loads(payload)


def test_a_good_value_with_its_unit_quality_status_and_times() -> None:
    p = PointPayload("tb/site/ahu1/sat", "DEG_C")
    doc = _json(p.encode(PointState("ahu1.sat", 21.5, T0, T0 + timedelta(milliseconds=3), Quality.GOOD, "Good", None)))
    assert doc == {
        "value": 21.5,
        "unit": {"name": "DEG_C", "iri": "http://qudt.org/vocab/unit/DEG_C", "symbol": "°C"},
        "quality": "good",
        "status": "Good",
        "status_code": 0,
        "source_time": "2025-03-01T12:00:00.250000Z",
        "server_time": "2025-03-01T12:00:00.253000Z",
    }


def test_a_bad_value_carries_its_reason_and_the_opc_ua_code() -> None:
    p = PointPayload("t", None)
    doc = _json(p.encode(PointState("a.p", None, T0, T0, Quality.BAD, "BadTimeout", "no answer in 1 s")))
    assert doc["value"] is None and doc["unit"] is None
    assert (doc["quality"], doc["status"], doc["status_code"]) == ("bad", "BadTimeout", 0x800A0000)
    assert doc["reason"] == "no answer in 1 s"
    uncertain = _json(p.encode(PointState("a.p", 1.0, T0, T0, Quality.UNCERTAIN, "UncertainLastUsableValue", None)))
    assert (uncertain["quality"], uncertain["status_code"], uncertain["reason"]) == ("uncertain", 0x40900000, None)
    odd = _json(p.encode(PointState("a.p", 1, T0, T0, Quality.BAD, "BadSomethingLocal", "x")))
    assert odd["status_code"] == 0x80000000  # a name OPC UA does not define keeps its class's code
    waiting = _json(p.encode(PointState.initial("a.p")))
    assert waiting["source_time"] is None and waiting["server_time"] is None


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (2**64 - 1, "18446744073709551615"),  # exact, not 1.8446744073709552e+19
        (-(2**63), "-9223372036854775808"),
        (51.8, "51.8"),
        (1e16, "1e+16"),
        (True, "true"),
        (False, "false"),
        (None, "null"),
        ('say "hi" °', '"say \\"hi\\" °"'),
        (float("nan"), '"NaN"'),
        (float("inf"), '"Infinity"'),
        (float("-inf"), '"-Infinity"'),
    ],
)
def test_values_as_json_text(value: Value, text: str) -> None:
    assert value_json(value) == text
    payload = PointPayload("t", None).encode(PointState("a.p", value, T0, T0, Quality.GOOD, "Good", None))
    assert payload.startswith(b'{"value":' + text.encode() + b",")
    json.loads(payload)  # always valid JSON


def test_times_are_utc_with_microseconds_whatever_the_zone() -> None:
    assert time_json(T0) == '"2025-03-01T12:00:00.250000Z"'
    assert time_json(datetime(2025, 3, 1, 14, 0, 0, 7, tzinfo=timezone(timedelta(hours=2)))) == (
        '"2025-03-01T12:00:00.000007Z"'
    )
    assert time_json(datetime(2025, 3, 1, 12, 0, 0)) == '"2025-03-01T12:00:00.000000Z"'  # naive: taken as UTC
    assert time_json(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=UTC)) == '"1969-12-31T23:59:59.999999Z"'
    for i in range(5000):  # across many seconds (the per-second cache is bounded and stays right)
        t = T0 + timedelta(seconds=i * 7.3)
        assert time_json(t) == f'"{t.isoformat(timespec="microseconds")[:-6]}Z"'


def test_the_meta_document_of_an_asset() -> None:
    asset = Asset("ahu1", AssetLevel.EQUIPMENT, (B + "AHU",), "AHU 1", parent="hall")
    hall = Asset("hall", AssetLevel.AREA, (), "Hall", parent="site")
    site = Asset("site", AssetLevel.SITE, (), "Site")
    sat = make_point("ahu1.sat", classes=(B + "Supply_Air_Temperature_Sensor",), unit="DEG_C")
    fan = make_point(
        "ahu1.fan", kind=PointKind.SETPOINT, unit="PERCENT", writable=True, min=0.0, max=100.0, datatype=DataType.FLOAT
    )
    doc = json.loads(
        meta_json(
            asset,
            iri="http://t/asset/ahu1",
            parents=[hall, site],
            topic="tb/site/hall/ahu1",
            points=[(sat, "http://t/point/ahu1.sat", "tb/site/hall/ahu1/sat"), (fan, "http://t/fan", "tb/x/fan")],
            commands=True,
        )
    )
    assert {k: doc[k] for k in ("id", "iri", "label", "classes", "level", "parent", "path", "topic")} == {
        "id": "ahu1",
        "iri": "http://t/asset/ahu1",
        "label": "AHU 1",
        "classes": ["brick:AHU"],
        "level": "equipment",
        "parent": "hall",
        "path": ["site", "hall"],
        "topic": "tb/site/hall/ahu1",
    }
    first, second = doc["points"]
    assert first == {
        "id": "ahu1.sat",
        "iri": "http://t/point/ahu1.sat",
        "label": "ahu1.sat",
        "description": None,
        "kind": "measurement",
        "classes": ["brick:Supply_Air_Temperature_Sensor"],
        "unit": {"name": "DEG_C", "iri": "http://qudt.org/vocab/unit/DEG_C", "symbol": "°C"},
        "datatype": "double",
        "writable": False,
        "min": None,
        "max": None,
        "topic": "tb/site/hall/ahu1/sat",
    }
    assert (second["writable"], second["min"], second["max"]) == (True, 0.0, 100.0)
    assert second["command_topic"] == "tb/x/fan/set" and second["unit"]["symbol"] == "%"

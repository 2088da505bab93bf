"""Sparkplug edge node payloads: devices, aliases, datatypes, properties, quality and historical data."""

from __future__ import annotations

from datetime import UTC, datetime

from adapters.contract.model import DataType
from adapters.contract.sample import PointState, Quality
from gateway.northbound.mqtt.sparkplug_births import (
    DEVICE_IRI_METRIC,
    DEVICE_LABEL_METRIC,
    Catalog,
    alias_of,
    device_birth,
    device_data,
    node_birth,
    sanitize_id,
)
from protocols.sparkplug import codec
from tests.conftest import make_model, make_point

T0 = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)
T0_MS = int(T0.timestamp() * 1000)


def _state(pid: str, value: object, status: str = "Good", ts: datetime = T0) -> PointState:
    return PointState(pid, value, ts, ts, Quality.of_status(status), status, None)  # type: ignore[arg-type]


def _catalog(points: list) -> Catalog:
    model = make_model(points)
    cat = Catalog()
    cat.add(model.points.values(), model.assets)
    return cat


def _metrics(payload: bytes) -> dict[str, object]:
    return {m.name or m.alias: m for m in codec.decode(payload).metrics}


def test_device_ids_are_sanitized_and_aliases_depend_only_on_the_point_id() -> None:
    assert sanitize_id("line 1/pump+#") == "line_1_pump__"
    assert sanitize_id("") == "_"
    first = _catalog([make_point("boiler.temp"), make_point("boiler.flow")])
    # another model order, another point on the same asset, a new asset: the aliases stay put
    later = _catalog([make_point("pump.speed"), make_point("boiler.flow"), make_point("boiler.temp")])
    for pid in ("boiler.temp", "boiler.flow"):
        assert first.by_point[pid][1].alias == later.by_point[pid][1].alias == alias_of(pid)
    aliases = [m.alias for _, m in later.by_point.values()]
    assert len(set(aliases)) == 3 and all(0 < a < 2**48 for a in aliases)
    assert sorted(later.devices) == ["boiler", "pump"]
    assert set(later.devices["boiler"].by_name) == {"temp", "flow"}


def test_points_added_at_run_time_join_their_device_with_new_aliases() -> None:
    model = make_model([make_point("boiler.temp"), make_point("boiler.flow"), make_point("pump.speed")])
    cat = Catalog()
    assert cat.add([model.points["boiler.temp"]], model.assets) == ["boiler"]
    before = cat.by_point["boiler.temp"][1].alias
    changed = cat.add(
        [model.points["boiler.flow"], model.points["pump.speed"], model.points["boiler.temp"]], model.assets
    )
    assert changed == ["boiler", "pump"]  # boiler gained flow, pump is new; temp was known already
    assert cat.by_point["boiler.temp"][1].alias == before
    assert cat.by_point["boiler.flow"][1].alias != before


def test_birth_carries_datatype_alias_unit_range_and_bad_quality() -> None:
    points = [
        make_point("boiler.temp", unit="DEG_C", min=0, max=120, description="supply temperature"),
        make_point("boiler.on", datatype=DataType.BOOL, unit=None, writable=True),
        make_point("boiler.count", datatype=DataType.INT16, unit=None),
    ]
    cat = _catalog(points)
    sent: dict[str, int] = {}
    states = {"boiler.temp": _state("boiler.temp", 71.5), "boiler.on": _state("boiler.on", True)}
    msg = codec.decode(device_birth(cat.devices["boiler"], states, 3, "http://x/asset/boiler", sent))
    assert msg.seq == 3
    by_name = {m.name: m for m in msg.metrics}
    assert by_name[DEVICE_LABEL_METRIC].string_value == "boiler"
    assert by_name[DEVICE_IRI_METRIC].string_value == "http://x/asset/boiler"
    temp = by_name["temp"]
    assert (temp.datatype, temp.alias, temp.double_value, temp.timestamp) == (10, alias_of("boiler.temp"), 71.5, T0_MS)
    assert codec.properties_of(temp) == {
        "engUnit": "°C",
        "qudtUnit": "DEG_C",
        "engLow": 0.0,
        "engHigh": 120.0,
        "readOnly": True,
        "documentation": "supply temperature",
    }
    assert [v.type for v in temp.properties.values] == [12, 12, 10, 10, 11, 12]
    on = by_name["on"]
    assert (on.datatype, on.boolean_value, codec.properties_of(on)["readOnly"]) == (11, True, False)
    count = by_name["count"]  # no sample yet: null, BAD, and why
    assert count.datatype == 2 and count.is_null
    props = codec.properties_of(count)
    assert props["Quality"] == codec.QUALITY_BAD and props["statusCode"] == "BadWaitingForInitialData"
    assert count.properties.values[list(count.properties.keys).index("Quality")].type == 3  # Int32
    assert sent == {"boiler.temp": 192, "boiler.on": 192, "boiler.count": 0}


def test_node_birth_has_bdseq_rebirth_without_alias_and_version() -> None:
    msg = codec.decode(node_birth(7, 0, "1.2.3", ts=T0_MS))
    m = {x.name: x for x in msg.metrics}
    assert msg.seq == 0 and msg.timestamp == T0_MS
    assert (m["bdSeq"].datatype, m["bdSeq"].long_value) == (4, 7)
    rebirth = m["Node Control/Rebirth"]
    assert (rebirth.datatype, rebirth.boolean_value, rebirth.HasField("alias")) == (11, False, False)
    assert m["Node Info/Version"].string_value == "1.2.3"


def test_data_by_alias_with_quality_changes_told_once() -> None:
    cat = _catalog([make_point("boiler.temp"), make_point("boiler.flow")])
    dev = cat.devices["boiler"]
    temp, flow = cat.by_point["boiler.temp"][1], cat.by_point["boiler.flow"][1]
    sent = {"boiler.temp": 192, "boiler.flow": 192}
    payload = device_data(
        dev, [(temp, _state("boiler.temp", 70.0)), (flow, _state("boiler.flow", 1.5))], 9, historical=False, sent=sent
    )
    msg = codec.decode(payload)
    assert msg.seq == 9 and len(msg.metrics) == 2
    for m in msg.metrics:  # data messages: alias only, no name or datatype, no properties while Good
        assert not m.HasField("name") and not m.HasField("datatype") and not m.HasField("properties")
        assert not m.is_historical and m.timestamp == T0_MS
    stale = device_data(
        dev, [(temp, _state("boiler.temp", 70.0, "UncertainLastUsableValue"))], 10, historical=False, sent=sent
    )
    props = codec.properties_of(codec.decode(stale).metrics[0])
    assert props == {"Quality": codec.QUALITY_STALE, "statusCode": "UncertainLastUsableValue"}
    bad = device_data(dev, [(temp, _state("boiler.temp", None, "BadTimeout"))], 11, historical=False, sent=sent)
    m = codec.decode(bad).metrics[0]
    assert m.is_null and codec.properties_of(m) == {"Quality": codec.QUALITY_BAD, "statusCode": "BadTimeout"}
    good = device_data(dev, [(temp, _state("boiler.temp", 71.0))], 12, historical=False, sent=sent)
    assert codec.properties_of(codec.decode(good).metrics[0]) == {"Quality": codec.QUALITY_GOOD}  # back to Good
    again = device_data(dev, [(temp, _state("boiler.temp", 72.0))], 13, historical=False, sent=sent)
    assert not codec.decode(again).metrics[0].HasField("properties")  # told once


def test_historical_data_keeps_original_timestamps_and_order() -> None:
    cat = _catalog([make_point("boiler.temp")])
    temp = cat.by_point["boiler.temp"][1]
    old = [(temp, _state("boiler.temp", float(i), ts=datetime(2026, 3, 1, 11, i, tzinfo=UTC))) for i in range(3)]
    sent: dict[str, int] = {}
    msg = codec.decode(device_data(cat.devices["boiler"], old, 0, historical=True, sent=sent))
    assert [m.double_value for m in msg.metrics] == [0.0, 1.0, 2.0]
    assert [m.timestamp for m in msg.metrics] == [T0_MS - (60 - i) * 60_000 for i in range(3)]  # 11:00, 11:01, 11:02
    assert all(m.is_historical for m in msg.metrics)
    assert sent == {}  # replayed values do not change what the host was last told live


def test_a_value_the_datatype_cannot_hold_goes_as_null_and_bad() -> None:
    cat = _catalog([make_point("tank.level", datatype=DataType.INT16, unit=None)])
    level = cat.by_point["tank.level"][1]
    sent: dict[str, int] = {}
    msg = codec.decode(
        device_data(cat.devices["tank"], [(level, _state("tank.level", 70000))], 0, historical=False, sent=sent)
    )
    m = msg.metrics[0]
    assert m.is_null and codec.properties_of(m) == {"Quality": codec.QUALITY_BAD, "statusCode": "BadOutOfRange"}
    assert sent == {"tank.level": codec.QUALITY_BAD}


def test_quality_of_opc_ua_status_names() -> None:
    assert codec.quality_code("Good") == 192
    assert codec.quality_code("GoodLocalOverride") == 192
    assert codec.quality_code("UncertainLastUsableValue") == 500
    assert codec.quality_code("BadCommunicationError") == 0

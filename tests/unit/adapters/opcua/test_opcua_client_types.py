"""Pure logic of the OPC UA client: type mapping, value conversion, status names, samples, subscription plans."""

from __future__ import annotations

import enum
from datetime import UTC, datetime

import pytest
from asyncua import ua

from adapters.contract.model import DataType, Point, PointKind, Transform
from adapters.contract.sample import Quality
from adapters.opcua.config import OpcUaAddress, OpcUaSourceConfig
from adapters.opcua.resolve import Binding, unit_mismatches
from adapters.opcua.subscriptions import item_request, plan, to_sample
from adapters.opcua.types import (
    BUILTIN,
    ValueProblem,
    compatibility_problem,
    from_ua,
    status_name,
    to_variant,
    unece_code,
    value_rank_problem,
)
from gateway.units import CATALOG

CFG = OpcUaSourceConfig(id="ua", url="opc.tcp://127.0.0.1:4840", security={"policy": "None"})


def binding(address: dict, *, datatype: DataType = DataType.DOUBLE, **kw) -> Binding:  # type: ignore[no-untyped-def,type-arg]
    addr = OpcUaAddress.model_validate(address)
    p = Point(
        id="a.p", asset="a", kind=PointKind.MEASUREMENT, datatype=datatype, source="ua", address=addr, label="p", **kw
    )
    return Binding(p, addr, node_id=ua.NodeId("x", 2))


# -- type compatibility ---------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("builtin", "datatype", "ok"),
    [
        ("Double", DataType.DOUBLE, True),
        ("Float", DataType.INT16, True),  # numeric to numeric: the pipeline rounds and range-checks
        ("Int32", DataType.FLOAT, True),
        ("Boolean", DataType.DOUBLE, True),
        ("Boolean", DataType.BOOL, True),
        ("Byte", DataType.BOOL, True),
        ("Double", DataType.BOOL, False),
        ("String", DataType.DOUBLE, False),
        ("String", DataType.STRING, True),
        ("DateTime", DataType.STRING, True),
        ("LocalizedText", DataType.STRING, True),
        ("Double", DataType.STRING, True),
        ("Enumeration", DataType.INT32, True),
        ("BaseDataType", DataType.DOUBLE, True),  # abstract: checked per value
        ("ByteString", DataType.STRING, False),
        ("Structure", DataType.DOUBLE, False),
    ],
)
def test_type_compatibility(builtin: str, datatype: DataType, ok: bool) -> None:
    bt = next(b for b in BUILTIN.values() if b.name == builtin)
    problem = compatibility_problem(bt, datatype)
    assert (problem is None) is ok, problem


def test_structures_are_refused_with_advice() -> None:
    problem = compatibility_problem(BUILTIN[22], DataType.DOUBLE)
    assert problem is not None and "structure" in problem and "component variables" in problem


@pytest.mark.parametrize(
    ("rank", "index", "fragment"),
    [
        (-1, None, None),
        (-2, None, None),
        (-3, None, None),
        (-3, 2, None),
        (1, 2, None),
        (0, 0, None),
        (1, None, "select one element with 'index:'"),
        (0, None, "an array"),
        (2, None, "2-dimensional"),
        (2, 1, "only one-dimensional"),
        (-1, 3, "scalar"),
    ],
)
def test_value_rank(rank: int, index: int | None, fragment: str | None) -> None:
    problem = value_rank_problem(rank, index)
    assert (problem is None) if fragment is None else (problem is not None and fragment in problem)


# -- values in ------------------------------------------------------------------------------------------
class Color(enum.IntEnum):
    RED = 3


def test_values_from_the_server_become_plain_python_values() -> None:
    ts = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
    assert from_ua(1.5) == 1.5 and from_ua(True) is True and from_ua("x") == "x"
    assert from_ua([1.0, 2.0, 3.0], 1) == 2.0
    assert from_ua(ts) == ts.isoformat()
    assert from_ua(ua.LocalizedText("Hallo", "de")) == "Hallo"
    assert from_ua(ua.NodeId("Boiler", 2)) == "ns=2;s=Boiler"
    assert from_ua(ua.QualifiedName("Temp", 2)) == "2:Temp"
    assert from_ua(Color.RED) == 3
    assert from_ua(ua.StatusCode(ua.StatusCodes.BadSensorFailure)) == "BadSensorFailure"
    with pytest.raises(ValueProblem) as exc:
        from_ua([1, 2])
    assert exc.value.status == "BadTypeMismatch" and "index" in exc.value.reason
    with pytest.raises(ValueProblem) as exc:
        from_ua([1, 2], 5)
    assert exc.value.status == "BadIndexRangeNoData"
    with pytest.raises(ValueProblem) as exc:
        from_ua(1.0, 0)
    assert exc.value.status == "BadIndexRangeInvalid"
    with pytest.raises(ValueProblem):
        from_ua(b"\x00\x01")


# -- values out -----------------------------------------------------------------------------------------
def bt(name: str):  # type: ignore[no-untyped-def]
    return next(b for b in BUILTIN.values() if b.name == name)


def test_writes_use_the_node_type() -> None:
    assert to_variant(21.5, bt("Double")) == ua.Variant(21.5, ua.VariantType.Double)
    assert to_variant(3, bt("Float")) == ua.Variant(3.0, ua.VariantType.Float)
    assert to_variant(299.6, bt("UInt16")) == ua.Variant(300, ua.VariantType.UInt16)
    assert to_variant(True, bt("Boolean")) == ua.Variant(True, ua.VariantType.Boolean)
    assert to_variant(0, bt("Boolean")) == ua.Variant(False, ua.VariantType.Boolean)
    assert to_variant(7, bt("Enumeration")) == ua.Variant(7, ua.VariantType.Int32)
    assert to_variant("abc", bt("String")) == ua.Variant("abc", ua.VariantType.String)
    assert to_variant(12, bt("String")) == ua.Variant("12", ua.VariantType.String)
    lt = to_variant("Auto", bt("LocalizedText"))
    assert lt.VariantType is ua.VariantType.LocalizedText and lt.Value.Text == "Auto"
    dt = to_variant("2026-01-02T03:04:05", bt("DateTime"))
    assert dt.Value == datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)


@pytest.mark.parametrize(
    ("value", "name", "status"),
    [
        (70000, "UInt16", "BadOutOfRange"),
        (-1, "Byte", "BadOutOfRange"),
        (2**31, "Int32", "BadOutOfRange"),
        (float("nan"), "Int32", "BadOutOfRange"),
        ("12", "Int32", "BadTypeMismatch"),
        ("x", "Double", "BadTypeMismatch"),
        (2, "Boolean", "BadTypeMismatch"),
        ("not a date", "DateTime", "BadTypeMismatch"),
        (None, "Double", "BadTypeMismatch"),
        (1, "ByteString", "BadTypeMismatch"),
    ],
)
def test_writes_that_do_not_fit_are_refused_before_reaching_the_server(value: object, name: str, status: str) -> None:
    with pytest.raises(ValueProblem) as exc:
        to_variant(value, bt(name))  # type: ignore[arg-type]
    assert exc.value.status == status


def test_status_names() -> None:
    assert status_name(0) == "Good"
    assert status_name(ua.StatusCodes.UncertainLastUsableValue) == "UncertainLastUsableValue"
    assert status_name(ua.StatusCodes.BadSensorFailure | 0x0400) == "BadSensorFailure"  # info bits ignored
    assert status_name(0x80FF0000).startswith("Bad")
    assert unece_code(4408652) == "CEL" and unece_code(-1) is None and unece_code(0) is None


# -- samples --------------------------------------------------------------------------------------------
def test_samples_keep_the_server_status_and_timestamps() -> None:
    b = binding({"node": "ns=2;s=x"})
    src = datetime(2026, 1, 1, 12, tzinfo=UTC)
    s = to_sample(b, ua.DataValue(ua.Variant(1.5), SourceTimestamp=src), "ua")
    assert (s.value, s.status, s.quality, s.source_ts, s.reason) == (1.5, "Good", Quality.GOOD, src, None)

    unc = ua.DataValue(
        ua.Variant(2.5), StatusCode=ua.StatusCode(ua.StatusCodes.UncertainSensorNotAccurate), SourceTimestamp=src
    )
    s = to_sample(b, unc, "ua")
    assert (s.value, s.status, s.quality) == (2.5, "UncertainSensorNotAccurate", Quality.UNCERTAIN)

    bad = ua.DataValue(ua.Variant(99.0), StatusCode=ua.StatusCode(ua.StatusCodes.BadDeviceFailure), SourceTimestamp=src)
    s = to_sample(b, bad, "ua")  # the value of a Bad DataValue is ignored
    assert (s.value, s.status, s.quality, s.source_ts) == (None, "BadDeviceFailure", Quality.BAD, src)
    assert s.reason

    naive = datetime(2026, 1, 1, 12)  # servers' timestamps are UTC even when the decoder leaves them naive
    s = to_sample(b, ua.DataValue(ua.Variant(1.0), ServerTimestamp=naive), "ua")
    assert s.source_ts == src

    s = to_sample(b, ua.DataValue(ua.Variant([1.0, 2.0])), "ua")
    assert (s.quality, s.status) == (Quality.BAD, "BadTypeMismatch")
    s = to_sample(binding({"node": "ns=2;s=x", "index": 1}), ua.DataValue(ua.Variant([1.0, 2.0])), "ua")
    assert s.value == 2.0
    s = to_sample(b, ua.DataValue(ua.Variant(None, ua.VariantType.Null)), "ua")
    assert (s.quality, s.status) == (Quality.BAD, "BadNoData")


# -- subscription plans ---------------------------------------------------------------------------------
def test_points_are_grouped_by_publishing_interval_and_split_by_size() -> None:
    cfg = CFG.model_copy(update={"max_items_per_subscription": 2})
    bs = [binding({"node": f"ns=2;i={i}"}) for i in range(5)]
    bs += [binding({"node": "ns=2;i=9", "publishing_interval": "2s"})]
    groups = plan(bs, cfg)
    assert [(g.publishing_interval, len(g.bindings)) for g in groups] == [(0.5, 2), (0.5, 2), (0.5, 1), (2.0, 1)]


def test_monitored_item_carries_sampling_queue_and_deadband() -> None:
    req = item_request(binding({"node": "ns=2;s=x"}), 7, CFG)
    p = req.RequestedParameters
    assert (p.ClientHandle, p.SamplingInterval, p.QueueSize) == (7, 250.0, 1)
    assert not isinstance(p.Filter, ua.DataChangeFilter)
    req = item_request(
        binding({"node": "ns=2;s=x", "sampling_interval": "100ms", "queue_size": 10, "deadband": {"absolute": 0.5}}),
        8,
        CFG,
    )
    p = req.RequestedParameters
    assert (p.SamplingInterval, p.QueueSize) == (100.0, 10)
    assert (p.Filter.DeadbandType, p.Filter.DeadbandValue) == (ua.DeadbandType.Absolute, 0.5)
    assert p.Filter.Trigger == ua.DataChangeTrigger.StatusValue
    p = item_request(binding({"node": "ns=2;s=x", "deadband": {"percent": 2}}), 9, CFG).RequestedParameters
    assert (p.Filter.DeadbandType, p.Filter.DeadbandValue) == (ua.DeadbandType.Percent, 2.0)


# -- engineering units --------------------------------------------------------------------------------
def eu(code: str, text: str) -> ua.EUInformation:
    unit_id = 0
    for ch in code:
        unit_id = (unit_id << 8) | ord(ch)
    return ua.EUInformation(UnitId=unit_id, DisplayName=ua.LocalizedText(text))


def test_unit_and_range_mismatches() -> None:
    def p(unit: str | None, mn: float | None = None, mx: float | None = None, t: Transform | None = None) -> Point:
        return binding({"node": "ns=2;s=x"}, unit=unit, min=mn, max=mx, transform=t or Transform()).point

    rng = ua.Range(Low=0.0, High=100.0)
    assert unit_mismatches(p("DEG_C", 0, 100), eu("CEL", "°C"), rng, CATALOG) == []
    assert unit_mismatches(p("DEG_C"), None, None, CATALOG) == []
    msgs = unit_mismatches(p("DEG_F"), eu("CEL", "°C"), None, CATALOG)
    assert len(msgs) == 1 and "CEL" in msgs[0] and "DEG_F" in msgs[0]
    assert "no unit" in unit_mismatches(p(None), eu("CEL", "°C"), None, CATALOG)[0]
    # the device unit is the transform's source_unit when there is one
    assert unit_mismatches(p("DEG_F", t=Transform(source_unit="DEG_C")), eu("CEL", "°C"), None, CATALOG) == []
    # ranges are compared after the point's transform
    assert unit_mismatches(p("PERCENT", 0, 10, Transform(scale=0.1)), None, rng, CATALOG) == []
    assert "max 50 vs 100" in unit_mismatches(p("DEG_C", 0, 50), None, rng, CATALOG)[0]
    assert unit_mismatches(p("K", 273.15, 373.15, Transform(source_unit="DEG_C")), None, rng, CATALOG) == []

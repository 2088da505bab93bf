"""Twin states as OPC UA DataValues (gateway.northbound.opcua_server.values): mapping, sharing, wire encoding."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime

import pytest
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary

from gateway.northbound.opcua_server.values import SharedDataValue, data_value, status_code
from gateway.sample import PointState, Quality

SRC = datetime(2026, 5, 6, 7, 8, 9, 123456, tzinfo=UTC)
GW = datetime(2026, 5, 6, 7, 8, 9, 223456, tzinfo=UTC)


def state(value: object, status: str = "Good") -> PointState:
    return PointState("a.p", value, SRC, GW, Quality.of_status(status), status, None)  # type: ignore[arg-type]


def test_a_good_state() -> None:
    dv = data_value(state(21.5), ua.VariantType.Float)
    assert dv.Value == ua.Variant(21.5, ua.VariantType.Float)
    assert dv.StatusCode == ua.StatusCode(ua.StatusCodes.Good)
    assert (dv.SourceTimestamp, dv.ServerTimestamp) == (SRC, GW)


def test_no_value_is_a_null_variant_with_the_status() -> None:
    dv = data_value(state(None, "BadWaitingForInitialData"), ua.VariantType.Double)
    assert dv.Value == ua.Variant()
    assert dv.StatusCode.value == ua.StatusCodes.BadWaitingForInitialData


@pytest.mark.parametrize(
    ("name", "code"),
    [
        ("Good", ua.StatusCodes.Good),
        ("GoodClamped", ua.StatusCodes.GoodClamped),
        ("UncertainLastUsableValue", ua.StatusCodes.UncertainLastUsableValue),
        ("BadTimeout", ua.StatusCodes.BadTimeout),
        ("BadNotAnOpcUaName", ua.StatusCodes.Bad),
        ("UncertainNotAnOpcUaName", ua.StatusCodes.Uncertain),
        ("GoodNotAnOpcUaName", ua.StatusCodes.Good),
    ],
)
def test_status_codes_by_name(name: str, code: int) -> None:
    assert status_code(name).value == code
    assert status_code(name) is status_code(name)  # made once


def test_copies_of_a_shared_data_value_are_itself() -> None:
    dv = data_value(state(1.0), ua.VariantType.Double)
    assert copy.deepcopy(dv) is dv and copy.copy(dv) is dv
    # asyncua nulls the value of a Bad write with dataclasses.replace: the result is still a SharedDataValue
    bad = dataclasses.replace(dv, Value=ua.Variant())
    assert isinstance(bad, SharedDataValue) and bad is not dv and dv.Value.Value == 1.0


@pytest.mark.parametrize(
    ("value", "vtype"),
    [
        (True, ua.VariantType.Boolean),
        (-7, ua.VariantType.Int16),
        (2**40, ua.VariantType.UInt64),
        (1.25, ua.VariantType.Float),
        ("grüße", ua.VariantType.String),
        (None, ua.VariantType.Double),
    ],
)
def test_on_the_wire_it_is_a_plain_data_value(value: object, vtype: ua.VariantType) -> None:
    shared = data_value(state(value, "Good" if value is not None else "BadTimeout"), vtype)
    plain = ua.DataValue(shared.Value, StatusCode=shared.StatusCode, SourceTimestamp=SRC, ServerTimestamp=GW)
    notes = []
    for dv in (shared, plain):
        n = ua.MonitoredItemNotification()
        n.ClientHandle = 7
        n.Value = dv
        notes.append(struct_to_binary(n))
    assert notes[0] == notes[1]
    back = struct_from_binary(ua.MonitoredItemNotification, Buffer(notes[0]))
    assert back.Value.Value.Value == value and back.Value.StatusCode == shared.StatusCode

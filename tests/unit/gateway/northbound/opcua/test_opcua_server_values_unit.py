"""Twin states as OPC UA DataValues (gateway.northbound.opcua.values): mapping, sharing, wire encoding."""

from __future__ import annotations

import copy
import dataclasses
from datetime import UTC, datetime

import pytest
from asyncua import ua
from asyncua.common.utils import Buffer
from asyncua.ua.ua_binary import struct_from_binary, struct_to_binary

from adapters.contract.sample import PointState, Quality
from gateway.northbound.opcua.values import SharedDataValue, data_value, status_code

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


@pytest.mark.parametrize(
    ("value", "vtype"),
    [(2**63 - 1, ua.VariantType.Int64), (-(2**63), ua.VariantType.Int64), (2**64 - 1, ua.VariantType.UInt64)],
)
def test_64_bit_integers_are_exact_on_the_wire(value: int, vtype: ua.VariantType) -> None:
    encoded = struct_to_binary(data_value(state(value), vtype))
    back = struct_from_binary(ua.DataValue, Buffer(encoded))
    assert back.Value.VariantType == vtype and back.Value.Value == value and type(back.Value.Value) is int


def test_a_fault_is_null_and_stamped_with_when_it_began() -> None:
    began = datetime(2026, 5, 6, 7, 9, 0, tzinfo=UTC)
    fault = dataclasses.replace(state(21.5, "BadCommunicationError"), quality_ts=began)  # the twin kept 21.5
    dv = data_value(fault, ua.VariantType.Float)
    assert dv.Value == ua.Variant() and dv.StatusCode.value == ua.StatusCodes.BadCommunicationError
    assert (dv.SourceTimestamp, dv.ServerTimestamp) == (began, GW)  # Part 4 7.11.3
    uncertain = dataclasses.replace(state(21.5, "UncertainLastUsableValue"), quality_ts=began)
    dv = data_value(uncertain, ua.VariantType.Float)
    assert dv.Value == ua.Variant(21.5, ua.VariantType.Float) and dv.SourceTimestamp == began

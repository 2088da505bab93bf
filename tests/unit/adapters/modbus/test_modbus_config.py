"""Modbus config: addressing conventions and ambiguity, source URLs, graph terms, config-time point checks."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from adapters.contract.model import DataType, Point, PointKind, Transform
from adapters.modbus.adapter import ModbusAdapter
from adapters.modbus.config import MODV, TB, ModbusAddress, ModbusSourceConfig, Table, parse_modicon


def addr(**kw: Any) -> ModbusAddress:
    return ModbusAddress.model_validate(kw)


def refused(**kw: Any) -> str:
    with pytest.raises(ValidationError) as exc:
        ModbusAddress.model_validate(kw)
    return str(exc.value)


def test_zero_based_one_based_and_modicon_addresses() -> None:
    a = addr(table="holding", address=0, encoding="float32")
    assert (a.kind, a.start, a.count(), a.writable()) == (Table.HOLDING, 0, 2, True)
    assert addr(table="input", address=10, addressing="one_based").start == 9
    m = addr(address=40001, addressing="modicon")
    assert (m.kind, m.start) == (Table.HOLDING, 0)
    assert (addr(address=30010, addressing="modicon").kind, addr(address=30010, addressing="modicon").start) == (
        Table.INPUT,
        9,
    )
    assert addr(address=465536, addressing="modicon").start == 65535
    assert addr(address=100001, addressing="modicon").kind is Table.DISCRETE_INPUT
    assert (addr(address=17, addressing="modicon").kind, addr(address=17, addressing="modicon").start) == (
        Table.COIL,
        16,
    )
    quoted = addr(address="000017", addressing="modicon")  # six-digit coil, leading zeros kept by quoting
    assert (quoted.kind, quoted.start) == (Table.COIL, 16)
    assert addr(address=40001, addressing="modicon", table="holding").start == 0
    assert parse_modicon("10001") == (Table.DISCRETE_INPUT, 0)
    # a zero-based address that happens to be large is fine when said so
    assert addr(table="holding", address=40001, addressing="zero_based").start == 40001
    assert not addr(table="input", address=0).writable() and not addr(table="discrete_input", address=0).writable()


@pytest.mark.parametrize(
    ("kw", "message"),
    [
        ({"table": "holding", "address": 40001}, "looks like a Modicon reference (4xxxx)"),
        ({"table": "input", "address": 300005}, "looks like a Modicon reference (3xxxx)"),
        ({"address": 12}, "table is required"),
        ({"address": 40001, "addressing": "modicon", "table": "input"}, "holding reference but table is input"),
        ({"address": 20001, "addressing": "modicon"}, "start with 0, 1, 3 or 4"),
        ({"address": 40000, "addressing": "modicon"}, "count from 1"),
        ({"address": 499999, "addressing": "modicon"}, "not a Modicon reference"),
        ({"table": "holding", "address": "12"}, "only for Modicon"),
        ({"table": "holding", "address": "x1"}, "is not an address"),
        ({"table": "holding", "address": 0, "addressing": "one_based"}, "run from 1 to 65536"),
        ({"table": "holding", "address": 70000}, "0 to 65535"),
        ({"table": "holding", "address": 65534, "encoding": "float64"}, "runs past the last address"),
        ({"table": "coil", "address": 0, "encoding": "int16"}, "encoding must be bool"),
        ({"table": "coil", "address": 0, "byte_order": "CDAB"}, "byte_order does not apply"),
        ({"table": "holding", "address": 0, "encoding": "bit"}, "needs `bit:`"),
        ({"table": "holding", "address": 0, "encoding": "string"}, "needs `length:`"),
        ({"table": "holding", "address": 0, "bit": 3}, "only applies to encoding: bit"),
        ({"table": "holding", "address": 0, "encoding": "int16", "length": 4}, "only applies to encoding: string"),
        ({"table": "holding", "address": 0, "registr": 1}, "Extra inputs are not permitted"),
        ({"table": "holdings", "address": 0}, "'coil', 'discrete_input', 'holding' or 'input'"),
    ],
)
def test_bad_and_ambiguous_addresses_are_refused(kw: dict[str, Any], message: str) -> None:
    assert message in refused(**kw)


def test_source_urls_and_serial_settings() -> None:
    tcp = ModbusSourceConfig(id="m", url="tcp://10.0.0.5")
    assert tcp.link.key == ("tcp", "10.0.0.5", 502) and tcp.endpoint() == "tcp://10.0.0.5:502"
    gw = ModbusSourceConfig(id="m", url="rtu+tcp://gw.local:4001")
    assert gw.link.rtu_framing and not gw.link.is_serial and gw.link.key == ("rtu+tcp", "gw.local", 4001)
    rtu = ModbusSourceConfig(id="m", url="rtu:///dev/ttyUSB0", baudrate=9600, parity="even", stopbits=2)
    assert rtu.link.is_serial and (rtu.link.device, rtu.link.baudrate, rtu.link.parity) == ("/dev/ttyUSB0", 9600, "E")
    assert rtu.endpoint() == "rtu:///dev/ttyUSB0 (9600 8E2)"
    assert ModbusSourceConfig(id="m", url="rtu://COM3").link.device == "COM3"
    for url, message in [
        ("udp://1.2.3.4", "url scheme must be one of"),
        ("tcp://", "needs a host"),
        ("tcp://h:99999", "invalid port"),
        ("tcp://h:502/3", "unit ids go in `unit:`"),
        ("tcp://u:p@h", "no query, fragment or credentials"),
        ("rtu://", "needs a serial device"),
    ]:
        with pytest.raises(ValidationError, match=message.replace("`", ".")):
            ModbusSourceConfig(id="m", url=url)
    with pytest.raises(ValidationError, match="baudrate, parity: only for serial"):
        ModbusSourceConfig(id="m", url="tcp://h", baudrate=9600, parity="N")


def test_graph_terms_target_and_key() -> None:
    src = ModbusSourceConfig(id="m", url="tcp://127.0.0.1:5020", unit=7)
    a = addr(address=40011, addressing="modicon", encoding="float32", byte_order="CDAB", poll_interval="500ms")
    terms = a.rdf()
    assert (MODV + "hasEntity", MODV + "HoldingRegister") in terms
    assert (MODV + "hasFunction", MODV + "readHoldingRegisters") in terms
    assert (MODV + "hasFunction", MODV + "writeMultipleHoldingRegisters") in terms
    assert (MODV + "hasAddress", 10) in terms and (MODV + "hasQuantity", 2) in terms
    assert (MODV + "hasMostSignificantWord", False) in terms and (MODV + "hasMostSignificantByte", True) in terms
    assert (MODV + "hasPayloadDataType", "http://www.w3.org/2001/XMLSchema#float") in terms
    assert (TB + "modbusReference", "40011") in terms and (MODV + "hasPollingTime", 500) in terms
    assert (TB + "table", "holding") in terms and (TB + "address", 10) in terms
    assert a.target(src) == "modbus+tcp://127.0.0.1:5020/7/10?quantity=2"
    coil = addr(table="coil", address=3, unit=2)
    assert (MODV + "hasFunction", MODV + "writeSingleCoil") in coil.rdf() and (TB + "unitId", 2) in coil.rdf()
    assert coil.target(src) == "modbus+tcp://127.0.0.1:5020/2/3?quantity=1"
    assert not any(p == MODV + "hasFunction" and "write" in str(o) for p, o in addr(table="input", address=0).rdf())
    serial = ModbusSourceConfig(id="s", url="rtu:///dev/ttyS1")
    assert addr(table="input", address=4).target(serial) == "modbus+rtu:///dev/ttyS1/1/4?quantity=1"
    assert a.key() == "-/holding/10+2" and coil.key() == "2/coil/3+1"


def test_profile_offset_moves_the_protocol_address() -> None:
    a = addr(address=40001, addressing="modicon", encoding="int32", unit=3)
    moved = a.with_offset(100)
    assert (moved.kind, moved.start, moved.unit, moved.encoding) == (Table.HOLDING, 100, 3, a.encoding)
    with pytest.raises(ValidationError):
        addr(table="holding", address=65000).with_offset(1000)


# -- config-time checks (adapter classmethods, as the loader calls them) -------------------------------------------


def point(pid: str, datatype: str, transform: Transform | None = None, **address: Any) -> Point:
    return Point(
        id=pid,
        asset="a",
        kind=PointKind.MEASUREMENT,
        datatype=DataType(datatype),
        source="m",
        address=ModbusAddress.model_validate(address),
        label=pid,
        transform=transform or Transform(),
    )


@pytest.mark.parametrize(
    ("datatype", "address", "transform", "message"),
    [
        ("float", {"table": "holding", "address": 0}, None, "needs an encoding"),
        ("bool", {"table": "holding", "address": 0}, None, "encoding: bit"),
        ("string", {"table": "holding", "address": 0}, None, "encoding: string"),
        ("int16", {"table": "holding", "address": 0, "encoding": "float32"}, None, "rounded into a int16"),
        ("int16", {"table": "holding", "address": 0, "encoding": "uint16"}, None, "do not all fit a int16"),
        ("uint16", {"table": "holding", "address": 0, "encoding": "int32"}, None, "do not all fit"),
        ("double", {"table": "holding", "address": 0, "encoding": "string", "length": 4}, None, "datatype: string"),
        ("string", {"table": "holding", "address": 0, "encoding": "int16"}, None, "needs encoding: string"),
        ("bool", {"table": "holding", "address": 0, "encoding": "int16"}, None, "a bool point needs encoding bit"),
        ("double", {"table": "holding", "address": 0, "encoding": "bit", "bit": 1}, None, "reads a boolean"),
        ("string", {"table": "holding", "address": 0, "encoding": "string", "length": 250}, None, "at most 100"),
        ("int16", {"table": "input", "address": 0, "write_mode": "single"}, None, "write_mode has no meaning"),
    ],
)
def test_check_point_encoding_against_datatype(
    datatype: str, address: dict[str, Any], transform: Transform | None, message: str
) -> None:
    cfg = ModbusSourceConfig(id="m", url="tcp://h", max_registers=100)
    problems = ModbusAdapter.check_point(cfg, point("a.p", datatype, transform, **address))
    assert any(message in p for p in problems), problems


def test_check_point_accepts_sensible_combinations() -> None:
    cfg = ModbusSourceConfig(id="m", url="tcp://h")
    good = [
        point("a.t", "float", Transform(scale=0.1), table="holding", address=0, encoding="int16"),
        point("a.i", "int16", Transform(scale=0.5), table="holding", address=0, encoding="uint32"),
        point("a.n", "int32", None, table="holding", address=0, encoding="uint16"),
        point("a.c", "bool", None, table="coil", address=0),
        point("a.d", "int16", None, table="discrete_input", address=0),
        point("a.b", "bool", None, table="holding", address=0, encoding="bit", bit=3),
        point("a.s", "string", None, table="holding", address=0, encoding="string", length=16),
        point("a.u", "uint16", None, table="input", address=0),  # encoding implied by the datatype
    ]
    assert {p.id: ModbusAdapter.check_point(cfg, p) for p in good} == {p.id: [] for p in good}


def test_check_source_overlaps_and_holes() -> None:
    cfg = ModbusSourceConfig(id="m", url="tcp://h", holes=[{"table": "holding", "start": 50, "end": 59}])
    pts = [
        point("a.f1", "float", None, table="holding", address=100, encoding="float32"),
        point("a.f2", "float", None, table="holding", address=101, encoding="float32"),  # off by one
        point("a.word", "uint16", None, table="holding", address=200),
        point("a.bit", "bool", None, table="holding", address=200, encoding="bit", bit=1),
        point("a.same", "int16", None, table="holding", address=200),  # same register, other encoding
        point("a.hi", "int32", None, table="holding", address=300),
        point("a.lo", "uint16", None, table="holding", address=301, overlap=True),  # declared intentional
        point("a.other_unit", "float", None, table="holding", address=101, encoding="float32", unit=2),
        point("a.hole", "int16", None, table="holding", address=55),
        point("a.input", "float", None, table="input", address=101, encoding="float32"),
    ]
    found = ModbusAdapter.check_source(cfg, pts)
    assert [pid for pid, _ in found] == ["a.hole", "a.f2"], found
    assert "lies in a declared hole (50-59)" in found[0][1]
    assert "unit 1 holding 101-102 partly overlaps point a.f1 (100-101)" in found[1][1]

"""Modbus sources and points in mapping files: the loader reports every Modbus problem with file:line."""

from __future__ import annotations

import textwrap

import pytest

from adapters.modbus.config import ModbusAddress, Table
from gateway.config.errors import ConfigErrors
from gateway.config.loader import load_mappings
from gateway.model import TwinModel

HEAD = """\
twin: {base_iri: "http://t.local/"}
sources:
  - {id: plc1, kind: modbus, url: "tcp://127.0.0.1:5020", poll_interval: 500ms, byte_order: CDAB}
assets:
  - {id: site, type: site, label: Site}
  - id: boiler1
    parent: site
    type: brick:Boiler
    source: plc1
    points:
"""


def load(text: str) -> TwinModel:
    return load_mappings(["m.yaml"], texts={"m.yaml": textwrap.dedent(text)})


def errors(text: str) -> list[str]:
    with pytest.raises(ConfigErrors) as exc:
        load(text)
    return [str(e) for e in exc.value.errors]


def test_valid_modbus_mapping_builds_points() -> None:
    m = load(
        HEAD
        + """\
      - {id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {table: holding, address: 0, encoding: int16}, transform: {scale: 0.1}}
      - {id: flow, class: brick:Water_Flow_Sensor, unit: M3-PER-HR, datatype: float,
         address: {address: 30003, addressing: modicon, encoding: float32}}
      - {id: pump, type: command, class: brick:Start_Stop_Command, datatype: bool, writable: true,
         address: {address: 1, addressing: modicon}}
    """
    )
    flow = m.points["boiler1.flow"].address
    assert isinstance(flow, ModbusAddress) and (flow.kind, flow.start) == (Table.INPUT, 2)
    pump = m.points["boiler1.pump"].address
    assert isinstance(pump, ModbusAddress) and (pump.kind, pump.start) == (Table.COIL, 0)


@pytest.mark.parametrize(
    ("point", "line", "message"),
    [
        ("{id: a, unit: DEG_C, datatype: float, address: {table: holdings, address: 0}}", 11, "should be 'coil'"),
        (
            "{id: a, unit: DEG_C, datatype: int16, address: {table: holding, address: 40001}}",
            11,
            "looks like a Modicon reference",
        ),
        ("{id: a, unit: DEG_C, datatype: float, address: {table: holding, address: 3}}", 11, "needs an encoding"),
        (
            "{id: a, unit: DEG_C, datatype: int16, address: {table: holding, address: 3, encoding: float32}}",
            11,
            "rounded into a int16",
        ),
        (
            "{id: a, unit: DEG_C, datatype: float, writable: true,"
            " address: {table: input, address: 3, encoding: int16}}",
            11,
            "address is read-only",
        ),
        ("{id: a, unit: DEG_C, datatype: int16, address: {table: holding, address: 3, bitt: 2}}", 11, "bitt"),
    ],
)
def test_point_errors_name_their_line(point: str, line: int, message: str) -> None:
    found = errors(HEAD + "      - " + point + "\n")
    assert any(e.startswith(f"m.yaml:{line}:") and message in e for e in found), found
    assert all("modbus" in e or "Modbus" in e or "boiler1" in e or "points" in e for e in found)


def test_source_errors_name_their_line() -> None:
    text = """\
    sources:
      - {id: plc1, kind: modbus, url: "tcp://127.0.0.1:5020", baudrate: 9600}
      - {id: plc2, kind: modbus, url: "serial:///dev/ttyUSB0"}
      - {id: plc3, kind: modbus, url: "tcp://h", max_registers: 200}
      - {id: plc4, kind: modbus, url: "tcp://h", holes: [{table: holding, start: 10, end: 5}]}
    """
    found = errors(text)
    assert any(e.startswith("m.yaml:2:") and "only for serial" in e for e in found), found
    assert any(e.startswith("m.yaml:3:") and "url scheme must be one of" in e for e in found), found
    assert any(e.startswith("m.yaml:4:") and "max_registers" in e for e in found), found
    assert any(e.startswith("m.yaml:5:") and "end (5) is before start (10)" in e for e in found), found


def test_overlapping_registers_are_reported_at_the_point() -> None:
    found = errors(
        HEAD
        + """\
      - {id: a, unit: DEG_C, datatype: float, address: {table: holding, address: 100, encoding: float32}}
      - {id: b, unit: DEG_C, datatype: float, address: {table: holding, address: 101, encoding: float32}}
    """
    )
    assert any(e.startswith("m.yaml:12:") and "partly overlaps point boiler1.a" in e for e in found), found


def test_shipped_profiles_instantiate_with_unit_and_offset() -> None:
    m = load(
        """\
    sources:
      - {id: bus1, kind: modbus, url: "rtu:///dev/ttyUSB0", baudrate: 9600, parity: even}
      - {id: drive1, kind: modbus, url: "tcp://127.0.0.1:5020"}
    assets:
      - {id: site, type: site, label: Site}
      - {id: meter1, parent: site, profile: energy-meter-3ph, source: bus1, address: {unit: 3}}
      - {id: meter2, parent: site, profile: energy-meter-3ph, source: bus1, address: {unit: 4}, address_offset: 1000}
      - {id: pump1_vfd, parent: site, profile: vfd-drive, source: drive1}
    """
    )
    p1, p2 = m.points["meter1.power_total"].address, m.points["meter2.power_total"].address
    assert isinstance(p1, ModbusAddress) and isinstance(p2, ModbusAddress)
    assert (p1.kind, p1.start, p1.unit) == (Table.INPUT, 52, 3)
    assert (p2.kind, p2.start, p2.unit) == (Table.INPUT, 1052, 4)
    assert m.points["meter1.voltage_l1"].label == "meter1 L1-N voltage"
    vfd = [p for p in m.points.values() if p.asset == "pump1_vfd"]
    assert len(vfd) == 19 and sum(p.writable for p in vfd) == 5

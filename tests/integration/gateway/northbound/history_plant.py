"""A gateway with recorded history for the northbound history tests (REST, SPARQL, OPC UA HistoryRead).

Two hours of known samples, written into the store before the gateway starts, at a fixed past date (kept:
retention forever) so the live samples the gateway records meanwhile never fall into the ranges under test:
- ``ahu1.sat`` (float, °C): every 10 s a slow wave around 19 °C, with one BadSensorFailure row and one
  quality-only row (no value) in the second hour;
- ``ahu1.fan`` (float, %): every 60 s, 40 then 60 from the second hour on;
- ``ahu1.run`` (bool): flips every 5 minutes;
- ``boiler1.temp`` (float, °C): every 30 s around 70 °C.
``lab.temp`` is a point whose history mode is off.
"""

from __future__ import annotations

import contextlib
import math
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from gateway.config.loader import load_mappings
from gateway.history.model import HistoryRow, StoreLocation, us_of
from gateway.runtime import Gateway

T0 = us_of(datetime(2026, 1, 5, 8, 0, tzinfo=UTC))
HOUR = 3_600_000_000
SECOND = 1_000_000
BAD_SENSOR = 0x808C0000  # BadSensorFailure
RECORDED = ("ahu1.sat", "ahu1.fan", "ahu1.run", "boiler1.temp")


def iso(us: int) -> str:
    """ISO 8601 of µs since the epoch, as the API writes it."""
    dt = datetime.fromtimestamp(us // SECOND, UTC)
    fraction = f".{us % SECOND:06d}".rstrip("0") if us % SECOND else ""
    return dt.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def sat_value(i: int) -> float:
    return round(19.0 + 1.5 * math.sin(i / 40), 3)


def seed_rows() -> list[HistoryRow]:
    """The recorded past, every point's rows in time order."""
    rows: list[HistoryRow] = []
    for i in range(720):  # 2 h every 10 s
        t = T0 + i * 10 * SECOND
        if i == 500:
            rows.append(HistoryRow("ahu1.sat", t, t + 1000, None, BAD_SENSOR))
        elif i == 610:
            rows.append(HistoryRow("ahu1.sat", t, t + 1000, None, 0))
        else:
            rows.append(HistoryRow("ahu1.sat", t, t + 1000, sat_value(i), 0))
    for i in range(120):
        t = T0 + i * 60 * SECOND
        rows.append(HistoryRow("ahu1.fan", t, t + 500, 40.0 if i < 60 else 60.0, 0))
    for i in range(24):
        t = T0 + i * 300 * SECOND
        rows.append(HistoryRow("ahu1.run", t, t + 500, i % 2 == 0, 0))
    for i in range(240):
        t = T0 + i * 30 * SECOND
        rows.append(HistoryRow("boiler1.temp", t, t + 800, 70.0 + (i % 7) * 0.5, 0))
    return rows


def mapping(history_dir: Path, sections: str) -> str:
    """A mapping recording history in ``history_dir`` with the given ``gateway:`` sections."""
    return f"""\
twin:
  base_iri: "http://t16.local/"
  name: works
  flush_interval: 50ms
  history: {{backend: embedded, path: {history_dir}, flush_interval: 100ms, retention: forever}}
{sections}
sources:
  - {{id: sim1, kind: sim, interval: 200ms}}
assets:
  - {{id: site, type: site, label: Site}}
  - id: ahu1
    type: brick:AHU
    parent: site
    source: sim1
    points:
      - {{id: sat, class: brick:Supply_Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {{signal: sine, offset: 19, amplitude: 1, period: 60s}}}}
      - {{id: fan, type: setpoint, class: brick:Fan_Speed_Command, unit: PERCENT, datatype: float,
         address: {{signal: constant, initial: 50}}}}
      - {{id: run, type: status, class: brick:Run_Status, datatype: bool, address: {{signal: square, period: 2s}}}}
  - id: boiler1
    type: brick:Boiler
    parent: site
    source: sim1
    points:
      - {{id: temp, class: brick:Water_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {{signal: constant, initial: 71.5}}}}
  - id: lab
    type: brick:Room
    parent: site
    source: sim1
    history: {{mode: "off"}}
    points:
      - {{id: temp, class: brick:Air_Temperature_Sensor, unit: DEG_C, datatype: float,
         address: {{signal: constant, initial: 20}}}}
"""


def seed(history_dir: Path, rows: list[HistoryRow]) -> None:
    """Write ``rows`` into the store at ``history_dir`` (before the gateway opens it)."""
    from gateway.history.backends import open_store

    store = open_store(StoreLocation("embedded", str(history_dir)))
    try:
        store.append(rows)
        store.flush()
    finally:
        store.close()


@contextlib.asynccontextmanager
async def history_gateway(
    tmp_path: Path, sections: str, env: dict[str, str] | None = None, extra: list[HistoryRow] | None = None
) -> AsyncIterator[Gateway]:
    """A started gateway over a store seeded with ``seed_rows()`` (and ``extra``); stopped on exit."""
    history_dir = tmp_path / "history"
    seed(history_dir, seed_rows() + (extra or []))
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping(history_dir, sections)}, env=env or {}))
    await gw.start()
    try:
        yield gw
    finally:
        await gw.stop()


def rows_of(point: str, start: int, end: int) -> list[HistoryRow]:
    """The seeded rows of one point in ``[start, end)``: what every reader must give back."""
    return [r for r in seed_rows() if r.point == point and start <= r.source_us < end]


def good_numbers(rows: list[HistoryRow]) -> list[float]:
    """The Good numeric values among rows (what Average, Minimum, Maximum and Count use)."""
    return [float(r.value) for r in rows if r.status == 0 and isinstance(r.value, int | float)]

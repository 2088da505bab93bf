"""Aggregates over selections grow when MQTT discovery adds a matching sensor, with members in W and kW summed
in kW; a SPARQL-selected count follows too; a Bad member makes the sum Uncertain and names it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from adapters.contract.sample import PointState, Quality
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{name: agg, base_iri: "http://agg.local/", flush_interval: 50ms}}
sources:
  - id: mq
    kind: mqtt
    url: "{mqtt}"
    rules:
      - {{id: watt-meters, topic: "hall/w/{{meter}}/{{measurement}}", payload: plain, profile: test-meter-w,
         point: "{{measurement}}", asset: "{{meter}}", parent: hall}}
      - {{id: kilowatt-meters, topic: "hall/kw/{{meter}}/{{measurement}}", payload: plain, profile: test-meter-kw,
         point: "{{measurement}}", asset: "{{meter}}", parent: hall}}
assets:
  - {{id: hall, type: area, label: Hall}}
  - id: main
    type: brick:Electrical_Meter
    parent: hall
    points:
      - {{id: power, source: mq, class: brick:Electric_Power_Sensor, unit: KiloW, datatype: float,
         address: {{topic: "main/power", payload: plain}}}}
  - id: office
    type: area
    label: Office
    points:
      - {{id: power, source: mq, class: brick:Electric_Power_Sensor, unit: W, datatype: float,
         address: {{topic: "office/power", payload: plain}}}}
      - {{id: hall_power, unit: KiloW, aggregate: {{sum: {{class: brick:Electric_Power_Sensor, under: hall}}}}}}
      - id: meters
        unit: UNITLESS
        aggregate:
          count:
            sparql: >-
              PREFIX brick: <https://brickschema.org/schema/Brick#>
              SELECT ?point WHERE {{ ?point a brick:Electric_Power_Sensor }}
"""
PROFILE = """\
profile: test-meter-{suffix}
label: power meter in {unit}
type: brick:Electrical_Meter
points:
  - {{id: power, class: Electric_Power_Sensor, unit: {unit}, datatype: float}}
"""


@pytest.fixture
async def hall(tmp_path: Path) -> AsyncIterator[tuple[Gateway, TestClient]]:
    broker = Broker(tmp_path / "broker")
    broker.start()
    client = TestClient(broker)
    (tmp_path / "profiles").mkdir()
    for suffix, unit in (("w", "W"), ("kw", "KiloW")):
        (tmp_path / "profiles" / f"test-meter-{suffix}.yaml").write_text(PROFILE.format(suffix=suffix, unit=unit))
    (tmp_path / "plant.yaml").write_text(MAPPING.format(mqtt=broker.url))
    gw = Gateway.from_files([tmp_path / "plant.yaml"])
    await gw.start(services=False)
    try:
        await wait_for(lambda: bool(gw.source_health()["mq"].details.get("subscriptions")), 20, "MQTT subscribed")
        yield gw, client
    finally:
        await gw.stop()
        client.close()
        broker.kill()


def _state(gw: Gateway, pid: str) -> PointState:
    return gw.twin.state(pid)


async def test_a_selected_aggregate_grows_with_discovered_sensors_in_its_unit(hall: tuple[Gateway, TestClient]) -> None:
    gw, client = hall
    client.publish("main/power", "2.5")  # kW, under the hall
    client.publish("office/power", "700")  # W, but not under the hall: not in the sum
    await wait_for(lambda: _state(gw, "office.hall_power").value == pytest.approx(2.5), what="the first member")
    assert _state(gw, "office.hall_power").quality is Quality.GOOD
    await wait_for(lambda: _state(gw, "office.meters").value == 2, what="two power sensors")

    client.publish("hall/w/m1/power", "500")  # a new meter in W: discovered, joins the sum as 0.5 kW
    await wait_for(lambda: _state(gw, "office.hall_power").value == pytest.approx(3.0), what="the W meter joined")
    client.publish("hall/kw/m2/power", "1.25")  # a new meter in kW
    await wait_for(lambda: _state(gw, "office.hall_power").value == pytest.approx(4.25), what="the kW meter joined")
    await wait_for(lambda: _state(gw, "office.meters").value == 4, what="the count followed (SPARQL selection)")
    client.publish("hall/w/m1/power", "1500")
    await wait_for(lambda: _state(gw, "office.hall_power").value == pytest.approx(5.25), what="a member changed")
    counters = gw.source_health()["analytics"].counters
    assert counters["derived_aggregate_members"] == 3 + 4


async def test_a_bad_member_is_left_out_and_named(hall: tuple[Gateway, TestClient]) -> None:
    gw, client = hall
    client.publish("main/power", "2.5")
    client.publish("hall/w/m1/power", "500")
    await wait_for(lambda: _state(gw, "office.hall_power").value == pytest.approx(3.0), what="two members")
    client.publish("hall/w/m1/power", "not a number")  # that meter's value turns Bad
    await wait_for(lambda: _state(gw, "office.hall_power").quality is Quality.UNCERTAIN, what="sum Uncertain")
    total = _state(gw, "office.hall_power")
    assert total.value == pytest.approx(2.5)
    assert total.status == "UncertainDataSubNormal" and "m1.power" in (total.reason or "")

"""A running integral (``integral(p)``, no window) survives a restart: saved in the analytics state folder at stop,
restored at start; the time the gateway was down is not counted."""

from __future__ import annotations

from pathlib import Path

import pytest

from adapters.contract.sample import Quality
from gateway.analytics.state import StateStore
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.mqtt.mqtt_helpers import Broker, TestClient

pytestmark = pytest.mark.integration

MAPPING = """\
twin: {{name: energy, base_iri: "http://energy.local/", flush_interval: 50ms, store: {store}}}
analytics: {{state: {state}}}
sources:
  - {{id: mq, kind: mqtt, url: "{mqtt}"}}
assets:
  - id: boiler
    type: brick:Boiler
    points:
      - {{id: power, source: mq, unit: KiloW, datatype: float, address: {{topic: "boiler/power", payload: plain}}}}
      - {{id: energy, unit: KiloW-HR, expr: "integral(power)"}}
"""


async def _started(files: list[Path]) -> Gateway:
    gw = Gateway.from_files(files)
    await gw.start(services=False)
    await wait_for(lambda: bool(gw.source_health()["mq"].details.get("subscriptions")), 20, "MQTT subscribed")
    return gw


async def test_a_running_integral_continues_after_a_restart(tmp_path: Path) -> None:
    broker = Broker(tmp_path / "broker")
    broker.start()
    client = TestClient(broker)
    state = tmp_path / "analytics-state"
    mapping = tmp_path / "plant.yaml"
    mapping.write_text(MAPPING.format(store=tmp_path / "twin", state=state, mqtt=broker.url))
    try:
        gw = await _started([mapping])
        try:
            client.publish("boiler/power", "36000")  # 36,000 kW: 10 kWh per second
            await wait_for(lambda: (gw.twin.state("boiler.energy").value or 0) > 5, what="energy counted")
        finally:
            await gw.stop()
        shown = gw.twin.state("boiler.energy").value
        store = StateStore(state)
        saved = store.load_json("integral")["boiler.power"]["total"]  # kW x s, up to the stop
        store.close()
        assert shown is not None and saved / 3600 >= shown

        gw = await _started([mapping])
        try:
            client.publish("boiler/power", "0")  # the first value after the restart: nothing more to add
            await wait_for(lambda: gw.twin.state("boiler.energy").quality is Quality.GOOD, what="energy Good")
            # the total saved at the stop, not zero, and not the time the gateway was down at 36,000 kW
            assert gw.twin.state("boiler.energy").value == pytest.approx(saved / 3600)
        finally:
            await gw.stop()
    finally:
        client.close()
        broker.kill()

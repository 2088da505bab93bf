"""Broker sessions against a real mosquitto: a wrong password is always an access denial, client ids do not clash
by default, and a client-id takeover is named in the log."""

from __future__ import annotations

import asyncio
import gc
import logging
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from mqtt_helpers import Broker, TestClient, make_harness, wait_until

from adapters.contract.adapter import AdapterUnavailable, ConnectionState
from gateway.config.loader import load_mappings
from gateway.demo_plant.sensors import RoomSensors
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration


@pytest.fixture
def auth_broker(tmp_path: Path) -> Iterator[Broker]:
    """mosquitto with a password file (one user, gw / right-password)."""
    b = Broker(tmp_path / "auth", users={"gw": "right-password"})
    b.start()
    yield b
    b.kill()


class _LateExecutor(ThreadPoolExecutor):
    """A thread pool whose jobs report back late, as on a loaded machine.

    aiomqtt runs paho's connect() in the loop's default executor; the loop meanwhile sends CONNECT and reads the
    broker's CONNACK "not authorized" and its close, so the close is seen before aiomqtt's connect resumes.
    """

    def submit(self, fn: Callable[..., Any], /, *args: Any, **kwargs: Any) -> Future[Any]:
        def late() -> Any:
            try:
                return fn(*args, **kwargs)
            finally:
                time.sleep(0.2)

        return super().submit(late)


async def _denied(url: str) -> AdapterUnavailable:
    h = make_harness(url, username="gw", password="wrong-password")
    with pytest.raises(AdapterUnavailable) as exc:
        await h.adapter.start()
    return exc.value


async def test_wrong_password_is_denied_even_when_the_close_is_seen_first(auth_broker: Broker) -> None:
    loop = asyncio.get_running_loop()
    late = _LateExecutor(max_workers=2)
    loop.set_default_executor(late)
    try:
        err = await _denied(auth_broker.url)
    finally:
        loop.set_default_executor(ThreadPoolExecutor())
        late.shutdown(wait=True)
    assert err.status == "BadUserAccessDenied" and not err.retryable
    assert "not authorized" in str(err).lower() and "wrong-password" not in str(err)


async def test_wrong_password_is_denied_every_time(auth_broker: Broker) -> None:
    statuses = [(e.status, e.retryable) for e in [await _denied(auth_broker.url) for _ in range(20)]]
    assert statuses == [("BadUserAccessDenied", False)] * 20


MAPPING = """\
twin: {name: t, base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - id: mq
    kind: mqtt
    url: "mqtt://127.0.0.1:PORT"
    protocol: "PROTOCOL"
    CLIENT_ID
    reconnect: {initial: 50ms, max: 300ms, jitter: 0}
assets:
  - id: meter
    source: mq
    points:
      - {id: power, unit: KiloW, datatype: double, address: {topic: "meters/m1", json_path: "$.p"}}
"""


def _gateway(broker: Broker, client_id: str | None, protocol: str = "3.1.1") -> Gateway:
    text = MAPPING.replace("PORT", str(broker.port)).replace("PROTOCOL", protocol)
    text = text.replace("CLIENT_ID", f"client_id: {client_id}" if client_id else "")
    return Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))


@pytest.mark.parametrize("protocol", ["3.1.1", "5"])
async def test_takeover_between_two_gateways_is_logged(
    broker: Broker, caplog: pytest.LogCaptureFixture, protocol: str
) -> None:
    # mosquitto 2.0 closes the older connection without a DISCONNECT 0x8E even on MQTT 5
    caplog.set_level(logging.WARNING, logger="twinbridge")
    gateways = [_gateway(broker, "tb-same-id", protocol), _gateway(broker, "tb-same-id", protocol)]
    try:
        for gw in gateways:  # one after the other, as two gateway processes would start
            await gw.start(services=False)
            sup = gw.supervisors["mq"]
            await wait_until(lambda s=sup: s.connects > 0, 5, "connected once")  # type: ignore[misc]
        hint = "another client may be using client id 'tb-same-id'"
        await wait_until(lambda: hint in caplog.text, 10, "the takeover named in the log")
        gc.collect()  # a disconnect error nobody retrieved is logged by asyncio when its future is collected
        assert "never retrieved" not in caplog.text
    finally:
        for gw in gateways:
            await gw.stop()


async def test_two_gateways_with_default_client_ids_share_a_broker(broker: Broker) -> None:
    gateways = [_gateway(broker, None), _gateway(broker, None)]
    pub = TestClient(broker)
    try:
        for gw in gateways:
            await gw.start(services=False)
        sups = [gw.supervisors["mq"] for gw in gateways]
        await wait_until(lambda: all(s.state is ConnectionState.CONNECTED for s in sups), 5, "both connected")
        ids = {s.info()["details"]["client_id"] for s in sups}
        assert len(ids) == 2 and all(i.startswith("twinbridge-mq-") for i in ids)
        await asyncio.sleep(1.0)  # a clash would have dropped one of them many times by now (50 ms backoff)
        pub.publish("meters/m1", '{"p": 7.5}')
        await wait_until(lambda: all(gw.twin.state("meter.power").value == 7.5 for gw in gateways), 5, "both")
        assert [(s.connects, s.reconnects) for s in sups] == [(1, 0), (1, 0)]
        assert "already connected" not in (broker.dir / "mosquitto.log").read_text()
    finally:
        pub.close()
        for gw in gateways:
            await gw.stop()


async def test_two_demo_sensor_instances_both_stay_connected(broker: Broker) -> None:
    sensors = [RoomSensors(broker.port, interval=0.1), RoomSensors(broker.port, interval=0.1)]
    listener = TestClient(broker)
    try:
        listener.subscribe("plant/#", qos=0)
        for s in sensors:
            await s.start()
        await asyncio.sleep(1.5)  # paho reconnects after 1 s: a clash would show as a takeover in the log
        assert all(s.client.is_connected() for s in sensors)
        assert "already connected" not in (broker.dir / "mosquitto.log").read_text()
        ids = {s.client._client_id for s in sensors}
        assert len(ids) == 2 and all(i.startswith(b"demo-sensors-") for i in ids)
        assert listener.messages()
    finally:
        for s in sensors:
            await s.stop()
        listener.close()

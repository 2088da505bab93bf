"""Gateway.stop() returns even when its cancel meets aiomqtt's SUBACK, against a real mosquitto.

Python 3.11's ``asyncio.wait_for`` (aiomqtt's subscribe) returns the result instead of raising when the
awaited future completes while the cancel is pending; the supervisor's task then went on into samples() and
``Gateway.stop()`` waited forever. Seen when two gateways with one client id start at once (the takeovers
make subscribes slow); the first test holds the SUBACK until stop() has cancelled, so it meets the cancel
every time.

A connect cancelled while aiomqtt's executor thread is still connecting used to leave that thread's socket
open: it read the CONNACK, and the next drop failed aiomqtt's ``_disconnected`` future, which nobody awaited
("Future exception was never retrieved" on stderr when it was collected).
"""

from __future__ import annotations

import asyncio
import gc
import threading
import time
from collections.abc import AsyncIterator
from typing import Any

import pytest
from mqtt_helpers import Broker

from adapters.mqtt.adapter import MqttAdapter
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

pytestmark = pytest.mark.integration

MAPPING = """
sources:
  - id: mq
    kind: mqtt
    url: "mqtt://127.0.0.1:PORT"
    client_id: tb-stop-same-id
    reconnect: {initial: 20ms, max: 100ms, jitter: 0}
assets:
  - id: meter
    source: mq
    points:
      - {id: power, unit: KiloW, datatype: double, address: {topic: "meters/m1", json_path: "$.p"}}
"""
STOP_BOUND = 12.0  # the supervisor gives up a task after 5 s and an adapter.stop() after 5 s


@pytest.fixture
async def unretrieved() -> AsyncIterator[list[str]]:
    """asyncio's "Future exception was never retrieved" reports during the test (others go to the default)."""
    seen: list[str] = []
    loop = asyncio.get_running_loop()

    def handler(loop: asyncio.AbstractEventLoop, ctx: dict[str, Any]) -> None:
        if "never retrieved" in ctx["message"]:
            seen.append(f"{ctx['message']}: {ctx.get('exception')!r}")
        else:  # e.g. aiomqtt's add_writer queued for a socket closed meanwhile: not this test's subject
            loop.default_exception_handler(ctx)

    loop.set_exception_handler(handler)
    yield seen
    gc.collect()
    loop.set_exception_handler(None)


def _hold_suback_until_cancelled(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Deliver each SUBACK to aiomqtt only once the source's task has a cancel pending (counted in the list)."""
    met: list[int] = []
    make_client = MqttAdapter._make_client

    def patched(adapter: MqttAdapter) -> Any:
        client = make_client(adapter)
        inner: Any = client._client.on_subscribe
        loop = asyncio.get_running_loop()
        task = asyncio.current_task()
        assert task is not None and task.get_name() == "source:mq"

        def deliver(*args: Any) -> None:
            if task.cancelling():  # the wake-up of that cancel is queued: set the result before it runs
                met.append(1)
                inner(*args)
            else:
                loop.call_soon(deliver, *args)

        client._client.on_subscribe = deliver
        return client

    monkeypatch.setattr(MqttAdapter, "_make_client", patched)
    return met


async def test_stop_returns_when_its_cancel_meets_the_suback(broker: Broker, monkeypatch: pytest.MonkeyPatch) -> None:
    met = _hold_suback_until_cancelled(monkeypatch)
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PORT", str(broker.port))}))
    await gw.start(services=False)
    await asyncio.sleep(0.5)  # connected, the SUBACK held
    t0 = time.monotonic()
    done, _ = await asyncio.wait([asyncio.ensure_future(gw.stop())], timeout=STOP_BOUND)
    assert met == [1] and done, f"Gateway.stop() did not return within {STOP_BOUND} s"
    assert time.monotonic() - t0 < 1.0  # the stop flag ends it at once; no wait for the 5 s give-up
    assert gw.supervisors["mq"].connects == 0  # it did not go on as connected


async def test_stop_returns_while_two_gateways_with_one_client_id_fight(broker: Broker, unretrieved: list[str]) -> None:
    text = MAPPING.replace("PORT", str(broker.port))
    took: list[float] = []
    for i in range(20):
        gateways = [Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text})) for _ in range(2)]
        await asyncio.gather(*(gw.start(services=False) for gw in gateways))
        await asyncio.sleep(0.002 * i)  # stop at a different moment of the connect/subscribe dance each time
        t0 = time.monotonic()
        done, _ = await asyncio.wait([asyncio.ensure_future(gw.stop()) for gw in gateways], timeout=STOP_BOUND)
        took.append(time.monotonic() - t0)
        assert len(done) == 2, f"run {i}: Gateway.stop() did not return within {STOP_BOUND} s"
    print(f"stop() took max {max(took):.3f} s over {len(took)} runs")
    gc.collect()  # an abandoned connect's failed future is reported when it is collected
    assert unretrieved == []


async def test_a_connect_cancelled_in_its_thread_leaves_no_socket_and_no_unretrieved_error(
    broker: Broker, monkeypatch: pytest.MonkeyPatch, unretrieved: list[str]
) -> None:
    """stop() while aiomqtt's executor thread has not connected yet; the thread connects after the cancel."""
    entered, release = threading.Event(), threading.Event()
    clients: list[Any] = []
    make_client = MqttAdapter._make_client

    def patched(adapter: MqttAdapter) -> Any:
        client = make_client(adapter)
        inner = client._client_connect

        def held() -> None:  # runs in the executor thread
            entered.set()
            release.wait(10)
            inner()

        monkeypatch.setattr(client, "_client_connect", held)
        clients.append(client)
        return client

    monkeypatch.setattr(MqttAdapter, "_make_client", patched)
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("PORT", str(broker.port))}))
    await gw.start(services=False)
    assert await asyncio.to_thread(entered.wait, 5)
    await asyncio.wait_for(gw.stop(), STOP_BOUND)
    release.set()  # the thread now opens its socket and sends CONNECT, after the attempt was abandoned
    paho = clients[0]._client
    await asyncio.sleep(0.5)  # the thread connects, and a CONNACK arrives on a socket left open
    assert paho._sock is None, "the abandoned connect left its socket open"
    broker.kill()  # a drop: with the socket still open it would fail aiomqtt's _disconnected future
    await asyncio.sleep(0.3)
    del clients[:], paho
    gc.collect()
    assert unretrieved == []

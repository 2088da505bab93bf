"""A Modbus device behind the OPC UA server: register -> subscribed client, client write -> register, faults.

A real pymodbus server (the Modbus tests' ``DeviceStore``) on a loopback port feeds a gateway whose OPC UA
server a real asyncua client subscribes to; the device is stopped and started again mid-test.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
import pytest_asyncio
from asyncua import ua

from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer
from tests.integration.gateway.northbound.opcua.conftest import (
    Changes,
    client,
    endpoint,
    nid,
    opcua_section,
    running,
    twin_header,
)

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def _mapping(url: str, pki: Path) -> str:
    return (
        twin_header()
        + opcua_section(pki)
        + f"""\
sources:
  - {{id: plc, kind: modbus, url: "{url}", poll_interval: 100ms, timeout: 1s, retries: 0,
     reconnect: {{initial: 100ms, max: 200ms}}}}
assets:
  - id: boiler
    type: brick:Boiler
    label: Boiler
    source: plc
    points:
      - {{id: temp, type: measurement, unit: DEG_C, datatype: float, transform: {{scale: 0.1}},
         address: {{table: holding, address: 0, encoding: int16}}}}
      - {{id: sp, type: setpoint, unit: DEG_C, datatype: float, writable: true, min: 20, max: 90,
         transform: {{scale: 0.1}}, address: {{table: holding, address: 1, encoding: int16}}}}
"""
    )


class Plant:
    """The device, its store and the gateway in front of it."""

    def __init__(self, store: DeviceStore, device: ModbusTestServer, gw: Gateway) -> None:
        self.store, self.device, self.gw = store, device, gw


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def plant(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Plant]:
    store = DeviceStore(units={1})
    store.set(1, "holding", 0, 215, 500)
    device = ModbusTestServer(store, "tcp")
    await device.start()
    try:
        async with running(_mapping(device.url, tmp_path_factory.mktemp("pki"))) as gw:
            await wait_for(lambda: gw.twin.state("boiler.temp").status == "Good")
            yield Plant(store, device, gw)
    finally:
        await device.stop()


async def test_a_register_change_reaches_a_subscribed_client(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        seen = Changes()
        sub = await c.create_subscription(50, seen)
        await sub.subscribe_data_change(c.get_node(await nid(c, "boiler.temp")))
        await wait_for(lambda: seen.last is not None and seen.last.Value.Value == pytest.approx(21.5))
        t0 = time.monotonic()
        plant.store.set(1, "holding", 0, (-123) & 0xFFFF)  # int16 -123 -> -12.3 °C
        await wait_for(lambda: seen.last.Value.Value == pytest.approx(-12.3), what="new register value")
        assert time.monotonic() - t0 < 1.0  # one poll (100 ms) plus one publishing interval, with slack
        dv = seen.last
        assert dv.StatusCode.is_good() and dv.Value.VariantType == ua.VariantType.Float
        assert dv.SourceTimestamp is not None


async def test_a_client_write_reaches_the_register(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        sp = c.get_node(await nid(c, "boiler.sp"))
        await sp.write_value(ua.DataValue(ua.Variant(55.5, ua.VariantType.Float)))
        assert plant.store.get(1, "holding", 1) == [555]  # inverse transform, in the device when Write returns
        await wait_for(lambda: plant.gw.twin.state("boiler.sp").value == pytest.approx(55.5))
        with pytest.raises(ua.uaerrors.BadOutOfRange):
            await sp.write_value(ua.DataValue(ua.Variant(95.0, ua.VariantType.Float)))
        assert plant.store.get(1, "holding", 1) == [555]


async def test_a_dead_device_goes_bad_refuses_writes_and_recovers(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        seen = Changes()
        sub = await c.create_subscription(50, seen)
        temp = c.get_node(await nid(c, "boiler.temp"))
        await sub.subscribe_data_change(temp)
        await wait_for(seen.good)
        await plant.device.stop()
        try:
            await wait_for(seen.bad, what="Bad at the client")
            twin_status = plant.gw.twin.state("boiler.temp").status
            assert seen.last.StatusCode.value == getattr(ua.StatusCodes, twin_status)  # the twin's own code
            with pytest.raises(ua.uaerrors.BadNoCommunication):
                await c.get_node(await nid(c, "boiler.sp")).write_value(
                    ua.DataValue(ua.Variant(60.0, ua.VariantType.Float))
                )
        finally:
            await plant.device.start()
        await wait_for(seen.good, timeout=10, what="recovery at the client")


async def test_a_slow_device_write_does_not_stall_the_sessions_other_requests(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        temp = c.get_node(await nid(c, "boiler.temp"))
        sp = c.get_node(await nid(c, "boiler.sp"))
        await wait_for(lambda: plant.gw.supervisors["plc"].state.value == "connected", timeout=10)
        plant.store.delay = 0.8  # the device answers every request late (polls and the write)
        try:
            write = asyncio.create_task(sp.write_value(ua.DataValue(ua.Variant(44.0, ua.VariantType.Float))))
            await asyncio.sleep(0.05)  # the write request is in the server
            t0 = time.monotonic()
            await temp.read_data_value(raise_on_bad_status=False)
            took = time.monotonic() - t0
            assert not write.done()  # answered once the device is done, not when the twin accepted it
            with contextlib.suppress(ua.UaStatusCodeError):  # its outcome: the next test and the ones above
                await write
        finally:
            plant.store.delay = 0
        assert took < 0.3, f"a read waited {took:.2f} s behind the device write"


async def test_a_slow_write_that_fails_still_reports_the_failure(plant: Plant) -> None:
    async with client(endpoint(plant.gw)) as c:
        sp = c.get_node(await nid(c, "boiler.sp"))
        await wait_for(lambda: plant.gw.supervisors["plc"].state.value == "connected", timeout=10)
        plant.store.delay = 1.5  # beyond the source's 1 s timeout: the device never answers in time
        try:
            with pytest.raises(ua.UaStatusCodeError) as err:
                await sp.write_value(ua.DataValue(ua.Variant(45.0, ua.VariantType.Float)))
        finally:
            plant.store.delay = 0
        assert err.value.code in (ua.StatusCodes.BadTimeout, ua.StatusCodes.BadCommunicationError)
        await wait_for(lambda: plant.gw.supervisors["plc"].state.value == "connected", timeout=10)

"""A real asyncua client against the opcua service whose address space the fast builder created."""

from __future__ import annotations

import asyncio
import logging

import pytest
from asyncua import Client, ua

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.contract.sample import Quality, Sample, utcnow
from adapters.sim.config import SimAddress
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.gateway.northbound.opcua.fast_build.conftest import NS_URI, OP_PW, VIEW_PW

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def client(url: str, user: str = "op", pw: str = OP_PW) -> Client:
    c = Client(url, timeout=5)
    c.set_user(user)
    c.set_password(pw)
    return c


async def test_browse_matches_the_mapping(url: str, gateway: Gateway) -> None:
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        # the fast builder made these nodes: they share their constant attribute values
        aspace = gateway.services["opcua"].server.iserver.aspace  # type: ignore[attr-defined]
        a, b = aspace[ua.NodeId("boiler1.temp", ns)], aspace[ua.NodeId("boiler1.count", ns)]
        assert a.attributes[ua.AttributeIds.ValueRank].value is b.attributes[ua.AttributeIds.ValueRank].value
        root = c.get_node(ua.NodeId("twin", ns))
        assert (await root.read_display_name()).Text == "plant"
        objects = {n.nodeid for n in await c.nodes.objects.get_children()}
        assert root.nodeid in objects
        site = (await root.get_children())[0]
        hall = (await site.get_children())[0]
        boiler = (await hall.get_children())[0]
        assert (site.nodeid, hall.nodeid, boiler.nodeid) == (
            ua.NodeId("site", ns),
            ua.NodeId("hall", ns),
            ua.NodeId("boiler1", ns),
        )
        assert await boiler.read_type_definition() == ua.NodeId("type:brick_Boiler", ns)
        assert await site.read_type_definition() == ua.NodeId("type:Site", ns)
        # inverse references were built too: the parent of a point is its asset
        temp = c.get_node(ua.NodeId("boiler1.temp", ns))
        assert (await temp.get_parent()).nodeid == boiler.nodeid
        assert await temp.read_data_type() == ua.NodeId(ua.ObjectIds.Float)
        assert (await temp.read_description()).Text == "Water temperature"
        assert (await temp.read_browse_name()).Name == "temp"
        props = {(await p.read_browse_name()).Name: p for p in await temp.get_properties()}
        assert set(props) == {"EngineeringUnits", "EURange"}
        eu = await props["EngineeringUnits"].read_value()
        assert eu.NamespaceUri == "http://www.opcfoundation.org/UA/units/un/cefact"
        assert eu.UnitId == (ord("C") << 16 | ord("E") << 8 | ord("L")) and eu.DisplayName.Text == "°C"
        rng = await props["EURange"].read_value()
        assert (rng.Low, rng.High) == (0.0, 120.0)
        sp = c.get_node(ua.NodeId("boiler1.sp", ns))
        ro = (await temp.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
        rw = (await sp.read_attribute(ua.AttributeIds.AccessLevel)).Value.Value
        assert ro == ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.HistoryRead.mask  # history is on by default
        assert (
            rw == ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.CurrentWrite.mask | ua.AccessLevel.HistoryRead.mask
        )
        assert await c.get_node(ua.NodeId("boiler1.count", ns)).read_data_type() == ua.NodeId(ua.ObjectIds.UInt32)


async def test_subscription_and_writes(url: str, gateway: Gateway) -> None:
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        received: list[ua.DataValue] = []

        class Handler:
            def datachange_notification(self, node: object, val: object, data: object) -> None:
                received.append(data.monitored_item.Value)  # type: ignore[attr-defined]

        sub = await c.create_subscription(50, Handler())
        await sub.subscribe_data_change(c.get_node(ua.NodeId("boiler1.count", ns)))
        await wait_for(lambda: len({r.Value.Value for r in received}) >= 3)  # the counter moves
        assert all(r.SourceTimestamp is not None and r.StatusCode.is_good() for r in received)
        sp = c.get_node(ua.NodeId("boiler1.sp", ns))
        await sp.write_value(ua.DataValue(ua.Variant(55.0, ua.VariantType.Float)))
        await wait_for(lambda: gateway.twin.state("boiler1.sp").value == 55.0)
        await wait_for_value(sp, 55.0)
        with pytest.raises(ua.uaerrors.BadOutOfRange):
            await sp.write_value(ua.DataValue(ua.Variant(95.0, ua.VariantType.Float)))
        with pytest.raises(ua.uaerrors.BadNotWritable):
            await c.get_node(ua.NodeId("boiler1.temp", ns)).write_value(
                ua.DataValue(ua.Variant(1.0, ua.VariantType.Float))
            )
    async with client(url, "viewer", VIEW_PW) as c:
        ns = await c.get_namespace_index(NS_URI)
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            await c.get_node(ua.NodeId("boiler1.sp", ns)).write_value(
                ua.DataValue(ua.Variant(60.0, ua.VariantType.Float))
            )


async def wait_for_value(node: object, value: float) -> None:
    last: list[object] = [None]

    async def read() -> None:
        last[0] = await node.read_value()  # type: ignore[attr-defined]

    for _ in range(50):
        await read()
        if last[0] == value:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"node value {last[0]!r}, expected {value!r}")


async def test_points_added_at_run_time_reach_clients(url: str, gateway: Gateway) -> None:
    asset = Asset("boiler2", AssetLevel.EQUIPMENT, (), "Boiler 2", parent="hall")
    point = Point(
        "boiler2.temp",
        "boiler2",
        PointKind.MEASUREMENT,
        DataType.DOUBLE,
        "sim1",
        SimAddress(signal="constant", initial=1.0),
        "Boiler 2 temperature",
        unit="DEG_C",
    )
    gateway.twin.add([asset], [point])
    gateway.twin.apply(Sample("boiler2.temp", 42.5, utcnow(), Quality.GOOD, "Good", None, "test"))
    async with client(url) as c:
        ns = await c.get_namespace_index(NS_URI)
        hall = c.get_node(ua.NodeId("hall", ns))
        assert ua.NodeId("boiler2", ns) in {n.nodeid for n in await hall.get_children()}
        node = c.get_node(ua.NodeId("boiler2.temp", ns))
        assert await node.read_data_type() == ua.NodeId(ua.ObjectIds.Double)
        await wait_for_value(node, 42.5)
        gateway.twin.apply(Sample.bad("boiler2.temp", "BadTimeout", "no answer", adapter="test"))

        async def bad() -> bool:
            return (await node.read_data_value(raise_on_bad_status=False)).StatusCode.value == ua.StatusCodes.BadTimeout

        for _ in range(50):
            if await bad():
                break
            await asyncio.sleep(0.05)
        assert await bad()


async def test_failed_logins_counted_without_the_password(
    url: str, gateway: Gateway, caplog: pytest.LogCaptureFixture
) -> None:
    users = gateway.services["opcua"].users  # type: ignore[attr-defined]
    before = users.failed_logins
    with caplog.at_level(logging.WARNING), pytest.raises(ua.UaError):
        async with client(url, "op", "not-the-Secret-9"):
            pass
    assert users.failed_logins == before + 1
    assert "op" in caplog.text and "not-the-Secret-9" not in caplog.text

"""The OPC UA client adapter against a real asyncua server: values, status codes, addressing, types, writes."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest
from asyncua import ua
from opcua_client_helpers import Collector, FreezableProxy, PlantServer, adapter, point, source

from adapters.contract.adapter import AdapterDisconnected
from adapters.contract.model import DataType, Transform
from adapters.contract.sample import Quality

pytestmark = [pytest.mark.integration, pytest.mark.asyncio(loop_scope="module")]


def nid(plant: PlantServer, name: str) -> str:
    return f"ns={plant.ns};s=Boiler.{name}"


async def test_subscription_passes_status_codes_and_source_timestamps(plant: PlantServer) -> None:
    await plant.set("Temp", 20.0, ua.VariantType.Double)
    ad = adapter(source(plant.url), [point("b.temp", {"node": nid(plant, "Temp")})])
    await ad.start()
    async with Collector(ad) as c:
        first = await c.wait_for("b.temp", lambda s: s.value == 20.0)
        assert first.quality is Quality.GOOD and first.status == "Good"

        ts = datetime(2026, 3, 4, 5, 6, 7, 123000, tzinfo=UTC)
        await plant.set(
            "Temp", 42.5, ua.VariantType.Double, status=ua.StatusCodes.UncertainLastUsableValue, source_ts=ts
        )
        s = await c.wait_for("b.temp", lambda s: s.status != "Good")
        assert (s.value, s.status, s.quality, s.source_ts) == (42.5, "UncertainLastUsableValue", Quality.UNCERTAIN, ts)

        ts2 = datetime(2026, 3, 4, 5, 6, 8, tzinfo=UTC)
        await plant.set("Temp", None, ua.VariantType.Double, status=ua.StatusCodes.BadSensorFailure, source_ts=ts2)
        s = await c.wait_for("b.temp", lambda s: s.status == "BadSensorFailure")
        assert s.quality is Quality.BAD and s.value is None and s.source_ts == ts2
        assert s.reason and "sensor" in s.reason.lower()

        await plant.set("Temp", 43.0, ua.VariantType.Double)
        s = await c.wait_for("b.temp", lambda s: s.value == 43.0)
        assert s.status == "Good" and s.quality is Quality.GOOD
        assert ad.counters["datachanges"] >= 4
        assert ad.describe()["subscriptions"][0]["items"] == 1


async def test_namespace_uri_and_browse_paths_resolve_at_connect(plant: PlantServer) -> None:
    ns = plant.ns
    pts = [
        point("b.uri", {"node": "nsu=urn:twinbridge:test:plant;s=Boiler.Pressure"}),
        point("b.path", {"browse_path": f"/Objects/{ns}:Plant/{ns}:Boiler/{ns}:Pressure"}),
        point("b.prefixed", {"browse_path": "/Root/Objects/pl:Plant/pl:Boiler/pl:Count"}, datatype=DataType.INT32),
    ]
    ad = adapter(source(plant.url, namespaces={"pl": "urn:twinbridge:test:plant"}), pts)
    await ad.start()
    async with Collector(ad) as c:
        await c.wait(lambda: all(c.last(p) is not None for p in ("b.uri", "b.path", "b.prefixed")))
        assert c.last("b.uri").value == pytest.approx(1.5)
        assert c.last("b.path").value == pytest.approx(1.5)
        assert c.last("b.prefixed").value == 7
        assert ad.describe()["faulted_points"] == {}


async def test_unknown_nodes_mark_only_their_own_points_bad(plant: PlantServer) -> None:
    ns = plant.ns
    pts = [
        point("b.good", {"node": nid(plant, "Temp")}),
        point("b.gone", {"node": f"ns={ns};s=Boiler.Renamed"}),
        point("b.nopath", {"browse_path": f"/Objects/{ns}:Plant/{ns}:Boiler/{ns}:Missing"}),
        point("b.nons", {"node": "nsu=urn:not:on:this:server;i=5"}),
        point("b.object", {"node": f"ns={ns};s=Boiler"}),
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    async with Collector(ad) as c:
        gone = await c.wait_for("b.gone", lambda s: True)
        assert (gone.quality, gone.status) == (Quality.BAD, "BadNodeIdUnknown")
        assert "Boiler.Renamed" in (gone.reason or "")
        nopath = await c.wait_for("b.nopath", lambda s: True)
        assert nopath.quality is Quality.BAD and nopath.status.startswith("Bad") and "not found" in nopath.reason
        nons = await c.wait_for("b.nons", lambda s: True)
        assert nons.status == "BadNodeIdUnknown" and "urn:not:on:this:server" in nons.reason
        obj = await c.wait_for("b.object", lambda s: True)
        assert obj.status == "BadNodeClassInvalid" and "Object" in obj.reason
        await plant.set("Temp", 31.0, ua.VariantType.Double)
        await c.wait_for("b.good", lambda s: s.value == 31.0 and s.quality is Quality.GOOD)
        assert set(ad.describe()["faulted_points"]) == {"b.gone", "b.nopath", "b.nons", "b.object"}
        assert ad.counters["faulted_points"] == 4


async def test_arrays_need_an_element_index(plant: PlantServer) -> None:
    pts = [
        point("b.whole", {"node": nid(plant, "Profile")}),
        point("b.third", {"node": nid(plant, "Profile"), "index": 2}),
        point("b.beyond", {"node": nid(plant, "Profile"), "index": 9}),
        point("b.scalar", {"node": nid(plant, "Temp"), "index": 0}),
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    async with Collector(ad) as c:
        whole = await c.wait_for("b.whole", lambda s: True)
        assert whole.status == "BadTypeMismatch" and "index:" in whole.reason and "array" in whole.reason
        scalar = await c.wait_for("b.scalar", lambda s: True)
        assert scalar.status == "BadTypeMismatch" and "scalar" in scalar.reason
        third = await c.wait_for("b.third", lambda s: s.quality is Quality.GOOD)
        assert third.value == 3.0
        beyond = await c.wait_for("b.beyond", lambda s: True)
        assert beyond.status == "BadIndexRangeNoData"
        await plant.set("Profile", [1.0, 2.0, 33.0, 4.0], ua.VariantType.Double)
        await c.wait_for("b.third", lambda s: s.value == 33.0)


async def test_datatype_that_cannot_hold_the_node_is_refused(plant: PlantServer) -> None:
    pts = [
        point("b.name_as_double", {"node": nid(plant, "Name")}),
        point("b.name", {"node": nid(plant, "Name")}, datatype=DataType.STRING),
        point("b.running", {"node": nid(plant, "Running")}, datatype=DataType.BOOL),
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    async with Collector(ad) as c:
        bad = await c.wait_for("b.name_as_double", lambda s: True)
        assert bad.status == "BadTypeMismatch" and "String" in bad.reason and "double" in bad.reason
        assert (await c.wait_for("b.name", lambda s: True)).value == "boiler one"
        assert (await c.wait_for("b.running", lambda s: True)).value is True


async def test_polling_per_source_and_per_point(plant: PlantServer) -> None:
    await plant.set("Count", 7, ua.VariantType.Int32)
    polled_source = adapter(
        source(plant.url, mode="poll", poll_interval=0.05),
        [point("b.count", {"node": nid(plant, "Count")}, datatype=DataType.INT32)],
    )
    mixed = adapter(
        source(plant.url),
        [
            point(
                "b.count", {"node": nid(plant, "Count"), "mode": "poll", "poll_interval": 0.05}, datatype=DataType.INT32
            ),
            point("b.temp", {"node": nid(plant, "Temp")}),
        ],
    )
    await polled_source.start()
    await mixed.start()
    async with Collector(polled_source) as c1, Collector(mixed) as c2:
        await c1.wait_for("b.count", lambda s: s.value == 7)
        await c2.wait_for("b.count", lambda s: s.value == 7)
        ts = datetime(2026, 5, 6, 7, 8, 9, tzinfo=UTC)
        await plant.set("Count", 8, ua.VariantType.Int32, status=ua.StatusCodes.UncertainSubstituteValue, source_ts=ts)
        for c in (c1, c2):
            s = await c.wait_for("b.count", lambda s: s.value == 8)
            assert (s.status, s.source_ts) == ("UncertainSubstituteValue", ts)
        assert polled_source.describe()["subscriptions"] == []
        assert mixed.describe()["polled"] == {"0.05s": 1}
        assert polled_source.counters["polls"] >= 2


async def test_server_side_absolute_deadband_suppresses_small_changes(plant: PlantServer) -> None:
    await plant.set("Temp", 20.0, ua.VariantType.Double)
    pts = [
        point("b.temp", {"node": nid(plant, "Temp"), "deadband": {"absolute": 1.0}}),
        point("b.control", {"node": nid(plant, "Temp")}),  # same node, same subscription, no filter
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    async with Collector(ad) as c:
        await c.wait_for("b.temp", lambda s: s.value == 20.0)
        for v in (20.4, 20.8, 22.5):
            await plant.set("Temp", v, ua.VariantType.Double)
            await c.wait_for("b.control", lambda s, v=v: s.value == v)  # the change was published
        await c.wait_for("b.temp", lambda s: s.value == 22.5)
        values = [s.value for s in c.samples if s.point == "b.temp"]
        assert values == [20.0, 22.5]


async def test_write_back_uses_the_node_type_and_returns_the_server_status(plant: PlantServer) -> None:
    pts = [
        point("b.sp", {"node": nid(plant, "Setpoint")}, writable=True),
        point("b.level", {"node": nid(plant, "Level")}, writable=True, datatype=DataType.UINT16),
        point("b.locked", {"node": nid(plant, "Locked")}, writable=True),
        point("b.prof1", {"node": nid(plant, "Profile"), "index": 1}, writable=True),
        point("b.gone", {"node": f"ns={plant.ns};s=Nope"}, writable=True),
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    async with Collector(ad) as c:
        by_id = {p.id: p for p in pts}
        res = await ad.write(by_id["b.sp"], 75.5)
        assert res.ok and res.status == "Good"
        assert await plant.get("Setpoint") == 75.5
        await c.wait_for("b.sp", lambda s: s.value == 75.5)

        assert (await ad.write(by_id["b.level"], 300.4)).ok
        assert await plant.get("Level") == 300
        level_type = plant.server.read_attribute_value(plant.node_id("Level")).Value.VariantType
        assert level_type is ua.VariantType.UInt16
        res = await ad.write(by_id["b.level"], 70000)
        assert res.status == "BadOutOfRange" and "UInt16" in res.reason

        res = await ad.write(by_id["b.locked"], 1.0)
        assert res.status == "BadUserAccessDenied" and not res.ok
        assert await plant.get("Locked") == 5.0

        before = await plant.get("Profile")
        assert (await ad.write(by_id["b.prof1"], 9.5)).ok
        assert await plant.get("Profile") == [before[0], 9.5, *before[2:]]

        res = await ad.write(by_id["b.gone"], 1.0)
        assert res.status == "BadNodeIdUnknown"
        assert ad.counters["writes"] >= 4 and ad.counters["write_errors"] >= 2


async def test_engineering_units_and_range_compared_with_the_mapping(plant: PlantServer) -> None:
    pts = [
        point("b.ok", {"node": nid(plant, "Temp")}, unit="DEG_C", min=0, max=150),
        point("b.wrong_unit", {"node": nid(plant, "Temp")}, unit="DEG_F"),
        point("b.scaled", {"node": nid(plant, "Temp")}, unit="DEG_C", min=0, max=15, transform=Transform(scale=0.1)),
        point("b.wrong_range", {"node": nid(plant, "Temp")}, unit="DEG_C", min=0, max=100),
        point(
            "b.converted",
            {"node": nid(plant, "Temp")},
            unit="K",
            min=273.15,
            max=423.15,
            transform=Transform(source_unit="DEG_C"),
        ),
    ]
    ad = adapter(source(plant.url), pts)
    await ad.start()
    try:
        mismatches = ad.describe()["unit_mismatches"]
        text = "\n".join(mismatches)
        assert len(mismatches) == 2, text
        assert "b.wrong_unit" in text and "FAH" in text and "CEL" in text
        assert "b.wrong_range" in text and "max 100 vs 150" in text
    finally:
        await ad.stop()


async def test_stopped_adapter_yields_nothing_more_and_a_dead_server_disconnects(plant: PlantServer) -> None:
    other = PlantServer()
    await other.start()
    ad = adapter(source(other.url), [point("b.temp", {"node": nid(other, "Temp")})])
    await ad.start()
    async with Collector(ad) as c:
        await c.wait_for("b.temp", lambda s: True)
        await other.stop()
        await c.wait(lambda: c.error is not None, timeout=5)
        assert isinstance(c.error, AdapterDisconnected)
        assert other.url in c.error.reason
    res = await ad.write(point("b.temp", {"node": nid(other, "Temp")}), 1.0)
    assert res.status == "BadNoCommunication"
    await asyncio.sleep(0)


async def test_keep_alive_detects_a_silent_server(plant: PlantServer) -> None:
    proxy = FreezableProxy(plant.port)
    port = await proxy.start()
    url = plant.url.replace(f":{plant.port}/", f":{port}/")
    ad = adapter(source(url, keepalive_interval=0.3), [point("b.temp", {"node": nid(plant, "Temp")})])
    await ad.start()
    try:
        async with Collector(ad) as c:
            await c.wait_for("b.temp", lambda s: s.quality is Quality.GOOD)
            proxy.frozen = True  # the socket stays open, nothing comes back
            t0 = asyncio.get_running_loop().time()
            await c.wait(lambda: c.error is not None, timeout=5)
            assert isinstance(c.error, AdapterDisconnected)
            assert c.error.status == "BadTimeout" and "keep-alive" in c.error.reason
            assert asyncio.get_running_loop().time() - t0 < 3
    finally:
        await proxy.stop()

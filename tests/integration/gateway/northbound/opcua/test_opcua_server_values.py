"""Every datatype, value, timestamp and status of the twin as an asyncua client sees them, and typed writes.

One gateway for the module: a ``dev`` sim source with one writable constant point per datatype (writes are
echoed back by the simulator, like a device reporting its new value) and a ``late`` source that never
connects (its points have no data yet).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from asyncua import ua

from adapters.contract.sample import Quality, Sample
from gateway.runtime import Gateway
from tests.conftest import wait_for
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

# point -> (mapping datatype, initial value, OPC UA built-in type, a value to write)
TYPED: dict[str, tuple[str, Any, ua.VariantType, Any]] = {
    "b": ("bool", True, ua.VariantType.Boolean, False),
    "i16": ("int16", -5, ua.VariantType.Int16, -32768),
    "u16": ("uint16", 5, ua.VariantType.UInt16, 65535),
    "i32": ("int32", -70000, ua.VariantType.Int32, 2**31 - 1),
    "u32": ("uint32", 70000, ua.VariantType.UInt32, 2**32 - 1),
    "i64": ("int64", -(2**40), ua.VariantType.Int64, -(2**53)),
    "u64": ("uint64", 2**40, ua.VariantType.UInt64, 2**53),
    "f": ("float", 1.5, ua.VariantType.Float, -2.25),
    "d": ("double", 0.1, ua.VariantType.Double, 1e300),
    "s": ("string", "hello", ua.VariantType.String, "grüße"),
}


def _utc(ts: datetime | None) -> datetime | None:
    """asyncua gives naive UTC datetimes; the twin aware ones."""
    return ts.replace(tzinfo=UTC) if ts is not None and ts.tzinfo is None else ts


def _mapping(pki: Path) -> str:
    typed = "\n".join(
        f"      - {{id: {pid}, type: setpoint, datatype: {dt}, writable: true"
        + ("" if dt in ("bool", "string") else ", unit: UNITLESS")
        + f", address: {{signal: constant, initial: {value!r}}}}}".replace("True", "true")
        for pid, (dt, value, _, _) in TYPED.items()
    )
    return (
        twin_header()
        + opcua_section(pki)
        + f"""\
sources:
  - {{id: dev, kind: sim, interval: 50ms}}
  - {{id: late, kind: sim, interval: 50ms, connect_delay: 1h}}
assets:
  - {{id: works, type: site, label: Works}}
  - {{id: hall, type: area, parent: works, label: Hall}}
  - {{id: line1, type: line, parent: hall, label: Line 1}}
  - id: mixer
    type: equipment
    parent: line1
    label: Mixer
    source: dev
    points:
{typed}
      - {{id: held, type: measurement, unit: DEG_C, datatype: double, min: 0,
         address: {{signal: constant, initial: 1.0, interval: 1h}}}}
      - {{id: volume, type: measurement, unit: AC-FT, datatype: double, address: {{signal: constant}}}}
  - id: pump
    type: brick:Pump
    parent: line1
    label: Pump
    source: late
    points:
      - {{id: flow, class: brick:Water_Flow_Sensor, unit: L-PER-SEC, datatype: float, min: 0, max: 50,
         writable: true, address: {{signal: constant}}}}
"""
    )


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running(_mapping(tmp_path_factory.mktemp("pki"))) as gateway:
        await wait_for(lambda: all(gateway.twin.state(f"mixer.{p}").status == "Good" for p in TYPED))
        yield gateway


async def test_every_datatype_is_its_opcua_builtin_type_with_the_twins_value(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        for pid, (_, initial, vtype, _) in TYPED.items():
            node = c.get_node(await nid(c, f"mixer.{pid}"))
            assert await node.read_data_type() == ua.NodeId(vtype.value), pid
            dv = await node.read_data_value()
            assert dv.Value.VariantType == vtype, pid
            assert dv.Value.Value == gw.twin.state(f"mixer.{pid}").value == initial, pid


async def test_writes_of_every_datatype_reach_the_device_and_come_back(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        for pid, (_, _, vtype, new) in TYPED.items():
            node = c.get_node(await nid(c, f"mixer.{pid}"))
            await node.write_value(ua.DataValue(ua.Variant(new, vtype)))  # raises unless Good
            await wait_for(lambda p=pid, v=new: gw.twin.state(f"mixer.{p}").value == v, what=pid)
            assert (await node.read_value()) == new, pid


async def test_64_bit_integers_come_back_exact(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        for pid, vtype, new in (
            ("u64", ua.VariantType.UInt64, 2**53 + 1),
            ("i64", ua.VariantType.Int64, 2**63 - 1),
            ("u64", ua.VariantType.UInt64, 2**64 - 1),
        ):
            node = c.get_node(await nid(c, f"mixer.{pid}"))
            await node.write_value(ua.DataValue(ua.Variant(new, vtype)))
            await wait_for(lambda p=pid, v=new: gw.twin.state(f"mixer.{p}").value == v, timeout=1, what=pid)


@pytest.mark.parametrize(
    ("pid", "variant", "stored"),
    [
        # the conversions of incoming samples (adapters/contract/coerce.py), as a classic OPC server converts
        ("i32", ua.Variant(1.6, ua.VariantType.Double), 2),
        ("d", ua.Variant("12", ua.VariantType.String), 12.0),
        ("i16", ua.Variant(True, ua.VariantType.Boolean), 1),
        ("s", ua.Variant(5, ua.VariantType.Int32), "5"),
    ],
)
async def test_writes_are_converted_like_incoming_values(
    gw: Gateway, pid: str, variant: ua.Variant, stored: object
) -> None:
    async with client(endpoint(gw)) as c:
        node = c.get_node(await nid(c, f"mixer.{pid}"))
        await node.write_value(ua.DataValue(variant))
        await wait_for(lambda: gw.twin.state(f"mixer.{pid}").value == stored)
        assert (await node.read_data_value()).Value.VariantType == TYPED[pid][2]


@pytest.mark.parametrize(
    ("pid", "variant", "expected"),
    [
        # what generic clients send: the node's value in another numeric built-in type
        ("f", ua.Variant(7.0, ua.VariantType.Double), None),
        ("i16", ua.Variant(12, ua.VariantType.Int32), None),
        ("d", ua.Variant(3, ua.VariantType.Int64), None),
        ("i16", ua.Variant(70000, ua.VariantType.Int32), ua.StatusCodes.BadOutOfRange),
        ("u16", ua.Variant(-1, ua.VariantType.Int32), ua.StatusCodes.BadOutOfRange),
        ("d", ua.Variant("twelve", ua.VariantType.String), ua.StatusCodes.BadTypeMismatch),
        ("d", ua.Variant(None, ua.VariantType.Null), ua.StatusCodes.BadTypeMismatch),
        ("d", ua.Variant(float("nan"), ua.VariantType.Double), ua.StatusCodes.BadOutOfRange),
    ],
)
async def test_write_conversions_and_refusals(gw: Gateway, pid: str, variant: ua.Variant, expected: int | None) -> None:
    before = gw.twin.state(f"mixer.{pid}").value
    async with client(endpoint(gw)) as c:
        node = c.get_node(await nid(c, f"mixer.{pid}"))
        if expected is None:
            await node.write_value(ua.DataValue(variant))
            await wait_for(lambda: gw.twin.state(f"mixer.{pid}").value == variant.Value)
            assert (await node.read_data_value()).Value.VariantType == TYPED[pid][2]  # stored in the node's type
        else:
            with pytest.raises(ua.UaStatusCodeError) as err:
                await node.write_value(ua.DataValue(variant))
            assert err.value.code == expected
            assert gw.twin.state(f"mixer.{pid}").value == before  # nothing reached the device


async def test_a_point_without_data_is_bad_waiting_and_refuses_writes(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        flow = c.get_node(await nid(c, "pump.flow"))
        dv = await flow.read_attribute(ua.AttributeIds.Value, raise_on_bad_status=False)
        assert dv.StatusCode.value == ua.StatusCodes.BadWaitingForInitialData
        assert dv.Value.Value is None
        with pytest.raises(ua.uaerrors.BadNoCommunication):  # its source is not connected
            await flow.write_value(ua.DataValue(ua.Variant(1.0, ua.VariantType.Float)))


async def test_value_status_and_timestamps_follow_the_twin(gw: Gateway) -> None:
    src = datetime(2026, 1, 2, 3, 4, 5, 123456, tzinfo=UTC)
    steps = [  # (status, value) applied in order; what the client must see
        ("Good", 2.5),
        ("UncertainLastUsableValue", 3.5),
        ("BadTimeout", None),
        ("BadNoSuchStatusAnywhere", None),  # not an OPC UA name: keeps its class, generic Bad
        ("Good", 4.5),
    ]
    async with client(endpoint(gw)) as c:
        node = c.get_node(await nid(c, "mixer.held"))
        seen = Changes()
        sub = await c.create_subscription(20, seen)
        await sub.subscribe_data_change(node, queuesize=10)
        await wait_for(lambda: len(seen.values) >= 1)
        for i, (status, value) in enumerate(steps):
            ts = src.replace(second=i)
            n = len(seen.values)
            gw.twin.apply(Sample("mixer.held", value, ts, Quality.of_status(status), status, "test", "dev"))
            await wait_for(lambda n=n: len(seen.values) > n, what=f"notification of {status}")
            state = gw.twin.state("mixer.held")
            code = getattr(ua.StatusCodes, status, ua.StatusCodes.Bad)
            for dv in (seen.values[-1], await node.read_attribute(ua.AttributeIds.Value, raise_on_bad_status=False)):
                assert dv.StatusCode.value == code, status
                assert _utc(dv.SourceTimestamp) == ts, status
                assert _utc(dv.ServerTimestamp) == state.gateway_ts, status
                # OPC UA Part 4 7.7.1: a Bad value is null; Good and Uncertain carry it
                assert dv.Value.Value == (value if not status.startswith("Bad") else None), status


async def test_types_levels_units_and_ranges(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        for aid, type_name in (("works", "Site"), ("hall", "Area"), ("line1", "Line"), ("mixer", "Equipment")):
            tdef = await c.get_node(await nid(c, aid)).read_type_definition()
            assert tdef == await nid(c, f"type:{type_name}"), aid
            assert await c.get_node(tdef).read_node_class() == ua.NodeClass.ObjectType
        assert await c.get_node(await nid(c, "mixer.held")).read_type_definition() == await nid(c, "type:Measurement")
        assert await c.get_node(await nid(c, "mixer.f")).read_type_definition() == await nid(c, "type:Setpoint")
        # a unit without a UNECE code: EUInformation still names it, UnitId -1 ("unknown", Part 8 5.6.3)
        eu = await c.get_node(await nid(c, "mixer.volume#EngineeringUnits")).read_value()
        assert eu.UnitId == -1 and eu.DisplayName.Text
        # EURange only when the mapping gives both limits
        held_props = {n.nodeid.Identifier for n in await c.get_node(await nid(c, "mixer.held")).get_properties()}
        assert held_props == {"mixer.held#EngineeringUnits"}
        rng = await c.get_node(await nid(c, "pump.flow#EURange")).read_value()
        assert (rng.Low, rng.High) == (0.0, 50.0)
        # a writable point is CurrentRead|CurrentWrite for the operator's session too (UserAccessLevel)
        ual = await c.get_node(await nid(c, "pump.flow")).read_attribute(ua.AttributeIds.UserAccessLevel)
        assert (
            ual.Value.Value
            == ua.AccessLevel.CurrentRead.mask | ua.AccessLevel.CurrentWrite.mask | ua.AccessLevel.HistoryRead.mask
        )


async def test_brick_types_are_subtypes_of_their_level_and_kind(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:

        async def ancestors(ident: str) -> list[ua.NodeId]:
            out: list[ua.NodeId] = []
            node = c.get_node(await nid(c, ident))
            while refs := await node.get_references(ua.ObjectIds.HasSubtype, ua.BrowseDirection.Inverse):
                out.append(refs[0].NodeId)
                node = c.get_node(refs[0].NodeId)
            return out

        assert await c.get_node(await nid(c, "pump")).read_type_definition() == await nid(c, "type:brick_Pump")
        assert await nid(c, "type:Equipment") in await ancestors("type:brick_Pump")
        assert await nid(c, "type:Measurement") in await ancestors("type:brick_Water_Flow_Sensor")

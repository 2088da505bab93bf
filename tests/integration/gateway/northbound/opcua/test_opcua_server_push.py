"""The service's shared-DataValue push against a real client: the same notifications as asyncua's own path.

The module's gateway serves two identical points; ``fast`` keeps the service's push (``ValuePusher``), ``own``
goes through asyncua's ``Server.write_attribute_value`` with plain DataValues (which asyncua deep-copies per
monitored item). Both get the same sequence of states; the client must see the same notifications for both,
each with its own value (asyncua no longer copies the service's DataValues, so nothing may alias in a monitored
item's queue).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from typing import Any

import pytest
import pytest_asyncio
from asyncua import ua

from adapters.contract.sample import PointState, Quality, Sample
from gateway.northbound.opcua.values import SharedDataValue, data_value
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

BODY = """\
sources:
  - {id: dev, kind: sim, interval: 1h}
assets:
  - id: tank
    type: equipment
    label: Tank
    source: dev
    points:
      - {id: own, type: measurement, unit: DEG_C, datatype: float, address: {signal: constant, initial: 1.0}}
      - {id: fast, type: measurement, unit: DEG_C, datatype: float, address: {signal: constant, initial: 1.0}}
      - {id: name, type: status, datatype: string, address: {signal: constant, initial: idle}}
"""


@pytest_asyncio.fixture(scope="module", loop_scope="module")
async def gw(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Gateway]:
    async with running(twin_header() + opcua_section(tmp_path_factory.mktemp("pki")) + BODY) as gateway:
        await wait_for(lambda: gateway.twin.state("tank.fast").status == "Good")
        svc: Any = gateway.services["opcua"]
        own = ua.NodeId("tank.own", svc.ids.ns)
        service_push = svc._push

        async def push(state: PointState) -> None:
            if state.point != "tank.own":
                await service_push(state)
                return
            # the reference: asyncua's documented server API with a plain DataValue
            dv = data_value(state, ua.VariantType.Float)
            plain = ua.DataValue(dv.Value, dv.StatusCode, dv.SourceTimestamp, dv.ServerTimestamp)
            await svc.server.write_attribute_value(own, plain)

        svc._push = push  # the service's pump looks the method up on every change
        yield gateway


STEPS = [  # (status, value, source second)
    ("Good", 2.5, 1),
    ("Good", 3.5, 2),
    ("UncertainLastUsableValue", 3.5, 3),
    ("BadCommunicationError", None, 4),
    ("BadNoSuchStatusAnywhere", None, 5),
    ("Good", 4.5, 6),
]


def _stored(gw: Gateway, pid: str) -> ua.DataValue:
    """The DataValue in the server's address space (what the next publish sends)."""
    svc: Any = gw.services["opcua"]
    return svc.server.iserver.aspace[ua.NodeId(pid, svc.ids.ns)].attributes[ua.AttributeIds.Value].value


def _key(dv: ua.DataValue) -> tuple[object, ...]:
    return (dv.Value.Value, dv.Value.VariantType, dv.StatusCode.value, dv.SourceTimestamp)


async def test_same_notifications_as_asyncuas_own_write_none_aliased(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        seen = {p: Changes() for p in ("own", "fast")}
        for p, handler in seen.items():
            sub = await c.create_subscription(300, handler)  # every step lands in one publish: a queue of 6
            await sub.subscribe_data_change(c.get_node(await nid(c, f"tank.{p}")), queuesize=10)
        await wait_for(lambda: all(len(h.values) == 1 for h in seen.values()))
        for status, value, second in STEPS:
            ts = datetime(2026, 3, 4, 5, 6, second, 250000, tzinfo=UTC)
            for p in seen:
                q = Quality.of_status(status)
                gw.twin.apply(Sample(f"tank.{p}", value, ts, q, status, "test", "dev"))
            # the twin conflates a point's changes until its subscriber takes them: one step at a time
            await wait_for(lambda ts=ts: all(_stored(gw, f"tank.{p}").SourceTimestamp == ts for p in seen))
        await wait_for(lambda: all(len(h.values) == 1 + len(STEPS) for h in seen.values()))
        own, fast = ([_key(dv) for dv in seen[p].values[1:]] for p in ("own", "fast"))
        assert fast == own
        assert [v[0] for v in fast] == [2.5, 3.5, 3.5, None, None, 4.5]  # each notification kept its own value
        assert [v[2] for v in fast] == [
            ua.StatusCodes.Good,
            ua.StatusCodes.Good,
            ua.StatusCodes.UncertainLastUsableValue,
            ua.StatusCodes.BadCommunicationError,
            ua.StatusCodes.Bad,
            ua.StatusCodes.Good,
        ]
        # Part 4 7.11.3: while a fault lasts, the source time is when the source recognized it
        assert [v[3].second for v in fast] == [1, 2, 3, 4, 5, 6]
        for p in ("own", "fast"):  # reads too
            dv = await c.get_node(await nid(c, f"tank.{p}")).read_data_value()
            assert _key(dv) == own[-1]
        # server side: the stored value is the shared object, never copied
        assert isinstance(_stored(gw, "tank.fast"), SharedDataValue)
        assert not isinstance(_stored(gw, "tank.own"), SharedDataValue)


async def test_strings_and_timestamps_through_the_fast_path(gw: Gateway) -> None:
    async with client(endpoint(gw)) as c:
        node = c.get_node(await nid(c, "tank.name"))
        ts = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
        text = "filling: 3/4 (Füllstand)"
        gw.twin.apply(Sample("tank.name", text, ts, Quality.GOOD, "Good", None, "dev"))
        state = gw.twin.state("tank.name")
        seen = Changes()
        sub = await c.create_subscription(20, seen)
        await sub.subscribe_data_change(node)
        await wait_for(lambda: seen.last is not None and seen.last.Value.Value == text)
        dv = await node.read_data_value()
        assert dv.Value == ua.Variant(text, ua.VariantType.String)
        assert dv.SourceTimestamp.replace(tzinfo=UTC) == ts
        assert dv.ServerTimestamp.replace(tzinfo=UTC) == state.gateway_ts

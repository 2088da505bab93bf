"""The SSE stream's filters over real HTTP: asset subtree and point kind (the point-list filter is in http/)."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator, Awaitable, Callable

import httpx

from tests.integration.gateway.northbound.http.settings.conftest import OPERATOR, Serve, client


async def _changes(resp: httpx.Response) -> AsyncIterator[dict[str, object]]:
    async for line in resp.aiter_lines():
        if line.startswith("data: {"):
            yield json.loads(line[6:])


async def _collect_until(resp: httpx.Response, done: dict[str, float]) -> list[dict[str, object]]:
    """Every change until each point in ``done`` has shown its value (the written one)."""
    seen: list[dict[str, object]] = []
    missing = dict(done)

    async def read() -> None:
        async for change in _changes(resp):
            seen.append(change)
            if missing.get(str(change["point"])) == change["value"]:
                del missing[str(change["point"])]
            if not missing:
                return

    await asyncio.wait_for(read(), 10)
    return seen


async def _value_after_change(ops: httpx.AsyncClient, point: str, value: object) -> None:
    """Write ``value`` to ``point`` and wait until the twin shows it (so its change was published)."""
    assert (await ops.put(f"/points/{point}/value", json={"value": value})).status_code == 200
    await wait_for_async(lambda: _value(ops, point), value)


async def _value(ops: httpx.AsyncClient, point: str) -> object:
    return (await ops.get(f"/points/{point}")).json()["state"]["value"]


async def wait_for_async(probe: Callable[[], Awaitable[object]], want: object, timeout: float = 5) -> None:
    """Poll an async probe until it returns ``want``."""
    deadline = asyncio.get_running_loop().time() + timeout
    while await probe() != want:
        assert asyncio.get_running_loop().time() < deadline, f"never saw {want!r}"
        await asyncio.sleep(0.02)


async def test_asset_subtree_filter(serve: Serve) -> None:
    _, base = await serve()
    async with client(base) as c, c.stream("GET", "/stream", params={"asset": "hall"}) as resp:
        assert resp.status_code == 200
        async with client(base, token=OPERATOR) as ops:
            # changes outside the hall first (boiler1's sine moves too), then the marker inside it
            await _value_after_change(ops, "boiler1.sp", 70)
            await _value_after_change(ops, "ahu1.fan", 42)
        seen = await _collect_until(resp, {"ahu1.fan": 42})
    assert {c["point"] for c in seen} <= {"ahu1.sat", "ahu1.fan"}


async def _changed(ops: httpx.AsyncClient, point: str, old: object) -> bool:
    return await _value(ops, point) != old


async def test_kind_filter_and_unknown_asset(serve: Serve) -> None:
    _, base = await serve()
    async with client(base) as c:
        async with c.stream("GET", "/stream", params={"type": "setpoint"}) as resp:
            async with client(base, token=OPERATOR) as ops:
                sat = await _value(ops, "ahu1.sat")
                await wait_for_async(lambda: _changed(ops, "ahu1.sat", sat), True)  # a measurement changed
                await _value_after_change(ops, "boiler1.sp", 80)
                await _value_after_change(ops, "ahu1.fan", 12)
            seen = await _collect_until(resp, {"ahu1.fan": 12, "boiler1.sp": 80})
        # the two measurements change continuously; only setpoints may arrive
        assert {c["point"] for c in seen} <= {"ahu1.fan", "boiler1.sp"}
        r = await c.get("/stream", params={"asset": "nowhere"})
        assert r.status_code == 404 and "nowhere" in r.json()["error"]

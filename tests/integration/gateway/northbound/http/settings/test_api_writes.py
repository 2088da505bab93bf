"""Write-back outcomes the http/ tests leave out: a source that is down, and the audit name of the writer."""

from __future__ import annotations

import logging

import pytest

from tests.conftest import wait_for
from tests.integration.gateway.northbound.http.settings.conftest import OPERATOR, Serve, client


async def test_write_to_a_source_that_is_down_is_502(serve: Serve) -> None:
    gw, base = await serve()
    gw.adapter("sim1").simulate_outage(1.5)  # type: ignore[union-attr]
    await wait_for(lambda: gw.supervisors["sim1"].state.value != "connected", what="sim1 down")
    async with client(base, token=OPERATOR) as c:
        r = await c.put("/points/boiler1.sp/value", json={"value": 66})
        assert r.status_code == 502, r.text
        body = r.json()
        assert body["status"] == "BadNoCommunication" and body["ok"] is False
        assert body["reason"] and body["error"] == body["reason"]  # the device's reason, for the person
        p = (await c.get("/points/boiler1.sp")).json()
        assert p["state"]["value"] != 66  # nothing reached the twin
        await wait_for(lambda: gw.supervisors["sim1"].state.value == "connected", timeout=10, what="sim1 back")
        r = await c.put("/points/boiler1.sp/value", json={"value": 66})
        assert r.status_code == 200 and r.json()["status"] == "Good"


async def test_writes_are_attributed_to_the_token_name(serve: Serve, caplog: pytest.LogCaptureFixture) -> None:
    _, base = await serve()
    with caplog.at_level(logging.INFO):
        async with client(base, token=OPERATOR) as c:
            assert (await c.put("/points/boiler1.sp/value", json={"value": 61})).status_code == 200
    assert "http:ops" in caplog.text  # the token's configured name, never the token
    assert OPERATOR not in caplog.text

"""`gateway: http: dashboard: false` serves the API without the page; a token-only gateway serves the page to
anyone (it holds no data) while every call it makes needs the token."""

from __future__ import annotations

import httpx

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway

MAPPING = """\
twin: {base_iri: "http://t.local/"}
gateway:
  http: {port: 0, dashboard: DASHBOARD, tokens: [{name: ops, role: operator, token: "operator-token-0123456789"}]}
  opcua: {enabled: false}
sources:
  - {id: sim1, kind: sim, interval: 1s}
assets:
  - id: a
    source: sim1
    points: [{id: p, unit: UNITLESS, address: {signal: constant}}]
"""


async def _get(dashboard: str, *paths: str) -> list[httpx.Response]:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING.replace("DASHBOARD", dashboard)}))
    await gw.start()
    try:
        base = f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
        async with httpx.AsyncClient(base_url=base, timeout=10) as http:
            return [await http.get(p) for p in paths]
    finally:
        await gw.stop()


async def test_the_page_is_served_to_anyone_and_its_data_only_with_a_token() -> None:
    page, script, session, health = await _get("true", "/", "/ui/js/app.js", "/session", "/health")
    assert (
        page.status_code == 200
        and script.status_code == 200
        and "frame-ancestors 'none'" in page.headers["content-security-policy"]
    )
    assert session.status_code == 401  # what the page shows comes from the API, with the token
    assert health.status_code == 200


async def test_dashboard_false_leaves_only_the_api() -> None:
    page, script, health = await _get("false", "/", "/ui/js/app.js", "/health")
    assert page.status_code == 404 and script.status_code == 404
    assert health.status_code == 200 and health.headers["x-frame-options"] == "DENY"

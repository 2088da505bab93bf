"""How the central view reads an edge gateway's answer to a routed write (pure logic over HTTP responses)."""

from __future__ import annotations

import httpx

from gateway.central.writer import _result


def test_the_edge_s_own_status_and_reason_come_back() -> None:
    body = {"error": "95 is above the maximum 90 of b.sp", "point": "b.sp", "status": "BadOutOfRange",
            "ok": False, "reason": "95 is above the maximum 90 of b.sp"}  # fmt: skip
    result = _result("site-a", httpx.Response(422, json=body))
    assert (result.status, result.reason) == (
        "BadOutOfRange",
        "gateway site-a: 95 is above the maximum 90 of b.sp (HTTP 422)",
    )
    ok = _result("site-a", httpx.Response(200, json={"point": "b.sp", "status": "Good", "ok": True, "reason": None}))
    assert ok.ok and ok.reason is None


def test_answers_without_a_status_are_read_by_their_http_status() -> None:
    denied = _result("site-a", httpx.Response(401, json={"error": "missing bearer token"}))
    assert denied.status == "BadUserAccessDenied" and "missing bearer token" in (denied.reason or "")
    unreadable = _result(
        "site-a", httpx.Response(422, json={"error": "invalid request", "problems": ["body.value: x"]})
    )
    assert unreadable.status == "BadTypeMismatch" and "body.value: x" in (unreadable.reason or "")
    proxy = _result("site-a", httpx.Response(503, text="<html>maintenance</html>"))
    assert proxy.status == "BadResourceUnavailable" and proxy.reason == "gateway site-a: Service Unavailable (HTTP 503)"
    odd = _result("site-a", httpx.Response(418, text=""))
    assert odd.status == "BadCommunicationError"

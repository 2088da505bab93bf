"""The dashboard's frame: served from the package with strict security headers, signs in by token kept in the
tab's session only, offers a viewer no operator control, and draws without console errors."""

from __future__ import annotations

import httpx

from tests.browser.conftest import DemoThread, Screen


def test_the_page_and_its_assets_come_with_a_strict_policy(plant: DemoThread) -> None:
    with httpx.Client(base_url=plant.url) as http:
        page = http.get("/")
        assert page.status_code == 200 and "text/html" in page.headers["content-type"]
        csp = page.headers["content-security-policy"]
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp and "frame-ancestors 'none'" in csp
        assert page.headers["x-frame-options"] == "DENY" and page.headers["x-content-type-options"] == "nosniff"
        assert "<script>" not in page.text and " style=" not in page.text  # nothing inline
        script = http.get("/ui/js/app.js")
        assert script.status_code == 200 and "javascript" in script.headers["content-type"]
        assert script.headers["content-security-policy"] == csp
        assert http.get("/health").headers["x-frame-options"] == "DENY"  # the API too
        assert http.get("/docs").status_code == 200  # Swagger UI keeps working (its own inline script)


def test_session_says_what_the_caller_may_do(plant: DemoThread) -> None:
    with httpx.Client(base_url=plant.url) as http:
        viewer = http.get("/session").json()
        assert viewer == {
            "name": "anonymous",
            "role": "reader",
            "anonymous": True,
            "can_write": False,
            "can_operate_alarms": False,
            "anonymous_read": True,
        }
        op = http.get("/session", headers={"Authorization": f"Bearer {plant.demo.token}"}).json()
        assert op["role"] == "operator" and op["can_write"] and not op["anonymous"]
        assert http.get("/session", headers={"Authorization": "Bearer nope"}).status_code == 401


def test_a_token_signs_in_for_the_tab_only(screen: Screen) -> None:
    page = screen.open()
    assert page.text_content("#who-name") == "viewer (anonymous)"
    screen.sign_in(screen.plant.demo.token)
    assert page.text_content("#who-name") == "demo-operator (operator)"
    assert page.evaluate("sessionStorage.getItem('twinbridge.token')") == screen.plant.demo.token
    assert page.evaluate("localStorage.length") == 0  # never kept beyond the tab
    page.click("#logout")
    page.wait_for_selector("#who-name:text('viewer (anonymous)')")
    assert page.evaluate("sessionStorage.getItem('twinbridge.token')") is None


def test_a_wrong_token_is_refused_in_the_dialog(screen: Screen) -> None:
    page = screen.open()
    page.click("#login-open")
    page.fill("#login-token", "not-a-token")
    page.click("#login-submit")
    page.wait_for_selector("#login-error:not([hidden])")
    assert "not known" in (page.text_content("#login-error") or "")


def test_the_demo_names_the_dashboard_first(plant: DemoThread) -> None:
    text = plant.demo.banner()
    addresses = [line.split()[1] for line in text.splitlines() if line.startswith("  ") and "http" in line]
    assert addresses[0] == f"{plant.url}/", text

"""The trends view on the running demo: a trend of the last minutes draws what the history store recorded (as
many samples as the API gives for that window), points with different units get an axis each, aggregated mode
draws the store's buckets, the CSV export holds what is drawn, points are picked by id or by a SPARQL query, the
window moves with ◀, live mode appends, and Bad samples are gaps."""

from __future__ import annotations

import csv
import io
import time
from datetime import datetime, timedelta
from typing import Any
from urllib.parse import quote

import httpx

from tests.browser.conftest import DemoThread, Screen

SUPPLY = "boiler1.supply_temp"
RETURN = "boiler1.return_temp"
FLOW = "boiler1.flow"
MOTOR = "machine1.motor_temp"


def _api(plant: DemoThread, path: str, **params: Any) -> Any:
    r = httpx.get(f"{plant.url}{path}", params=params, timeout=10)
    assert r.status_code == 200, r.text
    return r.json()


def _recorded(plant: DemoThread, pid: str, start: str, end: str) -> int:
    """Samples of the point with a value that is not Bad, from the API, over [start, end)."""
    body = _api(plant, f"/points/{pid}/history", start=start, end=end, limit=100_000)
    return sum(1 for r in body["rows"] if not r["status"].startswith("Bad") and isinstance(r["value"], int | float))


def _until_recorded(plant: DemoThread, pid: str, rows: int, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while _recorded(plant, pid, "-5m", "now") < rows:
        assert time.monotonic() < deadline, f"{pid}: fewer than {rows} samples recorded in {timeout} s"
        time.sleep(0.3)


def _wait(page: Any, expression: str, timeout: float = 10) -> None:
    """Poll a JS expression until it is true (wait_for_function would need eval, which the page's CSP refuses)."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        assert time.monotonic() < deadline, f"not true within {timeout} s: {expression}"
        time.sleep(0.1)


def _drawn(page: Any) -> dict[str, str]:
    """The chart's attributes once it is drawn (data-samples, data-start, data-end, data-axes...)."""
    page.wait_for_selector("#trend-chart[data-state='ready']")
    return dict(page.eval_on_selector("#trend-chart", "e => ({...e.dataset})"))


def _time(iso: str) -> datetime:
    return datetime.fromisoformat(iso.replace("Z", "+00:00"))


def _iso_shift(iso: str, seconds: float) -> str:
    return (_time(iso) + timedelta(seconds=seconds)).isoformat().replace("+00:00", "Z")


def _seconds_between(a: str, b: str) -> float:
    return (_time(a) - _time(b)).total_seconds()


def test_a_trend_of_the_last_minutes_draws_the_recorded_samples(screen: Screen) -> None:
    plant = screen.plant
    _until_recorded(plant, SUPPLY, 10)  # the demo has run a few seconds: the PLC is polled every 0.5 s
    page = screen.open(f"/trends?points={SUPPLY}&range=5m&mode=raw")
    drawn = _drawn(page)
    samples = int(drawn["samples"])
    assert samples >= 10 and drawn["mode"] == "raw" and drawn["axes"] == "°C"
    # the API over the same window: every sample the page drew, apart from rows flushed (every 1 s) after it read
    assert _recorded(plant, SUPPLY, drawn["start"], _iso_shift(drawn["end"], -2.5)) <= samples
    assert samples <= _recorded(plant, SUPPLY, drawn["start"], drawn["end"])
    assert page.locator("#trend-chart canvas").count() == 1
    assert "Supply temperature (°C)" in page.text_content("#trend-chart .u-legend")
    assert f"{samples:,} samples of 1 point" in page.text_content("#trend-status")
    assert page.locator(f"#trend-points li[data-point='{SUPPLY}']").count() == 1

    # zoom by dragging across the plot, then back to the whole window
    box = page.locator("#trend-chart .u-over").bounding_box()
    page.mouse.move(box["x"] + box["width"] * 0.6, box["y"] + 40)
    page.mouse.down()
    page.mouse.move(box["x"] + box["width"] * 0.9, box["y"] + 60, steps=5)
    page.mouse.up()
    page.wait_for_selector("#trend-reset:not([disabled])")
    page.click("#trend-reset")
    page.wait_for_selector("#trend-reset[disabled]")

    # ◀ moves the window back by half its width, read again from the history
    page.click("#trend-back")
    _wait(page, "location.hash.includes('range=custom')")
    earlier = _drawn(page)
    assert abs(_seconds_between(earlier["end"], drawn["end"]) + 150) < 2, (earlier, drawn)
    assert page.input_value("#trend-range") == "custom" and page.is_visible("#trend-custom")
    assert screen.errors == []


def test_aggregated_mode_draws_the_stores_buckets(screen: Screen) -> None:
    plant = screen.plant
    _until_recorded(plant, SUPPLY, 10)
    page = screen.open(f"/trends?points={SUPPLY}&range=15m&mode=average")
    drawn = _drawn(page)
    assert drawn["mode"] == "average" and drawn["interval"] == "2s"  # 15 min in 450 intervals
    samples = int(drawn["samples"])
    assert 0 < samples <= 450
    body = _api(
        plant, "/history", points=SUPPLY, aggregate="average", interval="2s", start=drawn["start"], end=drawn["end"]
    )
    buckets = [
        v
        for v, s in zip(body["series"][SUPPLY]["values"], body["series"][SUPPLY]["status"], strict=True)
        if v is not None and not s.startswith("Bad")
    ]
    assert samples <= len(buckets) <= samples + 1  # the last interval may have filled since
    assert "average per 2 s" in page.text_content("#trend-status")
    page.select_option("#trend-mode", "maximum")
    _wait(page, "location.hash.includes('mode=maximum')")
    assert _drawn(page)["mode"] == "maximum" and int(_drawn(page)["samples"]) > 0
    assert screen.errors == []


def test_csv_export_holds_what_is_drawn(screen: Screen) -> None:
    _until_recorded(screen.plant, FLOW, 5)
    page = screen.open(f"/trends?points={SUPPLY},{FLOW}&range=5m&mode=raw")
    drawn = _drawn(page)
    with page.expect_download() as info:
        page.click("#trend-csv")
    download = info.value
    assert download.suggested_filename.startswith("trend-") and download.suggested_filename.endswith("-raw.csv")
    with open(download.path(), newline="", encoding="utf-8") as f:
        rows = list(csv.reader(io.StringIO(f.read())))
    assert rows[0] == ["time", f"{SUPPLY} (°C)", f"{FLOW} (m³/h)"]
    cells = [c for row in rows[1:] for c in row[1:] if c != ""]
    assert len(cells) == int(drawn["samples"]) and all(float(c) >= 0 for c in cells)
    assert all(row[0].endswith("Z") for row in rows[1:])
    assert screen.errors == []


def test_points_are_picked_by_id_and_by_a_sparql_query(screen: Screen) -> None:
    page = screen.open("/trends")
    drawn = _drawn(page)
    assert drawn["samples"] == "0" and "No points chosen" in page.text_content("#trend-chart")
    page.fill("#trend-add", "no.such_point")
    page.press("#trend-add", "Enter")
    assert 'No point "no.such_point"' in page.text_content(".trends-side")
    page.fill("#trend-add", FLOW)
    page.press("#trend-add", "Enter")
    page.wait_for_selector(f"#trend-points li[data-point='{FLOW}']")
    assert f"points={FLOW}" in page.evaluate("location.hash")

    page.click(".trend-sparql-box summary")
    page.fill("#trend-sparql", "SELECT ?p WHERE { ?p a <nope")
    page.click("#trend-sparql-run")
    page.wait_for_selector("#trend-sparql-result.error")
    assert "error at" in page.text_content("#trend-sparql-result")  # the parser's message with its position
    page.fill(
        "#trend-sparql",
        "PREFIX brick: <https://brickschema.org/schema/Brick#>\n"
        "SELECT ?point ?label WHERE { { ?point a brick:Supply_Water_Temperature_Sensor } UNION "
        "{ ?point a brick:Return_Water_Temperature_Sensor } }",
    )
    page.click("#trend-sparql-run")
    page.wait_for_selector(f"#trend-points li[data-point='{RETURN}']")
    assert "added 2 points" in page.text_content("#trend-sparql-result")
    assert page.locator("#trend-points li[data-point]").count() == 3
    assert _drawn(page)["axes"] == "m³/h|°C"  # the flow came first: its axis is the left one
    page.click(f"#trend-points li[data-point='{FLOW}'] button.remove")
    _wait(page, f"!location.hash.includes('{FLOW}')")
    page.wait_for_selector(f"#trend-points li[data-point='{FLOW}']", state="detached")  # the list follows the route
    assert page.locator("#trend-points li[data-point]").count() == 2
    _wait(page, "document.querySelector('#trend-chart').dataset.axes === '°C'")  # and the chart, once redrawn
    assert _drawn(page)["axes"] == "°C"
    # the browser logs the refused query's answer; nothing else went wrong
    assert screen.errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_live_mode_appends_new_samples(screen: Screen) -> None:
    _until_recorded(screen.plant, SUPPLY, 5)
    page = screen.open(f"/trends?points={SUPPLY}&range=5m&mode=raw&live=1")
    before = int(_drawn(page)["samples"])
    assert page.is_checked("#trend-live")
    _wait(page, f"Number(document.querySelector('#trend-chart').dataset.samples) > {before + 2}", timeout=8)
    assert screen.errors == []


def test_bad_samples_are_gaps(screen: Screen) -> None:
    """The machine's OPC UA server goes away, its points turn Bad, and the Bad row is a gap."""
    plant = screen.plant
    _until_recorded(plant, MOTOR, 3)
    plant.run(plant.demo.machine.stop())
    try:
        deadline = time.monotonic() + 15
        while not any(
            r["status"].startswith("Bad") for r in _api(plant, f"/points/{MOTOR}/history", start="-5m")["rows"]
        ):
            assert time.monotonic() < deadline, "no Bad sample recorded after the machine stopped"
            time.sleep(0.3)
    finally:
        plant.run(plant.demo.machine.start())  # back for the tests that follow
    page = screen.open(f"/trends?points={MOTOR}&range=5m&mode=raw")
    drawn = _drawn(page)
    assert int(drawn["gaps"]) >= 1 and int(drawn["samples"]) >= 3
    assert "shown as gaps" in page.text_content("#trend-status")
    assert screen.errors == []


def test_two_units_get_two_axes(screen: Screen) -> None:
    """Screenshot: the supply and return temperatures share the °C axis, the flow has its own (over the demo's
    recorded history so far, once it holds one and a half of the pump's 20 s cycles)."""
    plant = screen.plant
    first = _api(plant, f"/points/{SUPPLY}/history", start="-10m", limit=1)["rows"][0]["time"]
    time.sleep(max(0.0, 30 - _seconds_between(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), first)))
    start = quote(_iso_shift(first, -2))
    end = quote(_iso_shift(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), 1))
    page = screen.open(f"/trends?points={SUPPLY},{RETURN},{FLOW}&range=custom&start={start}&end={end}&mode=raw")
    drawn = _drawn(page)
    assert drawn["axes"] == "°C|m³/h"
    assert page.locator("#trend-chart .u-axis").count() == 3  # time, °C, m³/h
    legend = page.text_content("#trend-chart .u-legend") or ""
    assert "Supply temperature (°C)" in legend and "Return temperature (°C)" in legend and "Water flow (m³/h)" in legend
    page.mouse.move(*_middle(page))  # the legend shows the values under the cursor
    screen.shot("trends")
    assert screen.errors == []


def _middle(page: Any) -> tuple[float, float]:
    box = page.locator("#trend-chart .u-over").bounding_box()
    return box["x"] + box["width"] * 0.7, box["y"] + box["height"] * 0.5

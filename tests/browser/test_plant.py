"""The Plant view in a real browser on the demo plant: the asset tree with the three protocols' equipment, its
search and filters; live values following a PLC register; writes by an operator reaching the PLC, refused with
the twin's reason when out of range, and not offered to a viewer; the point page with its Modbus address."""

from __future__ import annotations

import re
import struct
import time
from typing import Any

from tests.browser.conftest import DemoThread, Screen

ROW = "tr[data-point='{}']"
VALUE = "tr[data-point='{}'] td.value"


def _int16(v: int) -> int:
    """A signed value as the PLC's 16-bit register holds it."""
    result: int = struct.unpack(">H", struct.pack(">h", v))[0]
    return result


def _register(plant: DemoThread, table: str, address: int) -> list[int]:
    memory = plant.demo.plc.memory
    values: list[int] = plant.call(lambda: memory.get(table, address))
    return values


def _set_register(plant: DemoThread, table: str, address: int, value: int) -> None:
    memory = plant.demo.plc.memory
    plant.call(lambda: memory.set(table, address, value))


def _wait_discovered(plant: DemoThread, *assets: str, timeout: float = 15) -> None:
    """Until the twin has these assets (the MQTT rule adds the room sensors when their first message comes)."""
    twin = plant.demo.gateway.twin  # type: ignore[union-attr]
    deadline = time.monotonic() + timeout
    while not plant.call(lambda: all(a in twin.model.assets for a in assets)):
        assert time.monotonic() < deadline, f"not discovered in {timeout} s: {assets}"
        time.sleep(0.1)


def _shown_assets(page: Any) -> set[str]:
    ids: list[str] = page.eval_on_selector_all("#tree li[data-asset]", "els => els.map(e => e.dataset.asset)")
    return set(ids)


def _write(page: Any, point: str, value: str, *, select: bool = False) -> Any:
    """Open the write dialog of a point, enter the value, confirm; the outcome element once it has one."""
    page.click(f"button.write[data-point='{point}']")
    if select:
        page.select_option("#write-value", value)
    else:
        page.fill("#write-value", value)
    page.click("#write-submit")
    page.click("dialog.confirm [data-action=confirm]")
    return page.wait_for_selector("#write-result.ok, #write-result.error")


def test_the_tree_shows_each_protocols_equipment_and_narrows(screen: Screen) -> None:
    _wait_discovered(screen.plant, "hall-s1", "hall-s2", "office-s3")
    page = screen.open("/plant")
    # the Modbus boiler (PLC), the OPC UA machine, the MQTT room sensors (discovered from their topics)
    for asset in ("boiler1", "ahu1", "machine1", "hall-s1", "hall-s2", "office-s3"):
        page.wait_for_selector(f"#tree li[data-asset='{asset}'] > .row .label")
    assert page.text_content("#tree li[data-asset='machine1'] > .row .label") == "Machine tool 1"

    page.fill("#tree-search", "room sensor s")  # by label: the sensors and the areas they sit in
    page.wait_for_selector("#tree li[data-asset='boiler1']", state="detached")
    assert _shown_assets(page) == {"site", "hall", "office", "hall-s1", "hall-s2", "office-s3"}
    page.fill("#tree-search", "machine1")  # by id
    page.wait_for_selector("#tree li[data-asset='hall-s1']", state="detached")
    assert _shown_assets(page) == {"site", "workshop", "machine1"}
    page.fill("#tree-search", "")
    page.wait_for_selector("#tree li[data-asset='boiler1']")

    # filters: only the assets having matching points (and their ancestors to place them)
    page.wait_for_selector("#filter-source option[value='sensors']", state="attached")
    page.select_option("#filter-source", "sensors")
    page.wait_for_selector("#tree li[data-asset='boiler1']", state="detached")
    assert _shown_assets(page) == {"site", "hall", "office", "hall-s1", "hall-s2", "office-s3"}
    page.select_option("#filter-source", "")
    page.select_option("#filter-unit", "REV-PER-MIN")
    page.wait_for_selector("#tree li[data-asset='hall-s1']", state="detached")
    assert _shown_assets(page) == {"site", "workshop", "machine1"}

    # choosing an asset keeps the narrowed tree; its table shows only the points matching the filter
    page.click("#tree li[data-asset='machine1'] > .row .label")
    page.wait_for_selector("#tree li[data-asset='machine1'].selected")
    page.wait_for_selector(ROW.format("machine1.spindle_speed"))
    rows = page.eval_on_selector_all("#points tr[data-point]", "els => els.map(e => e.dataset.point)")
    assert sorted(rows) == ["machine1.speed_setpoint", "machine1.spindle_speed"]
    assert _shown_assets(page) == {"site", "workshop", "machine1"}
    assert page.url.endswith("#/asset/machine1")
    assert screen.errors == []


def test_a_live_value_follows_the_plc_register(screen: Screen) -> None:
    plant = screen.plant
    page = screen.open("/asset/boiler1")
    page.wait_for_selector(ROW.format("boiler1.return_temp"))
    page.wait_for_selector(".points-panel .live[data-state='open']", state="attached")
    # sparklines from the last hour's history, on the numeric points only
    page.wait_for_selector(f"{ROW.format('boiler1.supply_temp')} td.spark svg path")
    assert page.query_selector(f"{ROW.format('boiler1.enable')} td.spark svg") is None
    assert page.text_content(f"{ROW.format('boiler1.setpoint')} td.value") == "70 °C"
    assert page.text_content(f"{ROW.format('boiler1.supply_temp')} td.quality") == "good"
    trend = page.get_attribute("#trend-these", "href") or ""
    assert trend.startswith("#/trends?points=boiler1.supply_temp,boiler1.return_temp,")
    assert "boiler1.enable" not in trend  # numbers only
    assert page.get_attribute(".asset-head a:text-is('Graph')", "href") == "#/graph/boiler1"
    page.wait_for_timeout(1500)  # a few live values on the sparklines for the picture
    screen.shot("plant")

    before = page.get_attribute(VALUE.format("boiler1.return_temp"), "data-source-time")
    plant.call(plant.demo.plc.pause)  # the simulation would overwrite the register
    try:
        _set_register(plant, "holding", 1, _int16(-123))  # -12.3 °C after the mapping's scale 0.1
        page.wait_for_selector(f"{VALUE.format('boiler1.return_temp')}:text-is('-12.3 °C')")
        after = page.get_attribute(VALUE.format("boiler1.return_temp"), "data-source-time")
        assert after and after != before
    finally:
        plant.demo.plc.paused = False
    assert screen.errors == []


def test_an_operator_write_reaches_the_plc_and_a_viewer_sees_no_write_control(operator: Screen, screen: Screen) -> None:
    plant = operator.plant
    page = operator.open("/asset/boiler1")
    page.wait_for_selector("button.write[data-point='boiler1.setpoint']")
    writable = page.eval_on_selector_all("button.write", "els => els.map(e => e.dataset.point).sort()")
    assert writable == ["boiler1.enable", "boiler1.setpoint"]  # the measurements have none
    try:
        result = _write(page, "boiler1.setpoint", "61.5")
        assert result.get_attribute("class") == "ok", result.text_content()
        assert "61.5 °C" in (result.text_content() or "")
        assert _register(plant, "holding", 10) == [615]
        page.click("#write-dialog button:text('Close')")
        page.wait_for_selector(f"{VALUE.format('boiler1.setpoint')}:text-is('61.5 °C')")  # read back from the PLC

        result = _write(page, "boiler1.enable", "false", select=True)  # a bool: chosen, not typed
        assert result.get_attribute("class") == "ok", result.text_content()
        assert _register(plant, "coil", 1) == [0]
    finally:
        _set_register(plant, "holding", 10, 700)
        _set_register(plant, "coil", 1, 1)
    assert operator.errors == []

    viewer = screen.open("/asset/boiler1")
    viewer.wait_for_selector(ROW.format("boiler1.setpoint"))
    assert viewer.query_selector_all("button.write") == []
    assert viewer.query_selector_all("#points th") and len(viewer.query_selector_all("#points thead th")) == 7
    viewer.goto(f"{screen.plant.url}/#/point/boiler1.setpoint")
    viewer.wait_for_selector("#point-address")
    assert viewer.query_selector_all("button.write") == []
    assert screen.errors == []


def test_an_out_of_range_write_shows_the_twins_refusal(operator: Screen) -> None:
    plant = operator.plant
    page = operator.open("/point/boiler1.setpoint")
    page.wait_for_selector("button.write[data-point='boiler1.setpoint']")
    before = _register(plant, "holding", 10)
    result = _write(page, "boiler1.setpoint", "99")  # the mapping's max is 90
    assert result.get_attribute("class") == "error"
    assert result.text_content() == "99 is above the maximum 90 of boiler1.setpoint"  # the twin's own reason
    assert result.get_attribute("title") == "BadOutOfRange"
    assert _register(plant, "holding", 10) == before
    operator.shot("write-refused")
    # the browser logs every 4xx answer to a fetch; the refusal is the only thing in the console
    assert operator.errors == [
        "Failed to load resource: the server responded with a status of 422 (Unprocessable Entity)"
    ]


def test_the_point_page_shows_where_the_value_comes_from(screen: Screen) -> None:
    page = screen.open("/point/boiler1.supply_temp")
    page.wait_for_selector("#point-address")
    address = page.text_content("#point-address") or ""
    port = screen.plant.demo.ports.modbus
    assert f"modbus+tcp://127.0.0.1:{port}/1/0" in address  # the protocol target: unit 1, register 0
    assert re.search(r"table\s*holding", address) and re.search(r"address\s*0", address)
    assert re.search(r"encoding\s*int16", address)
    text = page.text_content(".point-page") or ""
    assert "Supply Water Temperature Sensor" in text and "0 °C to 110 °C" in text
    assert "http://demo.twinbridge.local/point/boiler1.supply_temp" in text
    assert "Boiler room" in text  # its location
    assert page.get_attribute(".point-live .value", "data-source-time")
    page.wait_for_selector(".point-live svg.spark path")
    page.wait_for_timeout(1000)
    screen.shot("point")
    assert screen.errors == []

"""The SPARQL console on the demo, as a viewer (anonymous read): a documented example runs from one click and
shows rows whose point IRIs link to the point pages; a syntax error shows the parser's message with its line and
column marked in the editor; results download as CSV (header row first) and as SPARQL JSON; ASK and CONSTRUCT
answer too; the last query survives a reload of the tab."""

from __future__ import annotations

import json
import re
from pathlib import Path

import httpx

from tests.browser.conftest import Screen

DEMO = "http://demo.twinbridge.local/"


def test_an_example_query_shows_rows_linked_to_the_points(screen: Screen) -> None:
    page = screen.open("/sparql")
    assert page.text_content("#who-name") == "viewer (anonymous)"  # a reader may query
    editor = page.input_value("#sparql-editor")
    assert editor.startswith("PREFIX tb: <https://w3id.org/twinbridge#>\n")
    assert f"PREFIX point: <{DEMO}point/>" in editor  # the twin's own base, from the service description
    examples = page.locator("#sparql-examples button")
    assert examples.count() == 12
    examples.filter(has_text="Which register, node or topic feeds a point").click()
    page.wait_for_selector("table#sparql-results tbody tr")
    assert "<http://demo.twinbridge.local/asset/boiler1>" in page.input_value("#sparql-editor")
    rows = page.locator("table#sparql-results tbody tr")
    assert rows.count() >= 5
    assert re.fullmatch(r"\d+ rows in \d+ ms", page.text_content("#sparql-status") or "")
    point = page.locator("table#sparql-results a.iri[href='#/point/boiler1.supply_temp']")
    assert point.text_content() == "point:boiler1.supply_temp"  # shortened with the twin's prefix
    assert point.get_attribute("title") == f"{DEMO}point/boiler1.supply_temp"
    assert page.locator("table#sparql-results td", has_text="modbus+tcp://127.0.0.1:").count() >= 5
    # values with their datatype set apart, equipment linked to its page
    examples.filter(has_text="Temperatures above a limit").click()
    page.wait_for_selector("table#sparql-results tbody tr a.iri[href='#/asset/boiler1']")
    assert page.locator("table#sparql-results .literal .datatype", has_text="xsd:").count() >= 1
    assert page.locator("#sparql-examples button.active .title").text_content() == (
        "Temperatures above a limit, with unit and equipment"
    )
    screen.shot("sparql")
    assert screen.errors == []


def test_a_syntax_error_shows_where_it_is(screen: Screen) -> None:
    page = screen.open("/sparql")
    query = "PREFIX tb: <https://w3id.org/twinbridge#>\nSELECT ?point WHERE {\n  ?point tb:id ?id FILTER(\n}\n"
    with httpx.Client(base_url=screen.plant.url) as http:
        answer = http.post("/sparql", data={"query": query})
    assert answer.status_code == 400
    message = answer.json()["error"]
    found = re.search(r"error at (\d+):(\d+)", message)
    assert found is not None, message
    line, column = int(found.group(1)), int(found.group(2))
    page.fill("#sparql-editor", query)
    page.press("#sparql-editor", "Control+Enter")
    page.wait_for_selector("#sparql-error:not([hidden])")
    assert page.text_content("#sparql-error .message") == message  # the API's own words
    assert page.text_content("#sparql-error .where") == f"line {line}, column {column}"
    assert page.text_content(".sparql-editor .gutter .error-line") == str(line)
    gutter = f"{line} | "
    assert page.text_content("#sparql-error .code") == gutter + query.split("\n")[line - 1]
    assert page.text_content("#sparql-error .caret") == " " * (len(gutter) + column - 1) + "^"  # under the place
    offset = sum(len(text) + 1 for text in query.split("\n")[: line - 1]) + column - 1
    assert page.evaluate("document.getElementById('sparql-editor').selectionStart") == offset
    assert page.locator("table#sparql-results").count() == 0
    # editing clears the mark; the query is kept in the tab across a reload
    page.press("#sparql-editor", "End")
    page.keyboard.type(" ")
    assert page.locator(".sparql-editor .gutter .error-line").count() == 0
    page.reload()
    page.wait_for_selector("#sparql-editor")
    assert page.input_value("#sparql-editor").startswith(query[: query.index("FILTER(")])
    assert screen.errors == ["Failed to load resource: the server responded with a status of 400 (Bad Request)"]


def test_results_download_and_ask_and_construct_answer(screen: Screen, tmp_path: Path) -> None:
    page = screen.open("/sparql")
    prefixes = "PREFIX tb: <https://w3id.org/twinbridge#>\n"
    select = "SELECT ?point ?value WHERE {\n  ?point tb:value ?value ; tb:id ?id FILTER(STRSTARTS(?id, 'boiler1.'))\n}"
    page.fill("#sparql-editor", prefixes + select + " ORDER BY ?point\n")
    page.click("#sparql-run")
    page.wait_for_selector("table#sparql-results tbody tr")
    shown = page.locator("table#sparql-results tbody tr").count()
    with page.expect_download() as csv_download:
        page.click("#sparql-csv")
    csv_path = tmp_path / "results.csv"
    csv_download.value.save_as(csv_path)
    lines = csv_path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "point,value" and len(lines) == shown + 1
    assert lines[1].startswith(f"{DEMO}point/boiler1.")
    with page.expect_download() as json_download:
        page.click("#sparql-json")
    json_path = tmp_path / "results.json"
    json_download.value.save_as(json_path)
    data = json.loads(json_path.read_text(encoding="utf-8"))
    assert data["head"]["vars"] == ["point", "value"] and len(data["results"]["bindings"]) == shown

    page.fill("#sparql-editor", prefixes + 'ASK { ?p tb:id "boiler1.supply_temp" }')
    page.click("#sparql-run")
    page.wait_for_selector("#sparql-boolean")
    assert page.text_content("#sparql-boolean") == "true"

    page.fill("#sparql-editor", f"DESCRIBE <{DEMO}asset/boiler1>")
    page.click("#sparql-run")
    page.wait_for_selector("#sparql-graph")
    assert f"<{DEMO}asset/boiler1>" in (page.text_content("#sparql-graph") or "")
    assert page.is_disabled("#sparql-csv") and page.is_visible("#sparql-turtle")
    assert screen.errors == []

"""The examples of docs/analytics.md, "Alarms over REST, SSE and SPARQL", against a gateway running its mapping:
the SPARQL query answers the documented table, each curl command answers 200, the first one the documented
JSON (shortened), the last one the documented transitions."""

from __future__ import annotations

import asyncio
import json
import re
import shlex
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

DOC = Path(__file__).resolve().parents[5] / "docs" / "analytics.md"
HEADING = "## Alarms over REST, SSE and SPARQL"
TOKENS = {"READER_TOKEN": "doc-reader-token-0123456789", "OPS_TOKEN": "doc-operator-token-0123456789"}
BASE = "http://localhost:8000"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    assert HEADING in text
    return text.split(HEADING, 1)[1].split("\n## ", 1)[0]


def block(kind: str) -> str:
    m = re.search(rf"```{kind}\n(.*?)```", section(), re.S)
    assert m is not None, f"no {kind} block"
    return m.group(1)


def curl(command: str) -> tuple[str, str, dict[str, str], str | None]:
    """(method, path, headers, body) of a documented curl command, with the tokens of TOKENS."""
    args = shlex.split(command)
    assert args[0] == "curl"
    method, headers, body, url = "GET", {}, None, ""
    it = iter(args[1:])
    for a in it:
        if a == "-X":
            method = next(it)
        elif a == "-H":
            name, _, value = next(it).partition(": ")
            headers[name] = re.sub(r"\$(\w+)", lambda m: TOKENS[m.group(1)], value)
        elif a == "-d":
            body = next(it)
        else:
            url = a
    assert url.startswith(BASE), url
    return method, url.removeprefix(BASE), headers, body


def documented_table() -> list[dict[str, str]]:
    after = section().split("```sparql", 1)[1].split("```", 1)[1]
    lines = [ln for ln in after.strip().splitlines() if ln.startswith("|")]
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    return [dict(zip(head, (c.strip() for c in ln.strip("|").split("|")), strict=True)) for ln in lines[2:]]


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    mapping = block("yaml").replace("port: 8000", "port: 0").replace("interval: 1s", "interval: 50ms")
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": mapping}, env=TOKENS))
    await gw.start()
    alarms = gw.view.analytics
    await wait_for(lambda: (a := alarms.alarm("boiler1.supply_temp/limit")) is not None and a.active, 10)
    yield f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
    await gw.stop()


async def test_the_documented_examples_answer_as_documented(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=20) as c:
        reader = {"Authorization": f"Bearer {TOKENS['READER_TOKEN']}", "Accept": "application/sparql-results+json"}
        want = documented_table()
        for _ in range(250):  # the graph follows the engine (state, not time: this only ends a hung test)
            r = await c.post("/sparql", data={"query": block("sparql")}, headers=reader)
            rows = [{k: v["value"] for k, v in b.items()} for b in r.json()["results"]["bindings"]]
            if rows:
                break
            await asyncio.sleep(0.04)
        assert rows == want

        commands = block("sh").replace("\\\n", " ").strip().splitlines()
        answers: list[Any] = []
        for command in commands:
            method, path, headers, body = curl(command)
            r = await c.request(method, path, headers=headers, content=body)
            assert r.status_code == 200, (command, r.text)
            answers.append(r.json())
    documented = json.loads(block("json"))
    assert len(answers[0]) == len(documented)
    for doc, real in zip(documented, answers[0], strict=True):
        assert {k: real[k] for k in doc} == doc
    steps = [(e["transition"], e["actor"], e["comment"]) for e in answers[-1]]
    assert steps == [
        ("activated", None, None),
        ("acknowledged", "ops", "burner checked"),
        ("shelved", "ops", "maintenance"),
    ]

"""Every request/response example of docs/api.md against the running plant (the plant: conftest.py)."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx

from tests.integration.gateway.northbound.http.topology.conftest import MAPPING

DOC = Path(__file__).resolve().parents[6] / "docs" / "api.md"
# a ```http block holding one request line, then the ```json block of its answer
EXAMPLE = re.compile(r"```http\n(GET \S+)\n```\n```json\n(.*?)\n```", re.S)


def _matches(doc: Any, real: Any, where: str = "$") -> None:
    """``doc`` is ``real`` shortened: fields may be left out, a list ending in "..." may go on."""
    if isinstance(doc, dict):
        assert isinstance(real, dict), f"{where}: expected an object, got {real!r}"
        for key, value in doc.items():
            assert key in real, f"{where}: no field {key!r} in {sorted(real)}"
            _matches(value, real[key], f"{where}.{key}")
    elif isinstance(doc, list):
        assert isinstance(real, list), f"{where}: expected a list, got {real!r}"
        more = bool(doc) and doc[-1] == "..."
        items = doc[:-1] if more else doc
        assert len(real) >= len(items) if more else len(real) == len(items), f"{where}: {len(real)} items: {real!r}"
        for i, item in enumerate(items):
            _matches(item, real[i], f"{where}[{i}]")
    else:
        assert doc == real, f"{where}: documented {doc!r}, answered {real!r}"


def test_the_docs_have_examples_and_the_plants_locations() -> None:
    text = DOC.read_text(encoding="utf-8")
    assert len(EXAMPLE.findall(text)) >= 9
    topology = text.split("## Topology: locations, relations, nameplates")[1]
    excerpt = re.search(r"```yaml\n(.*?)```", topology, re.S)
    assert excerpt is not None and excerpt.group(1).startswith("locations:\n")
    assert excerpt.group(1) in MAPPING


async def test_every_documented_answer_is_what_the_api_answers(api: httpx.AsyncClient) -> None:
    for request, body in EXAMPLE.findall(DOC.read_text(encoding="utf-8")):
        documented = json.loads(body)
        r = await api.get(request.removeprefix("GET "))
        error = isinstance(documented, dict) and "error" in documented
        assert r.status_code == (404 if error else 200), (request, r.text)
        try:
            _matches(documented, r.json())
        except AssertionError as exc:
            raise AssertionError(f"docs/api.md, {request}: {exc}") from None

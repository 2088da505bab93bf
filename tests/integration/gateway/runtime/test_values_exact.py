"""Values as the source meant them, through the whole gateway over real HTTP: 64-bit integers exact, a scaled
register and a float32 at their own precision, in REST, SSE and SPARQL."""

from __future__ import annotations

import json
import struct
from collections.abc import AsyncIterator

import httpx
import pytest

from adapters.contract.sample import Quality
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

pytestmark = pytest.mark.integration

U64_MAX = 2**64 - 1
I64_MIN = -(2**63)
NEAR = 2**53 + 1  # the first integer a double cannot hold
WIDENED = struct.unpack("<f", struct.pack("<f", 51.8))[0]  # a float32 51.8 as a double: 51.79999923706055

MAPPING = f"""\
twin: {{base_iri: "http://t.local/", flush_interval: 50ms}}
gateway:
  http: {{port: 0, anonymous_read: true}}
sources:
  - {{id: sim1, kind: sim, interval: 30ms}}
assets:
  - {{id: site, type: site, label: Site}}
  - id: m
    type: equipment
    parent: site
    source: sim1
    points:
      - {{id: u64, unit: UNITLESS, datatype: uint64, address: {{signal: constant, initial: {U64_MAX}}}}}
      - {{id: i64, unit: UNITLESS, datatype: int64, address: {{signal: constant, initial: {I64_MIN}}}}}
      - {{id: near, unit: UNITLESS, datatype: int64, address: {{signal: constant, initial: {NEAR}}}}}
      - {{id: scaled, unit: DEG_C, datatype: double, transform: {{scale: 0.1}},
         address: {{signal: constant, initial: 518}}}}
      - {{id: f32, unit: DEG_C, datatype: float, address: {{signal: constant, initial: {WIDENED!r}}}}}
"""
EXPECTED = {"m.u64": U64_MAX, "m.i64": I64_MIN, "m.near": NEAR, "m.scaled": 51.8, "m.f32": 51.8}


@pytest.fixture
async def base_url() -> AsyncIterator[str]:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    await gw.start()
    try:
        await wait_for(lambda: all(gw.twin.state(p).quality is Quality.GOOD for p in EXPECTED))
        yield f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
    finally:
        await gw.stop()


async def test_rest_values_exact(base_url: str) -> None:
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        for pid, want in EXPECTED.items():
            r = await c.get(f"/points/{pid}")
            assert r.status_code == 200, r.text
            value = r.json()["state"]["value"]
            assert value == want and type(value) is type(want), (pid, value)
        # the JSON text itself: the exact integer and the short decimal, not 1.8446744073709552e+19 or 51.79...
        assert f'"value":{U64_MAX}' in (await c.get("/points/m.u64")).text
        assert '"value":51.8,' in (await c.get("/points/m.f32")).text


async def test_sparql_typed_literals_exact(base_url: str) -> None:
    q = """PREFIX tb: <https://w3id.org/twinbridge#>
           SELECT ?id ?v WHERE { ?p tb:id ?id ; tb:value ?v }"""
    async with httpx.AsyncClient(base_url=base_url, timeout=10) as c:
        r = await c.get("/sparql", params={"query": q}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        rows = {b["id"]["value"]: b["v"] for b in r.json()["results"]["bindings"]}
        xsd = "http://www.w3.org/2001/XMLSchema#"
        assert rows["m.u64"] == {"type": "literal", "value": str(U64_MAX), "datatype": xsd + "unsignedLong"}
        # Oxigraph stores an integer that fits 64 signed bits as xsd:integer (like most stores): exact all the same
        assert rows["m.i64"]["value"] == str(I64_MIN) and rows["m.i64"]["datatype"] in (xsd + "long", xsd + "integer")
        assert rows["m.near"]["value"] == str(NEAR)
        assert rows["m.scaled"]["value"] == "51.8" and rows["m.f32"]["value"] == "51.8"
        # exact comparison in SPARQL: only the exact integer matches
        ask = f"ASK {{ <http://t.local/point/m.near> <https://w3id.org/twinbridge#value> ?v FILTER(?v = {NEAR}) }}"
        r = await c.get("/sparql", params={"query": ask}, headers={"Accept": "application/sparql-results+json"})
        assert r.json()["boolean"] is True


async def test_sse_values_exact(base_url: str) -> None:
    seen: dict[str, object] = {}
    async with (
        httpx.AsyncClient(base_url=base_url, timeout=10) as c,
        c.stream("GET", "/stream", params={"points": ",".join(EXPECTED)}) as resp,
    ):
        async for line in resp.aiter_lines():
            if line.startswith("data: {"):
                change = json.loads(line[6:])
                seen[change["point"]] = change["value"]
                if len(seen) == len(EXPECTED):
                    break
    assert seen == EXPECTED
    assert all(type(seen[p]) is type(v) for p, v in EXPECTED.items())

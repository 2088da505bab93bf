"""The central view end to end: two edge gateways reading real Modbus devices replicate into one real Oxigraph
server; a central view on that store serves REST, SPARQL, /sources and /health over both sites and routes writes
to the gateway that owns the point, whose own governance decides."""

from __future__ import annotations

import asyncio
import csv
import io
import logging
from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import yaml

from adapters.contract.model import Point
from bench._sparql_stores import StoreServer
from gateway.central.writer import RouteWriter
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for
from tests.integration.adapters.modbus.modbus_helpers import DeviceStore, ModbusTestServer

pytestmark = pytest.mark.integration

OPERATOR = "operator-token-0123456789"
READER = "reader-token-0123456789"


def edge_mapping(name: str, modbus: str, store: dict[str, Any], graph: str) -> str:
    """One site: a boiler on a Modbus PLC (temperature and a setpoint at 0.1 degC per count, 40..90 degC)."""
    doc = {
        "twin": {
            "name": name,
            "base_iri": "http://company.example/",
            "flush_interval": "50ms",
            "replicate": [{**store, "graph": graph, "flush_interval": "0.1s", "lease": "3s"}],
        },
        "gateway": {
            "http": {
                "port": 0,
                "tokens": [
                    {"name": "ops", "role": "operator", "token": OPERATOR},
                    {"name": "viewer", "role": "reader", "token": READER},
                ],
            }
        },
        "sources": [{"id": "plc1", "kind": "modbus", "url": modbus, "poll_interval": "50ms"}],
        "assets": [
            {"id": name, "type": "site", "label": f"Site {name}"},
            {
                "id": f"{name}-boiler",
                "type": "brick:Boiler",
                "parent": name,
                "label": "Boiler",
                "source": "plc1",
                "points": [
                    {"id": "temp", "class": "brick:Supply_Water_Temperature_Sensor", "unit": "DEG_C",
                     "datatype": "float", "address": {"table": "holding", "address": 0, "encoding": "int16"},
                     "transform": {"scale": 0.1}},
                    {"id": "setpoint", "type": "setpoint", "class": "brick:Temperature_Setpoint", "unit": "DEG_C",
                     "datatype": "float", "writable": True, "min": 40, "max": 90,
                     "address": {"table": "holding", "address": 10, "encoding": "int16"},
                     "transform": {"scale": 0.1}},
                ],
            },
        ],
    }  # fmt: skip
    return yaml.safe_dump(doc, sort_keys=False)


def central_mapping(store: dict[str, Any], graph: str, routes: dict[str, dict[str, str]]) -> str:
    doc = {
        "twin": {
            "name": "central",
            "base_iri": "http://company.example/",
            "remote": {**store, "graph": graph, "poll_interval": "0.2s", "gateways": routes},
        },
        "gateway": {"http": {"port": 0, "tokens": [{"name": "ops", "role": "operator", "token": OPERATOR}]}},
    }
    return yaml.safe_dump(doc, sort_keys=False)


@dataclass
class Site:
    name: str
    device: DeviceStore
    plc: ModbusTestServer
    gateway: Gateway

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.gateway.services['http'].port}"  # type: ignore[attr-defined]


async def _site(name: str, store: dict[str, Any], graph: str, temp: int) -> Site:
    device = DeviceStore(units={1})
    device.set(1, "holding", 0, temp)
    device.set(1, "holding", 10, 600)
    plc = ModbusTestServer(device, "tcp")
    await plc.start()
    gw = Gateway(load_mappings([f"{name}.yaml"], texts={f"{name}.yaml": edge_mapping(name, plc.url, store, graph)}))
    await gw.start()
    return Site(name, device, plc, gw)


@pytest.fixture
def server(request: pytest.FixtureRequest) -> StoreServer:
    """The store a test runs on: the module's Oxigraph server unless the test names another fixture."""
    found: StoreServer = request.getfixturevalue(getattr(request, "param", "oxigraph"))
    return found


BOTH = pytest.mark.parametrize("server", ["oxigraph", "virtuoso"], indirect=True)


@pytest.fixture
async def sites(server: StoreServer, graph_base: str) -> AsyncIterator[dict[str, Site]]:
    store = server.settings()
    out: dict[str, Site] = {}
    try:
        for name, temp in (("site-a", 712), ("site-b", 655)):
            out[name] = await _site(name, store, graph_base, temp)
        yield out
    finally:
        for site in out.values():
            await site.gateway.stop()
            await site.plc.stop()


@pytest.fixture
async def central(server: StoreServer, graph_base: str, sites: dict[str, Site]) -> AsyncIterator[Gateway]:
    # site-a's route carries an operator token; site-b's only a reader's, so site-b itself refuses writes
    routes = {"site-a": {"url": sites["site-a"].url, "token": OPERATOR}, "site-b": {"url": sites["site-b"].url,
              "token": READER}}  # fmt: skip
    gw = Gateway(
        load_mappings(["central.yaml"], texts={"central.yaml": central_mapping(server.settings(), graph_base, routes)})
    )
    await gw.start()
    try:
        await wait_for(
            lambda: (
                gw.twin.state("site-a-boiler.temp").value == pytest.approx(71.2)
                and gw.twin.state("site-b-boiler.temp").value == pytest.approx(65.5)
            ),
            15,
            "both sites' values in the central view",
        )
        yield gw
    finally:
        await gw.stop()


def _client(gw: Gateway, token: str = OPERATOR) -> httpx.AsyncClient:
    base = f"http://127.0.0.1:{gw.services['http'].port}"  # type: ignore[attr-defined]
    return httpx.AsyncClient(base_url=base, headers={"Authorization": f"Bearer {token}"}, timeout=20)


@BOTH
async def test_rest_and_sparql_answer_over_both_sites(
    central: Gateway, sites: dict[str, Site], graph_base: str
) -> None:
    async with _client(central) as http:
        points = {p["id"]: p for p in (await http.get("/points")).json()}
        assert set(points) == {"site-a-boiler.temp", "site-a-boiler.setpoint", "site-b-boiler.temp",
                               "site-b-boiler.setpoint"}  # fmt: skip
        assert points["site-b-boiler.temp"]["state"]["quality"] == "good"
        assert points["site-a-boiler.temp"]["source"] == "site-a.plc1"
        only_b = (await http.get("/points", params={"source": "site-b.plc1"})).json()
        assert sorted(p["id"] for p in only_b) == ["site-b-boiler.setpoint", "site-b-boiler.temp"]
        assets = {a["id"] for a in (await http.get("/assets")).json()}
        assert {"site-a", "site-b", "site-a-boiler", "site-b-boiler"} <= assets
        detail = (await http.get("/points/site-a-boiler.setpoint")).json()
        assert (detail["min"], detail["max"], detail["writable"], detail["unit"]) == (40, 90, True, "DEG_C")
        assert detail["target"].startswith("modbus+tcp://127.0.0.1:")
        # SPARQL goes to the store: both sites' values, under the union default graph of the gateways' graphs
        query = """PREFIX tb: <https://w3id.org/twinbridge#> PREFIX brick: <https://brickschema.org/schema/Brick#>
            SELECT ?id ?v WHERE { ?p a brick:Supply_Water_Temperature_Sensor ; tb:id ?id ; tb:value ?v } ORDER BY ?id"""
        r = await http.post("/sparql", data={"query": query}, headers={"Accept": "application/sparql-results+json"})
        assert r.status_code == 200, r.text
        rows = [(b["id"]["value"], round(float(b["v"]["value"]), 1)) for b in r.json()["results"]["bindings"]]
        assert rows == [("site-a-boiler.temp", 71.2), ("site-b-boiler.temp", 65.5)]
        # the store's own graphs answer (the central view's local copy has no such graphs): one live graph a site
        query = """SELECT DISTINCT ?g WHERE { GRAPH ?g { ?p <https://w3id.org/twinbridge#value> ?v } } ORDER BY ?g"""
        r = await http.post("/sparql", data={"query": query}, headers={"Accept": "text/csv"})
        assert r.status_code == 200, r.text
        graphs = [row[0] for row in csv.reader(io.StringIO(r.text))]  # Virtuoso quotes every field
        assert graphs == ["g", f"{graph_base}gateway/site-a/live", f"{graph_base}gateway/site-b/live"]
        # the same guards as on a gateway: no update, no SERVICE, malformed text refused before the store sees it
        r = await http.post("/sparql", data={"query": "SELECT * { SERVICE <http://127.0.0.1:1/> { ?s ?p ?o } }"})
        assert r.status_code == 403 and "SERVICE" in r.json()["error"]
        assert (await http.post("/sparql", data={"update": "DROP ALL"})).status_code == 403
        assert (await http.post("/sparql", data={"query": "SELECT ?x WHERE {"})).status_code == 400
        described = (await http.get("/sparql")).text  # the service description names the store's graphs
        assert f"<{graph_base}gateway/site-b/live>" in described and "graph/live" not in described
        # a live change on site-b's device reaches the central view's REST and its event stream
        async with http.stream("GET", "/stream", params={"points": "site-b-boiler.temp"}) as events:
            sites["site-b"].device.set(1, "holding", 0, 701)
            lines = events.aiter_lines()
            while '"value":70.1' not in (await asyncio.wait_for(anext(lines), 10)).replace(" ", ""):
                pass
        assert central.twin.state("site-b-boiler.temp").value == pytest.approx(70.1)
        health = (await http.get("/health")).json()
        assert health["status"] == "ok", health
        leases = health["services"]["central"]["gateways"]
        assert set(leases) == {"site-a", "site-b"} and leases["site-a"]["alive"]
        sources = {s["id"]: s for s in (await http.get("/sources")).json()}
        assert sources["site-b.plc1"]["state"] == "connected" and sources["site-b.plc1"]["points"] == 2


@BOTH
async def test_writes_go_to_the_owning_gateway_which_decides(central: Gateway, sites: dict[str, Site]) -> None:
    async with _client(central) as http:
        r = await http.put("/points/site-a-boiler.setpoint/value", json={"value": 65})
        assert r.status_code == 200, r.text
        assert r.json()["status"] == "Good"
        assert sites["site-a"].device.get(1, "holding", 10) == [650]  # on site-a's PLC, at 0.1 degC per count
        assert sites["site-b"].device.get(1, "holding", 10) == [600]  # and not on site-b's
        # site-b refuses the central view's (reader) token: its answer comes back with its reason
        r = await http.put("/points/site-b-boiler.setpoint/value", json={"value": 65})
        assert r.status_code == 403, r.text
        assert r.json()["status"] == "BadUserAccessDenied" and "gateway site-b" in r.json()["reason"]
        assert sites["site-b"].device.get(1, "holding", 10) == [600]
        r = await http.put("/points/site-a-boiler.setpoint/value", json={"value": 95})
        assert r.status_code == 422 and r.json()["status"] == "BadOutOfRange", r.text
        assert "above the maximum 90" in r.json()["reason"]
    # the edge's own range check, not only the central view's copy of it: the writer asked directly
    writer = central.twin._writer
    assert isinstance(writer, RouteWriter)
    point: Point = central.model.points["site-a-boiler.setpoint"]
    result = await writer(point, 95.0)
    assert result.status == "BadOutOfRange"
    assert result.reason == "gateway site-a: 95 is above the maximum 90 of site-a-boiler.setpoint (HTTP 422)"
    assert sites["site-a"].device.get(1, "holding", 10) == [650]


async def test_a_gateway_without_a_route_is_read_only(
    server: StoreServer, graph_base: str, sites: dict[str, Site]
) -> None:
    routes = {"site-a": {"url": sites["site-a"].url, "token": OPERATOR}}
    gw = Gateway(load_mappings(["c.yaml"], texts={"c.yaml": central_mapping(server.settings(), graph_base, routes)}))
    await gw.start(services=False)
    try:
        await wait_for(lambda: "site-b-boiler.setpoint" in gw.model.points, 10, "site-b mirrored")
        result = await gw.write("site-b-boiler.setpoint", 70)
        assert result.status == "BadNotWritable" and "no route to gateway site-b" in (result.reason or "")
    finally:
        await gw.stop()


async def test_a_stopped_edge_turns_its_points_bad(
    central: Gateway, sites: dict[str, Site], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING, "twinbridge.central")
    site_b_url = sites["site-b"].url
    await sites["site-b"].gateway.stop()  # releases its lease
    await wait_for(lambda: central.twin.state("site-b-boiler.temp").status == "BadNoCommunication", 10, "site-b Bad")
    state = central.twin.state("site-b-boiler.temp")
    assert state.value == pytest.approx(65.5)  # the last value, kept
    assert state.reason is not None and "gateway site-b is not running" in state.reason
    assert central.twin.state("site-a-boiler.temp").status == "Good"
    health = central.view.service_health()["central"]
    assert not health.ok and "site-b" in health.state
    async with _client(central) as http:
        r = await http.get("/health")
        assert r.status_code == 503 and r.json()["status"] == "degraded"
        assert r.json()["services"]["central"]["gateways"]["site-b"]["lease_expires_in_s"] <= 0
        r = await http.put("/points/site-b-boiler.setpoint/value", json={"value": 70})  # nobody answers there
        assert r.status_code == 502 and r.json()["status"] == "BadNoCommunication", r.text
        assert r.json()["reason"].startswith(f"gateway site-b at {site_b_url} is unreachable")
    assert central.source_health()["site-b.plc1"].state == "disconnected"
    assert sum(r.name == "twinbridge.central" and "site-b" in r.getMessage() for r in caplog.records) == 1


@pytest.mark.parametrize("server", ["own_oxigraph"], indirect=True)  # killed and started again
async def test_the_store_away_turns_points_bad_once_and_back(
    central: Gateway, server: StoreServer, sites: dict[str, Site], caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "twinbridge.central")
    server.kill()
    await wait_for(lambda: central.twin.state("site-a-boiler.temp").status == "BadNoCommunication", 10, "Bad")
    assert "the shared store is unreachable" in (central.twin.state("site-b-boiler.temp").reason or "")
    assert not central.view.service_health()["central"].ok
    async with _client(central) as http:
        r = await http.post("/sparql", data={"query": "SELECT * { ?s ?p ?o } LIMIT 1"})
        assert r.status_code == 502 and "shared store" in r.json()["error"], r.text
    sites["site-a"].device.set(1, "holding", 0, 733)  # changed while the store is away
    server.start()
    await wait_for(lambda: central.twin.state("site-a-boiler.temp").value == pytest.approx(73.3), 20, "caught up")
    await wait_for(lambda: central.twin.state("site-b-boiler.temp").status == "Good", 10, "site-b Good again")
    errors = [r for r in caplog.records if r.name == "twinbridge.central" and "unreachable" in r.getMessage()]
    assert len(errors) == 1 and errors[0].exc_info is None  # one line per outage, no traceback
    assert any("answers again" in r.getMessage() for r in caplog.records)

"""Gateways mirror their twins into real SPARQL stores (Oxigraph server, Virtuoso) started by the tests."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import Any

import pytest

from adapters.contract.model import Asset, AssetLevel
from gateway.remote_store.client import SparqlStore
from gateway.remote_store.settings import StoreSettings
from gateway.runtime import Gateway
from tests.conftest import make_point, wait_for
from tests.integration.gateway.replication.edge import assert_mirrored, edge_mapping, quiesce, replicator

pytestmark = pytest.mark.integration


def _graph() -> str:
    return f"http://shared.example/{uuid.uuid4().hex}/"  # each test its own graphs in a shared server


def _client(settings: dict[str, Any]) -> SparqlStore:
    return SparqlStore(StoreSettings(**{k: v for k, v in settings.items() if k in StoreSettings.model_fields}))


async def test_a_gateway_mirrors_model_and_live_values(store: Any, tmp_path: Path) -> None:
    settings = store.settings()
    gw = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=_graph())])
    await gw.start(services=False)
    try:
        rep = replicator(gw)
        assert rep.state == "live", rep.describe()
        await wait_for(lambda: rep.counters["changes_sent"] > 30, 10, "live changes sent")
        await quiesce(gw)
        await assert_mirrored(gw, settings)
        # the same question asked of both gives the same answer
        q = """SELECT ?id ?v WHERE { ?p <https://w3id.org/twinbridge#id> ?id ;
                 <https://w3id.org/twinbridge#value> ?v } ORDER BY ?id"""
        local = [(r["id"].value, round(float(r["v"].value), 3)) for r in await gw.view.query(q)]
        client = _client(settings)
        try:
            g = rep.graphs
            rows = await client.select(q, default_graphs=[g.model, g.live])
        finally:
            await client.aclose()
        remote = [(r["id"].value, round(float(r["v"].value), 3)) for r in rows]
        assert len(local) == 6 and [i for i, _ in local] == [i for i, _ in remote]
        assert all(abs(a - b) <= 1e-4 * max(1.0, abs(a)) for (_, a), (_, b) in zip(local, remote, strict=True))
        health = gw.view.service_health()["replication"]
        assert health.ok and health.detail["stores"][0]["state"] == "live"
    finally:
        await gw.stop()


async def test_run_time_additions_reach_the_store(oxigraph: Any, tmp_path: Path) -> None:
    settings = oxigraph.settings()
    gw = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=_graph())])
    await gw.start(services=False)
    try:
        rep = replicator(gw)
        pushes = rep.counters["model_pushes"]
        asset = Asset("site-a_pump", AssetLevel.EQUIPMENT, ("https://brickschema.org/schema/Brick#Pump",), "Pump")
        point = make_point("site-a_pump.flow", source="sim1", unit="M3-PER-HR", address={"signal": "sine"})
        gw.discover("sim1", [asset], [point])
        await wait_for(lambda: rep.counters["model_pushes"] > pushes, 10, "model pushed again")
        await quiesce(gw)
        await assert_mirrored(gw, settings)
    finally:
        await gw.stop()


async def test_store_killed_and_restarted_mid_run_catches_up(own_store: Any, tmp_path: Path) -> None:
    settings = own_store.settings()
    fast_retry = {"initial": 0.2, "max": 1}
    gw = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=_graph(), retry=fast_retry)])
    await gw.start(services=False)
    try:
        rep = replicator(gw)
        await wait_for(lambda: rep.counters["changes_sent"] > 20, 10, "live changes sent")
        own_store.kill()
        await wait_for(lambda: rep.state == "unreachable", 10, "the outage noticed")
        assert not gw.view.service_health()["replication"].ok
        await asyncio.sleep(0.5)  # changes go on at the edge meanwhile
        assert 0 < rep.live.backlog <= len(gw.model.points)  # coalesced per point: never more than the twin
        own_store.restart()
        await wait_for(lambda: rep.state == "live", 20, "caught up after the store returned")
        await quiesce(gw)
        await assert_mirrored(gw, settings)
    finally:
        await gw.stop()


async def test_a_store_that_lost_its_graphs_gets_them_again(own_store: Any, tmp_path: Path) -> None:
    settings = own_store.settings()
    fast_retry = {"initial": 0.2, "max": 1}
    gw = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=_graph(), retry=fast_retry)])
    await gw.start(services=False)
    try:
        rep = replicator(gw)
        await wait_for(lambda: rep.counters["changes_sent"] > 20, 10, "live changes sent")
        pushes = rep.counters["model_pushes"]
        own_store.kill()
        own_store.restart(wipe=True)  # back, empty: the periodic check or the next failure finds out
        await wait_for(lambda: rep.counters["model_pushes"] > pushes, 20, "the model pushed again")
        await quiesce(gw)
        await assert_mirrored(gw, settings)
    finally:
        await gw.stop()


async def test_gateways_with_distinct_names_share_a_store_and_a_duplicate_is_refused(
    store: Any, tmp_path: Path
) -> None:
    settings, graph = store.settings(), _graph()
    a = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=graph)])
    b = Gateway.from_files([edge_mapping(tmp_path, "site-b", settings, graph=graph)])
    (tmp_path / "dup").mkdir()
    dup = Gateway.from_files([edge_mapping(tmp_path / "dup", "site-a", settings, graph=graph, points=2)])
    await a.start(services=False)
    await b.start(services=False)
    await dup.start(services=False)
    try:
        assert replicator(a).state == "live" and replicator(b).state == "live"
        refused = replicator(dup)
        assert refused.state == "refused", refused.describe()
        assert "site-a" in (refused.last_error or "") and "held by another gateway" in (refused.last_error or "")
        assert not dup.view.service_health()["replication"].ok
        for gw in (a, b):
            await quiesce(gw)
            await assert_mirrored(gw, settings)  # the duplicate wrote nothing into site-a's graphs
        client = _client(settings)
        try:
            ontology = await client.select(
                f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}ontology> {{ ?s ?p ?o }} }}"
            )
        finally:
            await client.aclose()
        assert int(ontology[0]["n"].value) > 1000  # one shared ontology graph, loaded once by the first gateway
    finally:
        for gw in (dup, b, a):
            await gw.stop()


async def test_a_stopped_gateway_hands_its_name_on_at_once(oxigraph: Any, tmp_path: Path) -> None:
    settings, graph = oxigraph.settings(), _graph()
    first = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=graph)])
    await first.start(services=False)
    await first.stop()  # releases the lease
    second = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=graph)])
    await second.start(services=False)
    try:
        assert replicator(second).state == "live"
    finally:
        await second.stop()


async def test_unreachable_store_is_reported_at_start_and_retried(oxigraph_later: Any, tmp_path: Path) -> None:
    settings = oxigraph_later.settings()  # its port, nothing listening yet
    fast_retry = {"initial": 0.2, "max": 0.5}
    gw = Gateway.from_files([edge_mapping(tmp_path, "site-a", settings, graph=_graph(), retry=fast_retry)])
    await gw.start(services=False)
    try:
        rep = replicator(gw)
        assert rep.state == "unreachable" and rep.last_error is not None
        assert settings["update_url"].split("/")[2] in rep.last_error or settings["url"].split("/")[2] in rep.last_error
        assert any("unreachable" in line for line in gw.summary())
        oxigraph_later.start()
        await wait_for(lambda: rep.state == "live", 15, "replication once the store listens")
        await quiesce(gw)
        await assert_mirrored(gw, settings)
    finally:
        await gw.stop()


async def test_wrong_credentials_and_a_store_refusing_updates_are_clear_errors(virtuoso: Any, tmp_path: Path) -> None:
    good = virtuoso.settings()
    wrong = {**good, "auth": {**good["auth"], "password": "not-the-password"}}
    refusing = {**good, "update_url": good["url"], "auth": None}  # the anonymous endpoint may only read
    for name, settings, expect in (("wrong", wrong, "HTTP 401"), ("ro", refusing, "HTTP ")):
        (tmp_path / name).mkdir()
        gw = Gateway.from_files([edge_mapping(tmp_path / name, f"site-{name}", settings, graph=_graph())])
        await gw.start(services=False)
        try:
            rep = replicator(gw)
            assert rep.state in ("unauthorized", "unreachable"), rep.describe()
            assert expect in (rep.last_error or ""), rep.last_error
            if name == "wrong":
                assert rep.state == "unauthorized" and "not-the-password" not in (rep.last_error or "")
            else:
                assert "Virtuoso" in (rep.last_error or "")  # the store's own message is passed on
        finally:
            await gw.stop()

"""The SPARQL time limit on a twin whose replica takes longer to load than the limit allows a query.

A fresh query worker first loads a dump of the twin (about 1 s per 500k triples). If that load were charged to
the first query's time limit, a limit shorter than the load would kill every new worker before it could answer,
and the endpoint would never answer again. Here the limit (50 ms) is far below the load (2,400 points, about
66k triples: 150-300 ms with the process start).
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator

import httpx
import pytest

from bench.common import synthetic_model
from gateway.northbound.http.config import HttpApiConfig
from gateway.northbound.http.service import HttpApi
from gateway.runtime import Gateway

CROSS_JOIN = "SELECT (COUNT(*) AS ?n) WHERE { ?a ?b ?c . ?d ?e ?f . ?g ?h ?i }"


@pytest.fixture
async def api() -> AsyncIterator[HttpApi]:
    gw = Gateway(synthetic_model(2_400))  # not started: no sources needed, the twin (its view) is what is queried
    service = HttpApi(HttpApiConfig(port=0, anonymous_read=True, query_timeout=0.05), gw.view)
    await service.start()
    yield service
    await service.stop()
    gw.twin.close()


async def test_limit_below_load_time_still_answers(api: HttpApi) -> None:
    worker = api.app.state.api.worker
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=30) as c:
        for _ in range(2):
            worker._proc.kill()  # the next query finds it dead and starts a fresh replica
            worker._proc.wait()
            r = await c.get("/sparql", params={"query": "ASK { ?p a <https://w3id.org/twinbridge#Point> }"})
            assert r.status_code == 200, r.text
            assert r.json()["boolean"] is True


async def test_over_time_query_stopped_and_next_one_answered(api: HttpApi) -> None:
    worker = api.app.state.api.worker
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{api.port}", timeout=30) as c:
        assert (await c.get("/sparql", params={"query": "ASK {}"})).status_code == 200  # replica loaded
        pid = worker._proc.pid
        t0 = time.monotonic()
        r = await c.get("/sparql", params={"query": CROSS_JOIN})
        assert r.status_code == 503 and "0.05 s limit" in r.json()["error"]
        assert time.monotonic() - t0 < 0.05 + 3  # the limit, plus killing and re-dumping the replica
        assert worker._proc.pid != pid and worker.killed == 1
        r = await c.get("/sparql", params={"query": "ASK { ?p a <https://w3id.org/twinbridge#Point> }"})
        assert r.status_code == 200, r.text  # the fresh replica answers despite its load time

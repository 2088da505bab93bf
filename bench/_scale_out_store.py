"""The store's side of ``bench scale_out``: a plain client, the baselines (raw pushes and a raw update loop with
no gateway), the end-to-end lag probe, the edge-versus-store comparison and the cross-site query.

Everything here talks to the store with bare ``httpx`` (no twinbridge code on the path), so the baselines cost
what the store and HTTP cost, and the checks do not trust the code they check.
"""

from __future__ import annotations

import asyncio
import threading
import time
from datetime import UTC, datetime
from typing import Any

import httpx

from adapters.contract.rdf import BRICK, TB
from adapters.contract.sample import PointState, Quality
from bench._scale_out_sites import BASE, rows_of
from gateway.twin.live import state_lines
from gateway.twin.vocab import TwinIRIs

JSON = "application/sparql-results+json"
PREFIXES = f"PREFIX brick: <{BRICK}>\nPREFIX tb: <{TB}>\n"


def auth_of(settings: dict[str, Any]) -> httpx.Auth | None:
    auth = settings.get("auth")
    if not auth:
        return None
    if auth["scheme"] == "digest":
        return httpx.DigestAuth(auth["user"], auth["password"])
    return httpx.BasicAuth(auth["user"], auth["password"])


class Store:
    """A bare SPARQL Protocol / Graph Store Protocol client of one store (its settings dict)."""

    def __init__(self, settings: dict[str, Any]) -> None:
        self.settings = settings
        self.query_url: str = settings["url"]
        self.update_url: str = settings.get("update_url") or settings["url"]
        self.gsp_url: str | None = settings.get("graph_store_url")
        self.http = httpx.Client(auth=auth_of(settings), timeout=300)

    def select(self, query: str) -> dict[str, Any]:
        r = self.http.post(self.query_url, data={"query": query}, headers={"Accept": JSON})
        r.raise_for_status()
        body: dict[str, Any] = r.json()
        return body

    def update(self, text: str) -> None:
        self.http.post(self.update_url, data={"update": text}).raise_for_status()

    def put(self, graph: str, ntriples: bytes) -> None:
        assert self.gsp_url is not None
        r = self.http.put(
            self.gsp_url, params={"graph": graph}, content=ntriples, headers={"Content-Type": "application/n-triples"}
        )
        r.raise_for_status()

    def count(self, graph: str) -> int:
        rows = self.select(f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{graph}> {{ ?s ?p ?o }} }}")
        return int(rows["results"]["bindings"][0]["n"]["value"])

    def live_values(self, graph: str) -> dict[str, tuple[float, str]]:
        """Every point's (value, gateway time) in a gateway's live graph."""
        q = f"SELECT ?p ?v ?t WHERE {{ GRAPH <{graph}> {{ ?p <{TB}value> ?v ; <{TB}gatewayTime> ?t }} }}"
        return rows_of(self.select(q))

    def close(self) -> None:
        self.http.close()


def live_graph(name: str) -> str:
    return f"{BASE}gateway/{name}/live"


def parse_time(text: str) -> float:
    """An xsd:dateTime as epoch seconds (a zone-less one taken as UTC, as Virtuoso may print them)."""
    t = datetime.fromisoformat(text.replace("Z", "+00:00"))
    return (t if t.tzinfo else t.replace(tzinfo=UTC)).timestamp()


def same_values(edge: dict[str, tuple[float, str]], store: dict[str, tuple[float, str]]) -> tuple[int, int]:
    """(points whose value or gateway time differs or is missing in the store, extra points in the store).

    Numbers to 1e-5 relative (Virtuoso prints doubles with 6 significant digits), times to the millisecond."""
    differ = 0
    for point, (value, at) in edge.items():
        theirs = store.get(point)
        if (
            theirs is None
            or abs(value - theirs[0]) > 1e-5 * max(abs(value), abs(theirs[0]), 1e-9)
            or abs(parse_time(at) - parse_time(theirs[1])) > 0.001
        ):
            differ += 1
    return differ, len(set(store) - set(edge))


# -- end-to-end lag: how long after the gateway got a value the store serves it --------------------------


class LagProbe:
    """Polls the store for a few points' ``tb:gatewayTime`` every ``every`` s (in a thread); each new time seen
    gives one lag sample: when it was first seen minus the gateway time (the poll's period is the resolution).

    ``points``: (live graph, point IRI) pairs."""

    def __init__(self, settings: dict[str, Any], points: list[tuple[str, str]], every: float = 0.1) -> None:
        self.store = Store(settings)
        values = " ".join(f"(<{g}> <{p}>)" for g, p in points)
        self.query = f"SELECT ?p ?t WHERE {{ VALUES (?g ?p) {{ {values} }} GRAPH ?g {{ ?p <{TB}gatewayTime> ?t }} }}"
        self.every = every
        self.lags: list[float] = []
        self.errors = 0
        self.reads = 0
        self._last: dict[str, str] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="lag-probe", daemon=True)

    def start(self) -> LagProbe:
        self._thread.start()
        return self

    def _run(self) -> None:
        while not self._stop.wait(self.every):
            try:
                rows = self.store.select(self.query)["results"]["bindings"]
            except httpx.HTTPError:
                self.errors += 1
                continue
            now = time.time()
            self.reads += 1
            for row in rows:
                point, at = row["p"]["value"], row["t"]["value"]
                last = self._last.get(point)
                self._last[point] = at
                if last is not None and last != at:  # the first reading may be old: not a lag
                    self.lags.append(now - parse_time(at))

    def stop(self) -> list[float]:
        self._stop.set()
        self._thread.join(10)
        self.store.close()
        return self.lags


# -- baseline: the same live updates sent by a bare loop, no gateway ------------------------------------------


def _point_lines(ids: TwinIRIs, pid: str, value: float, at: datetime, lean: bool) -> list[str]:
    state = PointState(pid, value, at, at, Quality.GOOD, "Good", None)
    xsd = "http://www.w3.org/2001/XMLSchema#double"
    return state_lines(ids.point(pid), state, xsd, None if lean else ids.value(pid))


async def raw_updates(
    settings: dict[str, Any], points: int, *, seconds: float, batch: int, parallel: int, lean: bool = False
) -> tuple[int, float, list[float]]:
    """Rounds of every point changing (its value, source and gateway times), each as DELETE DATA / INSERT DATA
    of the changed triples in requests of at most ``batch`` triples, ``parallel`` at once, as fast as the store
    takes them, for about ``seconds``; returns (changes applied, seconds, per-request seconds). ``lean``: the
    triples of a twin with ``standard_values: false`` (3 change per point instead of 7)."""
    graph = live_graph("baseline")
    ids = TwinIRIs(BASE)
    pids = [f"baseline-ahu{i // 10}.p{i % 10}" for i in range(points)]
    auth = auth_of(settings)
    url = settings.get("update_url") or settings["url"]
    limits = httpx.Limits(max_connections=parallel + 1, max_keepalive_connections=parallel + 1)
    async with httpx.AsyncClient(auth=auth, timeout=300, limits=limits) as http:
        gate = asyncio.Semaphore(parallel)
        took: list[float] = []

        async def send(text: str) -> None:
            async with gate:
                t0 = time.perf_counter()
                (await http.post(url, data={"update": text})).raise_for_status()
                took.append(time.perf_counter() - t0)

        await send(f"DROP SILENT GRAPH <{graph}>")
        old: dict[str, list[str]] = {}
        changes, value, t_start = 0, 0.0, time.perf_counter()
        while True:
            value += 0.5
            at = datetime.now(UTC)
            requests, deletes, inserts, size = [], [], [], 0
            for pid in pids:
                new = _point_lines(ids, pid, value, at, lean)
                was = old.get(pid, [])
                gone = [line for line in was if line not in new]
                added = [line for line in new if line not in was]
                old[pid] = new
                deletes += gone
                inserts += added
                size += len(gone) + len(added)
                if size >= batch - 20:
                    requests.append(_update(graph, deletes, inserts))
                    deletes, inserts, size = [], [], 0
            if size:
                requests.append(_update(graph, deletes, inserts))
            await asyncio.gather(*(send(r) for r in requests))
            if value > 0.5:  # the first round only inserts the graph: not a change
                changes += points
            else:
                took.clear()
                t_start = time.perf_counter()
            if time.perf_counter() - t_start >= seconds and changes:
                break
        elapsed = time.perf_counter() - t_start
        await send(f"DROP SILENT GRAPH <{graph}>")
    return changes, elapsed, took[:-1]


def _update(graph: str, deletes: list[str], inserts: list[str]) -> str:
    parts = []
    if deletes:
        parts.append(f"DELETE DATA {{ GRAPH <{graph}> {{\n{''.join(deletes)}}} }}")
    if inserts:
        parts.append(f"INSERT DATA {{ GRAPH <{graph}> {{\n{''.join(inserts)}}} }}")
    return " ;\n".join(parts)


# -- baselines of the model push --------------------------------------------------------------------------------


def raw_put(store: Store, graph: str, ntriples: bytes) -> float:
    """Seconds of one bare Graph Store Protocol PUT of the bytes."""
    t0 = time.perf_counter()
    store.put(graph, ntriples)
    return time.perf_counter() - t0


def raw_insert(store: Store, graph: str, lines: list[str], chunk: int = 2000) -> float:
    """Seconds of DROP + bare INSERT DATA requests of ``chunk`` lines each (one after the other)."""
    t0 = time.perf_counter()
    store.update(f"DROP SILENT GRAPH <{graph}>")
    for i in range(0, len(lines), chunk):
        store.update(f"INSERT DATA {{ GRAPH <{graph}> {{\n{''.join(lines[i : i + chunk])}}} }}")
    return time.perf_counter() - t0


# -- the cross-site query ---------------------------------------------------------------------------------------

# every site's total electric power: the sum of its Electric_Power_Sensor points' live values. Each (point, site,
# value) is made DISTINCT inside, before the sum: Virtuoso 7 answers the path isPointOf/isPartOf+ with every pair
# twice, and a DISTINCT of (point, site) alone joined with the values outside lost sensors on some data (two
# sensors on one equipment: tests/bench/test_bench_scale_out.py).
CROSS_SITE = (
    PREFIXES
    + """SELECT ?site (SUM(?v) AS ?kw) (COUNT(?p) AS ?sensors) WHERE {
  { SELECT DISTINCT ?p ?site ?v WHERE {
      ?p a brick:Electric_Power_Sensor ; brick:isPointOf/brick:isPartOf+ ?site ; tb:value ?v . ?site a tb:Site } }
} GROUP BY ?site ORDER BY ?site"""
)
# the same on the store itself, where each gateway's model and live triples are in graphs of their own
CROSS_SITE_GRAPHS = (
    PREFIXES
    + """SELECT ?site (SUM(?v) AS ?kw) (COUNT(?p) AS ?sensors) WHERE {
  { SELECT DISTINCT ?p ?site ?v WHERE {
      GRAPH ?m { ?p a brick:Electric_Power_Sensor ; brick:isPointOf/brick:isPartOf+ ?site . ?site a tb:Site }
      GRAPH ?l { ?p tb:value ?v } } }
} GROUP BY ?site ORDER BY ?site"""
)


def timed_query(url: str, query: str, auth: httpx.Auth | None = None, runs: int = 5) -> tuple[list[float], Any]:
    """Seconds of each of ``runs`` POSTs of the query (after one warm-up), and the last answer's rows."""
    with httpx.Client(auth=auth, timeout=120) as http:
        times, rows = [], None
        for i in range(runs + 1):
            t0 = time.perf_counter()
            r = http.post(url, data={"query": query}, headers={"Accept": JSON})
            r.raise_for_status()
            rows = r.json()["results"]["bindings"]
            if i:
                times.append(time.perf_counter() - t0)
    return times, rows

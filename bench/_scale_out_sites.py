"""The sites of ``bench scale_out``: a generated mapping per gateway, and each gateway in a process of its own.

A site's mapping: the site > areas > equipment with 10 points each (one of them a ``brick:Electric_Power_Sensor``
in kW, for the cross-site query), every point a random walk, on ``sources`` sim sources that tick every ``period``
seconds and start ``period / sources`` apart (``connect_delay``), so the changes spread evenly over the period:
20,000 points with a 1 s period change 20,000 times a second, 2,500 with a 20 s period 5 % a second. Asset and
source ids start with the site's name, so IRIs are unique across the gateways that share one base IRI (as
docs/scale-out.md asks). History is off: its own cost is ``bench history``'s subject.

The gateway is the real one (``gateway.runtime.Gateway``, what ``twinbridge run`` starts, with the HTTP service
on a free loopback port), run as ``python -m bench._scale_out_sites <mapping.yaml>`` so the bench can tell it
to stop its sources without stopping replication ("load stops"): it prints ``{"port": N}`` once started, answers
``quiet`` on stdin by stopping every source (its twin then holds still), and stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import httpx
import yaml

from adapters.contract.rdf import TB
from bench._dashboard_plant import tree_cpu

BASE = "http://bench.local/"
POINTS_PER_EQUIPMENT = 10
EQUIPMENT_PER_AREA = 25
# (local id, Brick class, unit) of each equipment's points; p6 is the one the cross-site query sums
_POINTS = (
    ("p0", "Supply_Air_Temperature_Sensor", "DEG_C"),
    ("p1", "Return_Air_Temperature_Sensor", "DEG_C"),
    ("p2", "Mixed_Air_Temperature_Sensor", "DEG_C"),
    ("p3", "Outside_Air_Temperature_Sensor", "DEG_C"),
    ("p4", "Air_Flow_Sensor", "M3-PER-HR"),
    ("p5", "Static_Pressure_Sensor", "PA"),
    ("p6", "Electric_Power_Sensor", "KiloW"),
    ("p7", "Frequency_Sensor", "HZ"),
    ("p8", "Current_Sensor", "A"),
    ("p9", "Voltage_Sensor", "V"),
)
_JSON = "application/sparql-results+json"


def site_mapping(
    name: str, points: int, *, period: float, sources: int, replicate: dict[str, Any] | None
) -> dict[str, Any]:
    """The mapping document of one site's gateway (as ``twinbridge run`` reads it)."""
    twin: dict[str, Any] = {"name": name, "base_iri": BASE, "history": {"mode": "off"}}
    if replicate is not None:
        twin["replicate"] = [replicate]
    doc: dict[str, Any] = {
        "twin": twin,
        "gateway": {"http": {"host": "127.0.0.1", "port": 0, "anonymous_read": True}},
        "sources": [
            {"id": f"{name}-sim{k}", "kind": "sim", "interval": f"{period:g}s", "seed": k,
             "connect_delay": f"{k * period / sources:.3f}s"}
            for k in range(sources)
        ],
    }  # fmt: skip
    assets: list[dict[str, Any]] = [{"id": name, "type": "site", "label": f"Site {name}"}]
    n_equipment = (points + POINTS_PER_EQUIPMENT - 1) // POINTS_PER_EQUIPMENT
    for e in range(n_equipment):
        area = f"{name}-area{e // EQUIPMENT_PER_AREA}"
        if e % EQUIPMENT_PER_AREA == 0:
            assets.append({"id": area, "type": "area", "parent": name, "label": f"Hall {e // EQUIPMENT_PER_AREA}"})
        n = min(POINTS_PER_EQUIPMENT, points - e * POINTS_PER_EQUIPMENT)
        assets.append({
            "id": f"{name}-ahu{e}", "type": "brick:AHU", "parent": area, "label": f"AHU {e}",
            "source": f"{name}-sim{e * sources // n_equipment}",
            "points": [
                {"id": pid, "class": f"brick:{cls}", "unit": unit, "datatype": "double",
                 "address": {"signal": "random_walk", "initial": 20.0, "min": 0.0, "max": 100.0, "step": 0.5}}
                for pid, cls, unit in _POINTS[:n]
            ],
        })  # fmt: skip
    doc["assets"] = assets
    return doc


_LAG = re.compile(r'twinbridge_replication_lag_seconds\{.*quantile="([^"]+)"')


class GatewayProcess:
    """One site's gateway in a child process; ``url`` once its services run."""

    def __init__(self, mapping: dict[str, Any], folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        path = folder / "mapping.yaml"
        path.write_text(yaml.safe_dump(mapping, sort_keys=False))
        self.name: str = mapping["twin"]["name"]
        self.points = sum(len(a.get("points", [])) for a in mapping.get("assets", []))
        self.log = folder / "gateway.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench._scale_out_sites", str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        self.port = 0
        self.http = httpx.Client(timeout=30)

    def wait_started(self) -> None:
        """Until the child says its HTTP service runs (it gives up by itself after 120 s)."""
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()
        if not line:
            self.proc.wait(10)
            raise RuntimeError(f"gateway {self.name} did not start: {self.log.read_text()[-2000:]}")
        self.port = json.loads(line)["port"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def health(self) -> dict[str, Any]:
        """/health's body (also when it answers 503: degraded)."""
        body: dict[str, Any] = self.http.get(f"{self.url}/health").json()
        return body

    def store_health(self) -> dict[str, Any]:
        """The replicator's part of /health (one store)."""
        stores: list[dict[str, Any]] = self.health()["services"]["replication"]["stores"]
        return stores[0]

    def metrics(self) -> dict[str, float]:
        """The gateway's Prometheus samples, by name with their labels as printed (``name{a="b"}``)."""
        out: dict[str, float] = {}
        for line in self.http.get(f"{self.url}/metrics").text.splitlines():
            if line and not line.startswith("#"):
                key, _, value = line.rpartition(" ")
                out[key] = float(value)
        return out

    def lag_quantiles(self, metrics: dict[str, float] | None = None) -> dict[float, float]:
        """The replicator's recent lag by quantile (seconds), from /metrics."""
        out: dict[float, float] = {}
        for key, value in (self.metrics() if metrics is None else metrics).items():
            q = _LAG.match(key)
            if q:
                out[float(q.group(1))] = value
        return out

    def model_push(self) -> tuple[int, float] | None:
        """(triples, seconds) of the replicator's last model push, from its log line."""
        found = re.findall(r"model pushed \((\d+) triples in ([\d.]+) s\)", self.log.read_text())
        return (int(found[-1][0]), float(found[-1][1])) if found else None

    def live_values(self) -> dict[str, tuple[float, str]]:
        """Every point's (value, gateway time) as the edge's own SPARQL endpoint answers."""
        query = f"SELECT ?p ?v ?t WHERE {{ ?p <{TB}value> ?v ; <{TB}gatewayTime> ?t }}"
        r = self.http.post(f"{self.url}/sparql", data={"query": query}, headers={"Accept": _JSON})
        r.raise_for_status()
        return rows_of(r.json())

    def model_triples(self) -> int:
        """Triples in the edge's own model graph."""
        query = f"SELECT (COUNT(*) AS ?n) WHERE {{ GRAPH <{BASE}graph/model> {{ ?s ?p ?o }} }}"
        r = self.http.post(f"{self.url}/sparql", data={"query": query}, headers={"Accept": _JSON})
        r.raise_for_status()
        return int(r.json()["results"]["bindings"][0]["n"]["value"])

    def cpu_seconds(self) -> float:
        return tree_cpu(self.proc.pid)

    def quiet(self) -> None:
        """Stop the sources (the twin holds still; replication goes on)."""
        assert self.proc.stdin is not None and self.proc.stdout is not None
        self.proc.stdin.write("quiet\n")
        self.proc.stdin.flush()
        if self.proc.stdout.readline().strip() != "quiet":
            raise RuntimeError(f"gateway {self.name} did not go quiet: {self.log.read_text()[-2000:]}")

    def errors(self) -> list[str]:
        return [ln for ln in self.log.read_text().splitlines() if ln.startswith(("ERROR", "Traceback"))]

    def stop(self) -> None:
        self.http.close()
        if self.proc.poll() is None and self.proc.stdin is not None:
            with contextlib.suppress(BrokenPipeError):
                self.proc.stdin.close()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def rows_of(results: dict[str, Any]) -> dict[str, tuple[float, str]]:
    """SPARQL JSON results of ?p ?v ?t as {point IRI: (value, gateway time)}."""
    return {b["p"]["value"]: (float(b["v"]["value"]), b["t"]["value"]) for b in results["results"]["bindings"]}


def metric(metrics: dict[str, float], name: str) -> float:
    """The sum of a metric's samples over all their labels."""
    return sum(v for k, v in metrics.items() if k == name or k.startswith(name + "{"))


# -- the child ----------------------------------------------------------------------------------------------


async def _serve(path: str) -> None:
    from gateway.runtime import Gateway

    gw = Gateway.from_files([path])
    await asyncio.wait_for(gw.start(), 120)
    try:
        port = gw.services["http"].port  # type: ignore[attr-defined]
        print(json.dumps({"port": port}), flush=True)
        while line := await asyncio.to_thread(sys.stdin.readline):
            if line.strip() == "quiet":
                await asyncio.gather(*(sup.stop() for sup in gw.supervisors.values()))
                print("quiet", flush=True)
    finally:
        await gw.stop()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    logging.getLogger("twinbridge.replication").setLevel(logging.INFO)  # its model push times
    asyncio.run(_serve(argv[0]))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

"""Start-up time and resident memory per point, each size in a fresh process.

Measures: loading a generated mapping file (YAML -> validated model), building the twin (graph + ontology),
starting adapters and the northbound services the mapping enables, until the first live value is in the graph.
Baseline: the same triples loaded into a plain rdflib in-memory Graph in the same process.

    python -m bench startup [--quick]
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap

from bench.common import table

_CHILD = textwrap.dedent("""
    import asyncio, json, os, resource, sys, tempfile, time
    import yaml
    n, services = int(sys.argv[1]), sys.argv[2] == "1"
    def rss():
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024
    from bench.common import synthetic_model
    m = synthetic_model(n)
    doc = {"twin": {"name": "bench", "base_iri": "http://bench.local/"},
           "sources": [{"id": s, "kind": "sim", "interval": "1s"} for s in m.sources],
           "assets": []}
    if services:
        doc["gateway"] = {"opcua": {"port": 0, "allow_anonymous": True, "security": ["None"]},
                          "http": {"port": 0, "anonymous_read": True}}
    for a in m.assets.values():
        item = {"id": a.id, "label": a.label, "type": "brick:AHU" if a.classes else a.level.value}
        if a.parent:
            item["parent"] = a.parent
        pts = [p for p in m.points.values() if p.asset == a.id]
        if pts:
            item["source"] = pts[0].source
            item["points"] = [{"id": p.local_id, "type": p.kind.value, "datatype": p.datatype.value,
                               "class": "brick:" + p.classes[0].rsplit("#", 1)[1], "label": p.label,
                               **({"unit": p.unit} if p.unit else {}),
                               "address": {"signal": "random_walk", "initial": 20}} for p in pts]
        doc["assets"].append(item)
    path = tempfile.mktemp(suffix=".yaml")
    with open(path, "w") as f:
        yaml.safe_dump(doc, f)
    base = rss()
    t0 = time.perf_counter()
    from gateway.config.loader import load_mappings
    from gateway.runtime import Gateway
    model = load_mappings([path])
    t_load = time.perf_counter() - t0
    gw = Gateway(model)
    t_twin = time.perf_counter() - t0
    async def go():
        await gw.start(services=services)
        while gw.twin.samples_applied < len(model.points) * 0.5:
            await asyncio.sleep(0.01)
        gw.twin.flush()
        t_ready = time.perf_counter() - t0
        mem = rss() - base
        await gw.stop()
        return t_ready, mem
    t_ready, mem = asyncio.run(go())
    import rdflib
    from gateway.twin.materialize import model_ntriples
    from gateway.twin.vocab import TwinIRIs
    t1 = time.perf_counter()
    g = rdflib.Graph(); g.parse(data=model_ntriples(model, TwinIRIs(model.settings.base_iri)), format="nt")
    t_rdflib = time.perf_counter() - t1
    print(json.dumps({"points": n, "load_s": t_load, "twin_s": t_twin, "ready_s": t_ready,
                      "rss_kib_per_point": mem / n, "rdflib_load_s": t_rdflib, "triples": len(g)}))
""")


def measure(n: int, services: bool) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-c", _CHILD, str(n), "1" if services else "0"],
        capture_output=True,
        text=True,
        check=False,
        timeout=900,
    )
    if out.returncode != 0:
        raise RuntimeError(out.stderr[-2000:])
    return json.loads(out.stdout.strip().splitlines()[-1])


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    sizes = [300] if quick else [1_000, 10_000, 50_000]
    from gateway.northbound.registry import service_specs

    services = {"opcua", "http"} <= set(service_specs())
    rows = []
    for n in sizes:
        r = measure(n, services)
        rows.append(
            [
                n,
                r["triples"],
                f"{r['load_s']:.2f}",
                f"{r['twin_s']:.2f}",
                f"{r['ready_s']:.2f}",
                f"{r['rss_kib_per_point']:.2f}",
                f"{r['rdflib_load_s']:.2f}",
            ]
        )
    print(
        f"fresh process per size; services {'on (OPC UA server + HTTP API)' if services else 'off'}; "
        "ready = first live value of half the points in the graph"
    )
    print(
        table(
            [
                "points",
                "model triples",
                "mapping load s",
                "+ twin built s",
                "ready s",
                "RSS KiB/point",
                "baseline: rdflib parse of the model s",
            ],
            rows,
        )
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

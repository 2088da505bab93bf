"""OPC UA server address-space build: asyncua's APIs vs the fast builder (gateway.northbound.opcua.fast_nodes).

For a synthetic twin of N points (bench.common.synthetic_model: ~2.9 nodes per point with the EngineeringUnits
and EURange properties) the node descriptions are made by gateway.northbound.opcua.address_space and created:

- ``add_variable`` (baseline): asyncua's node-by-node API, measured on a sample and extrapolated per node;
- ``add_nodes``: asyncua's batched NodeManagementService.add_nodes (what the service used before the fast builder);
- ``add_nodes, GC paused``: the same with the cyclic garbage collector paused (fast_nodes.paused_gc);
- ``fast builder``: fast_nodes.build_nodes (shared constant attribute values, GC paused).

The service rows also start the same twin with a topology (``topology_model``: a location tree, every asset and
point located, a feeds chain, a five-property nameplate per equipment; gateway/northbound/opcua/topology.py).

Each run is its own process (clean heap, honest RSS). ``python -m bench uaserver [--quick]``
"""

from __future__ import annotations

import asyncio
import json
import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor

from bench.common import BRICK, synthetic_model, table

MODES = ("add_nodes", "add_nodes_nogc", "fast")
LABELS = {
    "add_variable": "asyncua add_variable one by one (baseline, extrapolated)",
    "add_nodes": "asyncua add_nodes batch",
    "add_nodes_nogc": "asyncua add_nodes batch, GC paused",
    "fast": "fast builder (GC paused)",
}


def _rss_mib() -> float:
    with open(f"/proc/{os.getpid()}/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


async def _one(mode: str, n_points: int, sample: int) -> dict[str, float]:
    from asyncua import Server, ua

    from gateway.northbound.opcua.address_space import (
        NodeIds,
        asset_items,
        hierarchy_order,
        point_items,
        type_items,
    )
    from gateway.northbound.opcua.fast_nodes import add_nodes_fast, paused_gc

    model = topology_model(n_points) if mode == "service_topology" else synthetic_model(n_points)
    if mode.startswith("service"):
        return await _service(model, fast=mode != "service")
    server = Server()
    await server.init()
    standard_nodes = len(server.iserver.aspace._nodes)  # asyncua's own address space, not the twin's
    ns = await server.register_namespace("http://bench.local/opcua")
    ids = NodeIds(ns)
    rss0 = _rss_mib()
    if mode == "add_variable":
        folder = await server.nodes.objects.add_folder(ua.NodeId("f", ns), "f")
        t0 = time.perf_counter()
        for i in range(sample):
            await folder.add_variable(ua.NodeId(f"v{i}", ns), f"v{i}", 0.0)
        return {"per_node": (time.perf_counter() - t0) / sample, "standard_nodes": standard_nodes}
    t0 = time.perf_counter()
    with paused_gc() if mode != "add_nodes" else _nothing():
        items = type_items(ids, model, model.assets.values(), model.points.values(), set())
        root = ua.AddNodesItem()
        root.RequestedNewNodeId, root.BrowseName = ids.root(), ua.QualifiedName("bench", ns)
        root.NodeClass, root.ParentNodeId = ua.NodeClass.Object, ua.NodeId(ua.ObjectIds.ObjectsFolder)
        root.ReferenceTypeId = ua.NodeId(ua.ObjectIds.Organizes)
        root.NodeAttributes = ua.ObjectAttributes(DisplayName=ua.LocalizedText("bench"))
        items.append(root)
        items += asset_items(ids, model, hierarchy_order(model, model.assets.values()))
        items += point_items(ids, model.points.values())
        t1 = time.perf_counter()
        if mode == "fast":
            results = add_nodes_fast(server.iserver.aspace, items)
        else:
            results = server.iserver.node_mgt_service.add_nodes(items)
    t2 = time.perf_counter()
    assert all(r.StatusCode.is_good() for r in results)
    del items, results
    return {"nodes": len(server.iserver.aspace._nodes), "made": t1 - t0, "add": t2 - t1, "rss": _rss_mib() - rss0}


async def _service(model: object, *, fast: bool) -> dict[str, float]:
    """OpcUaServer.start() as the gateway runs it; ``fast`` routes its add_nodes batches to the fast builder."""
    from asyncua.server.address_space import NodeManagementService

    from gateway.northbound.opcua.config import OpcUaServerConfig
    from gateway.northbound.opcua.fast_nodes import build_nodes
    from gateway.northbound.opcua.service import OpcUaServer
    from gateway.runtime import Gateway

    if fast:
        original = NodeManagementService.add_nodes

        def add_nodes(self: NodeManagementService, items: list, *args: object) -> list:  # type: ignore[type-arg]
            if items and all(i.RequestedNewNodeId.NamespaceIndex >= 2 for i in items):
                return build_nodes(self._aspace, items)
            return original(self, items, *args)  # type: ignore[arg-type]

        NodeManagementService.add_nodes = add_nodes  # type: ignore[method-assign]
    gw = Gateway(model)  # type: ignore[arg-type]
    cfg = OpcUaServerConfig(host="127.0.0.1", port=0, security=["None"], allow_anonymous=True)
    svc = OpcUaServer(cfg, gw.view)
    rss0 = _rss_mib()
    t0 = time.perf_counter()
    await svc.start()
    started = time.perf_counter() - t0
    rss = _rss_mib() - rss0
    await svc.stop()
    gw.twin.close()
    return {"build": svc.build_seconds, "start": started, "rss": rss}


def topology_model(n_points: int) -> object:
    """``synthetic_model`` placed and related: one building, a floor per 100 equipment, a room per 10, every
    equipment (its points with it) in a room, each feeding the next of its area, and a nameplate of five
    properties per equipment (one a quantity in kW)."""
    import dataclasses
    import datetime

    from adapters.contract.model import Location, Property, Relation, TargetKind

    model = synthetic_model(n_points)
    model.locations["b"] = Location("b", (BRICK + "Building",), "Building")
    equipment = [a for a in model.assets.values() if a.parent is not None and a.parent.startswith("area")]
    feeds, TB = (BRICK + "feeds", BRICK + "isFedBy"), "https://w3id.org/twinbridge#"
    for i, a in enumerate(equipment):
        floor, room = f"f{i // 100}", f"r{i // 10}"
        model.locations.setdefault(floor, Location(floor, (BRICK + "Floor",), floor, parent="b"))
        model.locations.setdefault(room, Location(room, (BRICK + "Room",), room, parent=floor))
        nxt = equipment[i + 1] if i + 1 < len(equipment) and equipment[i + 1].parent == a.parent else None
        relations = (Relation(feeds[0], nxt.id, TargetKind.ASSET, "Feeds", feeds[1], "IsFedBy"),) if nxt else ()
        nameplate = (
            Property("manufacturer", "http://schema.org/manufacturer", "Acme", "Manufacturer"),
            Property("model", "http://schema.org/model", "AHU-9", "Model"),
            Property("serial_number", "http://schema.org/serialNumber", f"SN{i:06d}", "Serial number"),
            Property("install_date", TB + "installDate", datetime.date(2020, 1, 1), "Install date"),
            Property("rated_power", BRICK + "ratedPowerOutput", 15.0, "Rated power", unit="KiloW"),
        )
        model.assets[a.id] = dataclasses.replace(a, location=room, relations=relations, properties=nameplate)
    return model


class _nothing:
    def __enter__(self) -> None:
        return None

    def __exit__(self, *exc: object) -> None:
        return None


def _run(mode: str, n_points: int, sample: int = 300) -> dict[str, float]:
    out = subprocess.run(
        [sys.executable, "-m", "bench.uaserver", "--one", mode, str(n_points), str(sample)],
        capture_output=True,
        text=True,
        check=True,
        timeout=600,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]


SERVICE_MODES = (
    ("service", "as is (asyncua add_nodes)"),
    ("service_fast", "fast builder"),
    ("service_topology", "fast builder, with topology"),
)


def main(argv: list[str]) -> int:
    if argv[:1] == ["--one"]:
        print(json.dumps(asyncio.run(_one(argv[1], int(argv[2]), int(argv[3])))))
        return 0
    quick = "--quick" in argv
    sizes = [500] if quick else [1000, 10000, 50000]
    baseline = ("add_variable", 1000, 50 if quick else 1000)
    jobs = [baseline] + [(mode, n, 300) for n in sizes for mode in MODES]
    jobs += [(mode, n, 300) for n in sizes[:2] for mode, _ in SERVICE_MODES]
    # full mode runs the processes one after another, so none disturbs another's figures; quick mode only shows
    # that each one runs, side by side
    with ThreadPoolExecutor(max_workers=(os.cpu_count() or 1) if quick else 1) as pool:
        results = dict(zip(jobs, pool.map(lambda job: _run(*job), jobs), strict=True))
    per_node, standard_nodes = results[baseline]["per_node"], results[baseline]["standard_nodes"]
    rows: list[list[object]] = []
    for n in sizes:
        nodes_of_n = 0
        for mode in MODES:
            r = results[(mode, n, 300)]
            nodes_of_n = int(r["nodes"])
            total = r["made"] + r["add"]
            rows.append([n, LABELS[mode], f"{r['made']:.2f}", f"{r['add']:.2f}", f"{total:.2f}", f"{r['rss']:.0f}"])
        rows.append([n, LABELS["add_variable"], "", "", f"{per_node * (nodes_of_n - standard_nodes):.2f}", ""])
    print(f"Address-space build ({os.cpu_count()} CPUs; node descriptions made + nodes added, seconds)\n")
    print(table(["points", "method", "describe s", "add s", "total s", "RSS +MiB"], rows))
    srows: list[list[object]] = []
    for n in sizes[:2]:
        for mode, label in SERVICE_MODES:
            r = results[(mode, n, 300)]
            srows.append([n, label, f"{r['build']:.2f}", f"{r['start']:.2f}", f"{r['rss']:.0f}"])
    print("\nopcua service start (OpcUaServer.start: address space, initial values, listening)\n")
    print(table(["points", "address space", "build s", "start s", "RSS +MiB"], srows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

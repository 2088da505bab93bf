"""The plant ``bench dashboard`` looks at, and the gateway serving it in a process of its own.

The mapping: sites > areas > lines > equipment with 10 points each on one sim source that ticks every
``PLANT_INTERVAL`` s (random walks: every point changes every tick), plus the asset ``hot``: ``hot_points``
Double points on a source that ticks every 100 ms with counters (every point changes every tick, 10 Hz).
The gateway is the real one (``gateway.runtime.Gateway`` with the HTTP service on a free loopback port, history
recording every sample by default), run as ``python -m bench._dashboard_plant <mapping.yaml>`` so that the
browser and the gateway are two processes as in use: it prints ``{"port": N}`` once every point has a value and
stops when its stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import logging
import os
import re
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import yaml

PLANT_INTERVAL = 5.0  # s between two values of each of the plant's points
HOT_INTERVAL = 0.1  # s between two values of each of the hot asset's points (10 Hz)
POINTS_PER_EQUIPMENT = 10
EQUIPMENT_PER_LINE, LINES_PER_AREA, AREAS_PER_SITE = 10, 10, 5
# (class, unit, datatype, signal) of the 10 points of each equipment
_POINTS = (
    ("Supply_Air_Temperature_Sensor", "DEG_C", "float", "random_walk"),
    ("Return_Air_Temperature_Sensor", "DEG_C", "float", "random_walk"),
    ("Mixed_Air_Temperature_Sensor", "DEG_C", "float", "random_walk"),
    ("Supply_Air_Temperature_Setpoint", "DEG_C", "float", "constant"),
    ("Air_Flow_Sensor", "M3-PER-HR", "float", "random_walk"),
    ("Static_Pressure_Sensor", "PA", "float", "random_walk"),
    ("Power_Sensor", "KiloW", "float", "random_walk"),
    ("Energy_Sensor", "KiloW-HR", "float", "counter"),
    ("Fan_Speed_Command", "PERCENT", "float", "constant"),
    ("Run_Status", None, "bool", "square"),
)


@dataclass(frozen=True)
class PlantSize:
    """How big the twin is: ``tree_points`` on the plant's equipment plus the hot asset's ``hot_points``."""

    tree_points: int
    hot_points: int

    @property
    def equipment(self) -> int:
        return (self.tree_points + POINTS_PER_EQUIPMENT - 1) // POINTS_PER_EQUIPMENT

    @property
    def points(self) -> int:
        return self.tree_points + self.hot_points


def _point(i: int) -> dict[str, Any]:
    cls, unit, datatype, signal = _POINTS[i]
    address: dict[str, Any] = {"signal": signal}
    if signal == "random_walk":
        address |= {"initial": 20.0, "min": 0.0, "max": 100.0, "step": 0.5}
    elif signal == "square":
        address["period"] = "60s"
    point: dict[str, Any] = {"id": f"p{i}", "class": f"brick:{cls}", "datatype": datatype, "address": address}
    if unit:
        point["unit"] = unit
    if cls.endswith(("_Setpoint", "_Command")):
        point |= {"type": "setpoint" if cls.endswith("_Setpoint") else "command", "writable": True}
        point |= {"min": 0, "max": 100}
    elif cls == "Run_Status":
        point["type"] = "status"
    return point


def mapping(size: PlantSize) -> dict[str, Any]:
    """The mapping document (as ``twinbridge run`` reads it)."""
    doc: dict[str, Any] = {
        "twin": {"name": "bench-dashboard", "base_iri": "http://bench.local/"},
        "gateway": {"http": {"host": "127.0.0.1", "port": 0, "anonymous_read": True}},
        "sources": [
            {"id": "plant", "kind": "sim", "interval": f"{PLANT_INTERVAL:g}s", "seed": 1},
            {"id": "hot", "kind": "sim", "interval": f"{HOT_INTERVAL * 1000:g}ms"},
        ],
    }
    assets: list[dict[str, Any]] = []
    seen: set[str] = set()

    def add(asset: dict[str, Any]) -> None:
        if asset["id"] not in seen:
            seen.add(asset["id"])
            assets.append(asset)

    for e in range(size.equipment):
        line = e // EQUIPMENT_PER_LINE
        area = line // LINES_PER_AREA
        site = area // AREAS_PER_SITE
        add({"id": f"site{site}", "type": "site", "label": f"Site {site}"})
        add({"id": f"area{area}", "type": "area", "parent": f"site{site}", "label": f"Hall {area}"})
        add({"id": f"line{line}", "type": "line", "parent": f"area{area}", "label": f"Line {line}"})
        n = min(POINTS_PER_EQUIPMENT, size.tree_points - e * POINTS_PER_EQUIPMENT)
        add({
            "id": f"ahu{e}", "type": "brick:AHU", "parent": f"line{line}", "label": f"AHU {e}", "source": "plant",
            "points": [_point(i) for i in range(n)],
        })  # fmt: skip
    hot = [
        {"id": f"t{i}", "class": "brick:Temperature_Sensor", "unit": "DEG_C", "datatype": "float",
         "label": f"Temperature {i}", "address": {"signal": "counter", "initial": i, "rate": 1.0}}
        for i in range(size.hot_points)
    ]  # fmt: skip
    add({"id": "hot", "type": "brick:AHU", "parent": "line0", "label": "Hot AHU", "source": "hot", "points": hot})
    doc["assets"] = assets
    return doc


class GatewayProcess:
    """The gateway on a generated mapping in a child process; ``port`` once every point has a value."""

    def __init__(self, size: PlantSize, folder: Path) -> None:
        path = folder / "plant.yaml"
        path.write_text(yaml.safe_dump(mapping(size), sort_keys=False))
        self.log = folder / "gateway.log"
        with self.log.open("w") as log:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "bench._dashboard_plant", str(path)],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
            )
        assert self.proc.stdout is not None
        line = self.proc.stdout.readline()  # the child gives up by itself after 300 s
        if not line:
            self.proc.wait(10)
            raise RuntimeError(
                f"the gateway did not start (exit {self.proc.returncode}): {self.log.read_text()[-2000:]}"
            )
        ready = json.loads(line)
        self.port: int = ready["port"]
        self.started_s: float = ready["seconds"]

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def cpu_seconds(self) -> float:
        """CPU seconds (user + system, every thread) the gateway and its SPARQL worker have used so far."""
        return tree_cpu(self.proc.pid)

    def errors(self) -> list[str]:
        """What the gateway logged at ERROR so far, and the last line of each traceback."""
        lines = self.log.read_text().splitlines()
        return [ln for ln in lines if ln.startswith("ERROR") or re.match(r"[\w.]+(Error|Exception): ", ln)]

    def stop(self) -> None:
        if self.proc.stdin is not None:
            self.proc.stdin.close()
        try:
            self.proc.wait(60)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait(10)


def process_cpu(pid: int, *, reaped: bool = False) -> float:
    """CPU seconds of one process from /proc (utime + stime), with ``reaped`` those of its children that ended
    and were waited for (cutime + cstime)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    ticks = int(fields[11]) + int(fields[12]) + (int(fields[13]) + int(fields[14]) if reaped else 0)
    return ticks / os.sysconf("SC_CLK_TCK")


def tree_cpu(pid: int) -> float:
    """CPU seconds of a process and everything below it, those that ended included."""
    return sum(process_cpu(p, reaped=True) for p in [pid, *descendants(pid)])


def _children_of() -> dict[int, list[int]]:
    """Every process's children, from /proc."""
    out: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            out.setdefault(ppid, []).append(int(entry.name))
    return out


def children(pid: int) -> list[int]:
    """The processes ``pid`` started that still run."""
    return _children_of().get(pid, [])


def descendants(pid: int) -> list[int]:
    """Every process below ``pid`` (children, their children...)."""
    parents = _children_of()
    out, todo = [], [pid]
    while todo:
        for child in parents.get(todo.pop(), []):
            out.append(child)
            todo.append(child)
    return out


# -- the child ----------------------------------------------------------------------------------------------


async def _serve(path: str, out: IO[str]) -> None:
    from gateway.runtime import Gateway

    t0 = time.perf_counter()
    gw = Gateway.from_files([path])
    await gw.start()
    try:
        deadline = time.monotonic() + 300
        while sum(1 for s in gw.view.states().values() if s.source_ts is not None) < len(gw.model.points):
            if time.monotonic() > deadline:
                raise RuntimeError("not every point got a value in 300 s")
            await asyncio.sleep(0.1)
        port = gw.services["http"].port  # type: ignore[attr-defined]
        out.write(json.dumps({"port": port, "seconds": time.perf_counter() - t0}) + "\n")
        out.flush()
        await asyncio.to_thread(sys.stdin.read)  # until the bench closes our stdin
    finally:
        await gw.stop()


def main(argv: list[str]) -> int:
    logging.basicConfig(level=logging.WARNING)
    asyncio.run(_serve(argv[0], sys.stdout))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

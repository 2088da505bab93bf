"""Helpers shared by benchmarks: synthetic twins, percentiles, table printing."""

from __future__ import annotations

import resource
import statistics
from collections.abc import Sequence

from adapters.contract.model import Asset, AssetLevel, DataType, Point, PointKind
from adapters.sim.config import SimAddress, SimSourceConfig
from gateway.model import TwinModel, TwinSettings

_CLASSES = (
    "Supply_Air_Temperature_Sensor",
    "Return_Air_Temperature_Sensor",
    "Air_Flow_Sensor",
    "Supply_Air_Temperature_Setpoint",
    "Run_Status",
    "Energy_Sensor",
    "Power_Sensor",
    "Fan_Speed_Command",
)
_UNITS = ("DEG_C", "DEG_C", "M3-PER-HR", "DEG_C", None, "KiloW-HR", "KiloW", "PERCENT")
_KINDS = (
    PointKind.MEASUREMENT,
    PointKind.MEASUREMENT,
    PointKind.MEASUREMENT,
    PointKind.SETPOINT,
    PointKind.STATUS,
    PointKind.MEASUREMENT,
    PointKind.MEASUREMENT,
    PointKind.SETPOINT,
)
BRICK = "https://brickschema.org/schema/Brick#"


def synthetic_model(n_points: int, *, per_equipment: int = 8, equipment_per_area: int = 50) -> TwinModel:
    """A plant of ``n_points`` points: one site, areas, equipment with 8 typical points each, sim sources."""
    model = TwinModel(settings=TwinSettings(base_iri="http://bench.local/", flush_interval=0.25))
    model.assets["site"] = Asset("site", AssetLevel.SITE, (), "Site")
    n_equipment = (n_points + per_equipment - 1) // per_equipment
    for e in range(n_equipment):
        area = f"area{e // equipment_per_area}"
        if area not in model.assets:
            model.assets[area] = Asset(area, AssetLevel.AREA, (), area.title(), parent="site")
        src = f"sim{e // 500}"
        if src not in model.sources:
            model.sources[src] = SimSourceConfig(id=src, interval=1.0)
        eq = f"ahu{e}"
        model.assets[eq] = Asset(eq, AssetLevel.EQUIPMENT, (BRICK + "AHU",), f"AHU {e}", parent=area)
        for i in range(per_equipment):
            if len(model.points) >= n_points:
                break
            pid = f"{eq}.p{i}"
            status = _KINDS[i] is PointKind.STATUS
            model.points[pid] = Point(
                pid,
                eq,
                _KINDS[i],
                DataType.BOOL if status else DataType.DOUBLE,
                src,
                SimAddress(signal="random_walk", initial=20.0),
                f"{eq} {_CLASSES[i]}",
                classes=(BRICK + _CLASSES[i],),
                unit=_UNITS[i],
                writable=_KINDS[i] is PointKind.SETPOINT,
                min=0.0 if not status else None,
                max=100.0 if not status else None,
            )
    return model


def pct(values: Sequence[float], p: float) -> float:
    """The p-th percentile (0..100) of values."""
    if not values:
        return float("nan")
    s = sorted(values)
    k = min(len(s) - 1, max(0, round(p / 100 * (len(s) - 1))))
    return s[k]


def median(values: Sequence[float]) -> float:
    """The median."""
    return statistics.median(values) if values else float("nan")


def rss_mib() -> float:
    """Peak resident memory of this process in MiB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def table(headers: Sequence[str], rows: Sequence[Sequence[object]]) -> str:
    """A Markdown table."""
    cells = [[str(h) for h in headers]] + [[f"{c:,.1f}" if isinstance(c, float) else str(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(headers))]
    lines = ["| " + " | ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) + " |" for r in cells]
    lines.insert(1, "|" + "|".join("-" * (w + 2) for w in widths) + "|")
    return "\n".join(lines)

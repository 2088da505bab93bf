"""Points of an asset ``boiler1`` and an environment with their values, for the expression tests."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from adapters.contract.model import DataType
from gateway.rules.expr import Compiled, MissingValue, PointInfo, WindowKey, compile_expr

POINTS = {
    "flow": ("M3-PER-HR", DataType.DOUBLE, 10.0),
    "supply_temp": ("DEG_C", DataType.DOUBLE, 80.0),
    "return_temp": ("DEG_C", DataType.DOUBLE, 60.0),
    "burner_power": ("KiloW", DataType.DOUBLE, 250.0),
    "aux_power": ("W", DataType.DOUBLE, 1500.0),
    "pressure": ("BAR", DataType.DOUBLE, 2.5),
    "pump_on": (None, DataType.BOOL, True),
    "count": (None, DataType.INT32, 7),
    "outside_temp": ("DEG_F", DataType.DOUBLE, 50.0),
    "label": (None, DataType.STRING, "x"),
    "zero": (None, DataType.DOUBLE, 0.0),
}


class FakeEnv:
    """Values by point id; window values by key (a missing one raises MissingValue, like the engine's)."""

    def __init__(self, values: dict[str, Any], windows: dict[WindowKey, float] | None = None) -> None:
        self.values = values
        self.windows = windows or {}
        self.reads: list[WindowKey] = []

    def value(self, point: str) -> Any:
        try:
            return self.values[point]
        except KeyError:
            raise MissingValue(point) from None

    def window(self, key: WindowKey) -> float:
        self.reads.append(key)
        try:
            return self.windows[key]
        except KeyError:
            raise MissingValue(key.point) from None


def infos() -> dict[str, PointInfo]:
    out = {f"boiler1.{name}": PointInfo(f"boiler1.{name}", unit, dt) for name, (unit, dt, _) in POINTS.items()}
    out["boiler2.flow"] = PointInfo("boiler2.flow", "L-PER-SEC", DataType.DOUBLE)
    out["hall-2.meter-7.power"] = PointInfo("hall-2.meter-7.power", "KiloW", DataType.DOUBLE)
    out["site_power"] = PointInfo("site_power", "KiloW", DataType.DOUBLE)  # an id without an asset part
    return out


@pytest.fixture
def env() -> FakeEnv:
    values: dict[str, Any] = {f"boiler1.{name}": v for name, (_, _, v) in POINTS.items()}
    values["boiler2.flow"] = 1.0
    values["hall-2.meter-7.power"] = 3.0
    values["site_power"] = 5.0
    return FakeEnv(values)


Compile = Callable[..., Compiled]


@pytest.fixture
def compile_() -> Compile:
    """compile_(text, unit, datatype=DOUBLE): the expression for a derived point boiler1.result."""

    def build(text: str, unit: str | None, datatype: DataType = DataType.DOUBLE) -> Compiled:
        points = infos()
        target = PointInfo("boiler1.result", unit, datatype)
        points[target.id] = target
        return compile_expr(text, target, points, asset="boiler1")

    return build

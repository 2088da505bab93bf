"""The examples of docs/analytics.md, section "Expressions", evaluated: results, window reads and errors.

The section's tables are the test cases: the example points (point | unit | value), then rows of
expression | point's unit | gives / reads / error.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from adapters.contract.model import DataType
from gateway.rules.expr import Compiled, ExprError, PointInfo, WindowKey, compile_expr
from tests.unit.gateway.rules.expr_harness import FakeEnv

DOC = Path(__file__).resolve().parents[4] / "docs" / "analytics.md"
ASSET = "boiler1"


def section() -> str:
    text = DOC.read_text(encoding="utf-8")
    start = text.index("\n## Expressions\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end > 0 else len(text)]


def tables(text: str) -> dict[str, list[list[str]]]:
    """Markdown tables keyed by their header row's last column."""
    out: dict[str, list[list[str]]] = {}
    for block in re.findall(r"(?:^\|.*\|\n)+", text, re.M):
        rows = [[cell.strip() for cell in line.strip().strip("|").split("|")] for line in block.strip().splitlines()]
        out[rows[0][-1]] = [r for r in rows[2:]]
    return out


TABLES = tables(section())


def code(cell: str) -> str:
    assert cell.startswith("`") and cell.endswith("`"), cell
    return cell[1:-1]


def example_points() -> tuple[dict[str, PointInfo], dict[str, Any]]:
    infos: dict[str, PointInfo] = {}
    values: dict[str, Any] = {}
    for name, unit, value in TABLES["value"]:
        pid = f"{ASSET}.{name}"
        if unit == "bool":
            infos[pid] = PointInfo(pid, None, DataType.BOOL)
            values[pid] = value == "true"
        else:
            infos[pid] = PointInfo(pid, unit, DataType.DOUBLE)
            values[pid] = float(value)
    return infos, values


def build(text: str, unit: str) -> Compiled:
    infos, _ = example_points()
    target = PointInfo(f"{ASSET}.example", None, DataType.BOOL) if unit == "bool" else None
    target = target or PointInfo(f"{ASSET}.example", None if unit == "UNITLESS" else unit, DataType.DOUBLE)
    infos[target.id] = target
    return compile_expr(text, target, infos, asset=ASSET)


def test_the_section_has_examples() -> None:
    assert len(TABLES["value"]) >= 5
    assert len(TABLES["gives"]) >= 10
    assert len(TABLES["reads"]) >= 5
    assert len(TABLES["error"]) >= 8


@pytest.mark.parametrize(("expr", "unit", "gives"), TABLES["gives"], ids=[r[0] + " " + r[1] for r in TABLES["gives"]])
def test_example_gives(expr: str, unit: str, gives: str) -> None:
    _, values = example_points()
    result = build(code(expr), unit).evaluate(FakeEnv(values))
    if gives in ("true", "false"):
        assert result is (gives == "true")
    else:
        assert result == pytest.approx(float(gives), rel=1e-12)


def window_key(text: str) -> WindowKey:
    function, point, seconds = text.split()
    return WindowKey(function, point, None if seconds == "-" else float(seconds))


@pytest.mark.parametrize(("expr", "unit", "reads"), TABLES["reads"], ids=[r[0] for r in TABLES["reads"]])
def test_example_reads_windows(expr: str, unit: str, reads: str) -> None:
    compiled = build(code(expr), unit)
    assert compiled.windows == tuple(window_key(part) for part in reads.split(", "))


@pytest.mark.parametrize(("expr", "unit", "error"), TABLES["error"], ids=[r[0] for r in TABLES["error"]])
def test_example_error(expr: str, unit: str, error: str) -> None:
    with pytest.raises(ExprError) as err:
        build(code(expr), unit)
    message, _, position = error.partition(" at ")
    assert err.value.message.startswith(message)
    if position:
        assert err.value.position == int(position)

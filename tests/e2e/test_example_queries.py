"""Every query in examples/queries.md and the README's tour answers on the demo plant (run in this process on
free ports): rows, and every column it selects bound in at least one row (an aggregate that silently comes back
empty, as AVG over partly unbound values does, fails here). The bad-or-stale query is empty on the healthy plant
and names the PLC's points once the PLC is stopped; the active-alarms query names boiler 1 (with its label and
room) once the PLC spikes its supply temperature (fault injection)."""

from __future__ import annotations

import asyncio
import re
import textwrap
import time
from pathlib import Path
from typing import Any

import pytest
import yaml

from gateway.demo_plant.plc import FAULT_REGISTER
from gateway.demo_plant.runner import Demo
from tests.conftest import wait_for

ROOT = Path(__file__).resolve().parents[2]


def queries_md() -> tuple[str, list[str]]:
    """The prefixes block and the queries of examples/queries.md."""
    text = (ROOT / "examples" / "queries.md").read_text(encoding="utf-8")
    prefixes = text.split("```\n", 2)[1].split("```")[0]
    return prefixes, re.findall(r"```sparql\n(.*?)```", text, re.S)


def readme_queries() -> tuple[str, list[str]]:
    """The prefixes ($P) and the queries of the README's `sparql "$P ..."` lines."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    prefixes = re.search(r"\bP='(.*?)'", text, re.S)
    assert prefixes is not None
    return prefixes.group(1), re.findall(r'sparql "\$P (.*?)"', text, re.S)


def _table(result: Any) -> tuple[list[str], list[dict[str, Any]]]:
    names = [v.value for v in result.variables]
    return names, [{n: s[n] for n in names if s[n] is not None} for s in result]


# The two demo tests share one demo (a start costs about 5 s): the roll-up only reads, so it runs first; the other
# injects a fault and stops the PLC.
@pytest.mark.asyncio(loop_scope="module")
async def test_the_roll_up_averages_each_areas_temperatures(plant: Demo) -> None:
    twin = plant.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: "hall-s2.temperature" in twin.states(), what="MQTT sensors discovered")
    await wait_for(lambda: twin.state("hall-s2.temperature").status == "Good", what="MQTT values")
    prefixes, queries = queries_md()
    roll_up = next(q for q in queries if "?avg_temperature" in q)

    def temps() -> list[float]:
        values = [twin.state(f"hall-s{i}.temperature").value for i in (1, 2)]
        floats = [v for v in values if isinstance(v, float)]
        assert len(floats) == 2, values
        return floats

    for _ in range(20):  # the sensors keep publishing: compare with values that did not change meanwhile
        before = temps()
        _, rows = await twin.query(prefixes + roll_up, consume=_table)
        if temps() == before:
            break
    hall = {str(r["area"].value).rsplit("/", 1)[1]: r for r in rows}["hall"]
    assert int(hall["temperatures"].value) == 2
    # the twin stores float32 values: compare at float precision
    assert abs(float(hall["avg_temperature"].value) - sum(before) / 2) < 1e-3


@pytest.mark.asyncio(loop_scope="module")
async def test_every_example_query_answers_on_the_demo(plant: Demo) -> None:
    twin = plant.gateway.twin  # type: ignore[union-attr]
    await wait_for(lambda: "office-s3.temperature" in twin.states(), what="MQTT sensors discovered")
    await wait_for(lambda: twin.state("office-s3.temperature").status == "Good", what="MQTT values")
    sets = [queries_md(), readme_queries()]
    assert len(sets[0][1]) == 12 and len(sets[1][1]) == 4
    stale: list[str] = []
    alarms: list[str] = []
    for prefixes, queries in sets:
        for q in queries:
            if "tb:AlarmCondition" in q:  # answers once a fault is injected (below)
                alarms.append(prefixes + q)
                continue
            names, rows = await twin.query(prefixes + q, consume=_table)
            if "tb:qualityReason" in q:
                assert rows == [], rows  # a healthy plant
                stale.append(prefixes + q)
                continue
            assert rows, q
            unbound = [n for n in names if not any(n in r for r in rows)]
            assert unbound == [], (q, unbound)
    assert len(stale) == 2 and len(alarms) == 1
    plant.plc.memory.set("holding", FAULT_REGISTER, 3)  # spikes above the supply temperature's limits
    mine: list[dict[str, Any]] = []

    async def active_limit_alarm() -> bool:
        names, rows = await twin.query(alarms[0], consume=_table)
        assert all(set(names) - {"room"} <= set(r) for r in rows), rows  # every column bound (room optional)
        mine[:] = [r for r in rows if str(r["point"].value).endswith("/boiler1.supply_temp")]
        return bool(mine)

    deadline = time.monotonic() + 40  # a spike every 30 s while the fault is on
    while not await active_limit_alarm():
        assert time.monotonic() < deadline, "no active alarm of boiler1.supply_temp in the twin"
        await asyncio.sleep(0.1)
    plant.plc.memory.set("holding", FAULT_REGISTER, 0)
    assert str(mine[0]["equipment"].value).endswith("/boiler1") and mine[0]["label"].value == "Boiler 1"
    assert str(mine[0]["room"].value).endswith("/boiler-room") and mine[0]["severity"].value == "800"
    await plant.plc.stop()
    await wait_for(lambda: twin.state("boiler1.flow").quality.name == "BAD", what="PLC points Bad")
    for q in stale:
        names, rows = await twin.query(q, consume=_table)
        assert {"point", "status", "reason"} <= {n for r in rows for n in r}, q
        assert any(str(r["point"].value).endswith("/boiler1.flow") for r in rows)


def _contained(part: Any, whole: Any) -> bool:
    """Whether ``part`` is ``whole`` with some mapping keys left out (lists and scalars compare equal)."""
    if isinstance(part, dict):
        return isinstance(whole, dict) and all(k in whole and _contained(v, whole[k]) for k, v in part.items())
    return bool(part == whole)


def test_readme_topology_excerpt_is_the_demo_mapping() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    tour = readme.split("**Follow the topology.**", 1)[1]
    excerpt = yaml.safe_load(textwrap.dedent(re.search(r"```yaml\n(.*?)```", tour, re.S).group(1)))  # type: ignore[union-attr]
    demo = yaml.safe_load((ROOT / "examples" / "demo" / "plant.yaml").read_text(encoding="utf-8"))
    for section in ("locations", "assets"):
        by_id = {item["id"]: item for item in demo[section]}
        for item in excerpt[section]:
            assert _contained(item, by_id.get(item["id"])), (section, item)
    rule = demo["sources"][2]["rules"][0]
    assert f'(`location: "{rule["location"]}"`)' in tour

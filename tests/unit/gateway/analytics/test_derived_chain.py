"""Derived points that feed other derived points: one pass evaluates them in dependency order, so a point reading
two others never mixes a new value with an old one (no glitch), and each is evaluated once per pass."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from adapters.contract.sample import Sample
from gateway.analytics.service import Analytics
from gateway.config.loader import load_mappings
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView

MAPPING = """\
twin: {name: chain, base_iri: "http://chain.local/"}
sources:
  - {id: sim, kind: sim}
assets:
  - id: a1
    source: sim
    points:
      - {id: x, unit: UNITLESS, datatype: double}
      - {id: c, unit: UNITLESS, expr: "b * a"}
      - {id: b, unit: UNITLESS, expr: "a + 1"}
      - {id: a, unit: UNITLESS, expr: "x * 2"}
"""


async def test_a_chain_is_evaluated_in_dependency_order_once_per_pass() -> None:
    model = load_mappings(["m.yaml"], texts={"m.yaml": MAPPING})
    twin = Twin(model)
    analytics = Analytics(model)
    view = TwinView(twin)
    seen: list[tuple[str, object]] = []

    def apply(sample: Sample) -> None:
        seen.append((sample.point, sample.value))
        twin.apply(sample)

    await analytics.start(view, apply=apply, add_points=lambda pts: [])
    twin.add_state_listener(analytics.on_state)
    try:
        await asyncio.sleep(0.05)
        for x in (1.0, 2.0, 3.0):  # three changes before the pass runs: one evaluation of each point
            twin.apply(Sample("a1.x", x, datetime.now(UTC)))
        seen.clear()
        await asyncio.sleep(0.05)
        assert seen == [("a1.a", 6.0), ("a1.b", 7.0), ("a1.c", 42.0)]
        assert twin.state("a1.c").value == 42.0
    finally:
        await analytics.stop(view)
        twin.close()

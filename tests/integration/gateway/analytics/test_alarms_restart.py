"""Alarms on a running gateway (sim source -> twin -> alarm engine): a limit alarm goes active, is acknowledged
through the AlarmService, and a restart with the same state folder keeps it active and acknowledged."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.contract.sample import Quality
from gateway.analytics.alarms import AlarmEngine, build
from gateway.analytics.context import AnalyticsContext
from gateway.analytics.model import AlarmFeed, AlarmService, Transition
from gateway.analytics.state import StateStore
from gateway.config.loader import load_mappings
from gateway.rules.spec import AlarmKind, AlarmRule, AnalyticsModel, Threshold
from gateway.runtime import Gateway
from tests.conftest import wait_for

MAPPING = """\
twin: {name: t, base_iri: "http://t.local/", flush_interval: 50ms}
sources:
  - {id: sim1, kind: sim, interval: 20ms, seed: 1}
assets:
  - id: boiler1
    type: brick:Boiler
    label: Boiler 1
    source: sim1
    points:
      - {id: temp, label: Supply temperature, type: setpoint, unit: DEG_C, datatype: float, writable: true,
         address: {signal: constant, initial: 95}}
"""
ALARM = "boiler1.temp/high"
RULES = {"boiler1.temp": (AlarmRule("high", AlarmKind.LIMIT, high=Threshold(185, "DEG_F"), severity=800),)}  # 85 °C


@asynccontextmanager
async def running(folder: Path) -> AsyncIterator[tuple[Gateway, AlarmEngine, AlarmFeed]]:
    """A gateway with the alarm engine built on its view, as the analytics service does."""
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": MAPPING}))
    store = StateStore(folder)
    ctx = AnalyticsContext(
        model=gw.model,
        spec=AnalyticsModel(alarms=RULES),
        view=gw.view,
        apply=gw.twin.apply,
        add_points=lambda points: [],
        state=store,
    )
    engine = build(ctx)
    assert engine is not None
    gw.twin.add_state_listener(engine.on_state)
    await engine.start()
    feed = engine.subscribe()  # before the first sample
    try:
        await gw.start(services=False)
        yield gw, engine, feed
    finally:
        await gw.stop()
        await engine.stop()
        store.close()


async def test_limit_alarm_active_acknowledged_and_kept_across_a_restart(tmp_path: Path) -> None:
    folder = tmp_path / "analytics"
    async with running(folder) as (gw, engine, feed):
        service: AlarmService = engine
        await wait_for(lambda: (a := service.alarm(ALARM)) is not None and a.active, what="alarm active")
        [activated] = [e for e in await feed.get(timeout=5) if e.transition is Transition.ACTIVATED]
        assert activated.alarm.limit_state == "High" and activated.alarm.severity == 800
        assert activated.alarm.message == "Boiler 1: Supply temperature High: 95 °C (limit 85 °C)"
        outcome = service.acknowledge(ALARM, actor="op", comment="seen", event_id=activated.alarm.event_id)
        assert outcome.ok, outcome
        assert service.acknowledge(ALARM, actor="op").status == "BadConditionBranchAlreadyAcked"
        acked = service.alarm(ALARM)
        assert acked is not None and acked.acked and acked.active

    async with running(folder) as (gw, engine, feed):
        # restored before the first sample, and still acknowledged once the value is judged again
        await wait_for(lambda: gw.twin.state("boiler1.temp").quality is Quality.GOOD, what="first sample")
        alarm = engine.alarm(ALARM)
        assert alarm is not None
        assert (alarm.active, alarm.acked, alarm.limit_state, alarm.last_actor, alarm.last_comment) == (
            True,
            True,
            "High",
            "op",
            "seen",
        )
        assert alarm.active_since == acked.active_since
        assert await feed.get(timeout=0) == []  # judged again: still High, still acknowledged, no event
        assert (await gw.write("boiler1.temp", 60.0)).ok
        events = await feed.get(timeout=5)
        assert [e.transition for e in events] == [Transition.CLEARED]
        assert not events[0].alarm.retain

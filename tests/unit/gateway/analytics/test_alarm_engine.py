"""The engine as an AlarmService: operations and their status codes, events, messages, class rules, rules added
at run time, shelving while evaluating, feeds, the journal without a history store, and restored states."""

from __future__ import annotations

from pathlib import Path

from gateway.analytics.alarms import build
from gateway.analytics.model import Transition as T
from gateway.rules.spec import AlarmKind as K
from gateway.rules.spec import ClassRule, Selector
from tests.unit.gateway.analytics.alarm_harness import FakeSelections, Harness, q, rule

TEMP = "boiler1.temp/limit"


async def test_operations_and_their_status_codes(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85), confirm_required=True),)})
    engine = await h.start()
    assert engine.acknowledge("nope/limit", actor="op").status == "BadNodeIdUnknown"
    h.push("temp", 90.0)
    [activated] = h.events()
    old = activated.alarm.event_id
    assert len(old) == 16 and not activated.alarm.acked and activated.alarm.retain
    assert engine.acknowledge(TEMP, actor="op", event_id=b"x" * 16).status == "BadEventIdUnknown"
    outcome = engine.acknowledge(TEMP, actor="op", comment="on it", event_id=old)
    assert outcome.ok
    [acked] = h.events()
    assert (acked.transition, acked.actor, acked.comment) == (T.ACKNOWLEDGED, "op", "on it")
    assert acked.alarm.event_id != old and acked.alarm.acked and not acked.alarm.confirmed
    assert engine.acknowledge(TEMP, actor="op").status == "BadConditionBranchAlreadyAcked"
    assert engine.confirm(TEMP, actor="boss").ok
    assert engine.confirm(TEMP, actor="boss").status == "BadConditionBranchAlreadyConfirmed"
    assert engine.add_comment(TEMP, "noted", actor="op").ok
    assert engine.unshelve(TEMP, actor="op").status == "BadConditionNotShelved"
    assert [e.transition for e in h.events()] == [T.CONFIRMED, T.COMMENT]


async def test_shelved_alarms_still_evaluate_and_timed_shelving_ends(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = await h.start()
    assert engine.shelve(TEMP, actor="op", duration=60.0).ok
    assert engine.shelve(TEMP, actor="op").status == "BadConditionAlreadyShelved"
    h.push("temp", 90.0)
    events = h.events()
    assert [e.transition for e in events] == [T.SHELVED, T.ACTIVATED]
    assert events[1].alarm.shelved == "timed" and events[1].alarm.unshelve_at is not None
    h.tick(58.0)
    assert h.transitions() == []
    h.tick(2.0)
    assert h.transitions() == [(TEMP, T.UNSHELVED)]
    engine.shelve(TEMP, actor="op")  # one-shot: until it next clears
    h.push("temp", 80.0)
    assert [t for _, t in h.transitions()] == [T.SHELVED, T.CLEARED, T.UNSHELVED]


async def test_disable_stops_evaluation_and_enable_reevaluates(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = await h.start()
    h.push("temp", 90.0)
    assert engine.set_enabled(TEMP, False, actor="op").ok
    assert engine.set_enabled(TEMP, False, actor="op").status == "BadConditionAlreadyDisabled"
    h.push("temp", 70.0)
    h.push("temp", 91.0)
    assert [t for _, t in h.transitions()] == [T.ACTIVATED, T.DISABLED]
    assert engine.set_enabled(TEMP, True, actor="op").ok
    assert [t for _, t in h.transitions()] == [T.ENABLED, T.ACTIVATED]  # from the point's current value


async def test_message_templates(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        {
            "boiler1.temp": (rule(high=q(85), message="{asset_label}: {label} {value} above {limit} ({state}) {x}"),),
            "boiler1.temp_f": (rule(high=q(30), message="{point} at {value} {unit}, limit {limit} {unit}"),),
        },
    )
    engine = await h.start()
    h.push("temp", 86.25)
    h.push("temp_f", 87.0)
    assert engine.alarm(TEMP).message == "Boiler 1: Supply temperature 86.25 °C above 85 °C (High) {x}"  # type: ignore[union-attr]
    assert engine.alarm("boiler1.temp_f/limit").message == "boiler1.temp_f at 87 °F, limit 86 °F"  # type: ignore[union-attr]
    h.push("temp", 80.0)
    assert engine.alarm(TEMP).message.endswith("(Normal) {x}")  # type: ignore[union-attr]


async def test_class_rules_follow_the_selection_and_skip_incompatible_points(tmp_path: Path) -> None:
    sel = FakeSelections({"boiler1.temp", "boiler1.pressure"})
    class_rule = ClassRule(Selector(classes=("brick:Temperature_Sensor",)), rule(name="hot", high=q(86, "DEG_F")))
    h = Harness(tmp_path, class_alarms=[class_rule], selections=sel)
    engine = await h.start()
    assert [a.id for a in engine.alarms()] == ["boiler1.temp/hot"]  # the bar point is skipped (logged once)
    h.push("temp_f", 90.0)
    assert h.transitions() == []
    sel.added({"boiler1.temp_f"})  # a point that starts matching at run time, already above the limit
    assert h.transitions() == [("boiler1.temp_f/hot", T.ACTIVATED)]


async def test_rules_added_at_run_time(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = build(h.ctx)
    assert engine is not None and h.ctx.alarms is engine
    engine.add_rules("boiler1.score", [rule(K.ANOMALY, threshold=0.9)])  # before start: queued
    h.engine = engine
    await h.start()
    assert engine.add_rules("boiler1.run", [rule(K.DISCRETE, values=(True,))]) == ["boiler1.run/discrete"]
    assert engine.add_rules("boiler1.run", [rule(K.DISCRETE, values=(True,))]) == []  # same name: once
    h.push("score", 0.95)
    h.push("run", True)
    assert h.transitions() == [("boiler1.score/anomaly", T.ACTIVATED), ("boiler1.run/discrete", T.ACTIVATED)]


async def test_an_engine_without_rules_adopts_those_of_points_discovered_later(tmp_path: Path) -> None:
    h = Harness(tmp_path)
    engine = await h.start()
    assert build(h.ctx) is not None  # built even with no rules yet
    assert engine.alarms() == []
    h.ctx.spec.alarms["boiler1.temp"] = (rule(high=q(85)),)  # what the loader merges for a discovered point
    engine.adopt(["boiler1.temp"])
    h.push("temp", 90.0)
    snap = engine.alarm("boiler1.temp/limit")
    assert snap is not None and snap.active


async def test_a_full_feed_drops_the_oldest_and_counts(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = await h.start()
    small = engine.subscribe(maxsize=2)
    for v in (90.0, 80.0, 90.0):
        h.push("temp", v)
    got = await small.get(timeout=0)
    assert [e.transition for e in got] == [T.CLEARED, T.ACTIVATED] and small.dropped == 1
    assert engine.stats()["feed_dropped"] >= 1
    await engine.stop()
    assert await small.get(timeout=1) == []  # closed


async def test_journal_in_memory_without_a_history_store(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = await h.start()
    h.push("temp", 90.0)
    h.now += 1
    engine.acknowledge(TEMP, actor="op")
    entries = engine.journal(alarm_ids=[TEMP])
    assert [(e.transition, e.actor) for e in entries] == [(T.ACTIVATED, None), (T.ACKNOWLEDGED, "op")]
    assert engine.journal(alarm_ids=["other"]) == []
    assert engine.journal(start=entries[-1].time) == entries[-1:]


async def test_a_restart_keeps_condition_states(tmp_path: Path) -> None:
    rules = {"boiler1.temp": (rule(high=q(85)),), "boiler1.run": (rule(K.DISCRETE, values=(True,)),)}
    h = Harness(tmp_path, rules)
    engine = await h.start()
    h.push("temp", 90.0)
    h.push("run", True)
    engine.acknowledge("boiler1.run/discrete", actor="op", comment="known")
    engine.shelve(TEMP, actor="op", duration=3600)
    before = engine.alarm(TEMP)
    await engine.stop()

    again = Harness(tmp_path, rules)
    engine = await again.start()
    temp, run = engine.alarm(TEMP), engine.alarm("boiler1.run/discrete")
    assert temp is not None and run is not None and before is not None
    assert (temp.active, temp.acked, temp.limit_state, temp.shelved) == (True, False, "High", "timed")
    assert (temp.active_since, temp.unshelve_at, temp.event_id) == (
        before.active_since,
        before.unshelve_at,
        before.event_id,
    )
    assert (run.active, run.acked, run.last_actor, run.last_comment) == (True, True, "op", "known")
    again.push("temp", 91.0)  # still above: no new activation
    assert again.transitions() == []
    assert engine.acknowledge(TEMP, actor="op", event_id=before.event_id).ok

"""Each alarm kind through the engine, with a fake clock: limits with deadband and delays, unit conversion,
deviation, discrete, rate, stale, quality, anomaly, and Bad input."""

from __future__ import annotations

from pathlib import Path

from gateway.analytics.model import Transition as T
from gateway.rules.spec import AlarmKind as K
from tests.unit.gateway.analytics.alarm_harness import Harness, q, rule

TEMP = "boiler1.temp/limit"


async def test_limit_levels_with_deadband(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85), high_high=q(95), low=q(10), deadband=q(1, "K")),)})
    engine = await h.start()
    h.push("temp", 84.0)
    h.push("temp", 85.0)  # at the limit is not above it
    assert h.transitions() == []
    h.push("temp", 86.0)
    assert h.transitions() == [(TEMP, T.ACTIVATED)]
    assert engine.alarm(TEMP).limit_state == "High"  # type: ignore[union-attr]
    h.push("temp", 96.0)
    h.push("temp", 94.5)  # within the deadband of HighHigh
    assert h.transitions() == [(TEMP, T.LEVEL)]
    assert engine.alarm(TEMP).limit_state == "HighHigh"  # type: ignore[union-attr]
    h.push("temp", 93.9)
    h.push("temp", 84.5)  # within the deadband of High
    events = h.events()
    assert [e.transition for e in events] == [T.LEVEL] and events[0].alarm.limit_state == "High"
    h.push("temp", 84.0)  # high - deadband: normal
    assert h.transitions() == [(TEMP, T.CLEARED)]
    h.push("temp", 9.0)
    assert engine.alarm(TEMP).limit_state == "Low"  # type: ignore[union-attr]


async def test_a_fahrenheit_threshold_applies_to_a_celsius_point(tmp_path: Path) -> None:
    # 86 °F = 30 °C; a deadband of 0.9 °F is 0.5 K (a difference: no offset)
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(86, "DEG_F"), deadband=q(0.9, "DEG_F")),)})
    await h.start()
    h.push("temp", 29.9)
    assert h.transitions() == []
    h.push("temp", 30.1)
    assert h.transitions() == [(TEMP, T.ACTIVATED)]
    h.push("temp", 29.6)  # above 30 - 0.5
    assert h.transitions() == []
    h.push("temp", 29.5)
    assert h.transitions() == [(TEMP, T.CLEARED)]


async def test_on_and_off_delays(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85), on_delay=10.0, off_delay=5.0),)})
    await h.start()
    h.push("temp", 90.0)
    h.tick(4.0)
    h.push("temp", 80.0)  # a spike shorter than the on delay
    h.tick(20.0)
    assert h.transitions() == []
    h.push("temp", 90.0)
    h.tick(9.0)
    assert h.transitions() == []
    h.tick(1.5)
    assert h.transitions() == [(TEMP, T.ACTIVATED)]
    h.push("temp", 80.0)
    h.tick(4.0)
    assert h.transitions() == []
    h.push("temp", 81.0, dt=2.0)  # still normal, and now 6 s after it returned: decided by the sample itself
    assert h.transitions() == [(TEMP, T.CLEARED)]


async def test_deviation_from_a_setpoint_point(tmp_path: Path) -> None:
    dev = rule(K.DEVIATION, setpoint="boiler1.sp", high=q(5, "K"), low=q(9, "DEG_F"))  # 9 °F below = 5 K
    h = Harness(tmp_path, {"boiler1.temp": (dev,)})
    engine = await h.start()
    h.push("temp", 90.0)  # no setpoint yet: nothing to compare with
    h.push("sp", 70.0)
    assert h.transitions() == [("boiler1.temp/deviation", T.ACTIVATED)]
    h.push("sp", 88.0)  # the setpoint moved: 2 K away
    assert h.transitions() == [("boiler1.temp/deviation", T.CLEARED)]
    h.push("temp", 82.9)
    assert engine.alarm("boiler1.temp/deviation").limit_state == "Low"  # type: ignore[union-attr]


async def test_discrete_and_anomaly(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        {
            "boiler1.run": (rule(K.DISCRETE, values=(False,)),),
            "boiler1.score": (rule(K.ANOMALY, threshold=0.9),),
        },
    )
    await h.start()
    h.push("run", True)
    h.push("score", 0.5)
    assert h.transitions() == []
    h.push("run", False)
    h.push("score", 0.95)
    assert h.transitions() == [("boiler1.run/discrete", T.ACTIVATED), ("boiler1.score/anomaly", T.ACTIVATED)]
    h.push("run", True)
    assert h.transitions() == [("boiler1.run/discrete", T.CLEARED)]


async def test_rate_of_change_between_samples(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(K.RATE, rate=q(2, "K"), rate_per=60.0),)})  # 2 K/min
    await h.start()
    h.push("temp", 50.0, dt=10.0)
    h.push("temp", 50.3, dt=10.0)  # 1.8 K/min
    assert h.transitions() == []
    h.push("temp", 49.6, dt=10.0)  # falling 4.2 K/min
    assert h.transitions() == [("boiler1.temp/rate", T.ACTIVATED)]
    h.push("temp", 49.6, dt=10.0)
    assert h.transitions() == [("boiler1.temp/rate", T.CLEARED)]


async def test_stale_from_the_last_applied_state(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(K.STALE, timeout=30.0),)})
    await h.start()
    h.tick(20.0)
    h.push("temp", 50.0)
    h.tick(29.0)
    assert h.transitions() == []
    h.tick(2.0)
    assert h.transitions() == [("boiler1.temp/stale", T.ACTIVATED)]
    h.push("temp", 50.0)
    assert h.transitions() == [("boiler1.temp/stale", T.CLEARED)]


async def test_quality_bad_for_longer_than_a_time(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(K.QUALITY, bad_for=60.0), rule(high=q(85)))})
    await h.start()
    h.push("temp", 50.0)
    h.push("temp", None, status="BadNotConnected")
    h.tick(30.0)
    assert h.transitions() == [("boiler1.temp/limit", T.SUPPRESSED)]
    h.tick(31.0)
    [activated] = h.events()
    assert (activated.alarm.id, activated.transition) == ("boiler1.temp/quality", T.ACTIVATED)
    assert activated.alarm.value == "BadNotConnected"
    assert activated.alarm.message == "Boiler 1: Supply temperature Bad for 60 s"
    h.push("temp", 90.0)
    assert h.transitions() == [
        ("boiler1.temp/quality", T.CLEARED),
        ("boiler1.temp/limit", T.UNSUPPRESSED),
        ("boiler1.temp/limit", T.ACTIVATED),
    ]


async def test_bad_input_is_not_evaluated_and_suppresses(tmp_path: Path) -> None:
    h = Harness(tmp_path, {"boiler1.temp": (rule(high=q(85)),)})
    engine = await h.start()
    h.push("temp", 90.0, status="BadWaitingForInitialData")  # no data yet: neither judged nor suppressed
    assert h.transitions() == []
    h.push("temp", 90.0, status="BadSensorFailure")
    assert h.transitions() == [(TEMP, T.SUPPRESSED)]
    assert engine.alarm(TEMP).suppressed  # type: ignore[union-attr]
    h.push("temp", 90.0, status="UncertainLastUsableValue")  # Uncertain is evaluated
    assert h.transitions() == [(TEMP, T.UNSUPPRESSED), (TEMP, T.ACTIVATED)]


async def test_a_rule_that_cannot_apply_is_skipped(tmp_path: Path) -> None:
    h = Harness(
        tmp_path,
        {
            "boiler1.pressure": (rule(high=q(85)),),  # °C on a bar point
            "boiler1.run": (rule(high=q(1)),),  # a unit on a unitless point
            "boiler1.temp": (rule(high=q(85)), rule(K.DEVIATION, setpoint="boiler1.pressure", high=q(1, "K"))),
        },
    )
    engine = await h.start()
    assert [a.id for a in engine.alarms()] == [TEMP]
    assert engine.stats()["skipped_rules"] == 3

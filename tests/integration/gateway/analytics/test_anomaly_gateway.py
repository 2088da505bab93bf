"""Anomaly detection on a running gateway (sim source -> twin -> anomaly engine -> score point -> alarm).

A point's detector, written in the mapping, learns a sine; a written value far off it (the sim holds it) makes
the score point go above the threshold and the ANOMALY alarm active. A restart with the same state folder keeps
the learned baseline. A class detector adds score points at run time.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from adapters.contract.sample import Quality
from gateway.analytics.anomaly.engine import AnomalyEngine
from gateway.analytics.anomaly.seasonal import SeasonalDetector
from gateway.analytics.model import alarms_of
from gateway.config.loader import load_mappings
from gateway.runtime import Gateway
from tests.conftest import wait_for

INPUT = "boiler1.temp"
SCORE = "boiler1.temp_anomaly"
DETECTOR = "{season: none, params: {warmup: 40, local: 5}}"  # a 2 s sine at 10 ms: learn in seconds, not days


def mapping(folder: Path, extra: str = "") -> str:
    return f"""\
twin: {{name: t, base_iri: "http://t.local/", flush_interval: 50ms}}
analytics: {{state: "{folder}"}}
sources:
  - {{id: sim1, kind: sim, interval: 10ms, seed: 1}}
assets:
  - id: boiler1
    type: brick:Boiler
    label: Boiler 1
    source: sim1
    points:
      - {{id: temp, label: Supply temperature, class: brick:Supply_Water_Temperature_Sensor, unit: DEG_C,
         datatype: double, writable: true, address: {{signal: sine, offset: 60, amplitude: 1, period: 2s}},
         anomaly: {DETECTOR}}}
      - {{id: flow, label: Flow, class: brick:Water_Flow_Sensor, unit: M3-PER-HR, datatype: double,
         address: {{signal: sine, offset: 5, amplitude: 0.5, period: 3s}}}}
{extra}"""


@asynccontextmanager
async def running(text: str) -> AsyncIterator[tuple[Gateway, AnomalyEngine]]:
    gw = Gateway(load_mappings(["m.yaml"], texts={"m.yaml": text}))
    await gw.start(services=False)
    try:
        engine = gw.analytics.engines["anomaly"]
        assert isinstance(engine, AnomalyEngine)
        yield gw, engine
    finally:
        await gw.stop()


def seasonal(engine: AnomalyEngine, point: str) -> SeasonalDetector:
    detector = engine.detector(point)
    assert isinstance(detector, SeasonalDetector)
    return detector


async def test_a_spike_raises_the_score_and_the_anomaly_alarm(tmp_path: Path) -> None:
    async with running(mapping(tmp_path)) as (gw, engine):
        twin = gw.twin
        await wait_for(lambda: seasonal(engine, INPUT).count > 120, what="the detector learning the sine")
        threshold = SeasonalDetector.default_threshold
        score = twin.state(SCORE)
        assert score.quality is Quality.GOOD and 0.0 <= score.value < threshold  # type: ignore[operator]
        assert score.source_ts is not None and score.source_ts <= twin.state(INPUT).source_ts  # type: ignore[operator]
        result = await gw.write(INPUT, 90.0)  # the sim holds the written value: 30 K off the learned sine
        assert result.status == "Good"
        await wait_for(lambda: float(twin.state(SCORE).value or 0) > threshold, what="the score above threshold")
        service = alarms_of(gw.view)
        assert service is not None
        await wait_for(
            lambda: (a := service.alarm(f"{SCORE}/anomaly")) is not None and a.active, what="the anomaly alarm"
        )
        assert engine.stats()["dropped"] == 0


async def test_a_restart_keeps_the_learned_baseline(tmp_path: Path) -> None:
    async with running(mapping(tmp_path)) as (_, engine):
        await wait_for(lambda: seasonal(engine, INPUT).count > 150, what="the detector learning")
    saved = seasonal(engine, INPUT)  # the worker saved its state at stop
    learned, level = saved.count, saved.level
    async with running(mapping(tmp_path)) as (_, engine):
        again = seasonal(engine, INPUT)
        # a fresh detector would start from zero and score nothing during its warm-up
        assert again.count >= learned
        assert abs(again.level - level) < 1.0
        assert again.warmup == 40 and again.local == 5


async def test_a_class_detector_adds_score_points_at_run_time(tmp_path: Path) -> None:
    extra = """anomaly:
  - select: {class: brick:Water_Flow_Sensor}
    season: none
    params: {warmup: 20, local: 5}
"""
    async with running(mapping(tmp_path, extra)) as (gw, _):
        assert "boiler1.flow_anomaly" in gw.model.points
        point = gw.model.points["boiler1.flow_anomaly"]
        assert point.source == "analytics" and point.unit == "UNITLESS"
        await wait_for(lambda: gw.twin.state("boiler1.flow_anomaly").quality is Quality.GOOD, what="flow scored")
        service = alarms_of(gw.view)
        assert service is not None and service.alarm("boiler1.flow_anomaly/anomaly") is not None

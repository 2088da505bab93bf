"""Analytics: derived points and alarms on the ingest path, the anomaly detector, detection quality.

    python -m bench analytics [--quick]

Part 1 (rules): a plant of 10,000 boilers (``--quick``: 500), each with supply and return temperature and flow,
a derived thermal power ``flow * (supply - return) * 1.163 [KiloW-HR/(M3*K)]`` and a limit alarm on the supply
temperature (high 85 °C, high-high 95 °C, deadband 1 K): 10,000 derived points and 10,000 alarm rules, loaded
from a mapping like any other. Input changes (0.1 % of them above the limits) are applied in batches of 100, the
event loop running between batches as it does between polls; in two orders: random inputs of random boilers
(one evaluation per change, the worst case) and a boiler's three inputs together (one poll of its block). Same
run, same model: ``twin.apply`` without analytics, then with the analytics service listening (``on_state``
inline; the derived engine's passes and the alarm evaluations run between batches). Baseline: the same rules
evaluated by re-running a SPARQL query per change (apply, flush the live graph, query the boiler's power and
limit state), on a subset of changes.
Part 2 (detector): samples/s of the default anomaly detector (seasonal) scoring in batches, against the optional
Half-Space Trees (river) when installed.
Part 3 (quality): precision, recall and delay on NAB and the demo's injected faults against a static threshold
(bench/_analytics_quality.py).
"""

from __future__ import annotations

import asyncio
import gc
import random
import sys
import time
from collections.abc import Sequence
from datetime import UTC, datetime

from adapters.contract.sample import Quality, Sample
from bench._analytics_quality import HEADERS as QUALITY_HEADERS
from bench._analytics_quality import quality_table
from bench.common import table
from gateway.analytics.anomaly.detectors import DetectorError, make_detector
from gateway.analytics.service import Analytics
from gateway.config.loader import load_mappings
from gateway.model import TwinModel
from gateway.twin.twin import Twin
from gateway.twin.view import TwinView

BATCH = 100  # samples applied between two turns of the event loop (one poll's worth)
POWER = "flow * (supply - return) * 1.163 [KiloW-HR/(M3*K)]"
ALARM = "{limit: {high: 85 °C, high_high: 95 °C, deadband: 1 K}, severity: 700}"


def plant_text(boilers: int) -> str:
    """A mapping of ``boilers`` boilers on a sim source: 3 inputs, 1 derived point and 1 alarm rule each."""
    lines = [
        "twin: {name: bench-analytics, base_iri: 'http://bench.local/'}",
        "sources:",
        "  - {id: sim, kind: sim, interval: 1s}",
        "assets:",
        "  - {id: site, type: site, label: Site}",
    ]
    for i in range(boilers):
        lines += [
            f"  - id: b{i}",
            "    type: brick:Boiler",
            "    parent: site",
            "    source: sim",
            "    points:",
            "      - {id: supply, class: brick:Supply_Water_Temperature_Sensor, unit: DEG_C,",
            f"         address: {{signal: constant, initial: 70}}, alarms: [{ALARM}]}}",
            "      - {id: return, class: brick:Return_Water_Temperature_Sensor, unit: DEG_C,",
            "         address: {signal: constant, initial: 58}}",
            "      - {id: flow, class: brick:Water_Flow_Sensor, unit: M3-PER-HR,",
            "         address: {signal: constant, initial: 3.2}}",
            f'      - {{id: power, class: brick:Thermal_Power_Sensor, unit: KiloW, expr: "{POWER}"}}',
        ]
    return "\n".join(lines) + "\n"


def changes(boilers: int, n: int, *, grouped: bool = False, seed: int = 5) -> list[Sample]:
    """``n`` input changes of random boilers (``grouped``: a boiler's three inputs together, as one poll of its
    register block delivers them); about 0.3 % of supply values cross the alarm limits."""
    rng = random.Random(seed)
    now = datetime.now(UTC)
    out = []
    b = 0
    for i in range(n):
        kind = i % 3 if grouped else rng.randrange(3)
        if not grouped or kind == 0:
            b = rng.randrange(boilers)
        if kind == 0:
            pid, value = f"b{b}.supply", rng.uniform(86, 99) if rng.random() < 0.003 else rng.uniform(60, 80)
        elif kind == 1:
            pid, value = f"b{b}.return", rng.uniform(50, 60)
        else:
            pid, value = f"b{b}.flow", rng.uniform(2.5, 4.0)
        out.append(Sample(pid, value, now, Quality.GOOD, "Good", None, "sim"))
    return out


def initial(boilers: int) -> list[Sample]:
    """One value for every input, so each derived point has its inputs before the timed runs."""
    now = datetime.now(UTC)
    vals = {"supply": 70.0, "return": 58.0, "flow": 3.2}
    return [
        Sample(f"b{i}.{k}", v, now, Quality.GOOD, "Good", None, "sim") for i in range(boilers) for k, v in vals.items()
    ]


async def timed_apply(twin: Twin, samples: Sequence[Sample]) -> tuple[float, float]:
    """(seconds in ``twin.apply`` calls, seconds in all), batches of ``BATCH`` with the loop turning between."""
    apply = twin.apply
    in_apply = 0.0
    gc.collect()
    t0 = time.perf_counter()
    for i in range(0, len(samples), BATCH):
        t = time.perf_counter()
        for s in samples[i : i + BATCH]:
            apply(s)
        in_apply += time.perf_counter() - t
        await asyncio.sleep(0)  # the derived engine's pass runs here (call_soon)
    await asyncio.sleep(0)
    return in_apply, time.perf_counter() - t0


def sparql_query(twin: Twin, boiler: str) -> str:
    """The baseline's rule: the boiler's thermal power and whether its supply is above 85 °C, from the graph."""
    ids = twin.ids
    s, r, f = (ids.point(f"{boiler}.{k}") for k in ("supply", "return", "flow"))
    return (
        "PREFIX tb: <https://w3id.org/twinbridge#>\n"
        f"SELECT ?power ?high WHERE {{ <{s}> tb:value ?s . <{r}> tb:value ?r . <{f}> tb:value ?f .\n"
        "  BIND(?f * (?s - ?r) * 1.163 AS ?power) BIND(?s > 85 AS ?high) }"
    )


def sparql_baseline(twin: Twin, samples: Sequence[Sample]) -> float:
    """Seconds per change: apply, flush the live values into the graph, re-run the rule's query."""
    queries = {s.point: sparql_query(twin, s.point.split(".")[0]) for s in samples}
    t0 = time.perf_counter()
    for s in samples:
        twin.apply(s)
        twin.flush()
        rows = list(twin.query_sync(queries[s.point]))
        assert rows, "the baseline query found no values"
    return (time.perf_counter() - t0) / len(samples)


async def rules(quick: bool) -> tuple[list[list[object]], dict[str, float]]:
    boilers = 100 if quick else 10_000
    n = 4_000 if quick else 300_000
    t = time.perf_counter()
    model: TwinModel = load_mappings(["bench-analytics.yaml"], texts={"bench-analytics.yaml": plant_text(boilers)})
    load_s = time.perf_counter() - t
    spec = model.analytics
    assert spec is not None and len(spec.derived) == boilers and sum(map(len, spec.alarms.values())) == boilers
    scenarios = {"random inputs": changes(boilers, n), "a boiler's inputs together": changes(boilers, n, grouped=True)}
    twin = Twin(model)
    for s in initial(boilers):
        twin.apply(s)
    # without analytics, then with: best of three each
    plain = {k: min([await timed_apply(twin, v) for _ in range(3)], key=lambda r: r[1]) for k, v in scenarios.items()}
    analytics = Analytics(model)
    view = TwinView(twin)
    await analytics.start(view, apply=twin.apply, add_points=lambda pts: [])
    twin.add_state_listener(analytics.on_state)
    with_: dict[str, tuple[float, float]] = {}
    evals: dict[str, float] = {}
    try:
        await timed_apply(twin, initial(boilers))  # every derived point evaluated once, conditions seeded
        derived = analytics.engines["derived"]
        alarms = analytics.engines["alarms"]
        for k, v in scenarios.items():
            evals0 = derived.stats()["evaluations"]  # type: ignore[attr-defined]
            with_[k] = min([await timed_apply(twin, v) for _ in range(3)], key=lambda r: r[1])
            evals[k] = (derived.stats()["evaluations"] - evals0) / 3 / n  # type: ignore[attr-defined]
        alarm_stats = alarms.stats()  # type: ignore[attr-defined]
    finally:
        await analytics.stop(view)
    sub = scenarios["random inputs"][: 20 if quick else 500]
    sparql_s = sparql_baseline(twin, sub)
    twin.close()
    rows: list[list[object]] = []
    for k in scenarios:
        added = (with_[k][1] - plain[k][1]) / n
        rows += [
            [
                f"{k}: twin.apply without analytics (reference)",
                f"{n / plain[k][1]:,.0f}",
                f"{plain[k][1] / n * 1e6:.2f}",
                "",
            ],
            [
                f"{k}: analytics on_state inline",
                "",
                f"{(with_[k][0] - plain[k][0]) / n * 1e6:.2f}",
                "added ingest cost",
            ],
            [
                f"{k}: analytics on_state + evaluation passes + alarms",
                f"{1 / added:,.0f}",
                f"{added * 1e6:.2f}",
                f"{evals[k]:.2f} evaluations per change; baseline {sparql_s / added:,.0f}x slower",
            ],
            [
                f"{k}: twin.apply with analytics, whole path",
                f"{n / with_[k][1]:,.0f}",
                f"{with_[k][1] / n * 1e6:.2f}",
                "",
            ],
        ]
    rows.append(
        [
            f"baseline: SPARQL query per change (apply + flush + query; {len(sub)} random changes)",
            f"{1 / sparql_s:,.0f}",
            f"{sparql_s * 1e6:.1f}",
            "",
        ]
    )
    figures = {
        "load_s": load_s,
        "alarm_transitions": float(alarm_stats.get("transitions", 0)),
        "changes": float(n),
        "boilers": float(boilers),
    }
    return rows, figures


def detector_rate(name: str, n: int, batch: int) -> float | None:
    """Samples/s of one detector scoring a 1 Hz supply temperature in batches of ``batch`` (None: not installed)."""
    rng = random.Random(9)
    t0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
    times = [t0 + i for i in range(n)]
    values = [70 + 5 * (i % 3600) / 3600 + rng.gauss(0, 0.2) for i in range(n)]
    try:
        det = make_detector(name)
    except DetectorError:
        return None
    det.score(times[:batch], values[:batch])  # first call: any lazy set-up outside the timing
    gc.collect()
    start = time.perf_counter()
    for i in range(batch, n, batch):
        det.score(times[i : i + batch], values[i : i + batch])
    return (n - batch) / (time.perf_counter() - start)


def detectors(quick: bool) -> list[list[object]]:
    n = 4_000 if quick else 500_000
    rows: list[list[object]] = []
    for name, label in (("seasonal", "seasonal (default)"), ("hst", "baseline: Half-Space Trees (river)")):
        for batch in (100, 1_000) if quick else (100, 10_000):
            rate = detector_rate(name, max(n if name == "seasonal" else n // 10, 3 * batch), batch)
            rows.append([label, batch, "not installed" if rate is None else f"{rate:,.0f}"])
    return rows


def main(argv: list[str]) -> int:
    quick = "--quick" in argv
    rule_rows, figures = asyncio.run(rules(quick))
    print(
        f"### Derived points and alarms on the ingest path ({figures['boilers']:,.0f} derived points and as many "
        f"alarm rules; {figures['changes']:,.0f} input changes, "
        f"batches of {BATCH}; mapping loaded in {figures['load_s']:.1f} s; "
        f"{figures['alarm_transitions']:,.0f} alarm transitions)\n"
    )
    print(table(["path", "changes/s", "µs per change", "note"], rule_rows))
    print("\n### Anomaly detector throughput (one core, scoring and learning)\n")
    print(table(["detector", "batch", "samples/s"], detectors(quick)))
    print("\n### Detection quality (NAB + the demo's injected faults) against a static threshold\n")
    print(table(QUALITY_HEADERS, quality_table(quick)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))

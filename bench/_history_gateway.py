"""What history costs the running gateway: CPU per ingested sample with history on and off, in one run.

The gateway is the whole path (sim adapters under their supervisors, pipeline, twin, live flushes) on a
synthetic plant; history on records every sample (mode all) into the embedded store with a 1 s flush and an
upkeep (compaction, roll-ups) falling inside each run. Runs alternate off/on/off/on so drift on a shared machine
hits both; the CPU time is the whole process's (every thread, the recorder's included). Also reported: the
longest flush (on the writer thread; the event loop only appends a tuple per sample).
"""

from __future__ import annotations

import asyncio
import time

from adapters.sim.config import SimSourceConfig
from bench.common import synthetic_model, table
from gateway.runtime import Gateway


async def _run(n_points: int, seconds: float, interval: float, history: bool, upkeep: float) -> dict[str, float]:
    model = synthetic_model(n_points)
    for sid in list(model.sources):
        model.sources[sid] = SimSourceConfig(id=sid, interval=interval, seed=1)
    mode = {"mode": "all", "upkeep_interval": upkeep} if history else {"mode": "off"}
    model.settings = model.settings.model_copy(update={"history": mode})
    gw = Gateway(model)
    await gw.start(services=False)
    await asyncio.sleep(min(1.0, seconds / 4))  # connect and first samples (1 s; less in the short quick runs)
    s0, cpu0, t0 = gw.twin.samples_applied, time.process_time(), time.perf_counter()
    await asyncio.sleep(seconds)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    samples = gw.twin.samples_applied - s0
    stats = gw.history.stats()
    await gw.stop()
    return {
        "samples": samples,
        "us_per_sample": cpu / max(1, samples) * 1e6,
        "samples_per_s": samples / elapsed,
        "max_flush_ms": stats.get("max_flush_seconds", 0.0) * 1000,
        "recorded": stats.get("recorded", 0),
    }


def gateway_cost(quick: bool) -> None:
    # each run long enough for an upkeep (compaction) to fall in it: the default 60 s in full mode
    n_points, seconds, interval, upkeep = (300, 1.0, 0.1, 0.5) if quick else (2_000, 65.0, 0.1, 60.0)
    order = (False, True) if quick else (False, True, False, True)  # quick: one run each
    runs = {False: [], True: []}  # type: dict[bool, list[dict[str, float]]]
    for history in order:
        runs[history].append(asyncio.run(_run(n_points, seconds, interval, history, upkeep)))
    rows = []
    for history in (False, True):
        r = runs[history]
        us = sum(x["us_per_sample"] for x in r) / len(r)
        rows.append(
            [
                "on (mode all)" if history else "off",
                f"{sum(x['samples_per_s'] for x in r) / len(r):,.0f}",
                f"{us:.1f}",
                f"{max(x['max_flush_ms'] for x in r):.1f}" if history else "",
                f"{sum(x['recorded'] for x in r):,.0f}" if history else "",
            ]
        )
    off = sum(x["us_per_sample"] for x in runs[False]) / len(runs[False])
    on = sum(x["us_per_sample"] for x in runs[True]) / len(runs[True])
    runs_text = "/".join("on" if h else "off" for h in order)
    print(
        f"\nrunning gateway: {n_points:,} sim points polled every {interval:g} s, {seconds:g} s per run (upkeep every "
        f"{upkeep:g} s), "
        f"runs {runs_text}; history adds {100 * (on - off) / off:+.1f} % CPU per sample"
    )
    print(table(["history", "samples/s", "CPU µs/sample", "longest flush ms (writer thread)", "rows recorded"], rows))

"""Where the page's main thread spends its time: a Chromium trace of a few seconds, summed by kind of work.

Taken after the measured window (tracing slows the page a little, so the lags are never measured under it).
Each trace event's own time (its duration less that of the events nested in it) goes to one kind: script,
style, layout, paint (pre-paint, paint, layerize, commit), garbage collection, or other work of a task.
"""

from __future__ import annotations

import json
import tempfile
import time
from collections import Counter
from pathlib import Path
from typing import Any

CATEGORIES = ["devtools.timeline", "disabled-by-default-devtools.timeline", "v8.execute"]
KINDS = ("script", "style", "layout", "paint", "gc", "other")
_KIND_OF = {
    "Layout": "layout",
    "UpdateLayoutTree": "style",
    "RecalculateStyles": "style",
    "PrePaint": "paint",
    "Paint": "paint",
    "Layerize": "paint",
    "Commit": "paint",
    "UpdateLayer": "paint",
    "FunctionCall": "script",
    "FireAnimationFrame": "script",
    "RunMicrotasks": "script",
    "TimerFire": "script",
    "EvaluateScript": "script",
    "v8.compile": "script",
    "v8.run": "script",
    "MinorGC": "gc",
    "MajorGC": "gc",
}


def kind(name: str) -> str:
    if name in _KIND_OF:
        return _KIND_OF[name]
    if name.startswith("V8.GC"):
        return "gc"
    if name.startswith(("V8.", "v8.")):
        return "script"
    return "other"


def main_thread_profile(chromium: Any, page: Any, seconds: float) -> dict[str, float]:
    """ms per second of wall time the renderer's main thread spent in each kind of work, ``busy`` (all of it)
    and ``frames`` (animation frames per second), over ``seconds`` of tracing."""
    with tempfile.TemporaryDirectory(prefix="bench-dashboard-trace-") as d:
        path = Path(d) / "trace.json"
        chromium.start_tracing(page=page, path=str(path), categories=CATEGORIES)
        time.sleep(seconds)
        chromium.stop_tracing()
        doc = json.loads(path.read_text())
    events = doc["traceEvents"] if isinstance(doc, dict) else doc
    return summarise(events, seconds)


def summarise(events: list[dict[str, Any]], seconds: float) -> dict[str, float]:
    frames = Counter((e["pid"], e["tid"]) for e in events if e.get("name") == "FireAnimationFrame")
    tasks = Counter((e["pid"], e["tid"]) for e in events if e.get("name") == "RunTask")
    thread = (frames or tasks).most_common(1)[0][0] if (frames or tasks) else None
    spans = sorted(  # parents before the events nested in them
        (e["ts"], -(e["ts"] + e["dur"]), e["name"]) for e in events
         if (e.get("pid"), e.get("tid")) == thread and e.get("ph") == "X" and e.get("dur")
    )  # fmt: skip
    own: Counter[str] = Counter()
    busy = 0.0
    stack: list[list[Any]] = []  # [end, name, time of the events nested in it, start]

    def close(until: float) -> None:
        while stack and stack[-1][0] <= until:
            end, name, nested, start = stack.pop()
            own[kind(name)] += (end - start) - nested
            if stack:
                stack[-1][2] += end - start

    for start, neg_end, name in spans:
        close(start)
        if not stack:
            busy += -neg_end - start
        stack.append([-neg_end, name, 0.0, start])
    close(float("inf"))
    out = {k: own[k] / 1000 / seconds for k in KINDS}
    out["busy"] = busy / 1000 / seconds
    out["frames"] = frames[thread] / seconds if thread else 0.0
    return out

"""What ``bench dashboard`` runs inside the page: the browser's own clock measures, Python only collects.

``INIT`` is added to every document before the page's scripts (Playwright ``add_init_script``; CSP does not
apply to it). It sets ``window.__bench``:

* ``tree``: the first ``#tree li[data-asset]`` that is visible after a frame's layout: ``inserted`` (ms since
  navigation start, when a MutationObserver saw it) and ``painted`` (the task after the frame that drew it);
* ``afterPaint(cb)``: calls ``cb(now)`` once the change just made is painted. ``requestAnimationFrame`` is
  wrapped so that a change made inside a frame's callbacks (the dashboard's live updates are: api.js hands
  states over once per animation frame) is stamped right after that frame, a change made elsewhere after the
  next frame;
* ``startLive(asset)`` / ``stopLive()``: the live-update probe. One MutationObserver on ``table#points`` for
  ``data-source-time`` (every value cell the dashboard updates) and, in the same page at the same time, a bare
  reader of ``/stream?asset=`` (fetch, the SSE blocks split, ``JSON.parse``, no DOM work): lag = wall clock
  after the paint (dashboard) or at the parse (reader) minus the value's source time. Both on the machine's one
  wall clock (the gateway's source times and ``performance.timeOrigin + performance.now()``).
"""

from __future__ import annotations

INIT = r"""
(() => {
  const now = () => performance.timeOrigin + performance.now();
  const raf = window.requestAnimationFrame.bind(window);
  let inFrame = 0;
  window.requestAnimationFrame = (cb) => raf((ts) => {
    inFrame += 1;
    try { cb(ts); } finally { queueMicrotask(() => { inFrame -= 1; }); }
  });
  function afterTask(cb) {
    const ch = new MessageChannel();
    ch.port1.onmessage = () => cb(now());
    ch.port2.postMessage(0);
  }
  function afterPaint(cb) {
    if (inFrame > 0) afterTask(cb);  // painted at the end of this frame
    else raf(() => afterTask(cb));   // painted with the next frame
  }
  function sourceMs(iso) {  // "2026-01-02T03:04:05.123456+00:00" with microseconds
    const m = /^(.*?:\d\d)(?:\.(\d+))?(Z|[+-]\d\d:\d\d)?$/.exec(iso);
    if (!m) return NaN;
    return Date.parse(m[1] + (m[3] || "Z")) + (m[2] ? Number("0." + m[2]) * 1000 : 0);
  }
  const bench = { tree: null, live: null, afterPaint, sourceMs, now };
  window.__bench = bench;

  // -- the tree's first paint
  const treeWatch = new MutationObserver(() => {
    if (bench.tree || !document.querySelector("#tree li[data-asset]")) return;
    const inserted = performance.now();
    treeWatch.disconnect();
    raf(() => {
      const li = document.querySelector("#tree li[data-asset]");
      if (!li || !li.checkVisibility()) {  // not shown yet: keep watching
        treeWatch.observe(document, { childList: true, subtree: true, attributes: true });
        return;
      }
      afterTask(() => { bench.tree = { inserted, painted: performance.now() }; });
    });
  });
  treeWatch.observe(document, { childList: true, subtree: true, attributes: true });

  // -- live updates
  bench.startLive = (asset) => {
    const live = { dash: [], dashCells: 0, base: [], baseDropped: 0, longTasks: 0, longTaskMs: 0, t0: now() };
    bench.live = live;
    const table = document.querySelector("table#points");
    live.dashCells = table ? table.querySelectorAll("td.value[data-source-time]").length : 0;
    const shown = new WeakMap();
    live.observer = new MutationObserver((records) => {
      const seen = new Set();
      const batch = [];
      for (const r of records) {
        if (seen.has(r.target)) continue;  // changed twice in one batch: the last value is the one shown
        seen.add(r.target);
        const iso = r.target.getAttribute("data-source-time");
        if (shown.get(r.target) === iso) continue;  // the same value set again: not an update
        shown.set(r.target, iso);
        batch.push(sourceMs(iso));
      }
      afterPaint((t) => { for (const s of batch) live.dash.push(t - s); });
    });
    if (table) live.observer.observe(table, { subtree: true, attributes: true, attributeFilter: ["data-source-time"] });
    live.longObserver = new PerformanceObserver((list) => {
      for (const e of list.getEntries()) { live.longTasks += 1; live.longTaskMs += e.duration; }
    });
    live.longObserver.observe({ type: "longtask" });
    live.frames = 0;
    const tick = () => { if (bench.live === live && !live.stopped) { live.frames += 1; raf(tick); } };
    raf(tick);
    live.abort = new AbortController();
    (async () => {
      const r = await fetch(`/stream?asset=${encodeURIComponent(asset)}`,
        { headers: { Accept: "text/event-stream" }, signal: live.abort.signal });
      const reader = r.body.getReader();
      const decoder = new TextDecoder();
      let buffer = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buffer += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buffer.indexOf("\n\n")) >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          const data = block.split("\n").filter((l) => l.startsWith("data:")).map((l) => l.slice(5)).join("\n");
          if (!data) continue;
          if (block.startsWith("event: dropped")) { live.baseDropped += Number(data); continue; }
          if (!block.startsWith("event: change")) continue;
          const state = JSON.parse(data);
          live.base.push(now() - sourceMs(state.source_time));
        }
      }
    })().catch((err) => { if (err.name !== "AbortError") live.error = String(err); });
  };
  bench.stopLive = () => {
    const live = bench.live;
    live.stopped = true;
    live.observer.disconnect();
    live.longObserver.disconnect();
    live.abort.abort();
    const seconds = (now() - live.t0) / 1000;
    const round = (xs) => xs.map((x) => Math.round(x * 10) / 10);
    return { dash: round(live.dash), base: round(live.base), dashCells: live.dashCells, seconds,
             baseDropped: live.baseDropped, frames: live.frames, longTasks: live.longTasks, longTaskMs: live.longTaskMs,
             error: live.error || null };
  };
})();
"""

# After the tree's first paint: the navigation's and the API's timings (ms since navigation start).
TIMINGS = r"""
() => {
  const nav = performance.getEntriesByType("navigation")[0];
  const api = performance.getEntriesByType("resource")
    .filter((e) => e.initiatorType === "fetch" && e.startTime <= window.__bench.tree.painted)
    .map((e) => ({ path: new URL(e.name).pathname + new URL(e.name).search, start: e.startTime,
                   end: e.responseEnd, bytes: e.encodedBodySize }));
  const fcp = performance.getEntriesByName("first-contentful-paint")[0];
  return { tree: window.__bench.tree, dcl: nav.domContentLoadedEventEnd, fcp: fcp ? fcp.startTime : null, api,
           nodes: document.querySelectorAll("#tree li[data-asset]").length };
}
"""

# The baseline of the tree: ms to fetch and parse GET /assets, nothing drawn.
ASSETS_FETCH = r"""
async () => {
  const t = performance.now();
  await (await fetch("/assets")).json();
  return performance.now() - t;
}
"""

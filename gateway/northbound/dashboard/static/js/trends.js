// Trends: chosen points over a time range from the history store, raw samples or the store's aggregates, on
// one chart with an axis per unit. The route carries the choice (#/trends?points=a,b&range=1h&mode=raw), so a
// trend can be linked from elsewhere and the back button works.

import { pointCatalogue, subscribeLive } from "./api.js";
import { download, el, toCsv } from "./ui.js";
import {
  AGGREGATES,
  RANGES,
  RAW_CAP,
  aggregateTable,
  alignRaw,
  countGaps,
  countSamples,
  csvRows,
  drawable,
  durationLabel,
  durationText,
  rawSeries,
  unitText,
  windowOf,
} from "./trends_data.js";
import { COLOURS, TrendChart } from "./trends_chart.js";
import { PointPicker } from "./trends_pick.js";

let view = null;

export async function render(main, ctx) {
  view = new TrendsView(main, ctx);
  await view.start();
  return () => {
    view?.close();
    view = null;
  };
}

// A new route within the view (another point, range or mode): follow it without building the page again.
export function update(ctx) {
  if (!view) return false;
  view.follow(ctx);
  return true;
}

function stateOf(params) {
  const points = (params.get("points") || "").split(",").map((s) => s.trim()).filter(Boolean);
  const mode = params.get("mode") || "raw";
  return {
    points: [...new Set(points)],
    range: params.get("range") || "1h",
    start: params.get("start") || "",
    end: params.get("end") || "",
    mode: mode === "raw" || AGGREGATES.some((a) => a.key === mode) ? mode : "raw",
    live: params.get("live") === "1",
  };
}

function hashOf(s) {
  const q = [`points=${s.points.map(encodeURIComponent).join(",")}`, `range=${s.range}`];
  if (s.range === "custom") q.push(`start=${encodeURIComponent(s.start)}`, `end=${encodeURIComponent(s.end)}`);
  q.push(`mode=${s.mode}`);
  if (s.live && s.range !== "custom") q.push("live=1");
  return `#/trends?${q.join("&")}`;
}

const iso = (ms) => new Date(ms).toISOString();
const pad = (n) => String(n).padStart(2, "0");
// datetime-local inputs speak local time without a zone
const localInput = (ms) => {
  const d = new Date(ms);
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
};
const when = (ms) => new Date(ms).toLocaleString([], { dateStyle: "short", timeStyle: "medium" });
const plural = (n, word) => `${n.toLocaleString("en-US")} ${word}${n === 1 ? "" : "s"}`;

class TrendsView {
  constructor(main, ctx) {
    this.ctx = ctx;
    this.state = stateOf(ctx.params);
    this.byId = new Map();
    this.chart = null;
    this.loads = 0;
    this.live = null;
    this.timer = null;
    this.picker = new PointPicker((ids) => this.change({ points: ids }));
    this.range = el("select", { id: "trend-range", "aria-label": "Time range", onchange: () => this.rangeChosen() },
      ...RANGES.map((r) => el("option", { value: r.key }, r.label)), el("option", { value: "custom" }, "Custom range…"));
    this.startInput = el("input", { id: "trend-start", type: "datetime-local", step: 1, "aria-label": "From" });
    this.endInput = el("input", { id: "trend-end", type: "datetime-local", step: 1, "aria-label": "To" });
    this.custom = el("span", { id: "trend-custom", class: "custom", hidden: true }, this.startInput, "–", this.endInput,
      el("button", { type: "button", id: "trend-apply", onclick: () => this.applyCustom() }, "Apply"));
    this.mode = el("select", { id: "trend-mode", "aria-label": "Values", onchange: () => this.change({ mode: this.mode.value }) },
      el("option", { value: "raw" }, "Raw samples"),
      el("optgroup", { label: "Aggregate per interval" }, ...AGGREGATES.map((a) => el("option", { value: a.key }, a.label))));
    this.back = el("button", { type: "button", id: "trend-back", title: "Earlier: move the window back by half its width", onclick: () => this.shift(-1) }, "◀");
    this.forward = el("button", { type: "button", id: "trend-forward", title: "Later: move the window forward by half its width", onclick: () => this.shift(1) }, "▶");
    this.reset = el("button", { type: "button", id: "trend-reset", disabled: true, onclick: () => this.chart?.reset() }, "Reset zoom");
    this.liveBox = el("input", { type: "checkbox", id: "trend-live", onchange: () => this.change({ live: this.liveBox.checked }) });
    this.csv = el("button", { type: "button", id: "trend-csv", disabled: true, onclick: () => this.exportCsv() }, "Export CSV");
    this.host = el("div", { id: "trend-chart", class: "trend-chart", "data-samples": "0", "data-state": "loading" });
    this.status = el("p", { id: "trend-status", class: "muted small" });
    this.notes = el("ul", { id: "trend-notes", class: "notes" });
    main.append(
      el("section", { class: "trends" },
        el("div", { class: "trends-head" }, el("h1", {}, "Trends"),
          el("p", { class: "muted small" }, "Drag across the chart to zoom, shift+drag to pan, double-click to see the whole range.")),
        el("div", { class: "trends-layout" },
          this.picker.node,
          el("div", { class: "trends-main panel" },
            el("div", { class: "toolbar trend-toolbar" },
              el("label", { class: "field" }, el("span", {}, "Range"), this.range), this.custom,
              el("label", { class: "field" }, el("span", {}, "Values"), this.mode),
              el("span", { class: "group", role: "group", "aria-label": "Move and zoom" }, this.back, this.forward, this.reset),
              el("label", { class: "trend-live", title: "Add new samples as they arrive" }, this.liveBox, "Live"),
              el("span", { class: "spacer" }), this.csv),
            this.host, this.status, this.notes))));
  }

  async start() {
    try {
      this.byId = await pointCatalogue();
    } catch (err) {
      this.fail(`The points could not be read: ${err.message}`);
      return;
    }
    this.picker.setCatalogue(this.byId);
    this.sync();
    await this.load();
  }

  follow(ctx) {
    this.ctx = ctx;
    this.state = stateOf(ctx.params);
    this.sync();
    this.load();
  }

  change(patch) {
    const next = { ...this.state, ...patch };
    if (next.range !== "custom") next.start = next.end = "";
    this.host.dataset.state = "loading"; // until the new route is drawn
    this.ctx.navigate(hashOf(next));
  }

  // the controls show the route's state
  sync() {
    const s = this.state;
    this.range.value = s.range === "custom" || RANGES.some((r) => r.key === s.range) ? s.range : "1h";
    this.mode.value = s.mode;
    this.custom.hidden = s.range !== "custom";
    this.liveBox.checked = s.live && s.range !== "custom";
    this.liveBox.disabled = s.range === "custom";
    if (s.range === "custom") {
      const a = Date.parse(s.start);
      const b = Date.parse(s.end);
      if (!Number.isNaN(a)) this.startInput.value = localInput(a);
      if (!Number.isNaN(b)) this.endInput.value = localInput(b);
    }
    this.picker.show(s.points, s.points.map((_, i) => COLOURS[i % COLOURS.length]), this.problems());
  }

  problems() {
    const out = new Map();
    for (const id of this.state.points) {
      const p = this.byId.get(id);
      if (!p) out.set(id, "not a point of this twin");
      else if (!drawable(p)) out.set(id, "holds text: nothing to draw");
    }
    return out;
  }

  rangeChosen() {
    if (this.range.value !== "custom") return this.change({ range: this.range.value });
    const win = this.win || windowOf(new URLSearchParams("range=1h"));
    this.startInput.value = localInput(win.start);
    this.endInput.value = localInput(win.end);
    this.custom.hidden = false;
    this.startInput.focus();
  }

  applyCustom() {
    const a = new Date(this.startInput.value).getTime();
    const b = new Date(this.endInput.value).getTime();
    if (Number.isNaN(a) || Number.isNaN(b) || a >= b) return this.fail("Give a start time before the end time.");
    this.change({ range: "custom", start: iso(a), end: iso(b), live: false });
  }

  // ◀ ▶: the visible range moved by half its width, read again from the history (never past now)
  shift(direction) {
    const v = this.chart ? this.chart.visible() : this.win;
    if (!v) return;
    const span = v.end - v.start;
    let start = v.start + (direction * span) / 2;
    let end = start + span;
    const now = Date.now();
    if (end > now) [start, end] = [now - span, now];
    this.change({ range: "custom", start: iso(start), end: iso(end), live: false });
  }

  onView(zoomed) {
    this.reset.disabled = !zoomed;
    const v = this.chart.visible();
    this.forward.disabled = v.end >= Date.now() - Math.max(1000, (v.end - v.start) * 0.02); // already at now
  }

  lines(ids) {
    const count = this.state.mode === "count";
    const labels = ids.map((id) => this.byId.get(id).label || id);
    return ids.map((id, i) => {
      const p = this.byId.get(id);
      const onOff = !count && p.datatype === "bool";
      return {
        id,
        label: labels.indexOf(labels[i]) === labels.lastIndexOf(labels[i]) ? labels[i] : id, // the id tells twins apart
        unitKey: count ? "count" : onOff ? "on/off" : p.unit || "",
        unitLabel: count ? "samples" : onOff ? "" : unitText(p),
        onOff,
        colour: COLOURS[this.state.points.indexOf(id) % COLOURS.length],
        stepped: p.datatype === "bool" || (this.state.mode === "raw" && /int/.test(p.datatype)),
      };
    });
  }

  async load({ keepZoom = false } = {}) {
    const n = ++this.loads;
    const s = this.state;
    if (!keepZoom) this.stopLive();
    this.host.dataset.state = "loading";
    let win;
    try {
      win = windowOf(this.ctx.params);
    } catch (err) {
      return this.fail(err.message);
    }
    const ids = s.points.filter((id) => this.byId.has(id) && drawable(this.byId.get(id)));
    if (!ids.length) return this.empty(win);
    if (!keepZoom) this.status.textContent = "Reading the history…";
    const notes = [];
    let drawn = ids;
    let data;
    let interval = null;
    try {
      if (s.mode === "raw") {
        const got = await Promise.allSettled(ids.map((id) => rawSeries(id, win)));
        drawn = ids.filter((_, i) => got[i].status === "fulfilled");
        got.forEach((g, i) => {
          if (g.status === "rejected") notes.push(`${ids[i]}: ${g.reason.message}`);
          else if (g.value.capped) notes.push(`${ids[i]}: only its newest ${RAW_CAP.toLocaleString("en-US")} samples are drawn; choose an aggregate to see the whole range.`);
        });
        this.raw = got.filter((g) => g.status === "fulfilled").map((g) => g.value);
        data = alignRaw(this.raw);
      } else {
        const t = await aggregateTable(ids, win, s.mode);
        data = t.data;
        interval = t.interval;
        win = { ...win, start: t.start }; // aligned to the interval
      }
    } catch (err) {
      if (n === this.loads) this.fail(err.message);
      return;
    }
    if (n !== this.loads) return; // a newer choice is on its way
    this.draw(drawn, data, win, notes, interval, keepZoom);
    if (s.live && !keepZoom) this.startLive(drawn, interval);
  }

  draw(ids, data, win, notes, interval, keepZoom) {
    this.win = win;
    this.ids = ids;
    this.data = data;
    this.interval = interval;
    const key = `${ids.join(",")}|${this.state.mode}`;
    if (this.chart && keepZoom && this.chartKey === key) {
      this.chart.update(data, win);
    } else {
      this.chart?.destroy();
      this.host.replaceChildren();
      this.chart = ids.length ? new TrendChart(this.host, this.lines(ids), data, win, (z) => this.onView(z)) : null;
      this.chartKey = key;
      this.reset.disabled = true;
      if (this.chart) this.onView(false);
    }
    const samples = countSamples(data);
    const gaps = countGaps(data);
    const axes = this.chart ? this.chart.axes.map((a) => a.label || "no unit") : [];
    Object.assign(this.host.dataset, {
      samples: String(samples), gaps: String(gaps), state: "ready", start: iso(win.start), end: iso(win.end),
      axes: axes.join("|"), mode: this.state.mode, interval: interval ? durationText(interval) : "",
    });
    this.csv.disabled = !samples;
    const what = this.state.mode === "raw" ? "raw samples" : `${AGGREGATES.find((a) => a.key === this.state.mode).label.toLowerCase()} per ${durationLabel(interval)}`;
    this.status.textContent = `${plural(samples, this.state.mode === "raw" ? "sample" : "value")} of ${plural(ids.length, "point")} · ${what} · ${when(win.start)} – ${when(win.end)}`;
    if (gaps) this.status.textContent += ` · ${plural(gaps, this.state.mode === "raw" ? "bad sample" : "bad interval")} shown as gaps`;
    if (!samples) this.status.textContent += " · nothing was recorded in this range";
    this.notes.replaceChildren(...notes.map((t) => el("li", { class: "warn" }, t)));
  }

  empty(win) {
    this.stopLive();
    this.chart?.destroy();
    this.chart = null;
    this.win = win;
    this.data = null;
    const none = !this.state.points.length;
    this.host.replaceChildren(el("div", { class: "empty" }, el("strong", {}, none ? "No points chosen" : "Nothing to draw"),
      el("span", {}, none ? "Add points on the left: type an id or label, or pick them with a SPARQL query." : "None of the chosen points holds numbers or on/off values.")));
    Object.assign(this.host.dataset, { samples: "0", gaps: "0", state: "ready", axes: "" });
    this.csv.disabled = true;
    this.status.textContent = "";
    this.notes.replaceChildren();
  }

  fail(text) {
    this.host.dataset.state = "error";
    this.status.textContent = "";
    this.notes.replaceChildren(el("li", { class: "error" }, text));
  }

  // Live: raw samples are appended as they arrive and the window slides; aggregates are read again.
  startLive(ids, interval) {
    if (this.state.mode !== "raw") {
      this.timer = setInterval(() => this.load({ keepZoom: true }), Math.max(5000, interval * 1000));
      return;
    }
    let pending = false;
    this.live = subscribeLive({ points: ids.join(",") }, (states) => {
      for (const [pid, st] of states) {
        const series = this.raw[ids.indexOf(pid)];
        const t = Date.parse(st.source_time) / 1000;
        if (!series || Number.isNaN(t) || (series.times.length && t <= series.times[series.times.length - 1])) continue;
        series.times.push(t);
        series.values.push(st.quality === "bad" || typeof st.value === "string" ? null : typeof st.value === "boolean" ? Number(st.value) : st.value);
      }
      if (pending) return;
      pending = true;
      setTimeout(() => {
        pending = false;
        if (!this.live) return;
        const win = windowOf(this.ctx.params);
        for (const series of this.raw) {
          const cut = series.times.findIndex((x) => x >= win.start / 1000);
          if (cut > 0) series.times.splice(0, cut), series.values.splice(0, cut);
        }
        this.draw(ids, alignRaw(this.raw), win, [], null, true);
      }, 1000);
    });
  }

  stopLive() {
    this.live?.close();
    this.live = null;
    clearInterval(this.timer);
    this.timer = null;
  }

  exportCsv() {
    if (!this.data) return;
    const header = ["time", ...this.ids.map((id) => {
      const unit = this.state.mode === "count" ? "samples" : unitText(this.byId.get(id));
      return unit ? `${id} (${unit})` : id;
    })];
    const stamp = iso(this.win.start).slice(0, 19).replace(/:/g, "-");
    download(`trend-${stamp}Z-${this.state.mode}.csv`, toCsv(header, csvRows(this.data)), "text/csv");
  }

  close() {
    this.loads++;
    this.stopLive();
    this.chart?.destroy();
    this.chart = null;
  }
}

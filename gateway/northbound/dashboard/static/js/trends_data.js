// What the trends view draws: the chosen window, the history read for it (raw samples page by page, or the
// store's aggregates on one time axis), aligned for uPlot, and points picked by a SPARQL query.

import { getJSON, postForm } from "./api.js";
import uPlot from "../vendor/uplot/uPlot.esm.js";

export const RANGES = [
  { key: "5m", label: "Last 5 minutes", seconds: 300 },
  { key: "15m", label: "Last 15 minutes", seconds: 900 },
  { key: "1h", label: "Last hour", seconds: 3600 },
  { key: "6h", label: "Last 6 hours", seconds: 21600 },
  { key: "24h", label: "Last 24 hours", seconds: 86400 },
  { key: "7d", label: "Last 7 days", seconds: 604800 },
];

// The history store's aggregates (docs/history.md), as GET /history names them.
export const AGGREGATES = [
  { key: "average", label: "Average" },
  { key: "time_average", label: "Time-weighted average" },
  { key: "minimum", label: "Minimum" },
  { key: "maximum", label: "Maximum" },
  { key: "count", label: "Sample count" },
  { key: "start", label: "First value" },
  { key: "end", label: "Last value" },
  { key: "interpolative", label: "Interpolated" },
];

export const RAW_CAP = 20000; // samples per point in raw mode (the newest are kept)
const PAGE = 10000;
const TARGET_BUCKETS = 600; // aggregates: the interval gives 300-600 buckets over the window
// round bucket widths, seconds
const STEPS = [0.1, 0.2, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 180, 300, 600, 900, 1200, 1800, 3600, 7200, 10800, 21600, 43200, 86400];


// Points a chart can draw: numbers and booleans (text has no axis).
export function drawable(point) {
  return point.datatype !== "string";
}

// The unit as a person reads it ("" when there is none).
export function unitText(point) {
  if (!point || !point.unit || point.unit === "UNITLESS") return "";
  return point.unit_symbol || point.unit;
}

// -- the window ---------------------------------------------------------------------------------------------
// {start, end} in ms since the epoch, from the route's range (or its custom start/end).
export function windowOf(params, now = Date.now()) {
  const range = params.get("range") || "1h";
  if (range === "custom") {
    const start = Date.parse(params.get("start") || "");
    const end = Date.parse(params.get("end") || "");
    if (Number.isNaN(start) || Number.isNaN(end)) throw new Error("The custom range needs a start and an end time.");
    if (start >= end) throw new Error("The start of the range must be before its end.");
    return { start, end: Math.min(end, now), custom: true };
  }
  const known = RANGES.find((r) => r.key === range) || RANGES[2];
  return { start: now - known.seconds * 1000, end: now, custom: false };
}

// The bucket width (seconds) that cuts the window into about 300-600 intervals.
export function autoInterval(spanSeconds) {
  const want = spanSeconds / TARGET_BUCKETS;
  return STEPS.find((s) => s >= want) || Math.ceil(want / 86400) * 86400;
}

export function durationText(seconds) {
  if (seconds < 1) return `${Math.round(seconds * 1000)}ms`;
  if (seconds % 86400 === 0) return `${seconds / 86400}d`;
  if (seconds % 3600 === 0) return `${seconds / 3600}h`;
  if (seconds % 60 === 0) return `${seconds / 60}m`;
  return `${seconds}s`;
}

// The same for people: "500 ms", "2 s", "5 min", "1 h".
export function durationLabel(seconds) {
  return durationText(seconds).replace(/^([\d.]+)(ms|s|m|h|d)$/, (_, n, u) => `${n} ${{ m: "min" }[u] || u}`);
}

// A number uPlot can draw, or null (a gap) for Bad samples and values without a number.
function drawn(value, status) {
  if (status && status.startsWith("Bad")) return null;
  if (typeof value === "boolean") return value ? 1 : 0;
  if (typeof value === "number" && Number.isFinite(value)) return value;
  return null;
}

const seconds = (iso) => Date.parse(iso) / 1000;

// -- raw samples ----------------------------------------------------------------------------------------------
// One point's samples in the window, newest first page by page up to RAW_CAP, returned oldest first.
export async function rawSeries(id, win) {
  const times = [];
  const values = [];
  let path = `/points/${encodeURIComponent(id)}/history`;
  let params = { start: new Date(win.start).toISOString(), end: new Date(win.end).toISOString(), order: "desc", limit: PAGE, format: "json" };
  let capped = false;
  for (;;) {
    const page = await getJSON(path, params);
    for (const row of page.rows) {
      times.push(seconds(row.time));
      values.push(drawn(row.value, row.status));
    }
    if (!page.next) break;
    if (times.length >= RAW_CAP) {
      capped = true;
      break;
    }
    path = page.next; // the cursor keeps the range and order of the first request
    params = undefined;
  }
  times.reverse();
  values.reverse();
  return { times, values, capped };
}

// Several raw series on one time axis: the union of their times; a point without a sample at a time gets
// undefined there (the line goes on through it), a Bad sample null (the line breaks: a gap).
export function alignRaw(seriesList) {
  if (!seriesList.length) return [[]];
  return uPlot.join(seriesList.map((s) => [s.times, s.values]));
}

// -- aggregates --------------------------------------------------------------------------------------------
// The store's aggregate of each point per interval, on the axis GET /history gives; Bad buckets are gaps.
export async function aggregateTable(ids, win, aggregate) {
  const step = autoInterval((win.end - win.start) / 1000);
  const stepMs = step * 1000;
  const start = Math.floor(win.start / stepMs) * stepMs; // aligned: the store answers from its roll-ups
  const body = await getJSON("/history", {
    points: ids.join(","),
    aggregate,
    interval: durationText(step),
    start: new Date(start).toISOString(),
    end: new Date(win.end).toISOString(),
    limit: 100000,
    format: "json",
  });
  const data = [body.time.map(seconds)];
  for (const id of ids) {
    const s = body.series[id];
    // an interval without Good samples (BadNoData) is no data, not a fault: the line joins its neighbours
    data.push(s.values.map((v, i) => (s.status[i] === "BadNoData" ? undefined : drawn(v, s.status[i]))));
  }
  return { data, interval: step, start };
}

// -- what is drawn ------------------------------------------------------------------------------------------
export function countSamples(data) {
  let n = 0;
  for (let i = 1; i < data.length; i++) for (const v of data[i]) if (v !== null && v !== undefined) n++;
  return n;
}

// Bad samples (or Bad intervals) in the table: the gaps drawn.
export function countGaps(data) {
  let n = 0;
  for (let i = 1; i < data.length; i++) for (const v of data[i]) if (v === null) n++;
  return n;
}

// CSV rows of the aligned table: the time in ISO 8601 UTC, then one cell per point (empty where it has none).
export function csvRows(data) {
  const rows = [];
  for (let i = 0; i < data[0].length; i++) {
    const row = [new Date(data[0][i] * 1000).toISOString()];
    let any = false;
    for (let s = 1; s < data.length; s++) {
      const v = data[s][i];
      any ||= v !== null && v !== undefined;
      row.push(v === null || v === undefined ? "" : v);
    }
    if (any) rows.push(row);
  }
  return rows;
}

// -- picking by SPARQL ---------------------------------------------------------------------------------------
// The point ids a SELECT's first variable binds (point IRIs end in /point/<id>; plain ids are taken as they are).
export async function pickBySparql(query, byId) {
  const r = await postForm("/sparql", { query }, "application/sparql-results+json");
  const body = await r.json();
  const variable = body.head && body.head.vars && body.head.vars[0];
  if (!variable || !body.results) throw new Error("Write a SELECT query whose first variable is the point.");
  const ids = [];
  const unknown = [];
  for (const binding of body.results.bindings) {
    const term = binding[variable];
    if (!term) continue;
    const id = pointIdOf(term.value, byId);
    if (id) ids.includes(id) || ids.push(id);
    else unknown.includes(term.value) || unknown.push(term.value);
  }
  return { ids, unknown, rows: body.results.bindings.length, variable };
}

function pointIdOf(text, byId) {
  if (byId.has(text)) return text;
  const m = /\/point\/([^/#?]+)$/.exec(text);
  if (!m) return null;
  const id = decodeURIComponent(m[1]);
  return byId.has(id) ? id : null;
}

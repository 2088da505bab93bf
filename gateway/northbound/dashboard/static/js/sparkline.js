// Sparklines: the last hour of each numeric point, as one small SVG path. Seeded from the history store's
// averages (GET /history, one request for the whole table), then carried on by the live values, so a line
// keeps moving while the page is open.

import { getJSON } from "./api.js";
import { formatValue } from "./ui.js";

const SVG = "http://www.w3.org/2000/svg";
const HOUR = 3600_000;
const MAX_BUCKETS = 150; // beyond this, neighbouring buckets are merged (the line stays cheap to draw)
const URL_BUDGET = 4000; // characters of point ids per /history request
const NUMERIC = new Set(["int16", "uint16", "int32", "uint32", "int64", "uint64", "float", "double"]);

export function isNumeric(datatype) {
  return NUMERIC.has(datatype);
}

// Averages per time bucket: history seeds them, live values fill the newest.
export class Spark {
  constructor(step) {
    this.step = step; // ms
    this.t = []; // bucket starts, ms
    this.v = []; // averages (null: no data)
    this.n = []; // samples averaged
  }

  // Buckets from history; a bucket without data inside the range is kept as a hole (null) so the line breaks
  // where the device was silent. Trailing empty buckets are left out: the recorder writes a little behind.
  seed(times, values) {
    let first = values.findIndex((v) => v !== null && v !== undefined);
    let last = values.length - 1;
    while (last >= 0 && (values[last] === null || values[last] === undefined)) last--;
    if (first < 0) return;
    for (let i = first; i <= last; i++) {
      const v = values[i];
      this.t.push(times[i]);
      this.v.push(v === null || v === undefined ? null : Number(v));
      this.n.push(v === null || v === undefined ? 0 : 1);
    }
  }

  add(time, value) {
    if (typeof value !== "number" || !Number.isFinite(value) || !Number.isFinite(time)) return;
    const last = this.t.length - 1;
    if (last >= 0 && time < this.t[last]) return; // older than what is drawn
    if (last >= 0 && time < this.t[last] + this.step) {
      this.n[last] += 1;
      this.v[last] = this.n[last] === 1 ? value : this.v[last] + (value - this.v[last]) / this.n[last];
      return;
    }
    const start = last >= 0 ? this.t[last] + Math.floor((time - this.t[last]) / this.step) * this.step : time;
    this.t.push(start);
    this.v.push(value);
    this.n.push(1);
  }

  // Forget what is older than an hour; merge buckets two by two while there are too many.
  trim(now) {
    let cut = 0;
    while (cut < this.t.length && this.t[cut] < now - HOUR) cut++;
    if (cut) for (const a of [this.t, this.v, this.n]) a.splice(0, cut);
    while (this.t.length > MAX_BUCKETS) {
      const t = [];
      const v = [];
      const n = [];
      this.step *= 2;
      for (let i = 0; i < this.t.length; i++) {
        const j = t.length - 1;
        if (j >= 0 && this.t[i] < t[j] + this.step) {
          const total = n[j] + this.n[i];
          if (total) v[j] = ((v[j] || 0) * n[j] + (this.v[i] || 0) * this.n[i]) / total;
          n[j] = total;
        } else {
          t.push(this.t[i]);
          v.push(this.v[i]);
          n.push(this.n[i]);
        }
      }
      this.t = t;
      this.v = v;
      this.n = n;
    }
  }
}

export function sparkSvg(width, height) {
  const svg = document.createElementNS(SVG, "svg");
  svg.setAttribute("class", "spark");
  svg.setAttribute("width", String(width));
  svg.setAttribute("height", String(height));
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  svg.setAttribute("role", "img");
  return svg;
}

// Draw the spark into its svg (replacing what was there); unit for the tooltip. -> the summary ("last 12 min:
// 54.1 – 67.2 °C"), or "" when there is nothing to draw.
export function drawSpark(svg, spark, unit = "") {
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const width = Number(svg.getAttribute("width"));
  const height = Number(svg.getAttribute("height"));
  const n = spark ? spark.t.length : 0;
  svg.dataset.samples = String(n);
  if (!n) {
    svg.setAttribute("aria-label", "no history");
    return "";
  }
  let lo = Infinity;
  let hi = -Infinity;
  let last = -1;
  for (let i = 0; i < n; i++) {
    const v = spark.v[i];
    if (v === null) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
    last = i;
  }
  if (last < 0) {
    svg.setAttribute("aria-label", "no history");
    return "";
  }
  const pad = 3;
  const t0 = spark.t[0];
  const t1 = Math.max(spark.t[n - 1], t0 + 1);
  const span = hi - lo || 1;
  const x = (t) => pad + ((t - t0) / (t1 - t0)) * (width - 2 * pad);
  const y = (v) => (hi === lo ? height / 2 : height - pad - ((v - lo) / span) * (height - 2 * pad));
  let d = "";
  let pen = false; // a hole in the data (device silent) lifts the pen
  for (let i = 0; i < n; i++) {
    if (spark.v[i] === null) {
      pen = false;
      continue;
    }
    d += `${pen ? "L" : "M"}${x(spark.t[i]).toFixed(1)},${y(spark.v[i]).toFixed(1)}`;
    pen = true;
  }
  const single = n === 1 || !d.includes("L");
  const path = document.createElementNS(SVG, "path");
  path.setAttribute("d", single ? `M${pad},${y(spark.v[last]).toFixed(1)}H${width - pad}` : d);
  const dot = document.createElementNS(SVG, "circle");
  dot.setAttribute("cx", (single ? width - pad : x(spark.t[last])).toFixed(1));
  dot.setAttribute("cy", y(spark.v[last]).toFixed(1));
  dot.setAttribute("r", "2");
  const title = document.createElementNS(SVG, "title");
  const minutes = Math.max(1, Math.round((Date.now() - t0) / 60_000));
  const sym = unit ? ` ${unit}` : "";
  title.textContent = `last ${minutes >= 60 ? "hour" : `${minutes} min`}: ${formatValue(lo)} – ${formatValue(hi)}${sym}`;
  svg.setAttribute("aria-label", title.textContent);
  svg.append(title, path, dot);
  return title.textContent;
}

// One GET /history for these ids, recorded ones (`recorded` on /points; a few requests when the ids would make too
// long an address): averages per minute over the last hour. When the store holds less than ten minutes, asks again
// for that span in finer steps, so a gateway that just started still draws a line. -> Map id -> Spark
export async function loadSparks(ids) {
  const out = new Map();
  if (!ids.length) return out;
  const groups = [[]];
  let size = 0;
  for (const id of ids) {
    if (size + id.length + 1 > URL_BUDGET && groups[groups.length - 1].length) {
      groups.push([]);
      size = 0;
    }
    groups[groups.length - 1].push(id);
    size += encodeURIComponent(id).length + 1;
  }
  for (const group of groups) {
    let body = await fetchSeries(group, "-1h", "1m");
    const covered = minutesCovered(body);
    if (covered > 0 && covered <= 10) {
      const span = covered * 60;
      body = await fetchSeries(group, `-${span}s`, `${Math.max(1, Math.round(span / 60))}s`);
    }
    const times = body.time.map((t) => Date.parse(t));
    const step = times.length > 1 ? times[1] - times[0] : 60_000;
    for (const [id, series] of Object.entries(body.series)) {
      const spark = new Spark(step);
      spark.seed(times, series.values);
      out.set(id, spark);
    }
  }
  return out;
}

function minutesCovered(body) {
  let first = body.time.length;
  for (const series of Object.values(body.series)) {
    const i = series.values.findIndex((v) => v !== null && v !== undefined);
    if (i >= 0 && i < first) first = i;
  }
  return body.time.length - first;
}

// GET /history: averages of these points on one time axis.
function fetchSeries(ids, start, interval) {
  return getJSON("/history", { points: ids.join(","), start, interval, aggregate: "average" });
}

// The points table of an asset: label, classes, live value with its unit, quality with the reason, source and
// server time, a sparkline of the last hour, and for an operator the write button. Built once; live changes
// (SSE, conflated to one batch per animation frame by subscribeLive) rewrite only the cells that show them.

import { subscribeLive } from "./api.js";
import { el, formatTime, link, qualityBadge, updateBadge, withUnit } from "./ui.js";
import { Spark, drawSpark, isNumeric, loadSparks, sparkSvg } from "./sparkline.js";
import { writeButton } from "./write.js";
import { classTags, reasonText, unitSymbol } from "./plant_text.js";

const SPARK_W = 120;
const SPARK_H = 24;
const SPARK_REDRAW_MS = 2000;
const STREAM_URL_BUDGET = 6000; // above this many characters of ids the stream is asked for the whole asset

export class PointsTable {
  constructor(points, session) {
    this.rows = new Map(); // point id -> {tr, value, badge, reason, src, srv, svg, spark, ...}
    this.dirty = new Set();
    this.stream = null;
    this.timer = null;
    this.closed = false;
    const canWrite = Boolean(session?.can_write) && points.some((p) => p.writable);
    // fixed column widths: a value that changes its length does not lay the whole table out again
    const head = el("tr", {},
      el("th", { class: "c-point" }, "Point"), el("th", { class: "c-class" }, "Class"),
      el("th", { class: "num c-value" }, "Value"), el("th", { class: "c-quality" }, "Quality"),
      el("th", { class: "c-time" }, "Source time"), el("th", { class: "c-time" }, "Server time"),
      el("th", { class: "c-spark" }, "Last hour"), canWrite ? el("th", { class: "c-write" }, "") : null);
    const body = el("tbody");
    for (const p of points) body.append(this.row(p, session, canWrite));
    if (!points.length) body.append(el("tr", { class: "empty" }, el("td", { colspan: canWrite ? 8 : 7 }, "No points.")));
    this.node = el("table", { id: "points", class: canWrite ? "data points writes" : "data points" }, el("thead", {}, head), body);
  }

  row(p, session, canWrite) {
    const state = p.state || {};
    const value = el("td", { class: "value num", "data-source-time": state.source_time || "" },
      withUnit(state.value, unitSymbol(p)));
    const badge = qualityBadge(state);
    const reason = el("span", { class: "reason" }, reasonText(state));
    const src = el("td", { class: "source-time", title: state.source_time || "" }, formatTime(state.source_time));
    const srv = el("td", { class: "server-time", title: state.gateway_time || "" }, formatTime(state.gateway_time));
    const numeric = isNumeric(p.datatype);
    const svg = numeric ? sparkSvg(SPARK_W, SPARK_H) : null;
    const tr = el("tr", { "data-point": p.id, class: `q-${state.quality || "bad"}` },
      el("td", { class: "label" },
        el("a", { href: link("point", p.id) }, p.label || p.id),
        el("span", { class: "pid" }, p.id)),
      el("td", { class: "classes" }, classTags(p)),
      value,
      el("td", { class: "quality" }, badge, reason),
      src,
      srv,
      el("td", { class: "spark" }, svg),
      canWrite ? el("td", { class: "actions" }, writeButton(p, session)) : null,
    );
    const rec = { tr, value, badge, reason, src, srv, svg, symbol: unitSymbol(p), numeric, recorded: p.recorded, quality: state.quality,
      status: state.status, why: state.reason, shown: state.value,
      spark: numeric ? new Spark(5000) : null };
    if (numeric && state.quality !== "bad") rec.spark.add(Date.parse(state.source_time) || Date.now(), state.value);
    this.rows.set(p.id, rec);
    return tr;
  }

  // Newest states (Map point -> state): the cells of each row, nothing else.
  apply(states) {
    for (const [id, s] of states) {
      const rec = this.rows.get(id);
      if (!rec) continue;
      if (s.value !== rec.shown) {
        rec.value.textContent = withUnit(s.value, rec.symbol);
        rec.shown = s.value;
      }
      rec.value.setAttribute("data-source-time", s.source_time || "");
      if (s.quality !== rec.quality || s.status !== rec.status || s.reason !== rec.why) {
        rec.tr.className = `q-${s.quality || "bad"}`;
        updateBadge(rec.badge, s);
        rec.reason.textContent = reasonText(s);
        rec.quality = s.quality;
        rec.status = s.status;
        rec.why = s.reason;
      }
      rec.src.textContent = formatTime(s.source_time);
      rec.src.title = s.source_time || "";
      rec.srv.textContent = formatTime(s.gateway_time);
      rec.srv.title = s.gateway_time || "";
      if (rec.spark && s.quality !== "bad") {
        rec.spark.add(Date.parse(s.source_time) || Date.now(), s.value);
        this.dirty.add(id);
      }
    }
  }

  // Follow the stream: the asset's subtree, or the ids themselves when only some of it is shown.
  live(assetId, partial, onStatus) {
    const ids = [...this.rows.keys()];
    const byIds = partial && ids.join(",").length < STREAM_URL_BUDGET;
    const params = byIds ? { points: ids.join(",") } : { asset: assetId };
    if (!ids.length) return;
    this.stream = subscribeLive(params, (states) => this.apply(states), { status: onStatus });
  }

  // Sparklines from history, then redrawn every few seconds with what the stream added.
  async sparks(onError) {
    const ids = [...this.rows].filter(([, r]) => r.numeric && r.recorded).map(([id]) => id);
    try {
      const loaded = await loadSparks(ids);
      if (this.closed) return;
      for (const [id, spark] of loaded) {
        const rec = this.rows.get(id);
        if (!rec) continue;
        const last = rec.spark;
        rec.spark = spark;
        // the values that came while history loaded, after what history holds
        if (last) for (let i = 0; i < last.t.length; i++) spark.add(last.t[i], last.v[i]);
      }
    } catch (err) {
      onError?.(err);
    }
    if (this.closed) return;
    for (const rec of this.rows.values()) if (rec.svg) drawSpark(rec.svg, rec.spark, rec.symbol);
    this.timer = setInterval(() => this.redraw(), SPARK_REDRAW_MS);
  }

  redraw() {
    const now = Date.now();
    for (const id of this.dirty) {
      const rec = this.rows.get(id);
      rec.spark.trim(now);
      drawSpark(rec.svg, rec.spark, rec.symbol);
    }
    this.dirty.clear();
  }

  numericIds() {
    return [...this.rows].filter(([, r]) => r.numeric).map(([id]) => id);
  }

  close() {
    this.closed = true;
    this.stream?.close();
    if (this.timer) clearInterval(this.timer);
  }
}

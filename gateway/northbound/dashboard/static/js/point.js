// The point page (#/point/<id>): everything the twin knows about one point (GET /points/{id}: meaning, unit,
// datatype and range, where it comes from on the device, IRI, location, relations, nameplate) and its live
// state, streamed, with the last hour drawn larger than in the table.

import { getJSON, subscribeLive } from "./api.js";
import { clear, el, formatTime, link, qualityBadge, updateBadge, withUnit } from "./ui.js";
import { drawSpark, isNumeric, loadSparks, sparkSvg, Spark } from "./sparkline.js";
import { classTags, reasonText, unitSymbol } from "./plant_text.js";
import { factList, locationText, propertyRows, relationText, targetLink } from "./asset.js";
import { closeWrite, writeButton } from "./write.js";

function crumbs(path, point) {
  const nav = el("nav", { class: "crumbs", "aria-label": "Asset path" });
  for (const a of path) nav.append(el("a", { href: link("asset", a.id) }, a.label || a.id), el("span", { class: "sep" }, "›"));
  nav.append(el("span", {}, point.label || point.id));
  return nav;
}

function assetPath(assets, id) {
  const byId = new Map(assets.map((a) => [a.id, a]));
  const path = [];
  for (let a = byId.get(id); a && path.length < 50; a = byId.get(a.parent)) path.unshift(a);
  return path;
}

function addressRows(address) {
  return Object.entries(address || {})
    .filter(([, v]) => v !== null && v !== undefined && v !== false && !(typeof v === "object" && !Object.keys(v).length))
    .map(([k, v]) => [k.replace(/_/g, " "), el("code", {}, typeof v === "object" ? JSON.stringify(v) : String(v))]);
}

function rangeText(p, sym) {
  const has = (x) => x !== null && x !== undefined;
  if (!has(p.min) && !has(p.max)) return null;
  return `${has(p.min) ? withUnit(p.min, sym) : "…"} to ${has(p.max) ? withUnit(p.max, sym) : "…"}`;
}

function relationRows(relations) {
  const rows = [];
  for (const r of [...(relations?.outgoing || []), ...(relations?.incoming || [])]) {
    if (!r.relation) continue;
    rows.push([relationText(r.relation), targetLink(r.target)]);
  }
  return rows;
}

export async function render(main, ctx) {
  const id = ctx.arg;
  if (!id) {
    main.append(el("p", { class: "error" }, "No point given."));
    return null;
  }
  let p;
  let assets = [];
  try {
    [p, assets] = await Promise.all([
      getJSON(`/points/${encodeURIComponent(id)}`),
      getJSON("/assets").catch(() => []),
    ]);
  } catch (err) {
    main.append(el("p", { class: "error" }, err.message));
    return null;
  }
  const state = p.state || {};
  const sym = unitSymbol(p);
  const value = el("div", { class: "value big", "data-source-time": state.source_time || "" }, withUnit(state.value, sym));
  const badge = qualityBadge(state);
  const reason = el("span", { class: "reason" }, reasonText(state));
  const src = el("dd", { class: "source-time", title: state.source_time || "" }, formatTime(state.source_time));
  const srv = el("dd", { class: "server-time", title: state.gateway_time || "" }, formatTime(state.gateway_time));
  const numeric = isNumeric(p.datatype);
  const svg = numeric ? sparkSvg(480, 72) : null;
  let spark = numeric ? new Spark(5000) : null;
  const sparkCaption = el("p", { class: "muted spark-caption" });
  let noHistory = "";
  const drawn = () => {
    const summary = drawSpark(svg, spark, sym);
    sparkCaption.textContent = summary ? summary.charAt(0).toUpperCase() + summary.slice(1) : noHistory || "No values yet";
  };
  const unitText = p.unit ? `${sym ? `${sym} ` : ""}(${p.unit})` : null;

  const live = el("section", { class: "panel point-live" },
    el("div", { class: "live-main" },
      value,
      el("div", { class: "live-quality", id: "point-quality" }, badge, reason),
      el("dl", { class: "facts times" }, el("dt", {}, "Source time"), src, el("dt", {}, "Server time"), srv),
      writeButton(p, ctx.session)),
    svg ? el("div", { class: "live-spark" }, svg, sparkCaption) : null);

  const actions = el("div", { class: "actions" },
    el("a", { class: "button", href: link("asset", p.asset) }, "Its asset"),
    numeric || p.datatype === "bool" ? el("a", { class: "button", href: `#/trends?points=${encodeURIComponent(p.id)}` }, "Trend") : null,
    el("a", { class: "button", href: link("graph", p.asset) }, "Graph"));

  const meaning = factList([
    ["Id", el("code", {}, p.id)],
    ["Description", p.description],
    ["Classes", ...classTags(p)],
    ["Kind", p.kind],
    ["Unit", unitText],
    ["Datatype", p.datatype],
    ["Range", rangeText(p, sym)],
    ["Writable", p.writable ? "yes" : "no"],
    ["IRI", el("code", { class: "iri" }, p.iri)],
    ["Location", locationText(p.location)],
    ...relationRows(p.relations),
    ...propertyRows(p.properties),
  ]);
  const device = factList([
    ["Source", el("a", { href: link("sources") }, p.source)],
    ["Target", p.target ? el("code", { class: "target" }, p.target) : null],
    ...addressRows(p.address),
  ]);
  clear(main);
  main.append(el("div", { class: "point-page" },
    crumbs(assetPath(assets, p.asset), p),
    el("div", { class: "title-row" }, el("h1", {}, p.label || p.id), ...classTags(p), actions),
    live,
    el("div", { class: "point-columns" },
      el("section", { class: "panel" }, el("h2", {}, "What it is"), meaning),
      el("section", { class: "panel", id: "point-address" }, el("h2", {}, "Where it comes from"), device))));

  let closed = false;
  const stream = subscribeLive({ points: p.id }, (states) => {
    const s = states.get(p.id);
    if (!s) return;
    value.textContent = withUnit(s.value, sym);
    value.setAttribute("data-source-time", s.source_time || "");
    updateBadge(badge, s);
    reason.textContent = reasonText(s);
    src.textContent = formatTime(s.source_time);
    src.title = s.source_time || "";
    srv.textContent = formatTime(s.gateway_time);
    srv.title = s.gateway_time || "";
    if (spark && s.quality !== "bad") spark.add(Date.parse(s.source_time) || Date.now(), s.value);
  });
  let timer = null;
  if (numeric) {
    if (state.quality !== "bad") spark.add(Date.parse(state.source_time) || Date.now(), state.value);
    loadSparks(p.recorded ? [p.id] : [])
      .then((loaded) => {
        const seeded = loaded.get(p.id);
        if (!seeded || closed) return;
        for (let i = 0; i < spark.t.length; i++) seeded.add(spark.t[i], spark.v[i]);
        spark = seeded;
      })
      .catch((err) => {
        noHistory = `No history: ${err.message}`;
      })
      .finally(() => {
        if (closed) return;
        drawn();
        timer = setInterval(() => {
          spark.trim(Date.now());
          drawn();
        }, 2000);
      });
  }
  return () => {
    closed = true;
    stream.close();
    if (timer) clearInterval(timer);
    closeWrite();
  };
}

// One asset: where it sits (asset path, location), what it is (classes, relations, nameplate), links to its
// graph and a trend of its points, and its live points table. GET /assets/{id} and GET /points?asset= in
// parallel; the table's own points when the asset has some, else the points of its subtree (capped).

import { getJSON } from "./api.js";
import { el, link } from "./ui.js";
import { PointsTable } from "./points.js";
import { classText } from "./plant_text.js";
import { closeWrite } from "./write.js";

export const TABLE_CAP = 500;
const TREND_CAP = 12;

function crumbs(path) {
  const nav = el("nav", { class: "crumbs", "aria-label": "Asset path" });
  path.forEach((a, i) => {
    if (i) nav.append(el("span", { class: "sep" }, "›"));
    nav.append(i === path.length - 1 ? el("span", {}, a.label || a.id) : el("a", { href: link("asset", a.id) }, a.label || a.id));
  });
  return nav;
}

function relationItems(relations) {
  const items = [];
  for (const r of relations?.outgoing || []) items.push([r.relation || r.name, r.target]);
  for (const r of relations?.incoming || []) if (r.relation) items.push([r.relation, r.target]);
  const grouped = new Map();
  for (const [name, target] of items) {
    if (!grouped.has(name)) grouped.set(name, []);
    grouped.get(name).push(target);
  }
  return grouped;
}

export function targetLink(target) {
  const text = target.label || target.id;
  if (target.kind === "asset") return el("a", { href: link("asset", target.id) }, text);
  if (target.kind === "point") return el("a", { href: link("point", target.id) }, text);
  return el("span", { title: target.iri || target.id }, text);
}

// "isControlledBy" -> "is controlled by"
export function relationText(name) {
  return String(name).replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
}

export function factList(rows) {
  const dl = el("dl", { class: "facts" });
  for (const [term, ...value] of rows) {
    if (!value.length || value[0] === null || value[0] === undefined || value[0] === "") continue;
    dl.append(el("dt", {}, term), el("dd", {}, ...value));
  }
  return dl;
}

export function locationText(location) {
  if (!location) return null;
  const path = (location.path || []).map((p) => p.label || p.id).join(" › ");
  return el("span", { title: location.id }, path || location.label || location.id, location.inherited ? " (its asset's)" : "");
}

export function propertyRows(properties) {
  return (properties || []).map((p) => {
    let value = Array.isArray(p.value) ? p.value.join(", ") : String(p.value);
    if (p.unit_symbol) value += ` ${p.unit_symbol}`;
    return [p.label || p.key, value];
  });
}

function header(asset, path, table) {
  const relations = [];
  for (const [name, targets] of relationItems(asset.relations)) {
    const links = [];
    targets.forEach((t, i) => links.push(i ? ", " : null, targetLink(t)));
    relations.push([relationText(name), ...links.filter(Boolean)]);
  }
  const trend = table.numericIds().slice(0, TREND_CAP);
  const actions = el("div", { class: "actions" },
    el("a", { class: "button", href: link("graph", asset.id) }, "Graph"),
    trend.length
      ? el("a", { class: "button", id: "trend-these", href: `#/trends?points=${trend.map(encodeURIComponent).join(",")}`,
          title: trend.length === TREND_CAP ? `the first ${TREND_CAP} numeric points` : null }, "Trend these points")
      : null);
  const types = (asset.types || []).map((t) => el("span", { class: "tag", title: t }, classText(t)));
  const nameplate = asset.properties?.length
    ? el("details", { class: "nameplate" }, el("summary", {}, `Nameplate (${asset.properties.length})`),
        factList(propertyRows(asset.properties)))
    : null;
  return el("section", { class: "asset-head" },
    crumbs(path),
    el("div", { class: "title-row" },
      el("h1", {}, asset.label || asset.id),
      el("span", { class: "level" }, asset.level || ""),
      ...types,
      actions),
    factList([
      ["Id", el("code", {}, asset.id)],
      ["Location", locationText(asset.location)],
      ...relations,
    ]),
    nameplate);
}

// Draw the asset into host; filters: {type, unit, quality, source} for the table. -> cleanup
export async function renderAsset(host, id, { session, filters, tree }) {
  const query = { asset: id, limit: TABLE_CAP + 1, ...filters };
  let asset;
  let points;
  try {
    [asset, points] = await Promise.all([getJSON(`/assets/${encodeURIComponent(id)}`), getJSON("/points", query)]);
  } catch (err) {
    host.replaceChildren(el("p", { class: "error" }, err.message));
    return () => {};
  }
  const own = new Set(asset.points || []);
  const subtree = own.size === 0;
  let shown = subtree ? points : points.filter((p) => p.asset === id);
  const more = shown.length > TABLE_CAP;
  shown = shown.slice(0, TABLE_CAP);
  const table = new PointsTable(shown, session);
  const known = tree ? tree.path(id) : [];
  const path = known.length ? known : [asset];
  const filtered = Object.values(filters).some(Boolean);
  const notes = [];
  if (subtree && shown.length) notes.push(`the points of everything under ${asset.label || asset.id}`);
  if (filtered) notes.push("only those matching the filters");
  if (more) notes.push(`the first ${TABLE_CAP}; pick an asset further down or narrow with a filter`);
  const liveState = el("span", { class: "live", "data-state": "connecting", title: "live updates" }, "connecting");
  const caption = el("div", { class: "table-head" },
    el("h2", {}, `${shown.length}${more ? "+" : ""} point${shown.length === 1 ? "" : "s"}`),
    notes.length ? el("span", { class: "muted note" }, `Showing ${notes.join(", ")}.`) : null,
    liveState);
  const sparkNote = el("p", { class: "muted spark-note", hidden: true });
  host.replaceChildren(header(asset, path, table), el("section", { class: "panel points-panel" }, caption,
    el("div", { class: "table-scroll" }, table.node), sparkNote));
  table.live(id, more || (!subtree && own.size < points.length) || filtered, (status, err) => {
    liveState.dataset.state = status;
    liveState.textContent = status === "open" ? "live" : "reconnecting";
    liveState.title = err ? `live updates: ${err.message}` : "live updates";
  });
  table.sparks((err) => {
    sparkNote.textContent = `No sparklines: ${err.message}`;
    sparkNote.hidden = false;
  });
  return () => {
    table.close();
    closeWrite();
  };
}

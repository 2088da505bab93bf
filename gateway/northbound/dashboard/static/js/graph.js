// #/graph/<asset>: one asset's neighbourhood as a small node-link picture. Left of it where it sits and what it
// relates to (parent, Brick classes, location, feeds/isFedBy/controls... from GET /assets/{id} `relations`);
// right of it what it holds (its parts, its points with the protocol address each is read from); last, the
// points' classes, units and own locations, shared between the points that have them. A click on an asset
// re-centres the picture on it; a click on a point opens the point's page.
//
// Calls: GET /assets (labels and levels of every asset, for the picker and the parts), GET /assets/{id}, and
// GET /points/{id} for the first MAX_POINTS points, in parallel (class, unit, target address, location).

import { ApiError, getJSON } from "./api.js";
import { draw, layout, svg } from "./graph_draw.js";
import { el, link } from "./ui.js";

const MAX_POINTS = 15;
const MAX_PARTS = 12;
const MAX_CONTEXT = 14;

export const KINDS = [
  ["asset", "Asset"],
  ["point", "Point"],
  ["class", "Class"],
  ["unit", "Unit"],
  ["address", "Protocol address"],
  ["location", "Location"],
  ["term", "Term"],
];

// "brick:Supply_Water_Temperature_Sensor" -> "Supply Water Temperature Sensor"
function className(curie) {
  return curie.replace(/^[^:]*:/, "").replace(/_/g, " ");
}

// "IsFedBy" / "isControlledBy" / "ex:maintainedBy" -> "is fed by" / "is controlled by" / "maintained by"
function words(name) {
  return String(name || "")
    .replace(/^[^:]*:/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1 $2")
    .toLowerCase();
}

function assetNode(a, fallbackId) {
  const id = a?.id || fallbackId;
  const level = a?.level ? a.level : "";
  return { kind: "asset", id, label: a?.label || id, sub: level, title: [a?.label || id, id, level, ...(a?.types || [])].filter(Boolean).join(" · "), href: link("graph", id) };
}

function relationCaption(r) {
  if (r.relation) return words(r.relation);
  return `${words(r.inverse_of)} this`; // X declared "X cools <this asset>" and named no inverse
}

function relationNode(target) {
  if (target.kind === "asset") return assetNode({ id: target.id, label: target.label }, target.id);
  if (target.kind === "point") return { kind: "point", id: target.id, label: target.label || target.id, title: target.id, href: link("point", target.id) };
  if (target.kind === "location") return { kind: "location", id: target.id, label: target.label || target.id, title: target.iri || target.id };
  return { kind: "term", id: target.id, label: target.label || target.id, title: target.iri || target.id };
}

function addressNode(p) {
  if (p.target) return { kind: "address", id: p.target, label: p.target, title: `${p.target} (read through source ${p.source})` };
  if (p.address?.expr) return { kind: "address", id: `${p.id}#expr`, label: `= ${p.address.expr}`, title: `computed by ${p.source}: ${p.address.expr}` };
  return null;
}

// The model graph_draw.js lays out: center, left (context), right (parts, points), hubs (shared by points).
export function buildModel(asset, assets, points) {
  const byId = new Map(assets.map((a) => [a.id, a]));
  const left = [];
  const seen = new Map(); // kind:id -> left item, so one neighbour related twice shows once with both captions
  const addLeft = (node, caption) => {
    const key = `${node.kind}:${node.id}`;
    const known = seen.get(key);
    if (known) {
      if (!known.caption.split(" · ").includes(caption)) known.caption += ` · ${caption}`;
      return;
    }
    const item = { node, caption };
    seen.set(key, item);
    left.push(item);
  };
  if (asset.parent) addLeft(assetNode(byId.get(asset.parent), asset.parent), "part of");
  for (const t of asset.types || []) addLeft({ kind: "class", id: t, label: className(t), title: t }, "class");
  if (asset.location) {
    const path = (asset.location.path || []).map((l) => l.label || l.id).join(" › ");
    addLeft({ kind: "location", id: asset.location.id, label: asset.location.label || asset.location.id, title: path }, "located in");
  }
  for (const r of [...(asset.relations?.outgoing || []), ...(asset.relations?.incoming || [])]) {
    addLeft(relationNode(r.target), relationCaption(r));
  }
  const shownLeft = left.slice(0, MAX_CONTEXT);

  const right = [];
  const children = asset.children || [];
  for (const id of children.slice(0, MAX_PARTS)) right.push({ node: assetNode(byId.get(id), id) });
  const hubs = new Map();
  const hub = (node, row) => {
    const key = `${node.kind}:${node.id}`;
    if (!hubs.has(key)) hubs.set(key, { node, from: [] });
    hubs.get(key).from.push(row);
  };
  for (const p of points) {
    const row = right.length;
    right.push({
      node: { kind: "point", id: p.id, label: p.label || p.id, sub: p.id, title: [p.label, p.id, p.kind, p.source && `source ${p.source}`].filter(Boolean).join(" · "), href: link("point", p.id) },
      address: addressNode(p) || { kind: "address", id: `${p.id}#none`, label: "no address", title: "this point has no protocol address" },
    });
    for (const c of p.classes || []) hub({ kind: "class", id: c, label: className(c), title: c }, row);
    if (p.unit) hub({ kind: "unit", id: p.unit, label: p.unit_symbol ? `${p.unit_symbol}  (${p.unit})` : p.unit, title: `unit:${p.unit}` }, row);
    if (p.location && !p.location.inherited) hub({ kind: "location", id: p.location.id, label: p.location.label || p.location.id, title: "where this point is" }, row);
  }
  const pointCount = (asset.points || []).length;
  const moreParts = Math.max(0, children.length - MAX_PARTS);
  const morePoints = Math.max(0, pointCount - points.length);
  const moreText = [moreParts && `+${moreParts} more parts`, morePoints && `+${morePoints} more points`].filter(Boolean).join(", ");
  return {
    center: { kind: "asset", id: asset.id, label: asset.label || asset.id, sub: [asset.level, ...(asset.types || [])].filter(Boolean).join(" · "), title: asset.iri || asset.id },
    left: shownLeft,
    moreLeft: left.length > shownLeft.length ? { text: `+${left.length - shownLeft.length} more relations`, href: link("asset", asset.id) } : null,
    right,
    moreRight: moreText ? { text: `${moreText} — see the asset page`, href: link("asset", asset.id) } : null,
    hubs: [...hubs.values()],
  };
}

function depthOf(a, byId) {
  let d = 0;
  for (let p = a.parent; p && d < 20; p = byId.get(p)?.parent) d++;
  return d;
}

function picker(assets, current, navigate) {
  const byId = new Map(assets.map((a) => [a.id, a]));
  const select = el("select", { id: "graph-asset", "aria-label": "Asset", onchange: (event) => navigate(link("graph", event.target.value)) });
  for (const a of assets) {
    const option = el("option", { value: a.id }, `${"\u00a0\u00a0".repeat(depthOf(a, byId))}${a.label || a.id}`);
    if (a.id === current) option.selected = true;
    select.append(option);
  }
  return select;
}

function legend() {
  return el(
    "div",
    { class: "graph-legend", "aria-label": "Legend" },
    KINDS.map(([kind, text]) => el("span", { class: `key kind-${kind}` }, el("span", { class: "swatch" }), text)),
  );
}

export async function render(main, ctx) {
  const assets = await getJSON("/assets");
  const id = ctx.arg || assets.find((a) => !a.parent)?.id;
  const head = el("div", { class: "toolbar graph-toolbar" }, el("h1", {}, "Graph"), picker(assets, id, ctx.navigate));
  const section = el("section", { class: "graph" }, head);
  main.append(section);
  if (!id) {
    section.append(el("p", { class: "muted" }, "This twin has no assets yet."));
    return null;
  }
  let asset;
  try {
    asset = await getJSON(`/assets/${encodeURIComponent(id)}`);
  } catch (err) {
    if (!(err instanceof ApiError)) throw err;
    section.append(el("p", { class: "error" }, err.message));
    return null;
  }
  const ids = (asset.points || []).slice(0, MAX_POINTS);
  const points = await Promise.all(
    ids.map((pid) =>
      getJSON(`/points/${encodeURIComponent(pid)}`).catch((err) => {
        console.warn("point not read", pid, err);
        return { id: pid };
      }),
    ),
  );
  head.append(
    el("a", { class: "asset-link", href: link("asset", asset.id) }, "Asset page"),
    el("span", { class: "spacer" }),
    legend(),
  );
  const picture = svg("svg", { id: "graph", role: "img", "aria-label": `The neighbourhood of ${asset.label || asset.id}` });
  section.append(el("div", { class: "graph-canvas panel" }, picture));
  const model = buildModel(asset, assets, points);
  draw(picture, layout(model), (box) => ctx.navigate(box.href));
  picture.dataset.asset = asset.id;
  return null;
}

// The Plant view (#/plant, #/asset/<id>): the asset tree with its search and filters on the left, the chosen
// asset on the right. The tree stays when only the chosen asset changes (update()), so what was opened,
// searched or filtered is kept while a person walks through the plant.

import { getJSON, pointCatalogue } from "./api.js";
import { clear, el, link, qualityBadge } from "./ui.js";
import { AssetTree } from "./tree.js";
import { classText, unitSymbol } from "./plant_text.js";

const ATTENTION_CAP = 50;
let view = null; // {tree, detail, filters, selects, search, note, token, cleanup, session}

const FILTERS = [
  // [select id, query parameter, "all" text]
  ["filter-class", "type", "All classes"],
  ["filter-unit", "unit", "All units"],
  ["filter-quality", "quality", "Any quality"],
  ["filter-source", "source", "All sources"],
];

function select(id, allText) {
  return el("select", { id, "aria-label": allText }, el("option", { value: "" }, allText));
}

function fill(selectNode, options) {
  for (const [value, text] of options) selectNode.append(el("option", { value }, text));
}

export async function render(main, ctx) {
  const search = el("input", { id: "tree-search", type: "search", placeholder: "Search assets (name or id)", autocomplete: "off" });
  const selects = {};
  for (const [id, , allText] of FILTERS) selects[id] = select(id, allText);
  fill(selects["filter-quality"], [["good", "Good"], ["uncertain", "Uncertain"], ["bad", "Bad"]]);
  const note = el("p", { class: "tree-note muted", hidden: true });
  const treeHost = el("div", { id: "tree", class: "tree" });
  const detail = el("section", { class: "plant-detail" });
  const side = el("aside", { class: "plant-side panel" },
    search,
    el("div", { class: "filters" }, ...Object.values(selects)),
    note,
    treeHost);
  main.append(el("div", { class: "plant" }, side, detail));

  if (ctx.arg) import("./asset.js").catch(() => {}); // fetched alongside the assets, used once they are drawn
  let assets;
  try {
    assets = await getJSON("/assets");
  } catch (err) {
    treeHost.append(el("p", { class: "error" }, err.message));
    return () => {};
  }
  const tree = new AssetTree(treeHost, assets);
  view = { tree, detail, search, selects, note, filters: {}, withPoints: null, token: 0, cleanup: null, session: ctx.session };
  const current = view;

  let typing = null;
  search.addEventListener("input", () => {
    clearTimeout(typing);
    typing = setTimeout(() => narrow(current), 120);
  });
  for (const [id, param] of FILTERS) {
    selects[id].addEventListener("change", () => {
      current.filters[param] = selects[id].value;
      applyFilters(current);
    });
  }
  show(current, ctx);
  setTimeout(() => loadOptions(current), 300); // after the first paint: the tree does not wait for it
  return () => {
    clearTimeout(typing);
    current.token++;
    current.cleanup?.();
    if (view === current) view = null;
  };
}

export function update(ctx) {
  if (!view || (ctx.view !== "plant" && ctx.view !== "asset")) return false;
  view.session = ctx.session;
  show(view, ctx);
  return true;
}

function show(v, ctx) {
  const id = ctx.arg;
  v.cleanup?.();
  v.cleanup = null;
  const token = ++v.token;
  v.selected = id;
  v.tree.select(id);
  clear(v.detail);
  if (!id) {
    overview(v, token);
    return;
  }
  v.detail.append(el("p", { class: "muted" }, "Loading…"));
  // the table's code is fetched while the tree paints (not before: the tree needs none of it)
  import("./asset.js")
    .then(({ renderAsset }) => renderAsset(v.detail, id, { session: v.session, filters: activeFilters(v), tree: v.tree }))
    .then((cleanup) => {
      if (token === v.token) v.cleanup = cleanup;
      else cleanup();
    })
    .catch((err) => {
      if (token === v.token) v.detail.replaceChildren(el("p", { class: "error" }, err.message));
    });
}

function activeFilters(v) {
  return Object.fromEntries(Object.entries(v.filters).filter(([, value]) => value));
}

function narrow(v) {
  const found = v.tree.narrow(v.search.value, v.withPoints);
  if (!found.narrowed) {
    v.note.hidden = true;
    return;
  }
  v.note.hidden = false;
  const what = v.withPoints ? "with matching points" : "match";
  v.note.textContent = found.capped
    ? `The first ${found.matched} assets ${what}; type more to narrow.`
    : `${found.matched} asset${found.matched === 1 ? "" : "s"} ${what}.`;
}

// Filters: the assets having points that match (one GET /points with the filters), then the table again.
async function applyFilters(v) {
  const filters = activeFilters(v);
  if (!Object.keys(filters).length) v.withPoints = null;
  else {
    try {
      const points = await getJSON("/points", { ...filters, limit: 100000 });
      v.withPoints = new Set(points.map((p) => p.asset));
    } catch (err) {
      v.note.hidden = false;
      v.note.textContent = err.message;
      return;
    }
  }
  if (view !== v) return;
  narrow(v);
  show(v, { arg: v.selected });
}

// Filter choices from the data: classes and units the points have, the sources configured. Read once per page
// load (a twin of 10,000 points answers a few MB), kept while the person moves between views.
let options = null;

async function readOptions() {
  const [points, sources] = await Promise.all([pointCatalogue(), getJSON("/sources")]);
  const classes = new Set();
  const units = new Map();
  for (const p of points.values()) {
    for (const c of p.classes || []) classes.add(c);
    if (p.unit) units.set(p.unit, unitSymbol(p));
  }
  const byText = (a, b) => a[1].localeCompare(b[1]);
  return {
    "filter-class": [...classes].map((c) => [c, classText(c)]).sort(byText),
    "filter-unit": [...units].map(([u, sym]) => [u, sym && sym !== u ? `${sym} (${u})` : u]).sort(byText),
    "filter-source": sources.map((s) => [s.id, s.label ? `${s.label} (${s.id})` : s.id]),
  };
}

async function loadOptions(v) {
  if (view !== v) return;
  options ||= readOptions();
  let chosen;
  try {
    chosen = await options;
  } catch (err) {
    options = null; // try again next time
    console.warn("filter choices not loaded", err);
    return;
  }
  if (view !== v) return;
  for (const [id, list] of Object.entries(chosen)) fill(v.selects[id], list);
}

// #/plant without an asset: what is in the twin, and the points that need a look (not Good).
async function overview(v, token) {
  const roots = v.tree.roots.map((id) => v.tree.byId.get(id));
  const list = el("ul", { class: "attention" });
  const box = el("section", { class: "overview" },
    el("h1", {}, roots.length === 1 ? roots[0].label || roots[0].id : "Plant"),
    el("p", { class: "muted" }, `${v.tree.byId.size} assets. Choose one in the tree to see its points live.`),
    el("div", { class: "panel" }, el("h2", {}, "Points that are not Good"), list));
  v.detail.replaceChildren(box);
  let rows;
  try {
    const [bad, uncertain] = await Promise.all([
      getJSON("/points", { quality: "bad", limit: ATTENTION_CAP }),
      getJSON("/points", { quality: "uncertain", limit: ATTENTION_CAP }),
    ]);
    rows = [...bad, ...uncertain].slice(0, ATTENTION_CAP);
  } catch (err) {
    list.replaceWith(el("p", { class: "error" }, err.message));
    return;
  }
  if (token !== v.token) return;
  if (!rows.length) list.replaceWith(el("p", { class: "muted" }, "Every point is Good."));
  for (const p of rows) {
    list.append(el("li", {},
      qualityBadge(p.state),
      el("a", { href: link("point", p.id) }, p.label || p.id),
      el("span", { class: "muted" }, " on "),
      el("a", { href: link("asset", p.asset) }, v.tree.byId.get(p.asset)?.label || p.asset),
      el("span", { class: "reason" }, p.state?.reason || p.state?.status || "")));
  }
}

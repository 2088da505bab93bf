// The asset tree (site > area > line > equipment) from GET /assets, a flat list with parents. Only expanded
// branches are in the DOM: a twin of a thousand assets paints its top levels at once and builds a branch when
// it is opened. A search or a filter narrows the tree to the matching assets and their ancestors.

import { clear, el, link } from "./ui.js";

const FIRST_PAINT_ROWS = 300; // levels are opened at start while the rows stay under this
const MAX_MATCHES = 500; // a search or filter shows at most this many matching assets

export class AssetTree {
  // host: the element that becomes #tree; assets: GET /assets
  constructor(host, assets) {
    this.host = host;
    this.byId = new Map();
    this.children = new Map();
    this.roots = [];
    for (const a of assets) {
      this.byId.set(a.id, { ...a, text: `${a.label || ""}\n${a.id}`.toLowerCase() });
      this.children.set(a.id, []);
    }
    for (const a of assets) {
      if (a.parent && this.byId.has(a.parent)) this.children.get(a.parent).push(a.id);
      else this.roots.push(a.id);
    }
    this.expanded = this.initialExpansion();
    this.visible = null; // null: every asset; else the Set shown (matches and their ancestors)
    this.closedInNarrow = new Set();
    this.matches = null; // the Set of assets that matched themselves (the rest are context)
    this.selected = null;
    this.items = new Map(); // id -> li, for the rows in the DOM
    this.render();
  }

  // Open level after level while the rows that would show stay few.
  initialExpansion() {
    const open = new Set();
    let level = this.roots;
    let rows = level.length;
    while (level.length) {
      const next = level.flatMap((id) => this.children.get(id));
      if (!next.length || rows + next.length > FIRST_PAINT_ROWS) break;
      for (const id of level) open.add(id);
      rows += next.length;
      level = next;
    }
    return open;
  }

  ancestors(id) {
    const out = [];
    let a = this.byId.get(id);
    while (a && a.parent && this.byId.has(a.parent)) {
      out.push(a.parent);
      a = this.byId.get(a.parent);
    }
    return out; // nearest first
  }

  path(id) {
    return [...this.ancestors(id).reverse(), id].map((x) => this.byId.get(x)).filter(Boolean);
  }

  kids(id) {
    const all = this.children.get(id) || [];
    return this.visible ? all.filter((k) => this.visible.has(k)) : all;
  }

  // A narrowed tree starts with every match opened; its branches can still be closed.
  isOpen(id) {
    return this.visible ? !this.closedInNarrow.has(id) : this.expanded.has(id);
  }

  setOpen(id, open) {
    const set = this.visible ? this.closedInNarrow : this.expanded;
    if (open === !this.visible) set.add(id);
    else set.delete(id);
  }

  render() {
    this.items.clear();
    clear(this.host);
    const roots = this.visible ? this.roots.filter((r) => this.visible.has(r)) : this.roots;
    if (!roots.length) {
      this.host.append(el("p", { class: "muted tree-empty" }, this.visible ? "No asset matches." : "This twin has no assets."));
      return;
    }
    this.host.append(this.branch(roots, 0));
    if (this.selected) this.items.get(this.selected)?.classList.add("selected");
  }

  branch(ids, depth) {
    const ul = el("ul", { role: depth ? "group" : "tree" });
    for (const id of ids) ul.append(this.item(id, depth));
    return ul;
  }

  item(id, depth) {
    const a = this.byId.get(id);
    const kids = this.kids(id);
    const open = kids.length > 0 && this.isOpen(id);
    const twist = kids.length
      ? el("button", { type: "button", class: "twist", "aria-expanded": String(open), "aria-label": open ? "Collapse" : "Expand",
          onclick: () => this.toggle(id) })
      : el("span", { class: "twist leaf" });
    const context = this.matches && !this.matches.has(id);
    const li = el("li", { "data-asset": id, "data-level": a.level || "", role: "treeitem", class: context ? "context" : null },
      el("div", { class: "row" },
        twist,
        el("a", { class: "label", href: link("asset", id), title: id }, a.label || id),
        kids.length ? el("span", { class: "count" }, String(kids.length)) : null,
      ),
    );
    if (open) li.append(this.branch(kids, depth + 1));
    this.items.set(id, li);
    return li;
  }

  toggle(id) {
    const li = this.items.get(id);
    if (!li) return;
    const twist = li.querySelector(":scope > .row > .twist");
    const sub = li.querySelector(":scope > ul");
    if (this.isOpen(id)) {
      this.setOpen(id, false);
      if (sub) {
        for (const node of sub.querySelectorAll("li[data-asset]")) this.items.delete(node.dataset.asset);
        sub.remove();
      }
    } else {
      this.setOpen(id, true);
      const depth = this.ancestors(id).length + 1;
      li.append(this.branch(this.kids(id), depth));
      if (this.selected) this.items.get(this.selected)?.classList.add("selected");
    }
    const open = this.isOpen(id);
    twist.setAttribute("aria-expanded", String(open));
    twist.setAttribute("aria-label", open ? "Collapse" : "Expand");
  }

  // Mark the asset chosen; open the branches down to it so it can be seen.
  select(id) {
    if (this.selected) this.items.get(this.selected)?.classList.remove("selected");
    this.selected = id && this.byId.has(id) ? id : null;
    if (!this.selected) return;
    if (!this.items.has(id) && (!this.visible || this.visible.has(id))) {
      const chain = this.ancestors(id).reverse();
      for (const a of chain) if (!this.isOpen(a)) this.toggle(a);
    }
    const li = this.items.get(id);
    if (!li) return;
    li.classList.add("selected");
    li.querySelector(":scope > .row").scrollIntoView({ block: "nearest" });
  }

  // Narrow the tree: text (label or id, any part) and/or a Set of asset ids that have matching points (null: no
  // filter). Answers {shown, matched, capped}.
  narrow(text, withPoints) {
    const q = (text || "").trim().toLowerCase();
    if (!q && !withPoints) {
      this.visible = null;
      this.matches = null;
      this.render();
      if (this.selected) this.select(this.selected);
      return { matched: this.byId.size, capped: false, narrowed: false };
    }
    const matches = new Set();
    let capped = false;
    for (const [id, a] of this.byId) {
      if (q && !a.text.includes(q)) continue;
      if (withPoints && !withPoints.has(id)) continue;
      if (matches.size >= MAX_MATCHES) {
        capped = true;
        break;
      }
      matches.add(id);
    }
    const visible = new Set(matches);
    for (const id of matches) for (const up of this.ancestors(id)) visible.add(up);
    this.visible = visible;
    this.matches = matches;
    this.closedInNarrow = new Set();
    this.render();
    if (this.selected) this.select(this.selected);
    return { matched: matches.size, capped, narrowed: true };
  }
}

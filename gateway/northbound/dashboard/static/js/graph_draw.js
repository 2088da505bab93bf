// The graph view's picture: a hand-written layered layout (no library) drawn as SVG.
//
//   context (parent, types, location, relations)  ->  [ the asset ]  ->  contents (parts, points + address)  ->  hubs
//
// Context nodes sit left of the asset, each with a caption saying how it relates; the asset's parts and points
// sit right of it, each point with its protocol address just below it; the classes, units and own locations of
// the points are shared "hubs" in the last column, each placed at the mean height of the points it serves and
// then pushed apart, so lines cross as little as they can without a force simulation.

const SVG = "http://www.w3.org/2000/svg";
const FONT = "13px system-ui, -apple-system, 'Segoe UI', Roboto, 'Noto Sans', sans-serif";
const MONO = "11px ui-monospace, 'DejaVu Sans Mono', Menlo, Consolas, monospace";

const PAD = 24; // around the picture
const NODE_H = 26;
const TEXT_PAD = 30; // a node's dot and margins around its text
const ADDRESS_H = 20;
const CENTER = { w: 220, h: 52 };
const COL = { left: PAD, leftW: 230, center: 350, right: 650, rightW: 340, hub: 1100, hubW: 260 };
const WIDTH = COL.hub + COL.hubW + PAD;
const LEFT_STEP = 52; // caption + node + gap
const CHILD_STEP = 38;
const POINT_STEP = 56; // point + its address + gap
const HUB_STEP = 34;

let canvas = null;
function textWidth(text, font) {
  canvas ||= document.createElement("canvas");
  const ctx = canvas.getContext("2d");
  ctx.font = font;
  return ctx.measureText(text).width;
}

// The text cut with an ellipsis to fit `max` pixels.
export function fit(text, max, font = FONT) {
  if (textWidth(text, font) <= max) return text;
  let lo = 0;
  let hi = text.length;
  while (lo < hi) {
    const mid = Math.ceil((lo + hi) / 2);
    if (textWidth(`${text.slice(0, mid)}…`, font) <= max) lo = mid;
    else hi = mid - 1;
  }
  return `${text.slice(0, lo)}…`;
}

// An SVG element with attributes and children (text goes in as text).
export function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== null && v !== undefined) node.setAttribute(k, String(v));
  for (const c of children) if (c) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return node;
}

// Spread wanted heights apart: at least `step` between neighbours, all within [top, bottom].
function spread(items, top, bottom, step) {
  items.sort((a, b) => a.want - b.want);
  const room = bottom - top;
  const gap = items.length > 1 ? Math.min(step, room / (items.length - 1)) : step;
  let y = top - gap;
  for (const it of items) {
    it.y = Math.max(it.want, y + gap);
    y = it.y;
  }
  let limit = bottom + gap;
  for (let i = items.length - 1; i >= 0; i--) {
    items[i].y = Math.min(items[i].y, limit - gap);
    limit = items[i].y;
  }
  return items;
}

// Positions for the model built by graph.js; returns {width, height, boxes: [...], edges: [...]}.
export function layout(model) {
  const boxes = [];
  const edges = [];
  const rightHeight = model.right.reduce((h, r) => h + (r.address ? POINT_STEP : CHILD_STEP), 0) + (model.moreRight ? CHILD_STEP : 0);
  const leftHeight = model.left.length * LEFT_STEP + (model.moreLeft ? CHILD_STEP : 0);
  const inner = Math.max(rightHeight, leftHeight, model.hubs.length * HUB_STEP, CENTER.h + 40, 240);
  const height = inner + 2 * PAD;
  const midY = PAD + inner / 2;

  const center = { ...model.center, x: COL.center, y: midY - CENTER.h / 2, w: CENTER.w, h: CENTER.h, center: true };
  boxes.push(center);

  // context, left of the asset, centred on it
  let y = midY - leftHeight / 2;
  for (const item of model.left) {
    const w = Math.min(COL.leftW, Math.max(90, textWidth(item.node.label, FONT) + TEXT_PAD));
    const box = { ...item.node, x: COL.left + COL.leftW - w, y: y + 16, w, h: NODE_H, caption: item.caption };
    boxes.push(box);
    edges.push({ from: box, to: center, kind: item.node.kind, side: "left" });
    y += LEFT_STEP;
  }
  if (model.moreLeft) boxes.push({ more: true, text: model.moreLeft.text, href: model.moreLeft.href, x: COL.left + 8, y: y + 6, w: COL.leftW, h: NODE_H });

  // contents, right of the asset
  y = midY - rightHeight / 2;
  const rows = [];
  for (const item of model.right) {
    const box = { ...item.node, x: COL.right, y, w: COL.rightW, h: NODE_H };
    boxes.push(box);
    edges.push({ from: center, to: box, kind: item.node.kind, side: "right" });
    if (item.address) {
      const text = fit(item.address.label, COL.rightW - 18 - TEXT_PAD, MONO);
      const addr = { ...item.address, label: text, x: COL.right + 18, y: y + NODE_H + 4, w: Math.min(COL.rightW - 18, textWidth(text, MONO) + TEXT_PAD), h: ADDRESS_H, mono: true };
      boxes.push(addr);
      edges.push({ from: box, to: addr, kind: "address", side: "below" });
      y += POINT_STEP;
    } else y += CHILD_STEP;
    rows.push(box);
  }
  if (model.moreRight) boxes.push({ more: true, text: model.moreRight.text, href: model.moreRight.href, x: COL.right + 8, y: y + 4, w: COL.rightW, h: NODE_H });

  // hubs: each at the mean height of its points, then pushed apart
  const hubs = model.hubs.map((hub) => ({ hub, want: hub.from.reduce((s, i) => s + rows[i].y, 0) / hub.from.length }));
  spread(hubs, PAD, PAD + inner - NODE_H, HUB_STEP);
  for (const { hub, y: hy } of hubs) {
    const w = Math.min(COL.hubW, Math.max(70, textWidth(hub.node.label, FONT) + TEXT_PAD));
    const box = { ...hub.node, x: COL.hub, y: hy, w, h: NODE_H };
    boxes.push(box);
    for (const i of hub.from) edges.push({ from: rows[i], to: box, kind: hub.node.kind, side: "right" });
  }
  return { width: WIDTH, height, boxes, edges };
}

function edgePath(e) {
  const a = e.from;
  const b = e.to;
  if (e.side === "below") {
    const x = a.x + 9;
    return `M${x},${a.y + a.h} V${b.y + b.h / 2} H${b.x}`;
  }
  const x1 = a.x + a.w;
  const y1 = a.y + a.h / 2;
  const x2 = b.x;
  const y2 = b.y + b.h / 2;
  const dx = (x2 - x1) / 2;
  return `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`;
}

// Draw the layout into `root` (an <svg>); `onOpen(box)` for a click or Enter on a node that leads somewhere.
export function draw(root, laid, onOpen) {
  root.setAttribute("viewBox", `0 0 ${laid.width} ${laid.height}`);
  root.setAttribute("width", String(laid.width));
  root.setAttribute("height", String(laid.height));
  const edgeLayer = svg("g", { class: "edges" });
  const nodeLayer = svg("g", { class: "nodes" });
  root.append(edgeLayer, nodeLayer);
  const linesOf = new Map();
  for (const e of laid.edges) {
    const path = svg("path", { class: `edge edge-${e.kind}`, d: edgePath(e) });
    edgeLayer.append(path);
    for (const end of [e.from, e.to]) {
      if (!linesOf.has(end)) linesOf.set(end, []);
      linesOf.get(end).push({ path, other: end === e.from ? e.to : e.from });
    }
  }
  const groupOf = new Map();
  for (const box of laid.boxes) {
    const g = box.more ? drawMore(box) : drawNode(box);
    groupOf.set(box, g);
    nodeLayer.append(g);
    if (box.href && !box.center) {
      g.classList.add("link");
      g.setAttribute("tabindex", "0");
      g.setAttribute("role", "link");
      g.addEventListener("click", () => onOpen(box));
      g.addEventListener("keydown", (event) => {
        if (event.key === "Enter") onOpen(box);
      });
    }
  }
  // hovering a node lights up its lines and neighbours
  for (const [box, lines] of linesOf) {
    const g = groupOf.get(box);
    g.addEventListener("mouseenter", () => {
      root.classList.add("focus");
      g.classList.add("hot");
      for (const { path, other } of lines) {
        path.classList.add("hot");
        groupOf.get(other)?.classList.add("hot");
      }
    });
    g.addEventListener("mouseleave", () => {
      root.classList.remove("focus");
      for (const n of root.querySelectorAll(".hot")) n.classList.remove("hot");
    });
  }
}

function drawNode(box) {
  const g = svg("g", { class: `node kind-${box.kind}${box.center ? " center" : ""}`, "data-kind": box.kind, "data-id": box.id, transform: `translate(${box.x},${box.y})` });
  g.append(svg("title", {}, box.title || box.label));
  if (box.caption) g.append(svg("text", { class: "caption", x: 2, y: -5 }, fit(box.caption.toUpperCase(), box.w + 60, "600 10px system-ui, sans-serif")));
  g.append(svg("rect", { width: box.w, height: box.h, rx: box.center ? 10 : 6 }));
  if (box.center) {
    g.append(svg("text", { class: "label", x: box.w / 2, y: 22, "text-anchor": "middle" }, fit(box.label, box.w - 20, `600 ${FONT}`)));
    g.append(svg("text", { class: "sub", x: box.w / 2, y: 40, "text-anchor": "middle" }, fit(box.sub || "", box.w - 20)));
    return g;
  }
  g.append(svg("circle", { class: "dot", cx: 11, cy: box.h / 2, r: 3.5 }));
  const font = box.mono ? MONO : FONT;
  const label = fit(box.label, box.w - TEXT_PAD + 1, font);
  const text = svg("text", { class: box.mono ? "label mono" : "label", x: 20, y: box.h / 2 + (box.mono ? 4 : 4.5) }, label);
  if (box.sub) {
    const room = box.w - 34 - textWidth(label, font);
    if (room > 40) text.append(svg("tspan", { class: "sub", dx: 8 }, fit(box.sub, room, "11px system-ui, sans-serif")));
  }
  g.append(text);
  return g;
}

function drawMore(box) {
  const g = svg("g", { class: "more", transform: `translate(${box.x},${box.y})` });
  g.append(svg("text", { x: 0, y: box.h / 2 + 4 }, box.text));
  return g;
}

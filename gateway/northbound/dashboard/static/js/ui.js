// Small DOM helpers shared by the views. Text always goes in as text (never as HTML), so nothing a device or a
// mapping says can become markup.

// el("td", {class: "value", "data-point": id, onclick: fn}, "text", childNode...)
export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") node.addEventListener(key.slice(2), value);
    else if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (value === true) node.setAttribute(key, "");
    else node.setAttribute(key, String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

export function clear(node) {
  while (node.firstChild) node.removeChild(node.firstChild);
  return node;
}

// One formatter per precision, made once (toLocaleString builds one per call: a measurable share of a busy page).
const decimals = (digits) => new Intl.NumberFormat("en-US", { maximumFractionDigits: digits, useGrouping: false });
const FORMAT_SMALL = decimals(4);
const FORMAT_MEDIUM = decimals(2);
const FORMAT_LARGE = decimals(1);

// A value as a person reads it: numbers with sensible digits, booleans as on/off, missing as a dash.
export function formatValue(value) {
  if (value === null || value === undefined) return "—";
  if (typeof value === "boolean") return value ? "true" : "false";
  if (typeof value === "number") {
    if (Number.isInteger(value)) return String(value);
    const abs = Math.abs(value);
    if (abs !== 0 && (abs < 0.001 || abs >= 1e7)) return value.toExponential(3);
    return (abs < 1 ? FORMAT_SMALL : abs < 100 ? FORMAT_MEDIUM : FORMAT_LARGE).format(value);
  }
  return String(value);
}

export function withUnit(value, symbol) {
  const text = formatValue(value);
  return symbol && value !== null && value !== undefined ? `${text} ${symbol}` : text;
}

// Local wall time with milliseconds (a person compares times on one screen); the full ISO text as the tooltip.
export function formatTime(iso) {
  if (!iso) return "—";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  const time = `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const today = new Date();
  return d.toDateString() === today.toDateString() ? time : `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${time}`;
}

// The quality badge: good / uncertain / bad with the status code, the reason as its tooltip and text.
export function qualityBadge(state) {
  const quality = state?.quality || "bad";
  const status = state?.status || "";
  const badge = el("span", { class: `badge q-${quality}`, title: [status, state?.reason].filter(Boolean).join(": ") }, quality);
  return badge;
}

export function updateBadge(badge, state) {
  const quality = state?.quality || "bad";
  badge.className = `badge q-${quality}`;
  badge.textContent = quality;
  badge.title = [state?.status, state?.reason].filter(Boolean).join(": ");
}

// A message at the top of the page (errors the person should see); "" hides it.
export function banner(text, kind = "error") {
  const node = document.getElementById("banner");
  node.textContent = text;
  node.className = kind;
  node.hidden = !text;
}

// Ask before doing something that changes the plant; resolves true when confirmed.
export function confirmAction(title, detail, okLabel = "Confirm") {
  return new Promise((resolve) => {
    const dialog = el("dialog", { class: "confirm" });
    const ok = el("button", { type: "button", class: "primary", "data-action": "confirm" }, okLabel);
    const cancel = el("button", { type: "button", "data-action": "cancel" }, "Cancel");
    dialog.append(el("h2", {}, title), el("p", {}, detail), el("div", { class: "buttons" }, cancel, ok));
    const done = (answer) => {
      dialog.close();
      dialog.remove();
      resolve(answer);
    };
    ok.addEventListener("click", () => done(true));
    cancel.addEventListener("click", () => done(false));
    dialog.addEventListener("cancel", () => done(false));
    document.body.append(dialog);
    dialog.showModal();
    ok.focus();
  });
}

// Save text as a file (CSV, JSON) without a round trip to the server.
export function download(filename, text, mime) {
  const blob = new Blob([text], { type: mime });
  const link = el("a", { href: URL.createObjectURL(blob), download: filename });
  document.body.append(link);
  link.click();
  setTimeout(() => {
    URL.revokeObjectURL(link.href);
    link.remove();
  }, 0);
}

// CSV text from rows of cells (RFC 4180 quoting).
export function toCsv(header, rows) {
  const cell = (v) => {
    const s = v === null || v === undefined ? "" : String(v);
    return /[",\n\r]/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
  };
  return [header, ...rows].map((r) => r.map(cell).join(",")).join("\r\n") + "\r\n";
}

// Hash links: #/asset/<id>, #/point/<id>, #/graph/<id>, #/trends?points=a,b
export function link(view, arg, params) {
  let hash = `#/${view}`;
  if (arg) hash += `/${encodeURIComponent(arg)}`;
  if (params) {
    const q = new URLSearchParams(params).toString();
    if (q) hash += `?${q}`;
  }
  return hash;
}

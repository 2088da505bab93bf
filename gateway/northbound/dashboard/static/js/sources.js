// #/sources: every source's connection (state, since when, last error, reconnects), its traffic (points, samples
// in with their rate, bad samples) and its adapter's counters and details, refreshed every 2 s from GET /sources;
// above it the gateway's health from GET /health (sources ready, services such as the MQTT publisher).

import { ApiError, getJSON } from "./api.js";
import { clear, el, formatTime, formatValue } from "./ui.js";

const EVERY_MS = 2000;
const COLUMNS = ["Source", "Kind", "Endpoint", "State", "Connected since", "Last error", "Reconnects", "Points", "Samples in", "Bad samples", ""];

function count(n) {
  return typeof n === "number" ? n.toLocaleString("en-US") : "—";
}

// "3 min", "2 h 5 min", "12 s": how long ago an ISO time was.
export function ago(iso, now = Date.now()) {
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return "";
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s} s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m} min`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h} h ${m % 60} min`;
  return `${Math.floor(h / 24)} d ${h % 24} h`;
}

function stateBadge(state) {
  return el("span", { class: `conn conn-${state}` }, state);
}

// An adapter's details (nested objects of its own making) as a definition list.
function detailList(value, depth = 0) {
  if (value === null || value === undefined) return el("span", { class: "muted" }, "—");
  if (Array.isArray(value)) {
    if (!value.length) return el("span", { class: "muted" }, "none");
    if (value.every((v) => typeof v !== "object" || v === null)) return el("span", {}, value.map(String).join(", "));
    return el("ol", { class: "kv-list" }, value.map((v) => el("li", {}, detailList(v, depth + 1))));
  }
  if (typeof value === "object") {
    const keys = Object.keys(value);
    if (!keys.length) return el("span", { class: "muted" }, "none");
    if (depth > 3) return el("code", {}, JSON.stringify(value));
    return el("dl", { class: "kv" }, keys.flatMap((k) => [el("dt", {}, k), el("dd", {}, detailList(value[k], depth + 1))]));
  }
  return el("span", {}, typeof value === "number" ? formatValue(value) : String(value));
}

class SourceRow {
  constructor(source, columns) {
    this.id = source.id;
    this.previous = null; // {samples, at}: for the rate
    this.cells = {};
    const cell = (name, cls) => (this.cells[name] = el("td", { class: cls }));
    this.toggle = el("button", { type: "button", class: "counters", "aria-expanded": "false", onclick: () => this.flip() }, "Counters");
    this.row = el(
      "tr",
      { "data-source": source.id },
      cell("source", "source"),
      cell("kind", "kind"),
      cell("endpoint", "endpoint"),
      cell("state", "connection"),
      cell("since", "since"),
      cell("error", "last-error"),
      cell("reconnects", "num reconnects"),
      cell("points", "num points"),
      cell("samples", "num samples"),
      cell("bad", "num bad"),
      el("td", { class: "more" }, this.toggle),
    );
    this.counters = el("div", { class: "counter-grid" });
    this.details = el("div", { class: "details" });
    this.detail = el(
      "tr",
      { class: "source-detail", "data-detail-of": source.id, hidden: true },
      el("td", { colspan: String(columns) }, el("div", { class: "detail-body" }, el("section", {}, el("h3", {}, "Adapter counters"), this.counters), el("section", {}, el("h3", {}, "Details"), this.details))),
    );
  }

  flip() {
    const open = this.detail.hidden;
    this.detail.hidden = !open;
    this.toggle.setAttribute("aria-expanded", String(open));
    this.toggle.classList.toggle("open", open);
  }

  update(s, now) {
    const c = this.cells;
    this.row.className = `is-${s.state}`;
    clear(c.source).append(el("div", { class: "id" }, s.id), el("div", { class: "label muted" }, s.label || ""));
    clear(c.kind).append(el("span", { class: "tag" }, s.kind));
    c.endpoint.textContent = s.endpoint || "—";
    clear(c.state).append(stateBadge(s.state));
    clear(c.since);
    if (s.connected_since) {
      c.since.append(el("div", { title: s.connected_since }, formatTime(s.connected_since)), el("div", { class: "muted small" }, `for ${ago(s.connected_since, now)}`));
    } else c.since.append(el("span", { class: "muted" }, "—"));
    clear(c.error);
    if (s.last_error) {
      c.error.append(el("div", { class: "text" }, s.last_error));
      if (s.last_error_at) c.error.append(el("div", { class: "muted small", title: s.last_error_at }, `at ${formatTime(s.last_error_at)} (${ago(s.last_error_at, now)} ago)`));
    } else c.error.append(el("span", { class: "muted" }, "none"));
    c.reconnects.textContent = count(s.reconnects);
    c.points.textContent = count(s.points);
    clear(c.samples).append(el("div", {}, count(s.samples_in)));
    if (this.previous && now > this.previous.at) {
      const rate = ((s.samples_in - this.previous.samples) * 1000) / (now - this.previous.at);
      c.samples.append(el("div", { class: "muted small" }, `${formatValue(Math.max(0, Math.round(rate * 10) / 10))}/s`));
    }
    this.previous = { samples: s.samples_in, at: now };
    c.bad.textContent = count(s.bad_samples);
    c.bad.classList.toggle("nonzero", s.bad_samples > 0);
    clear(this.counters);
    for (const [name, value] of Object.entries(s.counters || {})) {
      this.counters.append(el("div", { class: "counter" }, el("span", { class: "name" }, name.replace(/_/g, " ")), el("span", { class: "value" }, formatValue(value))));
    }
    if (!this.counters.childElementCount) this.counters.append(el("span", { class: "muted" }, "This adapter keeps no counters."));
    if (s.suppressed) this.counters.prepend(el("div", { class: "counter" }, el("span", { class: "name" }, "suppressed samples"), el("span", { class: "value" }, count(s.suppressed))));
    clear(this.details).append(detailList(s.details || {}));
  }
}

function healthPanel(health) {
  const services = Object.entries(health.services || {});
  const sources = Object.entries(health.sources || {});
  const up = sources.filter(([, st]) => st === "connected" || st === "disabled").length;
  return el(
    "div",
    { id: "health", class: "health" },
    el(
      "div",
      { class: `overall ${health.status === "ok" ? "ok" : "degraded"}` },
      el("div", { class: "big" }, health.status === "ok" ? "Healthy" : "Degraded"),
      el("div", { class: "muted" }, `${up} of ${sources.length} sources ready · ${count(health.points)} points`),
    ),
    services.map(([name, svc]) => serviceCard(name, svc)),
  );
}

function serviceCard(name, svc) {
  const { ok, state, brokers, ...rest } = svc;
  const card = el(
    "div",
    { class: `service ${ok ? "ok" : "degraded"}`, "data-service": name },
    el("div", { class: "head" }, el("strong", {}, name), stateBadge(state || (ok ? "ok" : "degraded"))),
  );
  if (brokers && typeof brokers === "object") {
    for (const [id, b] of Object.entries(brokers)) {
      const channels = Object.entries(b.channels || {}).map(([ch, st]) => `${ch} ${st}`).join(", ");
      card.append(
        el(
          "div",
          { class: "broker" },
          el("div", {}, el("span", { class: "id" }, id), " ", el("span", { class: "muted" }, b.endpoint || ""), " ", stateBadge(b.state)),
          el("div", { class: "muted small" }, [channels, b.buffered ? `${count(b.buffered)} buffered` : "nothing buffered"].filter(Boolean).join(" · ")),
          b.last_error ? el("div", { class: "error small" }, b.last_error) : null,
        ),
      );
    }
  }
  if (Object.keys(rest).length) card.append(detailList(rest));
  return card;
}

async function readHealth() {
  try {
    return await getJSON("/health");
  } catch (err) {
    if (err instanceof ApiError && err.status === 503 && err.body) return err.body; // degraded: still the report
    throw err;
  }
}

export async function render(main) {
  const rows = new Map();
  const tbody = el("tbody");
  const healthBox = el("div", { class: "health-box" });
  const status = el("span", { id: "sources-status", class: "muted" }, "Loading…");
  const table = el("table", { id: "sources", class: "data" }, el("thead", {}, el("tr", {}, COLUMNS.map((c, i) => el("th", { class: i >= 6 && i <= 9 ? "num" : null }, c)))), tbody);
  main.append(
    el(
      "section",
      { class: "sources" },
      el("div", { class: "toolbar" }, el("h1", {}, "Sources"), el("span", { class: "spacer" }), status),
      healthBox,
      el("div", { class: "table-wrap" }, table),
    ),
  );

  let stopped = false;
  let timer = null;

  async function refresh() {
    try {
      const [sources, health] = await Promise.all([getJSON("/sources"), readHealth()]);
      if (stopped) return;
      const now = Date.now();
      const seen = new Set();
      for (const s of sources) {
        seen.add(s.id);
        let row = rows.get(s.id);
        if (!row) {
          row = new SourceRow(s, COLUMNS.length);
          rows.set(s.id, row);
          tbody.append(row.row, row.detail);
        }
        row.update(s, now);
      }
      for (const [id, row] of rows) {
        if (seen.has(id)) continue;
        row.row.remove();
        row.detail.remove();
        rows.delete(id);
      }
      clear(healthBox).append(healthPanel(health));
      status.className = "muted";
      status.textContent = `Updated ${formatTime(new Date(now).toISOString())} · every ${EVERY_MS / 1000} s`;
    } catch (err) {
      if (stopped) return;
      status.className = "error";
      status.textContent = `Could not refresh: ${err.message}`;
    }
    if (!stopped) timer = setTimeout(refresh, EVERY_MS);
  }

  await refresh();
  return () => {
    stopped = true;
    clearTimeout(timer);
  };
}

// Alarms: the conditions of interest now (active, unacknowledged or shelved) and the journal of the last day,
// refreshed when the event stream says an alarm changed. An operator acknowledges, shelves (for a while or
// until it clears), unshelves and comments; a reader sees the same tables without those buttons.
// watchCount keeps the red number in the navigation at the active, unacknowledged alarms.

import { ApiError, getJSON, openStream, pointCatalogue, sendJSON } from "./api.js";
import { el, formatTime, formatValue, link } from "./ui.js";
import { commentDialog, shelveDialog } from "./alarms_dialogs.js";

// OPC UA severity 1..1000 in four bands (docs: dashboard, Alarms)
const BANDS = [
  { min: 751, key: "critical", label: "Critical" },
  { min: 501, key: "high", label: "High" },
  { min: 251, key: "medium", label: "Medium" },
  { min: 1, key: "low", label: "Low" },
];
export function severityBand(severity) {
  return BANDS.find((b) => severity >= b.min) || BANDS[BANDS.length - 1];
}

const RECENT_ROWS = 200;
const COUNT_EVERY_MS = 5000;

// -- the navigation's count --------------------------------------------------------------------------------
let counter = null;

function showCount(alarms) {
  if (!counter) return;
  const n = alarms.filter((a) => a.active && !a.acked && !a.shelved).length;
  counter.textContent = String(n);
  counter.hidden = n === 0;
  counter.title = `${n} active, unacknowledged alarm${n === 1 ? "" : "s"}`;
}

// Poll GET /alarms?state=active every 5 s (not while the tab is hidden); hidden at 0.
export function watchCount(span, session) {
  if (!span || !session) return;
  counter = span;
  let timer = null;
  const tick = async () => {
    if (!document.hidden) {
      try {
        showCount(await getJSON("/alarms", { state: "active" }));
      } catch (err) {
        if (err instanceof ApiError && (err.status === 401 || err.status === 403)) return; // not ours to read
      }
    }
    timer = setTimeout(tick, COUNT_EVERY_MS);
  };
  tick();
  return () => clearTimeout(timer);
}

// -- helpers ---------------------------------------------------------------------------------------------
const alarmPath = (id, verb) => `/alarms/${id.split("/").map(encodeURIComponent).join("/")}/${verb}`;

// point id -> its summary (label, unit symbol); without it the tables show point ids and unit names
const knownPoints = () => pointCatalogue().catch(() => new Map());

function ago(iso) {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  if (s < 60) return `${Math.round(s)} s ago`;
  if (s < 3600) return `${Math.round(s / 60)} min ago`;
  if (s < 86400) return `${Math.round(s / 3600)} h ago`;
  return `${Math.round(s / 86400)} d ago`;
}

function stateText(a) {
  if (!a.enabled) return "Out of service";
  if (a.active) return a.acked ? "Active, acknowledged" : "Active, unacknowledged";
  if (!a.acked) return "Returned, unacknowledged";
  if (!a.confirmed) return "Returned, unconfirmed";
  return "Normal";
}

function severityCell(a) {
  const band = severityBand(a.severity);
  return el("td", { class: "severity" }, el("span", { class: `sev sev-${band.key}`, title: `severity ${a.severity} of 1000` }, band.label), el("span", { class: "sev-number" }, a.severity));
}

// The most recent journal rows, newest first: a day of them, narrowed when a day holds too many to read.
async function recentJournal() {
  for (const start of ["-24h", "-1h", "-5m"]) {
    const rows = await getJSON("/alarms/history", { start, limit: 5000 });
    if (rows.length < 5000 || start === "-5m") return rows.slice(-RECENT_ROWS).reverse();
  }
  return [];
}

// -- the view -----------------------------------------------------------------------------------------------
export async function render(main, ctx) {
  const view = new AlarmsView(main, ctx);
  await view.refresh();
  view.listen();
  return () => view.close();
}

class AlarmsView {
  constructor(main, ctx) {
    this.operator = Boolean(ctx.session && ctx.session.can_operate_alarms);
    this.pending = null;
    this.closed = false;
    this.seq = 0;
    this.liveMark = el("span", { class: "alarms-live", "data-state": "connecting" }, "Connecting…");
    this.summary = el("span", { class: "alarms-summary muted" });
    this.message = el("p", { id: "alarms-message", role: "status", hidden: true });
    const heads = ["Severity", "State", "Point", "Message", "Value", "Since", "Last action"];
    if (this.operator) heads.push("");
    this.active = el("table", { id: "alarms-active", class: "data alarms" }, el("thead", {}, el("tr", {}, heads.map((h) => el("th", {}, h)))), el("tbody"));
    this.recent = el(
      "table",
      { id: "alarms-recent", class: "data alarms" },
      el("thead", {}, el("tr", {}, ["Time", "Severity", "Point", "Event", "Value", "By", "Comment"].map((h) => el("th", {}, h)))),
      el("tbody"),
    );
    this.shelve = shelveDialog((a, duration, comment) => this.act(a, "shelve", { duration, comment }, "Shelved"));
    this.comment = commentDialog((a, text) => this.act(a, "comment", { comment: text }, "Comment added"));
    main.append(
      el(
        "section",
        { class: "alarms-view" },
        el("div", { class: "alarms-head" }, el("h1", {}, "Alarms"), this.summary, this.liveMark),
        this.message,
        el("section", { class: "panel alarms-panel" }, el("h2", {}, "Active and unacknowledged"), this.active),
        el("section", { class: "panel alarms-panel" }, el("h2", {}, `Recent events (last 24 hours, newest first, at most ${RECENT_ROWS})`), this.recent),
        this.shelve,
        this.comment,
      ),
    );
  }

  listen() {
    this.stream = openStream({ events: "alarm" }, {
      alarm: () => this.soon(),
      status: (state) => {
        this.liveMark.dataset.state = state;
        this.liveMark.textContent = state === "open" ? "Live" : "Reconnecting…";
        if (state === "open") this.soon(); // what changed while it was away
      },
    });
    this.timer = setInterval(() => this.refresh(), 30000); // the "since" times, and a safety net
  }

  soon() {
    clearTimeout(this.pending);
    this.pending = setTimeout(() => this.refresh(), 200);
  }

  async refresh() {
    const n = ++this.seq; // only the newest answer is drawn
    let list;
    let shelved;
    let journal;
    let symbols;
    try {
      [list, shelved, journal, symbols] = await Promise.all([
        getJSON("/alarms"),
        getJSON("/alarms", { state: "shelved" }),
        recentJournal(),
        knownPoints(),
      ]);
    } catch (err) {
      if (!this.closed && n === this.seq) this.say(`The alarms could not be read: ${err.message}`, "error");
      return;
    }
    if (this.closed || n !== this.seq) return;
    this.symbols = symbols;
    const seen = new Set(list.map((a) => a.id));
    const rows = [...list, ...shelved.filter((a) => !seen.has(a.id))];
    this.byId = new Map(rows.map((a) => [a.id, a]));
    this.drawActive(rows);
    this.drawRecent(journal);
    showCount(rows);
    const active = rows.filter((a) => a.active).length;
    const unacked = rows.filter((a) => !a.acked).length;
    this.summary.textContent = `${active} active · ${unacked} unacknowledged · ${shelved.length} shelved`;
  }

  value(a) {
    const known = this.symbols.get(a.point);
    const unit = known ? known.unit_symbol || "" : a.unit;
    return unit && a.value !== null && a.value !== undefined ? `${formatValue(a.value)} ${unit}` : formatValue(a.value);
  }

  pointCell(a) {
    const known = this.symbols.get(a.point);
    return el(
      "td",
      { class: "point" },
      el("a", { href: link("point", a.point) }, known && known.label ? known.label : a.point),
      el("span", { class: "sub" }, `${a.point} · ${a.rule}`),
    );
  }

  drawActive(rows) {
    const body = this.active.tBodies[0];
    if (!rows.length) {
      body.replaceChildren(el("tr", { class: "none" }, el("td", { colspan: this.operator ? 8 : 7 }, "No active or unacknowledged alarms.")));
      return;
    }
    body.replaceChildren(
      ...rows.map((a) => {
        const band = severityBand(a.severity);
        const tags = [];
        if (a.limit_state && a.active) tags.push(el("span", { class: "tag" }, a.limit_state));
        if (a.shelved) tags.push(el("span", { class: "tag shelved" }, a.unshelve_at ? `Shelved until ${formatTime(a.unshelve_at)}` : "Shelved until it clears"));
        if (a.suppressed) tags.push(el("span", { class: "tag" }, "Suppressed: bad input"));
        const since = a.active_since || a.changed_at;
        const tr = el(
          "tr",
          { "data-alarm": a.id, class: `sev-row sev-${band.key}${a.active ? " is-active" : ""}${a.acked ? "" : " is-unacked"}`, "data-acked": String(a.acked), "data-shelved": a.shelved || "" },
          severityCell(a),
          el("td", { class: "state" }, el("span", { class: "state-text" }, stateText(a)), tags.length ? el("div", { class: "tags" }, tags) : null),
          this.pointCell(a),
          el("td", { class: "message" }, a.message),
          el("td", { class: "value num" }, this.value(a)),
          el("td", { class: "since", title: since }, formatTime(since), el("span", { class: "sub" }, ago(since))),
          el("td", { class: "last" }, a.last_actor ? el("strong", {}, a.last_actor) : el("span", { class: "muted" }, "—"), a.last_comment ? el("span", { class: "comment" }, a.last_comment) : null),
        );
        if (this.operator) tr.append(this.actions(a));
        return tr;
      }),
    );
  }

  actions(a) {
    const buttons = [];
    // a click is sent once; the button comes back only when the action is refused
    const once = (verb, body, done) => (event) => {
      event.target.disabled = true;
      this.act(a, verb, body, done).catch(() => (event.target.disabled = false));
    };
    // ack quotes the event the operator saw: a newer activation is not acknowledged unseen
    if (!a.acked) buttons.push(el("button", { type: "button", class: "ack primary", onclick: once("ack", { event_id: a.event_id }, "Acknowledged") }, "Acknowledge"));
    if (a.shelved) buttons.push(el("button", { type: "button", class: "unshelve", onclick: once("unshelve", {}, "Unshelved") }, "Unshelve"));
    else buttons.push(el("button", { type: "button", class: "shelve", onclick: () => this.shelve.open_for(a) }, "Shelve…"));
    buttons.push(el("button", { type: "button", class: "comment", onclick: () => this.comment.open_for(a) }, "Comment…"));
    return el("td", { class: "actions" }, el("div", { class: "action-buttons" }, buttons));
  }

  drawRecent(events) {
    const body = this.recent.tBodies[0];
    if (!events.length) {
      body.replaceChildren(el("tr", { class: "none" }, el("td", { colspan: 7 }, "No alarm events in the last 24 hours.")));
      return;
    }
    body.replaceChildren(
      ...events.map((e) =>
        el(
          "tr",
          { "data-alarm": e.alarm_id, "data-transition": e.transition },
          el("td", { class: "time", title: e.time }, formatTime(e.time)),
          severityCell(e.alarm),
          this.pointCell(e.alarm),
          el("td", { class: "event" }, el("span", { class: `transition t-${e.transition}` }, e.transition), el("span", { class: "sub" }, stateText(e.alarm))),
          el("td", { class: "value num" }, this.value(e.alarm)),
          el("td", { class: "actor" }, e.actor || el("span", { class: "muted" }, "engine")),
          el("td", { class: "comment" }, e.comment || ""),
        ),
      ),
    );
  }

  // POST an action; the message says what happened (the API's own words on a refusal). Throws on refusal so
  // a dialog stays open.
  async act(a, verb, body, done) {
    try {
      await sendJSON("POST", alarmPath(a.id, verb), body);
    } catch (err) {
      this.say(`${a.id}: ${err.message}`, "error");
      throw err;
    }
    this.say(`${done}: ${a.id}`, "ok");
    await this.refresh();
  }

  say(text, kind) {
    this.message.textContent = text;
    this.message.className = `alarms-message ${kind}`;
    this.message.hidden = !text;
  }

  close() {
    this.closed = true;
    this.stream?.close();
    clearInterval(this.timer);
    clearTimeout(this.pending);
  }
}

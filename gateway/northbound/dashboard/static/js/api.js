// The gateway's own HTTP API, called with the token the person entered (kept in this tab's sessionStorage only).

const TOKEN_KEY = "twinbridge.token";

export function token() {
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value) {
  if (value) sessionStorage.setItem(TOKEN_KEY, value);
  else sessionStorage.removeItem(TOKEN_KEY);
}

export class ApiError extends Error {
  constructor(status, message, body) {
    super(message);
    this.status = status;
    this.body = body;
  }
}

function headers(extra = {}) {
  const h = { ...extra };
  const t = token();
  if (t) h.Authorization = `Bearer ${t}`;
  return h;
}

export function url(path, params) {
  const u = new URL(path, window.location.origin);
  if (params) {
    for (const [k, v] of Object.entries(params)) {
      if (v !== undefined && v !== null && v !== "") u.searchParams.set(k, v);
    }
  }
  return u.pathname + u.search;
}

async function failure(r) {
  let body = null;
  let message = `${r.status} ${r.statusText}`;
  try {
    body = await r.json();
    if (body && typeof body.error === "string") message = body.error;
    else if (body && body.detail) message = typeof body.detail === "string" ? body.detail : JSON.stringify(body.detail);
  } catch {
    // not JSON: keep the status line
  }
  return new ApiError(r.status, message, body);
}

// GET a JSON document; throws ApiError with the API's own message.
export async function getJSON(path, params) {
  const r = await fetch(url(path, params), { headers: headers({ Accept: "application/json" }) });
  if (!r.ok) throw await failure(r);
  return r.json();
}

// GET as text with the given Accept (CSV, N-Triples...).
export async function getText(path, params, accept) {
  const r = await fetch(url(path, params), { headers: headers({ Accept: accept }) });
  if (!r.ok) throw await failure(r);
  return r.text();
}

// POST/PUT a JSON body (or none); the parsed answer, or ApiError.
export async function sendJSON(method, path, body) {
  const init = { method, headers: headers({ Accept: "application/json" }) };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const r = await fetch(url(path), init);
  if (!r.ok) throw await failure(r);
  const text = await r.text();
  return text ? JSON.parse(text) : null;
}

// POST a form (the SPARQL protocol's query form); the Response, for the caller to read as it asked.
export async function postForm(path, form, accept) {
  const r = await fetch(url(path), {
    method: "POST",
    headers: headers({ Accept: accept, "Content-Type": "application/x-www-form-urlencoded" }),
    body: new URLSearchParams(form).toString(),
  });
  if (!r.ok) throw await failure(r);
  return r;
}

// The /stream server-sent events, read with fetch so the token goes in a header (EventSource cannot send one).
// handlers: {change(state), alarm(event), dropped(n), status("open"|"retrying", error?)}; reconnects with a
// capped backoff until close() is called.
export function openStream(params, handlers) {
  let closed = false;
  let controller = null;
  let delay = 500;

  async function once() {
    controller = new AbortController();
    const r = await fetch(url("/stream", params), {
      headers: headers({ Accept: "text/event-stream" }),
      signal: controller.signal,
    });
    if (!r.ok) throw await failure(r);
    handlers.status?.("open");
    delay = 500;
    const reader = r.body.getReader();
    const decoder = new TextDecoder();
    let buffer = "";
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buffer += decoder.decode(value, { stream: true });
      let cut;
      while ((cut = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, cut);
        buffer = buffer.slice(cut + 2);
        dispatch(block);
      }
    }
  }

  function dispatch(block) {
    let event = "message";
    const data = [];
    for (const line of block.split("\n")) {
      if (line.startsWith("event:")) event = line.slice(6).trim();
      else if (line.startsWith("data:")) data.push(line.slice(5).trimStart());
    }
    if (!data.length) return;
    const text = data.join("\n");
    if (event === "change") handlers.change?.(JSON.parse(text));
    else if (event === "alarm") handlers.alarm?.(JSON.parse(text));
    else if (event === "dropped") handlers.dropped?.(Number(text));
  }

  (async () => {
    while (!closed) {
      try {
        await once();
      } catch (err) {
        if (closed) return;
        handlers.status?.("retrying", err);
        if (err instanceof ApiError && (err.status === 401 || err.status === 403 || err.status === 404)) return;
      }
      if (closed) return;
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 5000);
    }
  })();

  return {
    close() {
      closed = true;
      controller?.abort();
    },
  };
}

// Every point of the twin (GET /points, all of them), id -> summary: one request a minute at most, shared by the
// views that need labels, units and classes of points they did not list themselves.
let catalogue = null; // {at, promise}
const CATALOGUE_MAX_AGE_MS = 60_000;

export function pointCatalogue() {
  if (!catalogue || Date.now() - catalogue.at > CATALOGUE_MAX_AGE_MS) {
    const promise = getJSON("/points", { limit: 100000 }).then((list) => new Map(list.map((p) => [p.id, p])));
    catalogue = { at: Date.now(), promise };
    promise.catch(() => {
      catalogue = null;
    });
  }
  return catalogue.promise;
}

// Live point states, conflated: the newest state per point is handed over once per animation frame, so a page
// that cannot draw as fast as values change skips intermediate values instead of falling behind.
export function subscribeLive(params, onStates, extra = {}) {
  let latest = new Map();
  let scheduled = false;
  function flush() {
    scheduled = false;
    const batch = latest;
    latest = new Map();
    if (batch.size) onStates(batch);
  }
  return openStream(params, {
    ...extra,
    change(state) {
      latest.set(state.point, state);
      if (!scheduled) {
        scheduled = true;
        requestAnimationFrame(flush);
      }
    },
  });
}

// The page's frame: who is signed in, the navigation, and which view shows. Views are ES modules loaded on
// demand; each exports render(main, ctx) -> cleanup function (optional), and may export update(ctx) -> true
// when it can follow a new route without being drawn again (the plant tree keeps its state while assets change).

import { ApiError, getJSON, setToken, token } from "./api.js";
import { banner, clear, el } from "./ui.js";

const VIEWS = {
  plant: "./plant.js",
  asset: "./plant.js",
  point: "./point.js",
  trends: "./trends.js",
  alarms: "./alarms.js",
  sparql: "./sparql.js",
  sources: "./sources.js",
  graph: "./graph.js",
};
const NAV_OF = { asset: "plant", point: "plant", graph: "plant" };

const main = document.getElementById("main");
let current = { module: null, path: null, cleanup: null };
let session = null;

// #/view/arg?query -> {view, arg, params}
export function parseRoute(hash) {
  const text = (hash || "").replace(/^#\/?/, "");
  const [pathPart, query = ""] = text.split("?");
  const [view, ...rest] = pathPart.split("/");
  return {
    view: VIEWS[view] ? view : "plant",
    arg: rest.length ? decodeURIComponent(rest.join("/")) : null,
    params: new URLSearchParams(query),
  };
}

function navigate(hash) {
  if (window.location.hash === hash) route();
  else window.location.hash = hash;
}

async function route() {
  const r = parseRoute(window.location.hash);
  const path = VIEWS[r.view];
  for (const a of document.querySelectorAll("#nav a")) {
    a.classList.toggle("active", a.dataset.view === (NAV_OF[r.view] || r.view));
  }
  const ctx = { ...r, session, navigate };
  if (current.module && current.path === path && typeof current.module.update === "function") {
    if (current.module.update(ctx)) return;
  }
  if (typeof current.cleanup === "function") current.cleanup();
  current = { module: null, path, cleanup: null };
  banner("");
  clear(main);
  main.dataset.view = r.view;
  try {
    const module = await import(path);
    if (current.path !== path) return; // the person moved on while it loaded
    current.module = module;
    current.cleanup = (await module.render(main, ctx)) || null;
  } catch (err) {
    console.error(err);
    main.append(el("p", { class: "error" }, `This view could not be shown: ${err.message}`));
  }
}

function showWho() {
  const name = document.getElementById("who-name");
  const signIn = document.getElementById("login-open");
  const signOut = document.getElementById("logout");
  if (!session) {
    name.textContent = "not signed in";
    signIn.hidden = false;
    signOut.hidden = true;
    return;
  }
  name.textContent = session.anonymous ? "viewer (anonymous)" : `${session.name} (${session.role})`;
  name.dataset.role = session.role;
  signIn.hidden = !session.anonymous;
  signOut.hidden = session.anonymous;
}

async function loadSession() {
  try {
    session = await getJSON("/session");
  } catch (err) {
    if (!(err instanceof ApiError) || err.status !== 401) throw err;
    if (token()) setToken(null); // a stale or revoked token: ask again
    session = null;
  }
  document.body.dataset.role = session ? session.role : "none";
  document.body.dataset.canWrite = String(Boolean(session?.can_write));
  showWho();
}

function setUpLogin() {
  const dialog = document.getElementById("login");
  const form = document.getElementById("login-form");
  const input = document.getElementById("login-token");
  const error = document.getElementById("login-error");
  document.getElementById("login-open").addEventListener("click", () => {
    error.hidden = true;
    input.value = "";
    dialog.showModal();
  });
  document.getElementById("login-cancel").addEventListener("click", () => dialog.close());
  document.getElementById("logout").addEventListener("click", () => {
    setToken(null);
    window.location.reload();
  });
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    setToken(input.value.trim());
    try {
      session = await getJSON("/session");
    } catch (err) {
      setToken(null);
      error.textContent = err.status === 401 ? "This token is not known to the gateway." : err.message;
      error.hidden = false;
      return;
    }
    dialog.close();
    window.location.reload(); // every view drawn again with what this token may do
  });
}

async function start() {
  setUpLogin();
  await loadSession();
  if (!session) {
    clear(main);
    main.append(
      el("section", { class: "signin-needed" },
        el("h1", {}, "Sign in to see the plant"),
        el("p", {}, "This gateway answers only with a token. Ask its administrator for one (role reader to look, operator to write)."),
      ),
    );
    document.getElementById("login").showModal();
    return;
  }
  window.addEventListener("hashchange", route);
  await route();
  try {
    const alarms = await import("./alarms.js");
    if (typeof alarms.watchCount === "function") alarms.watchCount(document.getElementById("alarm-count"), session);
  } catch (err) {
    console.warn("no alarm count", err);
  }
}

start().catch((err) => {
  console.error(err);
  banner(`The dashboard could not start: ${err.message}`);
});

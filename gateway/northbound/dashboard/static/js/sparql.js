// #/sparql: the SPARQL console. An editor preloaded with the twin's prefixes, the documented example queries
// (examples/queries.md, shipped as ../sparql-examples.json) one click away, results as a table with IRIs
// shortened and linked to the asset and point pages, downloads as CSV and JSON, errors with the parser's position.
// #/sparql?query=... opens with that query and runs it. The last query is kept in this tab (sessionStorage).

import { ApiError, getText, postForm } from "./api.js";
import { createEditor, showError } from "./sparql_editor.js";
import { KNOWN_PREFIXES, Shortener, baseFromDescription, basePrefixes, declaredPrefixes, termNode, termText } from "./sparql_terms.js";
import { clear, download, el, toCsv } from "./ui.js";

const STORE_KEY = "twinbridge.sparql.query";
const SHOWN_ROWS = 1000; // more stay in the downloads
const SHOWN_CHARS = 200_000;
const ACCEPT = "application/sparql-results+json, text/turtle;q=0.9"; // SELECT/ASK as JSON, graphs as Turtle
const FIRST_QUERY = `SELECT ?point ?value ?unit ?quality WHERE {
  ?point tb:value ?value ; tb:quality ?quality .
  OPTIONAL { ?point qudt:hasUnit ?unit }
} ORDER BY ?point
`;

async function loadExamples() {
  const r = await fetch(new URL("../sparql-examples.json", import.meta.url));
  if (!r.ok) throw new Error(`the example queries could not be loaded (${r.status})`);
  return r.json();
}

async function loadBase() {
  try {
    return baseFromDescription(await getText("/sparql", null, "text/turtle"));
  } catch (err) {
    console.warn("no service description", err);
    return null;
  }
}

// The PREFIX lines an empty editor starts with: the documented block, then the twin's own resources.
function prelude(examples, base) {
  const own = Object.entries(basePrefixes(base))
    .filter(([name]) => name !== "source")
    .map(([name, ns]) => `PREFIX ${name}: <${ns}>\n`);
  return `${examples.prefixes}${own.join("")}\n`;
}

function rowsText(n) {
  return `${n.toLocaleString("en-US")} ${n === 1 ? "row" : "rows"}`;
}

export async function render(main, ctx) {
  const [examples, base] = await Promise.all([loadExamples(), loadBase()]);
  const start = prelude(examples, base);
  const given = ctx.params.get("query");
  let saveTimer = null;
  let runs = 0;
  let last = null; // {kind: "table"|"boolean"|"graph", query, text, data}

  const runButton = el("button", { id: "sparql-run", type: "button", class: "primary", onclick: () => run() }, "Run");
  const editor = createEditor({
    text: given || sessionStorage.getItem(STORE_KEY) || start + FIRST_QUERY,
    onRun: () => run(),
    onChange: (text) => {
      clearTimeout(saveTimer);
      saveTimer = setTimeout(() => sessionStorage.setItem(STORE_KEY, text), 300);
    },
  });
  const errorBox = el("div", { id: "sparql-error", class: "sparql-error", role: "alert", hidden: true });
  const status = el("span", { id: "sparql-status", class: "muted" }, "Run a query to see its results.");
  const csvButton = el("button", { id: "sparql-csv", type: "button", disabled: true, onclick: () => saveCsv() }, "CSV");
  const jsonButton = el("button", { id: "sparql-json", type: "button", disabled: true, onclick: () => saveJson() }, "JSON");
  const turtleButton = el("button", { id: "sparql-turtle", type: "button", hidden: true, onclick: () => saveTurtle() }, "Turtle");
  const output = el("div", { class: "sparql-output" });
  const list = el("div", { id: "sparql-examples" });

  for (const example of examples.examples) {
    list.append(
      el(
        "button",
        {
          type: "button",
          title: example.about,
          onclick: (event) => {
            for (const b of list.querySelectorAll("button.active")) b.classList.remove("active");
            event.currentTarget.classList.add("active");
            editor.value = start + example.query;
            run();
          },
        },
        el("span", { class: "title" }, example.title),
        el("span", { class: "about" }, example.about),
      ),
    );
  }

  main.append(
    el(
      "section",
      { class: "sparql" },
      el(
        "div",
        { class: "sparql-main" },
        el(
          "div",
          { class: "toolbar" },
          el("h1", {}, "SPARQL"),
          runButton,
          el("span", { class: "hint muted" }, "Ctrl+Enter runs the query"),
          el("span", { class: "spacer" }),
          el("button", { type: "button", id: "sparql-new", onclick: () => reset() }, "New query"),
        ),
        editor.node,
        errorBox,
        el("div", { class: "sparql-bar" }, status, el("span", { class: "spacer" }), el("span", { class: "muted" }, "Download"), csvButton, jsonButton, turtleButton),
        output,
      ),
      el(
        "aside",
        { class: "sparql-side panel" },
        el("h2", {}, "Example queries"),
        el("p", { class: "muted" }, "From examples/queries.md. One click loads and runs a query."),
        list,
      ),
    ),
  );

  function reset() {
    editor.value = `${start}SELECT * WHERE {\n  ?s ?p ?o\n} LIMIT 10\n`;
    editor.area.focus();
  }

  function setDownloads(kind) {
    csvButton.disabled = kind !== "table" && kind !== "boolean";
    csvButton.title = csvButton.disabled ? "CSV is for SELECT and ASK results" : "Download these results as CSV";
    jsonButton.disabled = !kind;
    jsonButton.title = kind === "graph" ? "Download the graph as JSON-LD" : "Download the SPARQL JSON results";
    turtleButton.hidden = kind !== "graph";
  }

  async function run() {
    const query = editor.value;
    sessionStorage.setItem(STORE_KEY, query);
    const mine = ++runs;
    runButton.disabled = true;
    status.textContent = "Running…";
    showError(errorBox, "", query);
    editor.unmark();
    const t0 = performance.now();
    try {
      const r = await postForm("/sparql", { query }, ACCEPT);
      const type = r.headers.get("content-type") || "";
      const text = await r.text();
      if (mine !== runs) return;
      const ms = Math.round(performance.now() - t0);
      const shortener = new Shortener({ ...KNOWN_PREFIXES, ...basePrefixes(base), ...declaredPrefixes(query) }, base);
      clear(output);
      if (type.includes("sparql-results+json")) {
        const data = JSON.parse(text);
        if (typeof data.boolean === "boolean") showBoolean(data.boolean, ms, query, text);
        else showTable(data, ms, query, text, shortener);
      } else {
        showGraph(text, ms, query);
      }
    } catch (err) {
      if (mine !== runs) return;
      if (!(err instanceof ApiError)) console.warn("query failed", err);
      last = null;
      setDownloads(null);
      clear(output);
      status.textContent = err instanceof ApiError ? `Refused (${err.status})` : "The query could not be sent.";
      editor.mark(showError(errorBox, err.message, query));
    } finally {
      if (mine === runs) runButton.disabled = false;
    }
  }

  function showTable(data, ms, query, text, shortener) {
    const vars = data.head?.vars || [];
    const bindings = data.results?.bindings || [];
    last = { kind: "table", query, text, data };
    setDownloads("table");
    const shown = bindings.slice(0, SHOWN_ROWS);
    const table = el(
      "table",
      { id: "sparql-results", class: "data" },
      el("thead", {}, el("tr", {}, el("th", { class: "num" }, "#"), vars.map((v) => el("th", {}, `?${v}`)))),
      el(
        "tbody",
        {},
        shown.map((b, i) => el("tr", {}, el("td", { class: "num rownum" }, String(i + 1)), vars.map((v) => el("td", {}, termNode(b[v], shortener))))),
      ),
    );
    let summary = `${rowsText(bindings.length)} in ${ms} ms`;
    if (bindings.length > shown.length) summary += ` — showing the first ${rowsText(shown.length)}, the downloads hold all`;
    status.textContent = summary;
    output.append(table); // without rows too: the header says which columns were asked for
    if (!bindings.length) output.append(el("p", { class: "empty muted" }, "No rows: nothing in the twin matches this query."));
  }

  function showBoolean(answer, ms, query, text) {
    last = { kind: "boolean", query, text, data: answer };
    setDownloads("boolean");
    status.textContent = `ASK answered in ${ms} ms`;
    output.append(el("div", { id: "sparql-boolean", class: `sparql-boolean ${answer ? "yes" : "no"}` }, answer ? "true" : "false"));
  }

  function showGraph(text, ms, query) {
    last = { kind: "graph", query, text };
    setDownloads("graph");
    const triples = text.split("\n").filter((l) => l.trim() && !l.startsWith("@prefix")).length;
    status.textContent = `${triples.toLocaleString("en-US")} ${triples === 1 ? "line" : "lines"} of Turtle in ${ms} ms`;
    const shown = text.length > SHOWN_CHARS ? `${text.slice(0, SHOWN_CHARS)}\n… (the download holds the rest)` : text;
    output.append(el("pre", { id: "sparql-graph", class: "sparql-graph" }, shown || "# an empty graph"));
  }

  function saveCsv() {
    if (!last) return;
    if (last.kind === "boolean") {
      download("results.csv", toCsv(["boolean"], [[String(last.data)]]), "text/csv");
      return;
    }
    const vars = last.data.head?.vars || [];
    const rows = (last.data.results?.bindings || []).map((b) => vars.map((v) => termText(b[v])));
    download("results.csv", toCsv(vars, rows), "text/csv");
  }

  async function saveJson() {
    if (!last) return;
    if (last.kind !== "graph") {
      download("results.json", last.text, "application/sparql-results+json");
      return;
    }
    try {
      const r = await postForm("/sparql", { query: last.query }, "application/ld+json");
      download("results.jsonld", await r.text(), "application/ld+json");
    } catch (err) {
      showError(errorBox, err.message, last.query);
    }
  }

  function saveTurtle() {
    if (last?.kind === "graph") download("results.ttl", last.text, "text/turtle");
  }

  if (given) run();
  return () => {
    clearTimeout(saveTimer);
    sessionStorage.setItem(STORE_KEY, editor.value);
    runs++; // an answer still on its way is dropped
  };
}

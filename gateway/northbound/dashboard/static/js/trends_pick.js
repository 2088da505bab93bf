// The trends view's point picker: type an id or label (a datalist of the twin's points), or run a SPARQL
// SELECT whose first variable is the point; the chosen points are listed with their colour and a remove button.

import { ApiError } from "./api.js";
import { clear, el, link } from "./ui.js";
import { drawable, pickBySparql, unitText } from "./trends_data.js";

const EXAMPLE = `PREFIX brick: <https://brickschema.org/schema/Brick#>
PREFIX rdfs: <http://www.w3.org/2000/01/rdf-schema#>
SELECT ?point WHERE {
  ?point a/rdfs:subClassOf* brick:Temperature_Sensor .
}`;

export class PointPicker {
  // onChange(ids) is called with the new list of chosen point ids
  constructor(onChange) {
    this.onChange = onChange;
    this.byId = new Map();
    this.chosen = [];
    this.input = el("input", {
      id: "trend-add",
      type: "text",
      list: "trend-options",
      placeholder: "Point id or label",
      autocomplete: "off",
      "aria-label": "Add a point",
    });
    this.options = el("datalist", { id: "trend-options" });
    this.addError = el("p", { class: "error small", hidden: true });
    this.list = el("ul", { id: "trend-points" });
    this.sparql = el("textarea", { id: "trend-sparql", rows: 6, wrap: "off", spellcheck: "false", "aria-label": "SPARQL query" });
    this.sparql.value = EXAMPLE;
    this.sparqlResult = el("p", { id: "trend-sparql-result", class: "small muted" });
    const form = el(
      "form",
      { class: "trend-add", onsubmit: (e) => (e.preventDefault(), this.addTyped()) },
      this.input,
      el("button", { type: "submit", id: "trend-add-button" }, "Add"),
    );
    this.input.addEventListener("change", () => this.byId.has(this.input.value.trim()) && this.addTyped());
    this.node = el(
      "aside",
      { class: "trends-side panel" },
      el("h2", {}, "Points"),
      form,
      this.options,
      this.addError,
      this.list,
      el(
        "details",
        { class: "trend-sparql-box" },
        el("summary", {}, "Pick points by a SPARQL query"),
        el("p", { class: "small muted" }, "The first variable of a SELECT names the points (their IRIs or ids)."),
        this.sparql,
        el(
          "div",
          { class: "buttons" },
          el("button", { type: "button", id: "trend-sparql-run", class: "primary", onclick: () => this.runSparql() }, "Run and add"),
        ),
        this.sparqlResult,
      ),
    );
  }

  setCatalogue(byId) {
    this.byId = byId;
    clear(this.options);
    for (const p of byId.values()) {
      if (!drawable(p)) continue;
      this.options.append(el("option", { value: p.id }, `${p.label || p.id}${p.unit_symbol ? ` (${unitText(p)})` : ""}`));
    }
  }

  // The chosen points as chips; colours[i] belongs to ids[i]; problems: Map id -> text.
  show(ids, colours, problems = new Map()) {
    this.chosen = ids;
    clear(this.list);
    if (!ids.length) {
      this.list.append(el("li", { class: "empty muted" }, "No points yet: add one above, or pick them by a query below."));
      return;
    }
    ids.forEach((id, i) => {
      const p = this.byId.get(id);
      const swatch = el("span", { class: "swatch", "aria-hidden": "true" });
      swatch.style.background = colours[i];
      const problem = problems.get(id);
      this.list.append(
        el(
          "li",
          { "data-point": id, class: problem ? "problem" : "" },
          swatch,
          el(
            "span",
            { class: "what" },
            p ? el("a", { href: link("point", id), class: "name" }, p.label || id) : el("span", { class: "name" }, id),
            el("span", { class: "id" }, id, p && unitText(p) ? ` · ${unitText(p)}` : ""),
            problem ? el("span", { class: "why error" }, problem) : null,
          ),
          el("button", { type: "button", class: "remove", title: `Remove ${id}`, "aria-label": `Remove ${id}`, onclick: () => this.remove(id) }, "×"),
        ),
      );
    });
  }

  resolve(text) {
    if (this.byId.has(text)) return text;
    const lower = text.toLowerCase();
    const byLabel = [...this.byId.values()].filter((p) => (p.label || "").toLowerCase() === lower);
    return byLabel.length === 1 ? byLabel[0].id : null;
  }

  addTyped() {
    const text = this.input.value.trim();
    if (!text) return;
    const id = this.resolve(text);
    this.addError.hidden = true;
    if (!id) return this.fail(`No point "${text}": type a point id, or pick one from the list.`);
    if (!drawable(this.byId.get(id))) return this.fail(`${id} holds text; only numbers and on/off values can be drawn.`);
    this.input.value = "";
    if (!this.chosen.includes(id)) this.onChange([...this.chosen, id]);
  }

  fail(text) {
    this.addError.textContent = text;
    this.addError.hidden = false;
  }

  remove(id) {
    this.onChange(this.chosen.filter((p) => p !== id));
  }

  async runSparql() {
    const button = this.node.querySelector("#trend-sparql-run");
    button.disabled = true;
    this.sparqlResult.className = "small muted";
    this.sparqlResult.textContent = "Running…";
    try {
      const got = await pickBySparql(this.sparql.value, this.byId);
      const usable = got.ids.filter((id) => drawable(this.byId.get(id)));
      const added = usable.filter((id) => !this.chosen.includes(id));
      const parts = [`${got.rows} row${got.rows === 1 ? "" : "s"}; added ${added.length} point${added.length === 1 ? "" : "s"}`];
      if (usable.length > added.length) parts.push(`${usable.length - added.length} already shown`);
      if (got.unknown.length) parts.push(`${got.unknown.length} ?${got.variable} value${got.unknown.length === 1 ? " is" : "s are"} not a point`);
      this.sparqlResult.textContent = parts.join(", ") + ".";
      this.sparqlResult.className = added.length ? "small ok" : "small muted";
      if (added.length) this.onChange([...this.chosen, ...added]);
    } catch (err) {
      this.sparqlResult.className = "small error";
      this.sparqlResult.textContent = err instanceof ApiError ? err.message : `The query could not be run: ${err.message}`;
    } finally {
      button.disabled = false;
    }
  }
}

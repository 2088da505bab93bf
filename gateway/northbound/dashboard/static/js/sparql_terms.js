// RDF terms as a person reads them: IRIs shortened with prefixes (the twin's namespaces, those the query declares,
// and the twin's own base), an asset's or point's IRI linking to its page, literals with their datatype set
// apart. Used by the SPARQL console's result table.

import { el, link } from "./ui.js";

// The namespaces of docs/twin-graph.md and docs/api.md (history functions), plus the W3C basics.
export const KNOWN_PREFIXES = {
  tb: "https://w3id.org/twinbridge#",
  tbh: "https://w3id.org/twinbridge/history#",
  brick: "https://brickschema.org/schema/Brick#",
  ref: "https://brickschema.org/schema/Brick/ref#",
  sosa: "http://www.w3.org/ns/sosa/",
  ssn: "http://www.w3.org/ns/ssn/",
  qudt: "http://qudt.org/schema/qudt/",
  unit: "http://qudt.org/vocab/unit/",
  quantitykind: "http://qudt.org/vocab/quantitykind/",
  modv: "https://www.w3.org/2019/wot/modbus#",
  mqv: "https://www.w3.org/2019/wot/mqtt#",
  hctl: "https://www.w3.org/2019/wot/hypermedia#",
  uav: "http://opcfoundation.org/UA/WoT-Binding/",
  schema: "http://schema.org/",
  rdf: "http://www.w3.org/1999/02/22-rdf-syntax-ns#",
  rdfs: "http://www.w3.org/2000/01/rdf-schema#",
  owl: "http://www.w3.org/2002/07/owl#",
  xsd: "http://www.w3.org/2001/XMLSchema#",
};

// Prefixes for the twin's own resources under its base IRI (http://demo.twinbridge.local/ on the demo).
export function basePrefixes(base) {
  if (!base) return {};
  return { asset: `${base}asset/`, point: `${base}point/`, location: `${base}location/`, source: `${base}source/` };
}

// The PREFIX lines a query declares, as {name: namespace}.
export function declaredPrefixes(query) {
  const found = {};
  for (const m of query.matchAll(/PREFIX\s+([A-Za-z][\w.-]*)?:\s*<([^>\s]*)>/gi)) {
    if (m[1]) found[m[1]] = m[2];
  }
  return found;
}

// The base IRI from the service description (`sd:endpoint <{base}sparql>`), or null.
export function baseFromDescription(turtle) {
  const m = /sd:endpoint\s+<([^>]*)sparql>/.exec(turtle || "");
  return m ? m[1] : null;
}

export class Shortener {
  // prefixes: {name: namespace}; base: the twin's base IRI (for links), or null.
  constructor(prefixes, base) {
    this.base = base;
    // longest namespace first, so ref: wins over brick: for Brick/ref# IRIs
    this.entries = Object.entries(prefixes)
      .filter(([, ns]) => ns)
      .sort((a, b) => b[1].length - a[1].length);
  }

  shorten(iri) {
    for (const [name, ns] of this.entries) {
      if (iri.startsWith(ns) && iri.length > ns.length) {
        const rest = iri.slice(ns.length);
        if (!/[\s#<>"]/.test(rest)) return `${name}:${rest}`;
      }
    }
    return `<${iri}>`;
  }

  // #/asset/<id> or #/point/<id> for the IRI of one of the twin's assets or points, else null.
  pageOf(iri) {
    const m = /^(.*\/)(asset|point)\/([A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)?)$/.exec(iri);
    if (!m || (this.base && m[1] !== this.base)) return null;
    return link(m[2], m[3]);
  }
}

const XSD = "http://www.w3.org/2001/XMLSchema#";
const QUIET_TYPES = new Set([`${XSD}string`]);

// The text a CSV cell holds for a term (the SPARQL CSV format's: IRIs and literals as their plain text).
export function termText(term) {
  if (!term) return "";
  if (term.type === "bnode") return `_:${term.value}`;
  return term.value;
}

// A table cell's content for a term of SPARQL JSON results.
export function termNode(term, shortener) {
  if (!term) return el("span", { class: "unbound" }, "");
  if (term.type === "uri") {
    const short = shortener.shorten(term.value);
    const page = shortener.pageOf(term.value);
    if (page) return el("a", { class: "iri", href: page, title: term.value }, short);
    return el("span", { class: "iri", title: term.value }, short);
  }
  if (term.type === "bnode") return el("span", { class: "bnode" }, `_:${term.value}`);
  const parts = [el("span", { class: "lexical" }, term.value)];
  if (term["xml:lang"]) parts.push(el("span", { class: "datatype" }, `@${term["xml:lang"]}`));
  else if (term.datatype && !QUIET_TYPES.has(term.datatype)) {
    parts.push(el("span", { class: "datatype", title: term.datatype }, shortener.shorten(term.datatype)));
  }
  const numeric = term.datatype && /#(integer|decimal|double|float|int|long|short|unsigned\w*)$/.test(term.datatype);
  return el("span", { class: numeric ? "literal number" : "literal" }, parts);
}

// Words and symbols the plant pages show for classes, units and quality reasons (shared by the tree's filters,
// the points table, the point page and the write dialog; kept apart so the tree loads without the table).

import { el } from "./ui.js";

// "brick:Supply_Air_Temperature_Sensor" -> "Supply Air Temperature Sensor"
export function classText(curie) {
  const local = curie.includes(":") ? curie.slice(curie.indexOf(":") + 1) : curie;
  return local.replace(/_/g, " ");
}

// The unit symbol to show (the API gives none for UNITLESS).
export function unitSymbol(point) {
  return point.unit_symbol || null;
}

export function classTags(point) {
  const classes = point.classes || [];
  if (!classes.length) return [el("span", { class: "tag kind" }, point.kind || "point")];
  return classes.map((c) => el("span", { class: "tag", title: c }, classText(c)));
}

export function reasonText(state) {
  return state && state.quality !== "good" ? state.reason || state.status || "" : "";
}

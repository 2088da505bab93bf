// Writing a value to a device: an operator opens the dialog from a writable point, enters the value (an input
// fitting the point's datatype, its range from GET /points/{id}), confirms, and the gateway's answer to
// PUT /points/{id}/value is shown as it came: the value confirmed, or the twin's reason for refusing it.
// Readers never get the button.

import { ApiError, getJSON, sendJSON } from "./api.js";
import { confirmAction, el, withUnit } from "./ui.js";
import { isNumeric } from "./sparkline.js";
import { unitSymbol } from "./plant_text.js";

const INTEGER = new Set(["int16", "uint16", "int32", "uint32", "int64", "uint64"]);

// The write button of a point, or null when this session may not write it.
export function writeButton(point, session) {
  if (!session?.can_write || !point.writable) return null;
  return el("button", { type: "button", class: "write", "data-point": point.id, title: `Write a value to ${point.id}`,
    onclick: () => openWrite(point.id) }, "Write…");
}

export function closeWrite() {
  const old = document.getElementById("write-dialog");
  if (old) {
    if (old.open) old.close();
    old.remove();
  }
}

function valueInput(point) {
  if (point.datatype === "bool") {
    const select = el("select", { id: "write-value" },
      el("option", { value: "true" }, "true (on)"),
      el("option", { value: "false" }, "false (off)"));
    select.value = point.state?.value === false ? "false" : "true";
    return select;
  }
  if (isNumeric(point.datatype)) {
    const input = el("input", { id: "write-value", type: "number", required: true, autocomplete: "off",
      step: INTEGER.has(point.datatype) ? "1" : "any", min: point.min ?? null, max: point.max ?? null });
    if (typeof point.state?.value === "number") input.value = String(point.state.value);
    return input;
  }
  const input = el("input", { id: "write-value", type: "text", autocomplete: "off" });
  if (point.state?.value !== null && point.state?.value !== undefined) input.value = String(point.state.value);
  return input;
}

// What the input holds, as the JSON value to send (undefined: nothing entered).
function readValue(point, input) {
  if (point.datatype === "bool") return input.value === "true";
  if (isNumeric(point.datatype)) {
    if (input.value.trim() === "") return undefined;
    const n = Number(input.value);
    return Number.isFinite(n) ? n : input.value;
  }
  return input.value;
}

function rangeText(point) {
  const sym = unitSymbol(point);
  const parts = [point.datatype];
  if (point.min !== null && point.min !== undefined && point.max !== null && point.max !== undefined) {
    parts.push(`range ${withUnit(point.min, sym)} to ${withUnit(point.max, sym)}`);
  } else if (point.min !== null && point.min !== undefined) parts.push(`at least ${withUnit(point.min, sym)}`);
  else if (point.max !== null && point.max !== undefined) parts.push(`at most ${withUnit(point.max, sym)}`);
  return parts.join(", ");
}

export async function openWrite(pointId) {
  closeWrite();
  const dialog = el("dialog", { id: "write-dialog", class: "write-dialog" }, el("p", { class: "muted" }, "Loading…"));
  document.body.append(dialog);
  dialog.addEventListener("close", () => dialog.remove());
  dialog.showModal();
  let point;
  try {
    point = await getJSON(`/points/${encodeURIComponent(pointId)}`);
  } catch (err) {
    dialog.replaceChildren(el("p", { class: "error" }, err.message),
      el("div", { class: "buttons" }, el("button", { type: "button", onclick: () => dialog.close() }, "Close")));
    return;
  }
  const sym = unitSymbol(point);
  const input = valueInput(point);
  const submit = el("button", { id: "write-submit", type: "submit", class: "primary" }, "Write");
  const result = el("p", { id: "write-result", role: "status", hidden: true });
  const form = el("form", { method: "dialog", novalidate: true },
    el("h2", {}, `Write ${point.label || point.id}`),
    el("p", { class: "muted write-id" }, point.id, " · now ", withUnit(point.state?.value, sym)),
    el("label", { class: "write-field", for: "write-value" }, "New value",
      el("span", { class: "write-input" }, input, sym ? el("span", { class: "unit" }, sym) : null)),
    el("p", { class: "muted hint" }, rangeText(point)),
    result,
    el("div", { class: "buttons" },
      el("button", { type: "button", onclick: () => dialog.close() }, "Close"),
      submit),
  );
  dialog.replaceChildren(form);
  input.focus();
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const value = readValue(point, input);
    if (value === undefined) {
      show(result, "error", "Enter a value first.");
      return;
    }
    const shown = withUnit(value, sym);
    const sure = await confirmAction(`Write ${point.label || point.id}`,
      `Set ${point.label || point.id} to ${shown}? The device receives it.`, "Write");
    if (!sure) return;
    submit.disabled = true;
    show(result, "pending", "Writing…");
    try {
      const outcome = await sendJSON("PUT", `/points/${encodeURIComponent(point.id)}/value`, { value });
      show(result, "ok", `Written: ${shown}. The device confirmed it (${outcome?.status || "Good"}).`);
    } catch (err) {
      const status = err instanceof ApiError ? err.body?.status : null;
      show(result, "error", err.message, status);
    } finally {
      submit.disabled = false;
    }
  });
}

function show(node, kind, text, status) {
  node.className = kind;
  node.textContent = text;
  node.hidden = false;
  if (status) node.title = status;
  else node.removeAttribute("title");
}

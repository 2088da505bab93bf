// The SPARQL console's editor: a plain textarea with line numbers, Tab indenting by two spaces, Ctrl/Cmd+Enter
// running the query, and the parser's error position marked (the line in the gutter, the place in an excerpt).

import { clear, el } from "./ui.js";

const INDENT = "  ";
const LINE_PX = 20; // the editor's line-height (css/sparql.css)
const MIN_PX = 220;
const MAX_PX = 480;

// "malformed query: error at 3:17: Expected SelectQuery" -> {line: 3, column: 17}
export function errorPosition(message) {
  const m = /\berror at (\d+):(\d+)/.exec(message || "");
  return m ? { line: Number(m[1]), column: Number(m[2]) } : null;
}

export function createEditor({ text, onRun, onChange }) {
  const gutter = el("div", { class: "gutter", "aria-hidden": "true" });
  const area = el("textarea", {
    id: "sparql-editor",
    spellcheck: "false",
    autocomplete: "off",
    autocapitalize: "off",
    wrap: "off",
    "aria-label": "SPARQL query",
  });
  area.value = text;
  const box = el("div", { class: "sparql-editor" }, gutter, area);
  let marked = null;

  function numberLines() {
    const count = area.value.split("\n").length;
    if (gutter.childElementCount !== count) {
      clear(gutter);
      for (let i = 1; i <= count; i++) gutter.append(el("div", {}, String(i)));
    }
    if (marked && marked <= count) gutter.children[marked - 1].classList.add("error-line");
    gutter.scrollTop = area.scrollTop;
  }

  // Tall enough for the query when one is loaded (prefixes and all), within limits; the person may resize it.
  function fit() {
    const lines = area.value.split("\n").length;
    const wanted = Math.min(MAX_PX, Math.max(MIN_PX, lines * LINE_PX + 40));
    if (wanted > area.offsetHeight) area.style.height = `${wanted}px`;
  }

  function unmark() {
    for (const n of gutter.querySelectorAll(".error-line")) n.classList.remove("error-line");
    marked = null;
  }

  area.addEventListener("input", () => {
    unmark();
    numberLines();
    onChange?.(area.value);
  });
  area.addEventListener("scroll", () => {
    gutter.scrollTop = area.scrollTop;
  });
  area.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      onRun();
    } else if (event.key === "Tab" && !event.shiftKey && !event.altKey && !event.ctrlKey && !event.metaKey) {
      event.preventDefault();
      // insertText keeps the browser's undo history; setRangeText where it is not offered
      if (!document.execCommand("insertText", false, INDENT)) {
        area.setRangeText(INDENT, area.selectionStart, area.selectionEnd, "end");
        area.dispatchEvent(new Event("input"));
      }
    }
  });
  numberLines();
  requestAnimationFrame(fit);

  return {
    node: box,
    area,
    get value() {
      return area.value;
    },
    set value(text) {
      area.value = text;
      area.scrollTop = 0;
      unmark();
      numberLines();
      fit();
      onChange?.(text);
    },
    // Mark line:column (1-based, as the parser counts) and put the cursor there.
    mark(position) {
      unmark();
      const lines = area.value.split("\n");
      if (!position || position.line < 1 || position.line > lines.length) return;
      marked = position.line;
      numberLines();
      let offset = 0;
      for (let i = 0; i < position.line - 1; i++) offset += lines[i].length + 1;
      offset += Math.min(position.column - 1, lines[position.line - 1].length);
      area.focus();
      area.setSelectionRange(offset, Math.min(offset + 1, area.value.length));
    },
    unmark,
  };
}

// The error under the editor: the API's message, and for a parse error the offending line with a caret.
export function showError(box, message, query) {
  clear(box);
  box.hidden = !message;
  if (!message) return null;
  const position = errorPosition(message);
  box.append(el("div", { class: "message" }, message));
  if (position) {
    const line = (query.split("\n")[position.line - 1] ?? "").replace(/\t/g, " ");
    const label = `line ${position.line}, column ${position.column}`;
    const gutter = `${position.line} | `;
    box.append(
      el("div", { class: "where" }, label),
      el(
        "pre",
        { class: "excerpt" },
        el("span", { class: "code" }, `${gutter}${line}`),
        "\n",
        el("span", { class: "caret" }, `${" ".repeat(gutter.length + Math.max(position.column - 1, 0))}^`),
      ),
    );
  }
  return position;
}

// The alarms view's two questions to an operator: how long to shelve (with a comment), and a comment alone.
// Each dialog stays open on a refusal and shows the API's own message.

import { el } from "./ui.js";

export const SHELVE_CHOICES = [
  { value: "15min", label: "15 minutes" },
  { value: "1h", label: "1 hour" },
  { value: "8h", label: "8 hours" },
  { value: "", label: "Until it clears" },
];

// A modal form: fields, a primary button; submit(values) resolves when done or throws to keep it open.
function formDialog(id, title, fields, okLabel, submit) {
  const error = el("p", { class: "error", id: `${id}-error`, hidden: true });
  const ok = el("button", { type: "submit", class: "primary", id: `${id}-submit` }, okLabel);
  const cancel = el("button", { type: "button", "data-action": "cancel" }, "Cancel");
  const about = el("p", { class: "alarm-about" });
  const form = el("form", { method: "dialog" }, el("h2", {}, title), about, ...fields, error, el("div", { class: "buttons" }, cancel, ok));
  const dialog = el("dialog", { id, class: "alarm-dialog" }, form);
  cancel.addEventListener("click", () => dialog.close());
  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    ok.disabled = true;
    error.hidden = true;
    try {
      await submit(dialog.alarm);
      dialog.close();
    } catch (err) {
      error.textContent = err.message;
      error.hidden = false;
    } finally {
      ok.disabled = false;
    }
  });
  dialog.open_for = (alarm) => {
    dialog.alarm = alarm;
    about.textContent = `${alarm.message} (${alarm.id})`;
    error.hidden = true;
    form.reset();
    dialog.showModal();
    fields[0].querySelector("select, textarea, input")?.focus();
  };
  return dialog;
}

// shelve(alarm, duration or null, comment) -> Promise
export function shelveDialog(shelve) {
  const duration = el("select", { id: "alarm-shelve-duration" }, ...SHELVE_CHOICES.map((c) => el("option", { value: c.value }, c.label)));
  const comment = el("textarea", { id: "alarm-shelve-comment", rows: 3, maxlength: 2000, placeholder: "Why (kept in the journal)" });
  duration.value = "1h";
  const dialog = formDialog(
    "alarm-shelve",
    "Shelve alarm",
    [el("label", { class: "field" }, "Shelve for", duration), el("label", { class: "field" }, "Comment", comment)],
    "Shelve",
    (alarm) => shelve(alarm, duration.value || null, comment.value.trim() || null),
  );
  const open = dialog.open_for;
  dialog.open_for = (alarm) => {
    open(alarm);
    duration.value = "1h";
  };
  return dialog;
}

// comment(alarm, text) -> Promise
export function commentDialog(comment) {
  const text = el("textarea", { id: "alarm-comment-text", rows: 4, maxlength: 2000, required: true, placeholder: "What you saw or did" });
  return formDialog("alarm-comment", "Comment on alarm", [el("label", { class: "field" }, "Comment", text)], "Add comment", (alarm) =>
    comment(alarm, text.value.trim()),
  );
}

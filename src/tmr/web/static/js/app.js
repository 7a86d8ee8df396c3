// Progressive enhancement shared by every page; each page works without it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  // Take the keyboard to the error summary of a form that came back with problems (WCAG 3.3.1).
  const summary = document.getElementById("error-summary");
  if (summary) summary.focus();
  // A form asking for a typed confirmation enables its button only once the words match.
  for (const input of document.querySelectorAll("input[data-confirm]")) {
    const button = input.form && input.form.querySelector("button[type=submit]");
    if (!button) continue;
    const sync = () => { button.disabled = input.value.trim() !== input.dataset.confirm; };
    input.addEventListener("input", sync);
    sync();
  }
});

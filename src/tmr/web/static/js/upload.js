// The upload form, enhanced: the zip itself is sent as the body (the API's shape) with
// XMLHttpRequest, so the page can show how many bytes are sent and offer to cancel. Without this
// script the form posts as multipart/form-data and the server answers the same way.
"use strict";
(() => {
  const form = document.getElementById("upload-form");
  if (!form || !window.XMLHttpRequest) return;
  const fileInput = form.querySelector("#f-file");
  const nameInput = form.querySelector("#f-name");
  const versionInput = form.querySelector("#f-version");
  const submit = form.querySelector("button[type=submit]");
  const panel = document.getElementById("upload-progress");
  const bar = document.getElementById("upload-bar");
  const status = document.getElementById("upload-status");
  const cancel = document.getElementById("upload-cancel");
  const cancelRow = document.getElementById("upload-cancel-row");
  const maxBytes = Number(form.dataset.maxBytes);
  const SPEAK_EVERY_MS = 500; // the live region changes at most twice a second
  let request = null;

  const mb = (bytes) => {
    const value = bytes / 1e6;
    return value >= 1 ? value.toFixed(1) : value.toFixed(2);
  };

  const show = (loaded, total, after) => {
    const percent = total > 0 ? Math.floor((loaded * 100) / total) : 100;
    bar.value = percent;
    status.textContent = `${mb(loaded)} MB of ${mb(total)} MB sent (${percent} %)${after || ""}`;
  };

  const describedBy = (element, keep) => {
    const ids = (element.getAttribute("aria-describedby") || "").split(/\s+/).filter((id) => id && keep(id));
    if (ids.length) element.setAttribute("aria-describedby", ids.join(" "));
    else element.removeAttribute("aria-describedby");
    return ids;
  };

  const clearErrors = () => {
    for (const message of form.querySelectorAll(".field-error")) message.remove();
    for (const element of form.querySelectorAll("[aria-describedby]")) describedBy(element, (id) => !id.endsWith("-error"));
    for (const element of form.querySelectorAll("[aria-invalid]")) element.removeAttribute("aria-invalid");
    for (const element of form.querySelectorAll(".field--error")) element.classList.remove("field--error");
    const summary = document.getElementById("error-summary");
    if (summary) summary.remove();
  };

  // An error beside its field, as the server renders one: before the control, named by it.
  const showError = (field, message, link) => {
    const input = form.querySelector(`#f-${field}`) || fileInput;
    const paragraph = document.createElement("p");
    paragraph.className = "field-error";
    paragraph.id = `${input.id}-error`;
    const prefix = document.createElement("span");
    prefix.className = "visually-hidden";
    prefix.textContent = "Error: ";
    paragraph.append(prefix, message);
    if (link) {
      const anchor = document.createElement("a");
      anchor.href = link;
      anchor.textContent = "Go to the artifact uploaded from this zip";
      paragraph.append(" ", anchor);
    }
    input.before(paragraph);
    const holder = input.closest(".field");
    if (holder) holder.classList.add("field--error");
    input.setAttribute("aria-invalid", "true");
    input.setAttribute("aria-describedby", [...describedBy(input, () => true), paragraph.id].join(" "));
    return input;
  };

  const refuse = (errors, link) => {
    let first = null;
    for (const [field, message] of errors) {
      const input = showError(field, message, link);
      first = first || input;
    }
    status.textContent = "The upload was not accepted. Nothing was stored.";
    if (first) first.focus();
  };

  const finish = () => {
    request = null;
    panel.hidden = true;
    cancelRow.hidden = true;
    submit.disabled = false;
  };

  // The error page's message (a refused form key, an error the form does not explain).
  const pageMessage = (xhr) => {
    const page = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    const message = page.querySelector(".error-summary p");
    return message ? message.textContent.trim() : `The upload failed (status ${xhr.status}). Nothing was stored.`;
  };

  const answered = (xhr) => {
    let body = null;
    try {
      body = JSON.parse(xhr.responseText);
    } catch (_) {
      body = null;
    }
    if (xhr.status === 201 && body && body.location) {
      status.textContent = "Uploaded. Opening the artifact page…";
      window.location.assign(body.location);
      return;
    }
    finish();
    if (body && body.errors) {
      refuse(Object.entries(body.errors), body.existing);
    } else if (xhr.responseURL && new URL(xhr.responseURL).pathname.endsWith("/ui/sign-in")) {
      window.location.assign(xhr.responseURL); // the session ended: sign in again
    } else {
      refuse([["file", pageMessage(xhr)]]);
    }
  };

  form.addEventListener("submit", (event) => {
    event.preventDefault();
    if (request) return;
    clearErrors();
    const file = fileInput.files && fileInput.files[0];
    const problems = [];
    if (!nameInput.value.trim()) problems.push(["name", form.dataset.noName]);
    if (!file) problems.push(["file", form.dataset.noFile]);
    else if (file.size > maxBytes) problems.push(["file", form.dataset.tooLarge]);
    if (problems.length) {
      refuse(problems);
      return;
    }
    const query = new URLSearchParams({ type: form.elements.namedItem("type").value, name: nameInput.value });
    if (versionInput.value.trim()) query.set("version", versionInput.value);
    const xhr = new XMLHttpRequest();
    request = xhr;
    xhr.open("POST", `${form.action}?${query}`);
    xhr.setRequestHeader("Content-Type", "application/zip");
    xhr.setRequestHeader("X-Form-Key", form.elements.namedItem("form_key").value);
    xhr.setRequestHeader("Accept", "application/json");
    let spoken = -Infinity;
    xhr.upload.addEventListener("progress", (progress) => {
      if (!progress.lengthComputable) return;
      const now = performance.now();
      if (now - spoken < SPEAK_EVERY_MS && progress.loaded < progress.total) return;
      spoken = now;
      show(progress.loaded, progress.total);
    });
    xhr.upload.addEventListener("load", () => {
      cancel.disabled = true; // the bytes are in: the registry is checking and rating them
      show(file.size, file.size, ". Checking the zip…");
    });
    xhr.addEventListener("load", () => answered(xhr));
    xhr.addEventListener("error", () => {
      finish();
      refuse([["file", "The connection was lost before the upload finished. Nothing was stored; try again."]]);
    });
    xhr.addEventListener("abort", () => {
      finish();
      status.textContent = "Upload cancelled. Nothing was stored.";
      submit.focus();
    });
    panel.hidden = false;
    cancelRow.hidden = false;
    cancel.disabled = false;
    submit.disabled = true;
    show(0, file.size);
    cancel.focus();
    xhr.send(file);
  });

  cancel.addEventListener("click", () => {
    if (request) request.abort();
  });
})();

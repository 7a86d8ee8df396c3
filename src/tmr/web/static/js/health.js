// The health dashboard's live refresh: every few seconds the page's changing parts are fetched
// again from /ui/health/live and swapped in place, without reloading the page. The update is
// announced politely (only when the numbers changed), can be paused, stops while the tab is
// hidden, and keeps focus and open tables where they were. Without JavaScript the Refresh link
// reloads the page.
"use strict";
(() => {
  const toolbar = document.querySelector("[data-live-src]");
  if (!toolbar || !window.fetch || !window.DOMParser) return;
  const toggle = document.getElementById("live-toggle");
  const status = document.getElementById("live-status");
  const every = Math.max(5, Number(toolbar.dataset.liveEvery) || 15) * 1000;
  const reduceMotion = window.matchMedia("(prefers-reduced-motion: reduce)");
  let paused = false;
  let timer = null;
  let busy = false;

  const say = (text) => { status.textContent = text; };
  const clock = () => new Date().toISOString().slice(11, 19) + " UTC";

  function summaryOf(root) {
    const part = root.querySelector("#health-activity");
    return part ? part.dataset.summary || "" : "";
  }

  function swap(current, fresh) {
    // Keep what the reader was doing: open tables stay open, focus stays on the same element.
    const open = new Set(Array.from(current.querySelectorAll("details[open]"), (d) => d.id));
    const active = document.activeElement;
    const focusedId = active && current.contains(active) ? active.id : "";
    const scrolls = new Map(Array.from(current.querySelectorAll("[id].table-wrap"), (e) => [e.id, e.scrollLeft]));
    current.replaceWith(fresh);
    for (const id of open) {
      const details = document.getElementById(id);
      if (details) details.open = true;
    }
    for (const [id, left] of scrolls) {
      const element = document.getElementById(id);
      if (element) element.scrollLeft = left;
    }
    if (focusedId) {
      const element = document.getElementById(focusedId);
      if (element) element.focus({ preventScroll: true });
    }
    if (!reduceMotion.matches) {
      fresh.classList.add("is-updated");
      window.setTimeout(() => fresh.classList.remove("is-updated"), 1200);
    }
  }

  async function refresh() {
    if (paused || busy || document.hidden) return;
    busy = true;
    try {
      const response = await fetch(toolbar.dataset.liveSrc, {
        credentials: "same-origin",
        headers: { Accept: "text/html" },
      });
      const html = await response.text();
      const doc = new DOMParser().parseFromString(html, "text/html");
      const before = summaryOf(document);
      for (const fresh of doc.querySelectorAll("[data-live-part][id]")) {
        const current = document.getElementById(fresh.id);
        if (current) swap(current, document.importNode(fresh, true));
      }
      const after = summaryOf(document);
      if (!response.ok) {
        say(`Live update at ${clock()} could not be shown (status ${response.status}).`);
      } else if (after && after !== before) {
        say(`Updated at ${clock()}: ${after}.`);
      }
    } catch (error) {
      say(`Live update failed at ${clock()}; trying again in ${every / 1000} seconds.`);
    } finally {
      busy = false;
    }
  }

  function start() {
    stop();
    timer = window.setInterval(refresh, every);
  }

  function stop() {
    if (timer !== null) window.clearInterval(timer);
    timer = null;
  }

  toggle.hidden = false;
  toggle.setAttribute("aria-pressed", "false");
  toggle.addEventListener("click", () => {
    paused = !paused;
    toggle.setAttribute("aria-pressed", String(paused));
    toggle.textContent = paused ? "Resume live updates" : "Pause live updates";
    if (paused) {
      stop();
      say("Live updates paused.");
    } else {
      say(`Live updates resumed: every ${every / 1000} seconds.`);
      refresh();
      start();
    }
  });
  document.addEventListener("visibilitychange", () => {
    if (!document.hidden && !paused) refresh();
  });
  say(`Live updates every ${every / 1000} seconds.`);
  start();
})();

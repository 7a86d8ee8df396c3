// A workload run's page follows the run while it is active: every second it reads the run from
// GET /workloads/{id} (the session cookie authenticates it) and moves the progress bar; the live
// text is rewritten only every tenth of the way and when the status changes, so a screen reader
// is not flooded. Once the run has ended, the server-rendered status and results are fetched and
// swapped in. Without JavaScript the page's Refresh link does the same.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const state = document.getElementById("run-state");
  if (!state || state.dataset.active !== "true") return;
  const bar = document.getElementById("run-progress");
  const text = document.getElementById("run-progress-text");
  const number = new Intl.NumberFormat("en-US");
  let lastStep = -1;
  let lastStatus = "";

  const describe = (run) => {
    const p = run.progress;
    let line = `${number.format(p.done)} of ${number.format(p.requests)} requests done`;
    if (p.failed) line += `, ${number.format(p.failed)} failed`;
    return line + ".";
  };

  const swapIn = async () => {
    // The ended run as the server renders it: status, final progress, results, end time.
    const response = await fetch(state.dataset.page, { credentials: "same-origin" });
    if (!response.ok) throw new Error(`page answered ${response.status}`);
    const fresh = new DOMParser().parseFromString(await response.text(), "text/html");
    for (const id of ["run-status", "run-results", "run-params"]) {
      const mine = document.getElementById(id);
      const theirs = fresh.getElementById(id);
      if (mine && theirs) mine.innerHTML = theirs.innerHTML;
    }
    const freshBar = fresh.getElementById("run-progress");
    if (freshBar) { bar.max = freshBar.max; bar.value = freshBar.value; }
    const refresh = document.getElementById("run-refresh");
    if (refresh) refresh.remove();
    const freshText = fresh.getElementById("run-progress-text");
    if (freshText) text.textContent = freshText.textContent;
    state.dataset.active = "false";
  };

  const poll = async () => {
    let run;
    try {
      const response = await fetch(state.dataset.feed, {
        credentials: "same-origin",
        headers: { Accept: "application/json" },
      });
      if (!response.ok) throw new Error(`feed answered ${response.status}`);
      run = await response.json();
    } catch (error) {
      text.textContent = "Live updates stopped. Reload the page to see how far the run got.";
      return;
    }
    const p = run.progress;
    bar.max = Math.max(1, p.requests);
    bar.value = Math.min(p.done, p.requests);
    const step = Math.floor((10 * p.done) / Math.max(1, p.requests));
    if (step !== lastStep || run.status !== lastStatus) {
      text.textContent = describe(run);
      lastStep = step;
      lastStatus = run.status;
    }
    if (run.status === "queued" || run.status === "running") {
      window.setTimeout(poll, 1000);
      return;
    }
    try {
      await swapIn();
    } catch (error) {
      text.textContent = "The run has ended. Reload the page to see its results.";
    }
  };
  window.setTimeout(poll, 1000);
});

// Fills the import's progress bar by polling its progress URL until the job has finished.
(function () {
  const box = document.getElementById("import-progress");
  if (!box) return;
  const set = (id, value) => { const el = document.getElementById(id); if (el) el.textContent = value; };
  async function poll() {
    let data;
    try {
      const response = await fetch(box.dataset.progressUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (!response.ok) throw new Error(response.status);
      data = await response.json();
    } catch (e) {
      setTimeout(poll, 3000); // a network hiccup: try again a little later
      return;
    }
    document.getElementById("import-bar").value = data.percent;
    set("import-percent", data.percent);
    set("import-status", data.status_label);
    set("import-processed", data.processed);
    set("import-created", data.created);
    set("import-updated", data.updated);
    set("import-merged", data.merged);
    set("import-skipped", data.skipped);
    set("import-errors", data.errors);
    set("import-warned", data.warned);
    set("import-failure", data.failure || "");
    document.getElementById("import-error-report").hidden = !data.errors && !data.warned;
    box.dataset.status = data.status;
    if (!data.finished) setTimeout(poll, 500);
  }
  poll();
})();

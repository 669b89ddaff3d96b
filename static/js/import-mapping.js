// Keeps the mapping page's "columns that will be ignored" list true as the selects change.
(function () {
  const form = document.getElementById("import-mapping");
  const section = document.getElementById("import-ignored");
  if (!form || !section) return;
  function update() {
    let ignored = 0;
    for (const item of section.querySelectorAll("li[data-column]")) {
      const select = form.elements.namedItem(item.dataset.column);
      item.hidden = Boolean(select && select.value);
      if (!item.hidden) ignored += 1;
    }
    document.getElementById("import-ignored-none").hidden = ignored > 0;
  }
  form.addEventListener("change", update);
  update();
})();

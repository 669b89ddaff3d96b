// Small progressive enhancements; every page works without them.
(function () {
  // "select all" checkbox of a list
  document.querySelectorAll("[data-select-all]").forEach((box) => {
    box.addEventListener("change", () => {
      document.querySelectorAll(`input[name="${box.dataset.selectAll}"]`).forEach((el) => { el.checked = box.checked; });
    });
  });
  // check-in and check-out forms send the device's position when the browser allows it
  document.querySelectorAll("form[data-geolocate]").forEach((form) => {
    if (!navigator.geolocation) return;
    navigator.geolocation.getCurrentPosition((pos) => {
      form.querySelector('[name="latitude"]').value = pos.coords.latitude.toFixed(6);
      form.querySelector('[name="longitude"]').value = pos.coords.longitude.toFixed(6);
      const status = form.querySelector("[data-geo-status]");
      if (status) status.textContent = "Your position will be recorded.";
    }, () => {}, { timeout: 5000 });
  });
})();

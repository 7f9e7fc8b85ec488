// Applied before the first paint (a classic script in <head>), so a dark theme never
// flashes light. Only the preference is stored: it is not a secret.
(function () {
  var stored = null;
  try {
    stored = localStorage.getItem("intrvuer.theme");
  } catch (e) {
    stored = null;
  }
  document.documentElement.dataset.theme =
    stored === "light" || stored === "dark" ? stored : "system";
})();

// camwatch console: the only script. Filters: the village list shows the chosen township's
// villages, and a changed select submits its form. Pages work without it.
(function () {
  "use strict";
  function syncVillages(form) {
    var town = form.querySelector("select[name=township]");
    var village = form.querySelector("select[name=village]");
    if (!town || !village) return;
    var t = town.value;
    Array.prototype.forEach.call(village.options, function (o) {
      var p = o.getAttribute("data-parent");
      o.hidden = !!(t && p && p !== t);
    });
    var chosen = village.options[village.selectedIndex];
    if (chosen && chosen.hidden) village.value = "";
  }
  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("form.filters"), function (form) {
      syncVillages(form);
      Array.prototype.forEach.call(form.querySelectorAll("select"), function (sel) {
        sel.addEventListener("change", function () {
          if (sel.name === "township") syncVillages(form);
          form.submit();
        });
      });
    });
  });
})();

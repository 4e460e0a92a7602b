/* camwatch printable report: the print button (no inline script: the pages' CSP forbids it). */
document.addEventListener('DOMContentLoaded', function () {
  document.querySelectorAll('[data-print]').forEach(function (b) {
    b.addEventListener('click', function () { window.print(); });
  });
});

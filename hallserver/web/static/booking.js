// Booking pages: switch days without reloading, print the confirmation, confirm a cancellation.
// Every page works without this script (day tabs are links, forms post normally).
(function () {
  "use strict";
  const tabs = document.getElementById("day-tabs");
  if (tabs) {
    tabs.addEventListener("click", (event) => {
      const link = event.target.closest("a[data-day]");
      if (!link) return;
      event.preventDefault();
      tabs.querySelectorAll("a[data-day]").forEach((tab) => tab.setAttribute("aria-current", String(tab === link)));
      document.querySelectorAll("fieldset.day").forEach((day) => { day.hidden = day.dataset.day !== link.dataset.day; });
      history.replaceState(null, "", link.href);
    });
  }
  const print = document.getElementById("print");
  if (print) print.addEventListener("click", () => window.print());
  document.querySelectorAll("button[data-confirm]").forEach((button) => {
    button.addEventListener("click", (event) => {
      if (!window.confirm(button.dataset.confirm)) event.preventDefault();
    });
  });
})();

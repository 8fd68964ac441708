// The report page: print button, busiest-hours chart (its data is the JSON block #hours-data).
(function () {
  "use strict";
  const print = document.getElementById("print-report");
  if (print) print.addEventListener("click", () => window.print());
  const source = document.getElementById("hours-data");
  if (!source || typeof Chart === "undefined") return;
  const data = JSON.parse(source.textContent);
  const hours = data.hours;
  new Chart(document.getElementById("hours-chart"), {
    type: "bar",
    data: { labels: hours.map((h) => h.hour.slice(0, 2) + "h"), datasets: [
      { label: data.labels.issued, data: hours.map((h) => h.issued), backgroundColor: "#0b5cad" },
      { label: data.labels.served, data: hours.map((h) => h.served), backgroundColor: "#1b7f3b" } ] },
    options: { animation: false, aspectRatio: 4, scales: { y: { beginAtZero: true, ticks: { precision: 0 } } } },
  });
})();

// Console › Logs: the per-hour chart of lines per level, from the page's json_script data.
(function () {
  "use strict";
  var canvas = document.getElementById("logs-chart");
  var source = document.getElementById("logs-chart-data");
  if (!canvas || !source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var colours = { DEBUG: "#9aa5b1", INFO: "#3d7be0", WARNING: "#e0a030", ERROR: "#d64545", CRITICAL: "#7a1010" };
  var datasets = Object.keys(data.levels).filter(function (level) {
    return data.levels[level].some(function (n) { return n > 0; });
  }).map(function (level) {
    return { label: level, data: data.levels[level], backgroundColor: colours[level] || "#888", stack: "lines" };
  });
  new Chart(canvas, {
    type: "bar",
    data: { labels: data.hours, datasets: datasets },
    options: { animation: false, responsive: true, scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } }
  });
})();

// Comparison page: the "differences only" toggle and the charts (Chart.js, vendored).
(function () {
  "use strict";

  var toggle = document.getElementById("diff-toggle");
  var comparison = document.getElementById("comparison");
  if (toggle && comparison) {
    // Remember the choice across comparisons: people who want differences want them everywhere.
    toggle.checked = window.localStorage && localStorage.getItem("runsight.diffOnly") === "1";
    var apply = function () {
      comparison.classList.toggle("only-diffs", toggle.checked);
      if (window.localStorage) localStorage.setItem("runsight.diffOnly", toggle.checked ? "1" : "0");
    };
    toggle.addEventListener("change", apply);
    apply();
  }

  if (typeof window.Chart === "undefined") return;
  var palette = ["#2f5bd3", "#c62f2f", "#1f8a4c", "#b7791f", "#7a3fc2", "#0f8b8d", "#d94f8a", "#5c6b7a", "#8a6d1f", "#3d9be9"];

  function draw(canvasId, dataId) {
    var canvas = document.getElementById(canvasId);
    var source = document.getElementById(dataId);
    if (!canvas || !source) return;
    var data = JSON.parse(source.textContent);
    data.datasets.forEach(function (dataset, i) {
      dataset.backgroundColor = palette[i % palette.length];
    });
    new window.Chart(canvas, {
      type: "bar",
      data: data,
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { position: "bottom" } } },
    });
  }

  draw("metrics-chart", "metrics-chart-data");
  draw("product-chart", "product-chart-data");
})();

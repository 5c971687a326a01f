// Charts of a simulation's results (run page and upload page), drawn with the
// vendored Chart.js from the JSON the page embeds in #sim-charts.
(function () {
  "use strict";
  var data = document.getElementById("sim-charts");
  if (!data || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(data.textContent);
  var BLUE = "#2f5bd3", ORANGE = "#d9822b", GREY = "#9aa4b5", GREEN = "#1f8a4c";

  function eur(value) {
    var abs = Math.abs(value);
    if (abs >= 1e9) { return (value / 1e9).toFixed(1) + " bn"; }
    if (abs >= 1e6) { return (value / 1e6).toFixed(1) + " m"; }
    if (abs >= 1e3) { return (value / 1e3).toFixed(0) + " k"; }
    return String(Math.round(value));
  }

  function bar(id, labels, datasets, options) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    var horizontal = options && options.horizontal;
    var valueAxis = { ticks: { callback: function (v) { return eur(v); } } };
    new Chart(canvas, {
      type: "bar",
      data: { labels: labels, datasets: datasets },
      options: {
        indexAxis: horizontal ? "y" : "x",
        maintainAspectRatio: false,
        plugins: {
          title: { display: true, text: options.title },
          tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + eur(horizontal ? c.parsed.x : c.parsed.y) + " EUR"; } } }
        },
        scales: horizontal ? { x: valueAxis } : { y: valueAxis }
      }
    });
  }

  var rwa = charts.rwa_by_class;
  bar("sim-chart-rwa", rwa.labels, [
    { label: "EAD", data: rwa.ead, backgroundColor: GREY },
    { label: "RWA", data: rwa.rwa, backgroundColor: BLUE }
  ], { title: "EAD and RWA by exposure class (EUR)" });

  var products = charts.stats_by_product;
  bar("sim-chart-products", products.labels, [
    { label: "Notional", data: products.notional, backgroundColor: GREY },
    { label: "EAD", data: products.ead, backgroundColor: ORANGE },
    { label: "RWA", data: products.rwa, backgroundColor: BLUE }
  ], { title: "Notional, EAD and RWA by product (EUR)", horizontal: true });

  var labels = charts.lcr.labels.concat(charts.nsfr.labels);
  var values = charts.lcr.values.concat(charts.nsfr.values);
  bar("sim-chart-liquidity", labels, [
    { label: "EUR", data: values, backgroundColor: [GREEN, ORANGE, GREY, BLUE, GREEN, BLUE] }
  ], { title: "LCR: HQLA against net outflows · NSFR: available against required funding" });
})();

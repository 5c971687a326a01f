// FinOps cost views: draws the page's charts from its json_script data (#finops-chart) with the
// vendored Chart.js. Tables are rendered by the server; without JavaScript only the charts are missing.
(function () {
  "use strict";
  var source = document.getElementById("finops-chart");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var loading = document.getElementById("finops-chart-loading");
  if (loading) { loading.hidden = false; }
  var COLORS = ["#4a7bd0", "#d49b2a", "#5aa469", "#c94040", "#6a3fb5", "#1e6f6f", "#b8578f", "#7a7a7a"];
  var money = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

  function canvas(id) { return document.getElementById(id); }
  function options(stacked) {
    return {
      responsive: true, maintainAspectRatio: false, animation: false,
      scales: { x: { stacked: stacked }, y: { stacked: stacked, ticks: { callback: function (v) { return money.format(v); } } } },
      plugins: { tooltip: { callbacks: { label: function (c) { return c.dataset.label + ": " + money.format(c.parsed.y); } } } }
    };
  }
  function bars(id, labels, values, label) {
    var el = canvas(id);
    if (!el) { return; }
    new Chart(el, { type: "bar", data: { labels: labels, datasets: [{ label: label, data: values, backgroundColor: COLORS[0] }] }, options: options(false) });
  }
  function series(id, labels, list, type, stacked) {
    var el = canvas(id);
    if (!el) { return; }
    new Chart(el, {
      type: type,
      data: { labels: labels, datasets: list.map(function (s, i) {
        return { label: s.name, data: s.values, backgroundColor: COLORS[i % COLORS.length], borderColor: COLORS[i % COLORS.length], fill: false };
      }) },
      options: options(stacked)
    });
  }

  if (data.kind === "dashboard") {
    bars("finops-chart-domains", data.domains.labels, data.domains.values, "Effective cost");
    series("finops-chart-trend", data.trend.labels, data.trend.series, "bar", true);
  } else if (data.kind === "bars") {
    bars("finops-chart-bars", data.labels, data.values, "Effective cost");
  } else if (data.kind === "history") {
    series("finops-chart-history", data.labels, data.series, "line", false);
  }
  if (loading) { loading.hidden = true; }

  // Changing a filter reloads the page (the form still works with a button and no script).
  var form = document.getElementById("finops-cost-filter");
  if (form) {
    form.addEventListener("change", function (e) {
      if (e.target.tagName === "SELECT") { form.submit(); }
    });
  }
}());

// Model page charts: metric history across versions and the champion's training curves.
// Data comes from json_script blocks (CSP: no inline script).
(function () {
  "use strict";
  if (typeof window.Chart === "undefined") return;
  function read(id) {
    var el = document.getElementById(id);
    if (!el) return null;
    try { return JSON.parse(el.textContent); } catch (e) { return null; }
  }
  var palette = ["#2563eb", "#dc2626", "#16a34a", "#d97706", "#7c3aed", "#0891b2", "#db2777", "#65a30d"];
  var history = read("registry-history");
  var canvas = document.getElementById("registry-chart-history");
  if (history && canvas && history.series && history.series.length) {
    new window.Chart(canvas, {
      type: "line",
      data: {
        labels: history.labels,
        datasets: history.series.map(function (s, i) {
          return { label: s.label, data: s.data, borderColor: palette[i % palette.length], spanGaps: true, tension: 0 };
        })
      },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { title: { display: true, text: "Held-out metrics across versions" } } }
    });
  }
  var curves = read("registry-curves");
  var c2 = document.getElementById("registry-chart-curves");
  if (curves && c2 && curves.step) {
    var sets = [];
    if (curves.train_loss) sets.push({ label: "train loss", data: curves.train_loss, borderColor: palette[0] });
    if (curves.validation_loss) sets.push({ label: "validation loss", data: curves.validation_loss, borderColor: palette[1] });
    new window.Chart(c2, {
      type: "line",
      data: { labels: curves.step, datasets: sets },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { title: { display: true, text: "Champion's training curves" } } }
    });
  }
})();

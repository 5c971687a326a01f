// Charts of a training run (run page panel): loss curves per epoch or iteration (or, for a
// volatility forecaster, the forecast against the true variance) and the calibration, drawn
// with the vendored Chart.js from the JSON the page embeds in #training-charts.
(function () {
  "use strict";
  var data = document.getElementById("training-charts");
  if (!data || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(data.textContent);
  var BLUE = "#2f5bd3", ORANGE = "#d9822b", GREY = "#9aa4b5";
  var c = charts.curves || {};

  function line(id, labels, datasets, title, xTitle) {
    var canvas = document.getElementById(id);
    if (!canvas) { return; }
    new Chart(canvas, {
      type: "line",
      data: { labels: labels, datasets: datasets },
      options: {
        maintainAspectRatio: false, animation: false,
        elements: { point: { radius: 0 } },
        plugins: { title: { display: true, text: title } },
        scales: { x: { title: { display: true, text: xTitle } } }
      }
    });
  }

  if (c.forecast_variance) {
    var sets = [{ label: "GARCH forecast variance", data: c.forecast_variance, borderColor: BLUE, borderWidth: 1 }];
    if (c.true_variance) { sets.push({ label: "True conditional variance", data: c.true_variance, borderColor: ORANGE, borderWidth: 1 }); }
    line("training-chart-curves", c.step, sets, "One-step-ahead variance on the test days", "day");
  } else if (c.step) {
    line("training-chart-curves", c.step, [
      { label: "Training loss", data: c.train_loss, borderColor: BLUE },
      { label: "Validation loss", data: c.validation_loss, borderColor: ORANGE }
    ], (c.loss || "Log loss") + " per step", c.unit || "step");
  }

  var cal = charts.calibration || [];
  if (cal.length) {
    var canvas = document.getElementById("training-chart-calibration");
    if (canvas) {
      new Chart(canvas, {
        type: "scatter",
        data: {
          datasets: [
            { label: "Observed vs predicted", data: cal.map(function (b) { return { x: b.predicted, y: b.observed }; }), backgroundColor: BLUE },
            { label: "Perfect calibration", type: "line", data: [{ x: 0, y: 0 }, { x: Math.max.apply(null, cal.map(function (b) { return b.predicted; })), y: Math.max.apply(null, cal.map(function (b) { return b.predicted; })) }], borderColor: GREY, pointRadius: 0 }
          ]
        },
        options: {
          maintainAspectRatio: false, animation: false,
          plugins: { title: { display: true, text: "Calibration on the test rows (deciles of the prediction)" } },
          scales: { x: { title: { display: true, text: "predicted" } }, y: { title: { display: true, text: "observed" } } }
        }
      });
    }
  }
})();

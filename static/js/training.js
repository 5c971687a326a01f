// Charts of a training run (run page panel): loss curves per epoch or iteration (or, for a
// volatility forecaster, the forecast against the true variance) and the calibration, drawn
// with the vendored Chart.js from the JSON the page embeds in #training-charts.
// While the run fits (canvas data-live="1"), the run's API answer is polled each second:
// its metrics hold the curves so far, and each new point is added to the chart in place.
(function () {
  "use strict";
  var data = document.getElementById("training-charts");
  if (!data || typeof Chart === "undefined") { return; }
  var charts = JSON.parse(data.textContent);
  var BLUE = "#2f5bd3", ORANGE = "#d9822b", GREY = "#9aa4b5";
  var c = charts.curves || {};

  function line(id, labels, datasets, title, xTitle) {
    var canvas = document.getElementById(id);
    if (!canvas) { return null; }
    return new Chart(canvas, {
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
    lossChart(c);
  }

  function lossChart(curves) {
    return line("training-chart-curves", (curves.step || []).slice(), [
      { label: "Training loss", data: (curves.train_loss || []).slice(), borderColor: BLUE },
      { label: "Validation loss", data: (curves.validation_loss || []).slice(), borderColor: ORANGE }
    ], (curves.loss || "Log loss") + " per step", curves.unit || "step");
  }

  var live = document.getElementById("training-chart-curves");
  var run = document.getElementById("run");
  if (live && live.dataset.live === "1" && run && run.dataset.active === "1") {
    var chart = Chart.getChart(live) || lossChart({});
    var FINISHED = ["SUCCEEDED", "FAILED", "CANCELLED"];
    var poll = function () {
      fetch(run.dataset.api, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
        .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
        .then(function (answer) {
          var curves = (answer.metrics || {}).curves || {};
          var steps = curves.step || [];
          // The finished run's page is reloaded by the run view; its metrics are the final ones.
          if (FINISHED.indexOf(answer.status) >= 0) { return; }
          if (steps.length > chart.data.labels.length && curves.train_loss) {
            chart.data.labels = steps.slice();
            chart.data.datasets[0].data = curves.train_loss.slice();
            chart.data.datasets[1].data = (curves.validation_loss || []).slice();
            chart.options.plugins.title.text = (curves.loss || "Log loss") + " per step";
            chart.options.scales.x.title.text = curves.unit || "step";
            chart.update();
            live.dataset.points = steps.length;
            var count = document.getElementById("training-live-points");
            if (count) { count.textContent = steps.length; }
          }
          window.setTimeout(poll, 1000);
        })
        .catch(function () { window.setTimeout(poll, 3000); });
    };
    window.setTimeout(poll, 500);
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

// Compare page: highlight threshold, "only changed rows", show all parameters, baseline switch,
// one breakdown figure at a time, charts (Chart.js, vendored), and the delete confirmation.
// No inline script anywhere: data comes from <script type="application/json"> blocks.
(function () {
  "use strict";

  document.documentElement.classList.add("js");

  // Forms that ask before they act (deleting a saved comparison).
  document.querySelectorAll("form[data-confirm]").forEach(function (form) {
    form.addEventListener("submit", function (event) {
      if (!window.confirm(form.getAttribute("data-confirm"))) event.preventDefault();
    });
  });

  var root = document.getElementById("comparison");
  if (!root) return;

  function setQuery(changes) {
    // Keep the page's state in its URL, so a link shows what the reader sees.
    var url = new URL(window.location.href);
    Object.keys(changes).forEach(function (key) {
      if (changes[key] === null) url.searchParams.delete(key);
      else url.searchParams.set(key, changes[key]);
    });
    window.history.replaceState(null, "", url.toString());
    document.querySelectorAll("a.cmp-use-baseline").forEach(function (link) {
      var target = new URL(link.href, window.location.href);
      Object.keys(changes).forEach(function (key) {
        if (changes[key] === null) target.searchParams.delete(key);
        else target.searchParams.set(key, changes[key]);
      });
      link.href = target.pathname + target.search;
    });
  }

  // --- Parameters: the differing ones first, all on request -------------------------
  var showAll = document.getElementById("params-show-all");
  var paramsTable = document.getElementById("compare-params");
  if (showAll && paramsTable) {
    var applyParams = function () { paramsTable.classList.toggle("show-all", showAll.checked); };
    showAll.addEventListener("change", applyParams);
    applyParams();
  }

  // --- Highlight threshold --------------------------------------------------------------
  var input = document.getElementById("threshold");
  var echo = document.getElementById("threshold-echo");
  var total = document.getElementById("significant-count");

  function isSignificant(raw, threshold) {
    if (raw === "" || raw === null) return false;
    if (raw === "inf") return true;
    var pct = Math.abs(parseFloat(raw));
    return pct > 0 && pct >= threshold;
  }

  function highlight() {
    var threshold = parseFloat(String(input.value).replace(",", "."));
    if (!isFinite(threshold) || threshold < 0) return; // keep the last valid highlight while typing
    var count = 0;
    root.querySelectorAll(".cmp-numbers tbody tr").forEach(function (row) {
      var any = false;
      row.querySelectorAll("td[data-pct]").forEach(function (cell) {
        var hit = isSignificant(cell.getAttribute("data-pct"), threshold);
        cell.classList.toggle("significant", hit);
        any = any || hit;
      });
      row.classList.toggle("significant", any);
      if (any) count += 1;
    });
    root.querySelectorAll(".cmp-group").forEach(function (group) {
      var counter = group.querySelector(".cmp-group-count");
      if (counter) counter.textContent = group.querySelectorAll("tbody tr.significant").length;
    });
    root.querySelectorAll(".cmp-tab").forEach(function (tab) {
      var figure = document.getElementById("figure-" + tab.getAttribute("data-figure"));
      var counter = tab.querySelector(".cmp-tab-count");
      if (!figure || !counter) return;
      var n = figure.querySelectorAll("tbody tr.significant").length;
      counter.textContent = n;
      counter.classList.toggle("hot", n > 0);
    });
    if (total) total.textContent = count;
    if (echo) echo.textContent = String(threshold);
    return threshold;
  }

  if (input) {
    input.addEventListener("input", function () {
      var threshold = highlight();
      if (threshold !== undefined) setQuery({ threshold: String(threshold) });
    });
    highlight();
  }

  // --- Only rows with a highlighted change ------------------------------------------------
  var changedOnly = document.getElementById("changed-only");
  if (changedOnly) {
    changedOnly.checked = new URL(window.location.href).searchParams.get("changed") === "1";
    var applyChanged = function () {
      root.classList.toggle("only-changed", changedOnly.checked);
      setQuery({ changed: changedOnly.checked ? "1" : null });
    };
    changedOnly.addEventListener("change", applyChanged);
    applyChanged();
  }

  // --- Baseline: the server computes Δ against it, so switching reloads --------------------
  var baseline = document.getElementById("baseline-select");
  var controls = document.getElementById("compare-controls");
  if (baseline && controls) {
    baseline.addEventListener("change", function () { controls.submit(); });
  }

  // --- Breakdowns: one figure at a time ---------------------------------------------------
  root.querySelectorAll(".cmp-breakdown").forEach(function (section) {
    var tabs = section.querySelectorAll(".cmp-tab");
    var figures = section.querySelectorAll(".cmp-figure");
    function activate(name) {
      tabs.forEach(function (tab) {
        var on = tab.getAttribute("data-figure") === name;
        tab.classList.toggle("active", on);
        tab.setAttribute("aria-selected", on ? "true" : "false");
      });
      figures.forEach(function (figure) {
        figure.classList.toggle("active", figure.getAttribute("data-figure") === name);
      });
    }
    tabs.forEach(function (tab) {
      tab.addEventListener("click", function () { activate(tab.getAttribute("data-figure")); });
    });
    if (tabs.length) activate(tabs[0].getAttribute("data-figure"));
  });

  // --- Charts ---------------------------------------------------------------------------------
  if (typeof window.Chart === "undefined") return;
  // The same colours as the swatches of the run cards (compare.css).
  var palette = ["#2f5bd3", "#d9822b", "#1f8a4c", "#7a3fc2", "#c62f2f", "#0f8b8d", "#d94f8a", "#5c6b7a", "#8a6d1f", "#3d9be9"];
  var grouped = new Intl.NumberFormat("en-US", { maximumFractionDigits: 2 });
  var compact = new Intl.NumberFormat("en-US", { notation: "compact", maximumFractionDigits: 1 });

  root.querySelectorAll("canvas[data-source]").forEach(function (canvas) {
    var source = document.getElementById(canvas.getAttribute("data-source"));
    if (!source) return;
    var data = JSON.parse(source.textContent);
    var percent = canvas.id === "chart-ratios" || canvas.id === "chart-changes";
    var signed = canvas.id === "chart-changes";
    data.datasets.forEach(function (dataset, i) {
      // Each run keeps its colour from the cards, also where the baseline has no bar.
      var colour = palette[(typeof dataset.color === "number" ? dataset.color : i) % palette.length];
      dataset.backgroundColor = colour;
      dataset.borderColor = colour;
      if (i === data.baseline) dataset.label += " (baseline)";
    });
    new window.Chart(canvas, {
      type: "bar",
      data: { labels: data.labels, datasets: data.datasets },
      options: {
        responsive: true, maintainAspectRatio: false, animation: false,
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12 } },
          tooltip: {
            callbacks: {
              label: function (ctx) {
                var v = ctx.parsed.y;
                var text = percent ? v.toFixed(2) + "%" : grouped.format(v);
                return ctx.dataset.label + ": " + (signed && v > 0 ? "+" : "") + text;
              },
            },
          },
        },
        scales: {
          x: { ticks: { autoSkip: false, maxRotation: 60, minRotation: 0, font: { size: 11 } } },
          y: { ticks: { callback: function (v) { return percent ? v + "%" : compact.format(v); } } },
        },
      },
    });
  });
})();

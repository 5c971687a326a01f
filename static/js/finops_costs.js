// FinOps cost views: draws the page's charts from its json_script data (#finops-chart) with the
// vendored Chart.js, and shows a loading notice for anything slower than a glance (a page being
// fetched, a file being prepared). Tables are rendered by the server: without JavaScript only the
// charts and the notice are missing, and every link and the filter form still work.
(function () {
  "use strict";

  // ---------------------------------------------------------------- loading notice
  var busy = document.getElementById("finops-busy");
  var GLANCE_MS = 150; // shorter waits show nothing (no flicker on a fast answer)
  var timer = null;

  function wait(text) {
    if (!busy) { return; }
    window.clearTimeout(timer);
    timer = window.setTimeout(function () {
      busy.textContent = text || "Loading…";
      busy.hidden = false;
      document.body.classList.add("finops-waiting");
    }, GLANCE_MS);
  }
  function done(message, holdMs) {
    window.clearTimeout(timer);
    if (!busy) { return; }
    if (message) {
      busy.textContent = message;
      busy.hidden = false;
      timer = window.setTimeout(function () { busy.hidden = true; }, holdMs || 6000);
    } else {
      busy.hidden = true;
    }
    document.body.classList.remove("finops-waiting");
  }
  // Back or forward from the browser's cache: nothing is loading any more.
  window.addEventListener("pageshow", function () { done(); });

  function filename(response, fallback) {
    var header = response.headers.get("Content-Disposition") || "";
    var match = /filename="([^"]+)"/.exec(header);
    return match ? match[1] : fallback;
  }

  // An export is fetched so the notice lasts exactly as long as the file takes; then saved.
  function download(link) {
    wait(link.getAttribute("data-loading") || "Preparing the file…");
    window.fetch(link.href, { credentials: "same-origin" }).then(function (response) {
      if (!response.ok) {
        return response.text().then(function (text) {
          done("Export failed: " + (text || response.status).toString().slice(0, 200));
        });
      }
      return response.blob().then(function (blob) {
        var url = URL.createObjectURL(blob);
        var save = document.createElement("a");
        save.href = url;
        save.download = filename(response, "finops-export");
        save.hidden = true;
        document.body.appendChild(save);
        save.click();
        document.body.removeChild(save);
        window.setTimeout(function () { URL.revokeObjectURL(url); }, 10000);
        done();
      });
    }).catch(function () {
      done();
      window.location.href = link.href; // the plain link, as without script
    });
  }

  document.addEventListener("click", function (e) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) { return; }
    var link = e.target.closest ? e.target.closest("a[href]") : null;
    if (!link || link.target) { return; }
    var url = new URL(link.href, window.location.href);
    if (url.origin !== window.location.origin || url.pathname.indexOf("/finops/") !== 0) { return; }
    if (url.searchParams.get("export")) {
      if (window.fetch && window.URL && URL.createObjectURL) {
        e.preventDefault();
        download(link);
      }
      return;
    }
    if (url.pathname === window.location.pathname && url.search === window.location.search) { return; }
    wait(link.getAttribute("data-loading") || "Loading…");
  });

  // Changing a filter reloads the page (the form still works with a button and no script).
  var form = document.getElementById("finops-cost-filter");
  if (form) {
    form.addEventListener("submit", function () { wait(form.getAttribute("data-loading")); });
    form.addEventListener("change", function (e) {
      if (e.target.tagName === "SELECT") {
        wait(form.getAttribute("data-loading"));
        form.submit();
      }
    });
  }

  // ---------------------------------------------------------------- charts
  var source = document.getElementById("finops-chart");
  if (!source || typeof Chart === "undefined") { return; }
  var data = JSON.parse(source.textContent);
  var drawing = document.getElementById("finops-chart-loading");
  if (drawing) { drawing.hidden = false; }
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
  function doughnut(id, split) {
    var el = canvas(id);
    if (!el || !split || !split.values.length) { return; }
    new Chart(el, {
      type: "doughnut",
      data: { labels: split.labels, datasets: [{ data: split.values, backgroundColor: split.labels.map(function (_, i) { return COLORS[i % COLORS.length]; }) }] },
      options: { responsive: true, maintainAspectRatio: false, animation: false,
                 plugins: { tooltip: { callbacks: { label: function (c) { return c.label + ": " + money.format(c.parsed); } } } } }
    });
  }

  if (data.kind === "dashboard") {
    bars("finops-chart-domains", data.domains.labels, data.domains.values, "Effective cost");
    series("finops-chart-trend", data.trend.labels, data.trend.series, "bar", true);
  } else if (data.kind === "bars") {
    bars("finops-chart-bars", data.labels, data.values, "Effective cost");
  } else if (data.kind === "history") {
    series("finops-chart-history", data.labels, data.series, "line", false);
  } else if (data.kind === "application") {
    series("finops-chart-history", data.labels, data.series, "line", false);
    doughnut("finops-chart-providers", data.providers);
    doughnut("finops-chart-categories", data.categories);
  }
  if (drawing) { drawing.hidden = true; }
}());

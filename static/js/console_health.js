// Console › Health: refreshes the checks from /api/health/ every data-refresh seconds.
(function () {
  "use strict";
  var table = document.getElementById("health-table");
  if (!table) { return; }
  var api = table.getAttribute("data-api");
  var every = Math.max(1, parseInt(table.getAttribute("data-refresh"), 10) || 5) * 1000;

  function cell(text) { var td = document.createElement("td"); td.textContent = text; return td; }
  function badge(status) {
    var span = document.createElement("span");
    span.className = "badge badge-health-" + status;
    span.textContent = status;
    return span;
  }

  function render(report) {
    var overall = document.getElementById("health-overall");
    overall.className = "badge badge-health-" + report.status;
    overall.textContent = report.status;
    document.getElementById("health-checked-at").textContent = report.checked_at;
    var body = table.tBodies[0];
    body.textContent = "";
    var workers = [];
    report.checks.forEach(function (c) {
      var tr = document.createElement("tr");
      tr.setAttribute("data-check", c.name);
      var th = document.createElement("th"); th.textContent = c.label; tr.appendChild(th);
      var td = document.createElement("td"); td.appendChild(badge(c.status)); tr.appendChild(td);
      tr.appendChild(cell(c.why));
      tr.appendChild(cell(String(c.seconds)));
      body.appendChild(tr);
      if (c.name === "workers" && c.detail && c.detail.workers) { workers = c.detail.workers; }
    });
    var wbody = document.getElementById("health-workers").tBodies[0];
    wbody.textContent = "";
    workers.forEach(function (w) {
      var tr = document.createElement("tr");
      [w.name, w.alive ? "yes" : "no", (w.queues || []).join(", "), w.active, w.reserved, w.last_seen || "—"]
        .forEach(function (v) { tr.appendChild(cell(String(v))); });
      wbody.appendChild(tr);
    });
  }

  function refresh() {
    fetch(api, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error("HTTP " + r.status); } return r.json(); })
      .then(render)
      .catch(function (err) {
        var overall = document.getElementById("health-overall");
        overall.className = "badge badge-health-red";
        overall.textContent = "unreachable (" + err.message + ")";
      })
      .then(function () { window.setTimeout(refresh, every); });
  }
  window.setTimeout(refresh, every);
})();

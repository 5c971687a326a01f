// Live view of a run: polls the API while the run is active, updates the badge,
// the progress bar and appends new log lines; reloads once when the run ends so
// that results and artifacts show.
(function () {
  "use strict";
  var root = document.getElementById("run");
  if (!root || root.dataset.active !== "1") { return; }
  var apiUrl = root.dataset.api;
  var logsUrl = root.dataset.logsApi;
  var logsBody = document.querySelector("#run-logs tbody");
  var lastLogId = 0;
  document.querySelectorAll("#run-logs tr[data-log-id]").forEach(function (tr) {
    lastLogId = Math.max(lastLogId, parseInt(tr.dataset.logId, 10));
  });
  var FINISHED = ["SUCCEEDED", "FAILED", "CANCELLED"];

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function fetchJson(url) {
    return fetch(url, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); });
  }

  function pollLogs() {
    return fetchJson(logsUrl + "?page_size=100&after=" + lastLogId).then(function (data) {
      data.results.forEach(function (log) {
        var tr = document.createElement("tr");
        tr.dataset.logId = log.id;
        tr.className = "log-" + log.level.toLowerCase();
        var time = new Date(log.created_at).toTimeString().slice(0, 8);
        [time, log.level].forEach(function (v) { var td = document.createElement("td"); td.textContent = v; tr.appendChild(td); });
        var td = document.createElement("td"); var pre = document.createElement("pre"); pre.textContent = log.message;
        td.appendChild(pre); tr.appendChild(td); logsBody.appendChild(tr);
        lastLogId = Math.max(lastLogId, log.id);
      });
      if (data.results.length) {
        var counter = document.getElementById("run-log-count");
        if (counter) {
          var n = parseInt(counter.dataset.count, 10) + data.results.length;
          counter.dataset.count = n;
          counter.textContent = n + (n === 1 ? " line" : " lines");
        }
      }
      return data.next ? pollLogs() : null;
    });
  }

  function poll() {
    fetchJson(apiUrl).then(function (run) {
      // Log lines first, then the status: a page that says SUCCEEDED already shows every line.
      return pollLogs().then(function () {
        var badge = root.querySelector(".badge");
        badge.textContent = run.status;
        badge.dataset.status = run.status;
        badge.className = "badge badge-" + run.status.toLowerCase();
        document.getElementById("run-progress").value = run.progress;
        text("run-progress-text", run.progress + "%");
        if (run.started_at) { text("run-started", run.started_at.replace("T", " ").slice(0, 19)); }
        if (run.worker) { text("run-worker", run.worker); }
        if (FINISHED.indexOf(run.status) >= 0) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      });
    }).catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();

// Live view of a FinOps batch run (Admin › Batch Runs › detail): while the run is active,
// polls its API every second; updates the status badge, the progress, each block's status
// and volumes and the log excerpt; reloads once when the run ends (aggregates, anomalies).
(function () {
  "use strict";
  var root = document.getElementById("finops-run");
  if (!root || root.dataset.active !== "1") { return; }
  var apiUrl = root.dataset.api;
  var FINISHED = ["SUCCEEDED", "FAILED", "CANCELLED"];

  function text(id, value) {
    var el = document.getElementById(id);
    if (el) { el.textContent = value; }
  }

  function badge(el, status) {
    el.textContent = status;
    el.dataset.status = status;
    el.className = "badge badge-" + status.toLowerCase();
  }

  function poll() {
    fetch(apiUrl, { headers: { "Accept": "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (!r.ok) { throw new Error(r.status); } return r.json(); })
      .then(function (run) {
        var top = document.querySelector("#finops-status .badge");
        if (top) { badge(top, run.status); }
        text("finops-status-text", run.status);
        var bar = document.getElementById("finops-progress");
        if (bar) { bar.value = run.progress; }
        text("finops-progress-text", run.progress + "%");
        if (run.started_at) { text("finops-started", run.started_at.replace("T", " ").slice(0, 19)); }
        var table = document.getElementById("finops-blocks");
        if (!table && run.blocks.length) { window.location.reload(); return; }
        run.blocks.forEach(function (block) {
          var tr = document.querySelector('#finops-blocks tr[data-domain="' + block.domain + '"]');
          if (!tr) { return; }
          var cells = tr.querySelectorAll("td");
          var b = cells[1].querySelector(".badge");
          if (b) { badge(b, block.status); }
          if (block.duration_seconds !== null) { cells[3].textContent = block.duration_seconds.toFixed(2) + " s"; }
          cells[4].textContent = block.files_read;
          cells[5].textContent = block.rows_read;
          cells[6].textContent = block.rows_inserted;
          cells[7].textContent = block.rows_deleted;
          cells[8].textContent = block.rows_rejected;
        });
        var tail = document.getElementById("finops-log-tail");
        if (tail) {
          tail.textContent = run.log_tail.map(function (line) {
            return new Date(line.created_at).toTimeString().slice(0, 8) + " " + line.level + " " + line.message;
          }).join("\n") + "\n";
        }
        text("finops-log-count", run.log_count + (run.log_count === 1 ? " line" : " lines"));
        if (FINISHED.indexOf(run.status) >= 0) {
          window.location.reload();
        } else {
          window.setTimeout(poll, 1000);
        }
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();

// Inline editing on the run page: tags and notes are saved through the API as soon
// as a field is left (notes also after a pause in typing); the star toggles at once.
(function () {
  "use strict";
  var form = document.getElementById("annotate-form");
  var status = document.getElementById("annotate-status");
  var csrf = document.querySelector("input[name=csrfmiddlewaretoken]");

  function patch(url, body) {
    return fetch(url, {
      method: "PATCH", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "Accept": "application/json", "X-CSRFToken": csrf.value },
      body: JSON.stringify(body)
    }).then(function (r) {
      return r.json().then(function (data) {
        if (!r.ok) { throw new Error(JSON.stringify(data)); }
        return data;
      });
    });
  }

  function say(text, bad) {
    if (!status) { return; }
    status.textContent = text;
    status.className = bad ? "error-text" : "muted";
  }

  // The tag chips of the run's metadata box, redrawn after an inline save.
  function drawTags(names) {
    var box = document.getElementById("run-tags");
    if (!box) { return; }
    box.textContent = "";
    if (!names.length) { box.textContent = "—"; return; }
    names.forEach(function (n) {
      var chip = document.createElement("span");
      chip.className = "pill";
      chip.textContent = n;
      box.appendChild(chip);
    });
  }

  if (form) {
    var api = form.dataset.api;
    var tags = document.getElementById("id_tags");
    var notes = document.getElementById("id_notes");
    var options = document.getElementById("tag-options");
    var timer = null;

    var saveTags = function () {
      var names = tags.value.split(",").map(function (t) { return t.trim(); }).filter(Boolean);
      say("Saving…");
      patch(api, { tags: names }).then(function (run) {
        tags.value = run.tags.join(", ");
        drawTags(run.tags);
        say("Tags saved.");
      }).catch(function (e) { say("Not saved: " + e.message, true); });
    };
    var saveNotes = function () {
      window.clearTimeout(timer);
      say("Saving…");
      patch(api, { notes: notes.value }).then(function () { say("Notes saved."); })
        .catch(function (e) { say("Not saved: " + e.message, true); });
    };
    tags.addEventListener("change", saveTags);
    notes.addEventListener("change", saveNotes);
    notes.addEventListener("input", function () { window.clearTimeout(timer); timer = window.setTimeout(saveNotes, 1000); });
    form.addEventListener("submit", function (e) { e.preventDefault(); saveTags(); saveNotes(); });

    // Autocomplete: suggest existing tags for the word being typed.
    tags.addEventListener("input", function () {
      var current = tags.value.split(",").pop().trim();
      fetch(form.dataset.tagsApi + "?q=" + encodeURIComponent(current), { credentials: "same-origin" })
        .then(function (r) { return r.ok ? r.json() : []; })
        .then(function (names) {
          var prefix = tags.value.slice(0, tags.value.lastIndexOf(",") + 1);
          options.innerHTML = "";
          names.forEach(function (n) {
            var o = document.createElement("option");
            o.value = (prefix ? prefix + " " : "") + n;
            options.appendChild(o);
          });
        });
    });
  }

  var favForm = document.getElementById("favourite-form");
  if (favForm && form) {
    favForm.addEventListener("submit", function (e) {
      e.preventDefault();
      var button = document.getElementById("favourite-button");
      var next = button.dataset.value !== "1";
      patch(form.dataset.api, { is_favourite: next }).then(function (run) {
        button.dataset.value = run.is_favourite ? "1" : "0";
        button.textContent = run.is_favourite ? "★ My favourite" : "☆ Mark favourite";
      }).catch(function (err) { say("Not saved: " + err.message, true); });
    });
  }

  // Cancelling stops a worker and drops partial results: ask first.
  var cancelForm = document.getElementById("cancel-form");
  if (cancelForm) {
    cancelForm.addEventListener("submit", function (e) {
      if (!window.confirm(cancelForm.dataset.confirm)) { e.preventDefault(); }
    });
  }

  var panel = document.getElementById("validation-panel");
  var validate = document.getElementById("validate-button");
  if (panel && validate) {
    validate.addEventListener("click", function () {
      validate.disabled = true;
      validate.textContent = "Checking…";
      fetch(panel.dataset.url, { credentials: "same-origin" }).then(function (r) { return r.text(); })
        .then(function (html) { panel.innerHTML = html; })
        .catch(function () { validate.disabled = false; validate.textContent = "Check failed; try again"; });
    });
  }
})();

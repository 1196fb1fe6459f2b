// Live progress of an order's provisioning: polls the order's status (JSON) and updates the
// line states in place, until no line is queued or being provisioned any more. Without
// JavaScript the page shows the state of the moment it was loaded.
(function () {
  "use strict";
  var box = document.getElementById("order-progress");
  if (!box || !window.fetch) return;
  var url = box.getAttribute("data-status-url");
  var message = document.getElementById("order-progress-message");
  var bar = document.getElementById("order-progress-bar");
  var orderBadge = document.getElementById("order-status");
  var INTERVAL = 1500;
  var failures = 0;
  var known = {};

  function setBadge(badge, status, label) {
    if (!badge) return;
    badge.className = "badge status status-" + status;
    badge.textContent = label;
  }

  function updateLine(line) {
    var item = document.querySelector('[data-line-id="' + line.id + '"]');
    if (!item) return;
    setBadge(item.querySelector(".badge.status"), line.status, line.status_label);
    var activated = item.querySelector(".line-activated");
    if (activated) {
      activated.hidden = !line.activated_on;
      var day = activated.querySelector("[data-activated]");
      if (day) day.textContent = line.activated_on || "";
    }
    var failure = item.querySelector(".line-failure");
    if (failure) {
      failure.hidden = !line.failure_reason;
      var reason = failure.querySelector("[data-failure]");
      if (reason) reason.textContent = line.failure_reason || "";
    }
  }

  function summary(data, changes) {
    var text = data.active + " von " + data.total + (data.total === 1 ? " Assistent" : " Assistenten") + " bereitgestellt";
    if (changes.length) text = changes.join("; ") + ". " + text;
    return text;
  }

  function apply(data) {
    var changes = [];
    data.lines.forEach(function (line) {
      if (known[line.id] && known[line.id] !== line.status) {
        changes.push(line.title + ": " + line.status_label + (line.failure_reason ? " (" + line.failure_reason + ")" : ""));
      }
      known[line.id] = line.status;
      updateLine(line);
    });
    setBadge(orderBadge, data.status, data.status_label);
    var done = document.getElementById("order-done");
    if (done) done.hidden = data.status !== "completed";
    if (bar) { bar.max = data.total || 1; bar.value = data.active; bar.textContent = data.active + " / " + data.total; }
    // the live region speaks only when something changed (or when the work is done)
    if (message && (changes.length || !data.in_progress)) message.textContent = summary(data, changes);
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error("HTTP " + response.status);
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        apply(data);
        if (data.in_progress) setTimeout(poll, INTERVAL);
      })
      .catch(function () {
        failures += 1;
        if (failures < 20) setTimeout(poll, INTERVAL * 2);
      });
  }

  document.querySelectorAll("[data-line-id]").forEach(function (item) {
    var badge = item.querySelector(".badge.status");
    if (badge) known[item.getAttribute("data-line-id")] = (badge.className.match(/status-(\w+)/) || [])[1];
  });
  if (box.getAttribute("data-poll") === "1") setTimeout(poll, INTERVAL);
})();

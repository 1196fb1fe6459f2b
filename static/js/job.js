// Polls a background job and updates its progress bar until it is finished.
(function () {
  var box = document.getElementById("job");
  if (!box) return;
  var url = box.getAttribute("data-job-status-url");
  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(function (job) {
        document.getElementById("job-status").textContent = job.status_label;
        document.getElementById("job-count").textContent = job.done + " / " + job.total;
        var bar = document.getElementById("job-progress");
        bar.value = job.percent; bar.textContent = job.percent + " %";
        document.getElementById("job-message").textContent = job.message;
        if (job.status === "queued" || job.status === "running") setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  poll();
})();

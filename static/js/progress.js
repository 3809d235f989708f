// Progress of work done by a worker (results uploads, certificate batches): poll the JSON endpoint every second,
// move the bar, reload the page when the work is over.
(function () {
  "use strict";
  var card = document.querySelector("[data-progress-url]");
  if (!card) { return; }
  var url = card.getAttribute("data-progress-url");
  var bar = card.querySelector("[data-progress-bar]");
  var figures = card.querySelector("[data-progress-figures]");
  var label = document.querySelector("[data-status-label]");

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) { return setTimeout(poll, 3000); }
        if (data.finished) { window.location.reload(); return; }
        bar.max = data.total || 1;
        bar.value = data.processed;
        bar.textContent = data.percent + "%";
        figures.textContent = data.processed + " / " + data.total;
        if (label) { label.textContent = data.status_label; }
        setTimeout(poll, 1000);
      })
      .catch(function () { setTimeout(poll, 3000); });
  }
  setTimeout(poll, 1000);
})();

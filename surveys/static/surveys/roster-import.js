// Roster import progress: poll the status URL, move the bar, reload for the report when done.
// Without JavaScript the page refreshes itself instead (a <noscript> meta refresh).
(function () {
  "use strict";
  var box = document.querySelector("[data-import-status-url]");
  if (!box) return;
  var url = box.getAttribute("data-import-status-url");
  var bar = box.querySelector("[role=progressbar]");
  var fill = bar.querySelector("span");
  var text = box.querySelector(".progress-text");

  function show(data) {
    var total = data.total_rows || 0;
    var done = data.processed_rows || 0;
    bar.setAttribute("aria-valuemax", String(total || 1));
    bar.setAttribute("aria-valuenow", String(done));
    fill.style.width = (total ? Math.round((done * 100) / total) : 0) + "%";
    text.textContent = data.text;  // written by the server, in the reader's language
  }

  function poll() {
    fetch(url, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) throw new Error("status " + response.status);
        return response.json();
      })
      .then(function (data) {
        if (data.finished) {
          window.location.reload();
          return;
        }
        show(data);
        window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }

  window.setTimeout(poll, 500);
})();

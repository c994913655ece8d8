// Survey form, progressive enhancement only (the "Update the preview" button works without it):
// the invitation and reminder previews follow the texts as they are typed, drawn by the server
// from the e-mails' own templates.
(function () {
  "use strict";
  var pane = document.querySelector(".message-preview");
  if (!pane || !window.fetch) return;
  var form = pane.closest("form");
  var fields = ["id_invitation_text", "id_reminder_text", "id_name"].map(function (id) { return document.getElementById(id); });
  var timer = null;
  var refresh = function () {
    var data = new FormData(form);
    if (pane.dataset.survey) data.set("survey", pane.dataset.survey);
    fetch(pane.dataset.previewUrl, { method: "POST", body: data, credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (texts) {
        if (!texts) return;
        document.getElementById("invitation-preview").textContent = texts.invitation;
        document.getElementById("reminder-preview").textContent = texts.reminder;
      })
      .catch(function () { /* the button still works */ });
  };
  fields.forEach(function (field) {
    if (!field) return;
    field.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(refresh, 400);
    });
  });
})();

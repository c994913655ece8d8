// Answering page, progressive enhancement only (the form works without it):
// - Enter on a choice does not send a half-answered form; keyboard users send with the button.
// - A count of the characters left in the comment.
// - After a refused submission, focus goes to the explanation.
// - Choices and the comment are kept in this tab's sessionStorage (on this device only, never
//   sent anywhere) so a reload or a lost connection keeps them; sending clears them.
// - Moving to the next part puts the focus on its heading.
(function () {
  "use strict";
  var form = document.querySelector(".answer-form");
  if (!form) return;
  form.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && event.target.type === "radio") event.preventDefault();
  });
  var box = document.getElementById("comment");
  var count = document.getElementById("comment-count");
  if (box && count) {
    var limit = parseInt(box.getAttribute("maxlength"), 10);
    var update = function () {
      var left = limit - box.value.length;
      var words = left >= 0 ? count.dataset.left : count.dataset.over;  // the page's language
      count.textContent = words.replace("{count}", Math.abs(left).toLocaleString(document.documentElement.lang));
      count.classList.toggle("over", left < 0);
    };
    box.addEventListener("input", update);
    update();
  }
  var error = document.getElementById("answer-error");
  if (error) error.focus();

  if (form.dataset.preview) return;  // HR's preview keeps nothing
  var key = "pulse-answers:" + window.location.pathname;
  var store = null;
  try { store = window.sessionStorage; } catch (blocked) { store = null; }
  if (store) {
    var saved = {};
    try { saved = JSON.parse(store.getItem(key) || "{}"); } catch (broken) { saved = {}; }
    Object.keys(saved).forEach(function (name) {
      if (name === "comment") { if (box && !box.value) box.value = saved.comment; return; }
      var choice = form.querySelector('input[type="radio"][name="' + name + '"][value="' + saved[name] + '"]');
      if (choice && !error) choice.checked = true;
    });
    if (box && count) box.dispatchEvent(new Event("input"));
    var remember = function () {
      var answers = {};
      form.querySelectorAll('input[type="radio"]:checked').forEach(function (input) { answers[input.name] = input.value; });
      if (box) answers.comment = box.value;
      try { store.setItem(key, JSON.stringify(answers)); } catch (full) { /* nothing to keep it in */ }
    };
    form.addEventListener("change", remember);
    if (box) box.addEventListener("input", remember);
    form.addEventListener("submit", function () { store.removeItem(key); });
  }
  window.addEventListener("hashchange", function () {
    var step = document.getElementById(window.location.hash.slice(1));
    var heading = step && step.querySelector(".step-title");
    if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus(); }
  });
})();

// Answering page, progressive enhancement only (the form works without it):
// - Enter on a choice does not send a half-answered form; keyboard users send with the button.
// - A count of the characters left in the comment.
// - After a refused submission, focus goes to the explanation.
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
      count.textContent = left >= 0 ? left.toLocaleString("en-GB") + " left." : (-left).toLocaleString("en-GB") + " over the limit.";
      count.classList.toggle("over", left < 0);
    };
    box.addEventListener("input", update);
    update();
  }
  var error = document.getElementById("answer-error");
  if (error) error.focus();
})();

/* Every console page: an htmx request the server refused (a 4xx or 5xx answer, or no
   answer at all) shows the server's message in the page's alert region, instead of
   leaving the page as it was without a word. */
(function () {
  "use strict";

  function flash() { return document.getElementById("flash"); }

  function serverMessage(xhr) {
    var doc = new DOMParser().parseFromString(xhr.responseText || "", "text/html");
    var node = doc.querySelector(".error");
    return node ? node.textContent.trim() : xhr.status + " " + xhr.statusText;
  }

  function show(text) {
    var box = flash();
    if (!box) return;
    box.textContent = text;
    box.hidden = false;
  }

  document.addEventListener("htmx:beforeRequest", function () {
    var box = flash();
    if (box) { box.hidden = true; box.textContent = ""; }
  });
  document.addEventListener("htmx:responseError", function (e) { show(serverMessage(e.detail.xhr)); });
  document.addEventListener("htmx:sendError", function () {
    var box = flash();
    if (box) show(box.dataset.offline);
  });
})();

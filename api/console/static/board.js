/* The pipeline board: drag a card onto another column to move the deal. A drop only
   fills in the card's own move form and submits it (the same htmx POST the keyboard
   uses); a move to a lost stage without a reason opens the form at the reason field. */
(function () {
  "use strict";
  var dragged = null;

  function column(target) { return target && target.closest ? target.closest(".column") : null; }

  document.addEventListener("dragstart", function (e) {
    var card = e.target && e.target.closest ? e.target.closest(".deal") : null;
    if (!card) return;
    dragged = card;
    e.dataTransfer.effectAllowed = "move";
    e.dataTransfer.setData("text/plain", card.dataset.opportunityId);
  });
  document.addEventListener("dragover", function (e) {
    var col = column(e.target);
    if (!col || !dragged) return;
    e.preventDefault();
    col.classList.add("drop-target");
  });
  document.addEventListener("dragleave", function (e) {
    var col = column(e.target);
    if (col && !col.contains(e.relatedTarget)) col.classList.remove("drop-target");
  });
  document.addEventListener("dragend", function () {
    dragged = null;
    document.querySelectorAll(".drop-target").forEach(function (c) { c.classList.remove("drop-target"); });
  });
  document.addEventListener("drop", function (e) {
    var col = column(e.target);
    var card = dragged;
    if (!col || !card) return;
    e.preventDefault();
    col.classList.remove("drop-target");
    dragged = null;
    if (col.dataset.stageId === card.dataset.stageId) return;
    var form = card.querySelector("form.move");
    form.elements.stage_id.value = col.dataset.stageId;
    if (col.dataset.outcome === "lost" && !form.elements.lost_reason.value.trim()) {
      card.querySelector("details").open = true;
      form.elements.lost_reason.focus();
      return;
    }
    form.requestSubmit();
  });
})();

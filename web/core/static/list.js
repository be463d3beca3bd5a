// The message list without script selects messages one by one; with it,
// a "select all" box heads the column. No inline script anywhere.
(function () {
  "use strict";
  var head = document.querySelector("table.msgs th.sel");
  var boxes = document.querySelectorAll("table.msgs td.sel input[type=checkbox]");
  if (!head || !boxes.length) {
    return;
  }
  var all = document.createElement("input");
  all.type = "checkbox";
  all.id = "select-all";
  all.setAttribute("aria-label", "Chọn tất cả / Select all");
  head.textContent = "";
  head.appendChild(all);
  all.addEventListener("change", function () {
    for (var i = 0; i < boxes.length; i++) {
      boxes[i].checked = all.checked;
    }
  });
})();

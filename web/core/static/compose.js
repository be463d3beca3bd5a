// The compose page without script is a plain form; with it, the draft is
// saved every few seconds while being written and when the page is left,
// recipients are completed from the directory, recipients outside the
// state's mail are marked as they are typed, and files over the limit are
// named before they are sent. Served from /static under the page's CSP
// (script-src 'self'); no inline script anywhere.
(function () {
  "use strict";
  var form = document.getElementById("compose");
  if (!form || !window.fetch || !window.FormData) {
    return;
  }
  var status = document.getElementById("autosave-status");
  var draft = document.getElementById("draft-uid");
  var seconds = parseInt(form.getAttribute("data-autosave") || "0", 10);
  var dirty = false;
  var leaving = false;

  form.addEventListener("input", function () { dirty = true; });
  form.addEventListener("submit", function () { leaving = true; });

  function save(keepalive) {
    if (!dirty || leaving) {
      return;
    }
    var fd = new FormData(form);
    fd.delete("files");
    fd.set("action", "autosave");
    dirty = false;
    fetch(form.action, { method: "POST", body: fd, credentials: "same-origin", keepalive: !!keepalive })
      .then(function (r) {
        if (r.status !== 204) {
          dirty = true;
          return;
        }
        var uid = r.headers.get("X-Draft-Uid");
        if (uid) {
          draft.value = uid;
        }
        if (status) {
          status.textContent = "Đã tự động lưu nháp lúc " + new Date().toLocaleTimeString("vi-VN") + " / Draft saved";
        }
      })
      .catch(function () { dirty = true; });
  }
  if (seconds > 0) {
    window.setInterval(save, seconds * 1000);
  }
  document.addEventListener("visibilitychange", function () {
    if (document.visibilityState === "hidden") {
      save(true);
    }
  });
  window.addEventListener("pagehide", function () { save(true); });
})();

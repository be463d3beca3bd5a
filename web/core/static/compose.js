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

  // Recipients: suggestions from the directory for the address being
  // typed, and the outside recipients marked.
  var list = document.getElementById("contacts");
  var outside = document.getElementById("outsiders");
  var fields = form.querySelectorAll("[data-recipients]");
  var timer = 0;
  function allRecipients() {
    var v = [];
    for (var i = 0; i < fields.length; i++) {
      v.push(fields[i].value);
    }
    return v.join(",");
  }
  function showOutside(addrs) {
    if (!outside) {
      return;
    }
    outside.textContent = "";
    if (!addrs.length) {
      return;
    }
    var p = document.createElement("p");
    p.className = "notice warn";
    var strong = document.createElement("strong");
    strong.textContent = "Ngoài hệ thống thư công vụ nhà nước";
    p.appendChild(strong);
    var en = document.createElement("span");
    en.className = "en";
    en.lang = "en";
    en.textContent = " / Outside the state's mail: ";
    p.appendChild(en);
    addrs.forEach(function (a, i) {
      if (i) {
        p.appendChild(document.createTextNode(", "));
      }
      var s = document.createElement("span");
      s.className = "outside";
      s.textContent = a;
      p.appendChild(s);
    });
    outside.appendChild(p);
  }
  function suggest(input) {
    var value = input.value;
    var cut = Math.max(value.lastIndexOf(","), value.lastIndexOf(";"));
    var head = cut >= 0 ? value.slice(0, cut + 1) + " " : "";
    var term = value.slice(cut + 1).trim();
    var url = "/mail/contacts?check=" + encodeURIComponent(allRecipients());
    if (term.length >= 2 && term.indexOf("@") < 0) {
      url += "&q=" + encodeURIComponent(term);
    }
    fetch(url, { credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (ans) {
        if (!ans) {
          return;
        }
        showOutside(ans.outside || []);
        if (!list) {
          return;
        }
        list.textContent = "";
        (ans.suggestions || []).forEach(function (c) {
          var o = document.createElement("option");
          var name = c.name.replace(/[",;<>]/g, " ").trim();
          o.value = head + (name ? name + " <" + c.address + ">" : c.address);
          o.label = c.unit_mailbox ? "Hộp thư đơn vị" : (c.unit || "");
          list.appendChild(o);
        });
      })
      .catch(function () {});
  }
  for (var i = 0; i < fields.length; i++) {
    fields[i].addEventListener("input", function (ev) {
      var input = ev.target;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { suggest(input); }, 200);
    });
  }

  // Files over the limit are named before the form is sent.
  var files = document.getElementById("files");
  var limit = parseInt(form.getAttribute("data-max-bytes") || "0", 10);
  if (files && limit > 0) {
    files.addEventListener("change", function () {
      var total = 0;
      var big = [];
      for (var i = 0; i < files.files.length; i++) {
        total += files.files[i].size;
        if (files.files[i].size * 4 / 3 > limit) {
          big.push(files.files[i].name);
        }
      }
      var msg = "";
      if (big.length) {
        msg = "Tệp quá lớn / Too large: " + big.join(", ");
      } else if (total * 4 / 3 > limit) {
        msg = "Các tệp cộng lại quá lớn / The files together are too large";
      }
      files.setCustomValidity(msg);
      if (msg) {
        files.reportValidity();
      }
    });
  }
})();

// Kliqs dashboard: small progressive enhancements. Every page works without this file.
"use strict";

(function () {
  // Copy buttons: data-copy="#input-id" copies an input's value, data-copy-text copies text.
  function copyText(text, button) {
    var done = function () {
      var label = button.textContent;
      button.textContent = button.dataset.copied || "✓";
      setTimeout(function () { button.textContent = label; }, 1500);
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(text).then(done, function () { legacyCopy(text); done(); });
    } else {
      legacyCopy(text);
      done();
    }
  }

  function legacyCopy(text) {
    var area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.appendChild(area);
    area.select();
    try { document.execCommand("copy"); } catch (e) { /* the text stays selectable */ }
    document.body.removeChild(area);
  }

  document.addEventListener("click", function (event) {
    var button = event.target.closest("[data-copy],[data-copy-text]");
    if (!button) return;
    var text = button.dataset.copyText;
    if (text === undefined) {
      var input = document.querySelector(button.dataset.copy);
      if (!input) return;
      input.select();
      text = input.value;
    }
    copyText(text, button);
  });

  // Expiry: tell the server the browser's UTC offset so datetime-local means local time.
  document.querySelectorAll("[data-tz-offset]").forEach(function (input) {
    input.value = String(-new Date().getTimezoneOffset());
  });

  // Bio Page editor: add, remove and reorder link rows; keep the preview live.
  var form = document.getElementById("bio-form");
  if (!form) return;
  var rows = document.getElementById("bio-rows");
  var template = document.getElementById("bio-row-template");
  var add = document.getElementById("bio-add");
  var max = parseInt(rows.dataset.max, 10) || 20;

  function refreshPreview() {
    var name = form.elements.display_name.value.trim();
    document.getElementById("pv-name").textContent = name;
    document.getElementById("pv-initial").textContent = (name || "?").charAt(0).toUpperCase();
    document.getElementById("pv-text").textContent = form.elements.text.value;
    var list = document.getElementById("pv-links");
    list.textContent = "";
    rows.querySelectorAll(".bio-row").forEach(function (row) {
      var title = row.querySelector("[name=link_title]").value.trim();
      var url = row.querySelector("[name=link_url]").value.trim();
      if (!title || !url) return;
      var item = document.createElement("li");
      var link = document.createElement("a");
      link.textContent = title;
      if (/^https?:\/\//i.test(url)) link.href = url;
      link.rel = "noopener";
      link.target = "_blank";
      item.appendChild(link);
      list.appendChild(item);
    });
    add.hidden = rows.children.length >= max;
  }

  rows.addEventListener("click", function (event) {
    var button = event.target.closest("button");
    if (!button) return;
    var row = button.closest(".bio-row");
    if (button.hasAttribute("data-remove")) {
      row.remove();
    } else if (button.dataset.move === "-1" && row.previousElementSibling) {
      rows.insertBefore(row, row.previousElementSibling);
    } else if (button.dataset.move === "1" && row.nextElementSibling) {
      rows.insertBefore(row.nextElementSibling, row);
    }
    refreshPreview();
  });

  add.addEventListener("click", function () {
    rows.appendChild(template.content.firstElementChild.cloneNode(true));
    rows.lastElementChild.querySelector("input").focus();
    refreshPreview();
  });

  form.addEventListener("input", refreshPreview);
  refreshPreview();
})();

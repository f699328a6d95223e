// The inbox's keyboard shortcuts and live updates (htmx is the only library; no inline script anywhere).
// The list: j/k move the selection, Enter/o open, x select, e done, a mine, s spam, #/t tag, ? help.
// An item: the same action keys, r the reply box, u the list. Both poll the changes feed every few seconds.
(function () {
  "use strict";
  var list = document.querySelector("[data-inbox]");
  var single = document.querySelector("[data-inbox-item]");
  var root = list || single;
  if (!root) { return; }
  var selected = null;  // the selected row's item id (rows are replaced by htmx: the id outlives them)
  var since = Number(root.dataset.lastEvent || 0);

  function rows() { return Array.prototype.slice.call(document.querySelectorAll("li.inbox-row")); }
  function current() { return selected ? document.getElementById("item-" + selected) : null; }
  function panel() { return document.getElementById("inbox-panel"); }

  function select(row, scroll) {
    rows().forEach(function (r) { r.classList.remove("selected"); r.removeAttribute("aria-current"); });
    if (!row) { return; }
    selected = row.dataset.item;
    row.classList.add("selected");
    row.setAttribute("aria-current", "true");
    if (scroll) { row.scrollIntoView({ block: "nearest" }); }
  }

  function move(step) {
    var all = rows();
    var at = all.indexOf(current());
    var next = at === -1 ? all[0] : all[Math.max(0, Math.min(all.length - 1, at + step))];
    select(next, true);
    return true;
  }

  function scope() { return list ? current() : panel(); }

  function press(key) {
    var where = scope();
    var button = (where && where.querySelector('[data-shortcut="' + key + '"]')) ||
      document.querySelector('a[data-shortcut="' + key + '"]');
    if (!button) { return false; }
    button.click();
    return true;
  }

  function focus(selector) {
    var field = document.querySelector(selector);
    if (!field) { return false; }
    field.focus();
    return true;
  }

  function tagSelected() {  // the list: tick the selected item and go to the bulk form's tag field
    var row = current();
    var box = row && row.querySelector("input.pick");
    var field = document.querySelector("[data-bulk-tag]");
    if (!box || !field) { return false; }
    box.checked = true;
    field.form.querySelector("select[name=do]").value = "tag:";
    field.focus();
    return true;
  }

  function open() {
    var row = current();
    var link = row && row.querySelector("a.open");
    if (!link) { return false; }
    window.location.href = link.href;
    return true;
  }

  function toggle() {
    var row = current();
    var box = row && row.querySelector("input.pick");
    if (!box) { return false; }
    box.checked = !box.checked;
    return true;
  }

  function typing(target) {
    if (!(target instanceof HTMLElement)) { return false; }
    if (target.isContentEditable || target.tagName === "TEXTAREA" || target.tagName === "SELECT") { return true; }
    return target.tagName === "INPUT" && ["checkbox", "radio", "button", "submit"].indexOf(target.type) === -1;
  }

  var help = document.getElementById("shortcuts");
  function showHelp() { if (help && !help.open) { help.showModal(); } return true; }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) { return; }
    if (help && help.open) { return; }  // the dialog closes itself with Escape
    var key = event.key;
    var done = false;
    if (key === "j" && list) { done = move(1); }
    else if (key === "k" && list) { done = move(-1); }
    else if ((key === "Enter" || key === "o") && list && !event.target.closest("a, button")) { done = open(); }
    else if (key === "x" && list) { done = toggle(); }
    else if (key === "e" || key === "s") { done = press(key); }
    else if (key === "a") { done = press("a") || focus("[data-assign]"); }
    else if (key === "#" || key === "t") { done = focus('[data-shortcut-focus="t"]') || tagSelected(); }
    else if (key === "r") { done = focus("[data-reply-box], .composer textarea, #reply textarea"); }
    else if (key === "u") { done = press("u"); }
    else if (key === "?") { done = showHelp(); }
    if (done) { event.preventDefault(); }
  });

  document.querySelectorAll("[data-help]").forEach(function (button) { button.addEventListener("click", showHelp); });

  if (list) {
    select(rows()[0], false);
    list.addEventListener("click", function (event) {
      var row = event.target.closest("li.inbox-row");
      if (row && !event.target.closest("a, button, input")) { select(row, false); }
    });
    var all = document.querySelector("[data-select-all]");
    if (all) {
      all.addEventListener("change", function () {
        rows().forEach(function (row) { var box = row.querySelector("input.pick"); if (box) { box.checked = all.checked; } });
      });
    }
  }

  // A changed item answers 409 (or a refused value 422) with the row or panel as it is now: show it.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var status = event.detail.xhr.status;
    if ((status === 409 || status === 422) && event.detail.xhr.responseText.indexOf("data-item=") !== -1) {
      event.detail.shouldSwap = true;
      event.detail.isError = false;
    }
  });
  document.addEventListener("htmx:afterSettle", function () { if (list && current()) { select(current(), false); } });

  // --- live updates: the changes feed (state in the database, so any server process answers) ---

  function label(change) {
    return change.by ? root.dataset.changed.replace("{name}", change.by) : root.dataset.changedAnon;
  }

  function changedRow(change) {
    var row = document.getElementById("item-" + change.id);
    if (!row || Number(row.dataset.version) >= change.version) { return; }
    window.htmx.ajax("GET", root.dataset.changes.replace(/changes$/, change.id) + "?view=row",
      { target: row, swap: "outerHTML" }).then(function () {
      var fresh = document.getElementById("item-" + change.id);
      if (!fresh) { return; }
      fresh.classList.add("changed");
      fresh.querySelector(".changed-by").textContent = label(change);
    });
  }

  function busy(where) {  // the reader is writing in the panel: do not replace it under their fingers
    return Array.prototype.some.call(where.querySelectorAll("textarea, input[type=text], input[type=datetime-local]"),
      function (field) { return field.value !== "" || field === document.activeElement; });
  }

  function changedItem(change) {
    var where = panel();
    if (!where || String(change.id) !== where.dataset.item || Number(where.dataset.version) >= change.version) { return; }
    var notice = document.getElementById("inbox-live");
    notice.textContent = label(change);
    notice.hidden = false;
    if (!busy(where)) { window.htmx.ajax("GET", single.dataset.panel, { target: "#inbox-panel", swap: "outerHTML" }); }
  }

  function presence(names) {
    var banner = document.getElementById("inbox-presence");
    if (!banner) { return; }
    banner.textContent = names.length ? banner.dataset.template.replace("{names}", names.join(", ")) : "";
    banner.hidden = names.length === 0;
  }

  function poll() {
    var where = panel();
    var url = root.dataset.changes + "?since=" + since + (single && where ? "&item=" + where.dataset.item : "");
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (answer) { return answer.ok ? answer.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        since = data.last;
        if (list) { data.items.forEach(changedRow); }
        if (single) { presence(data.present); data.items.forEach(changedItem); }
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, document.hidden ? 15000 : 3000); });
  }
  window.setTimeout(poll, 1000);

  if (single) {  // the others are no longer warned once the reader leaves
    window.addEventListener("pagehide", function () {
      var csrf = document.querySelector('meta[name="csrf-token"]');
      var form = new FormData();
      if (csrf) { form.append("csrf_token", csrf.content); }
      navigator.sendBeacon(single.dataset.left, form);
    });
  }
})();

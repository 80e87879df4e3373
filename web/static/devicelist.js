// Keyboard and selection for the device list (the home page): "/" focuses
// the search, the arrow keys move the selected row, Enter opens the
// selected (or first) row, "x" ticks the selected row's checkbox; the
// header checkbox ticks the whole page. The list is replaced by htmx on
// every filter change, so everything here looks the list up again, and
// the selection is the row marked "selected" (a new list has none; other
// htmx swaps, like the top bar's counts, leave it alone).
(function () {
  "use strict";

  function rows() {
    var t = document.getElementById("dl-table");
    return t ? Array.prototype.slice.call(t.tBodies[0].rows) : [];
  }
  function selected(rs) {
    for (var i = 0; i < rs.length; i++) if (rs[i].classList.contains("selected")) return i;
    return -1;
  }
  function typing(e) {
    var el = e.target;
    return el && (el.isContentEditable || /^(INPUT|SELECT|TEXTAREA|BUTTON)$/.test(el.tagName));
  }
  function select(i) {
    var rs = rows();
    if (!rs.length) return;
    i = Math.max(0, Math.min(rs.length - 1, i));
    rs.forEach(function (r, j) {
      r.classList.toggle("selected", j === i);
      if (j === i) r.setAttribute("aria-selected", "true"); else r.removeAttribute("aria-selected");
    });
    var link = rs[i].querySelector("a.dl-open");
    if (link) link.focus();
  }

  document.addEventListener("keydown", function (e) {
    if (e.ctrlKey || e.metaKey || e.altKey) return;
    var rs = rows(), sel = selected(rs);
    if (e.key === "/" && !typing(e)) {
      e.preventDefault();
      var s = document.getElementById("dl-search");
      if (s) { s.focus(); s.select(); }
      return;
    }
    if (e.key === "Escape" && e.target.id === "dl-search") {
      e.target.blur();
      select(sel < 0 ? 0 : sel);
      return;
    }
    var inRow = e.target.closest && e.target.closest("#dl-table");
    if (typing(e) && !inRow && e.target.id !== "dl-search") return;
    if (e.key === "ArrowDown" || e.key === "ArrowUp") {
      if (!rs.length) return;
      e.preventDefault();
      select(sel < 0 ? 0 : sel + (e.key === "ArrowDown" ? 1 : -1));
    } else if (e.key === "Enter" && (e.target.id === "dl-search" || !typing(e))) {
      if (!rs.length) return;
      var link = rs[sel < 0 ? 0 : sel].querySelector("a.dl-open");
      if (link && e.target !== link) { e.preventDefault(); window.location.href = link.href; }
    } else if ((e.key === "x" || e.key === "X") && sel >= 0 && rs[sel] && !(typing(e) && e.target.type !== "checkbox")) {
      var box = rs[sel].querySelector("input[type=checkbox]");
      if (box) { e.preventDefault(); box.checked = !box.checked; }
    }
  });

  document.addEventListener("change", function (e) {
    if (e.target.id === "dl-check-page") {
      rows().forEach(function (r) {
        var box = r.querySelector("input[type=checkbox]");
        if (box) box.checked = e.target.checked;
      });
    }
  });

  // Show only the fields of the chosen bulk action.
  function fields() {
    var a = document.getElementById("dl-action");
    if (!a) return;
    document.querySelectorAll("#dl-bulk [data-for]").forEach(function (l) {
      l.hidden = l.dataset.for !== a.value;
    });
  }
  document.addEventListener("change", function (e) { if (e.target.id === "dl-action") fields(); });

  // After htmx replaced the list: the "save view" form saves the filters now shown.
  document.addEventListener("htmx:afterSwap", function () {
    fields();
    var list = document.getElementById("device-list");
    var save = document.getElementById("dl-save-filters");
    if (list && save) save.value = list.dataset.filters || "";
  });
  // Leave empty filters out of the request, so the address that htmx
  // pushes (and a bookmark of it) names only the filters in use.
  document.addEventListener("htmx:configRequest", function (e) {
    if (e.detail.verb !== "get") return;
    var ps = e.detail.parameters;
    var keys = typeof ps.keys === "function" ? Array.from(ps.keys()) : Object.keys(ps);
    keys.forEach(function (k) {
      var v = typeof ps.getAll === "function" ? ps.getAll(k) : [].concat(ps[k]);
      if (v.every(function (x) { return x === ""; })) {
        if (typeof ps.delete === "function") ps.delete(k); else delete ps[k];
      }
    });
  });
  // The filters of several values are dropdowns of checkboxes: the summary
  // names the ticked values, one dropdown is open at a time, Escape or a
  // click elsewhere closes it.
  function multis() { return Array.prototype.slice.call(document.querySelectorAll("details.dl-multi")); }
  function summarize(d) {
    var val = d.querySelector(".dl-multi-val");
    if (!val) return;
    var on = Array.prototype.slice.call(d.querySelectorAll("input:checked")).map(function (b) {
      return b.parentNode.textContent.trim();
    });
    val.textContent = on.length ? on.join(", ") : val.dataset.any;
    d.querySelector("summary").title = val.textContent;
  }
  document.addEventListener("change", function (e) {
    var d = e.target.closest && e.target.closest("details.dl-multi");
    if (d) summarize(d);
  });
  document.addEventListener("toggle", function (e) {
    if (!e.target.matches || !e.target.matches("details.dl-multi") || !e.target.open) return;
    multis().forEach(function (d) { if (d !== e.target) d.open = false; });
  }, true);
  document.addEventListener("keydown", function (e) {
    var d = e.key === "Escape" && e.target.closest && e.target.closest("details.dl-multi[open]");
    if (d) { d.open = false; d.querySelector("summary").focus(); }
  });
  document.addEventListener("click", function (e) {
    multis().forEach(function (d) { if (d.open && !d.contains(e.target)) d.open = false; });
  });

  // Live refresh: htmx polls the list (#dl-live) and swaps the rows and
  // counts alone. It waits while the tab is hidden, rows are ticked, a
  // bulk question or a dropdown or form is open or a field has focus, so
  // it never takes away what the user is doing; it keeps the selected row,
  // the focus and the scroll position.
  function busy() {
    if (document.hidden) return true;
    if (document.querySelector("#dl-table input[name=id]:checked, #dl-all-matching:checked, #dl-check-page:checked")) return true;
    var panel = document.getElementById("bulk-panel");
    if (panel && panel.children.length) return true;
    if (document.querySelector("main details[open], dialog[open]")) return true;
    var a = document.activeElement;
    return !!(a && /^(INPUT|SELECT|TEXTAREA)$/.test(a.tagName) && !(a.closest && a.closest("#dl-table")));
  }
  function live(e) { var c = e.detail.requestConfig; return c && c.elt && c.elt.id === "dl-live"; }
  document.addEventListener("htmx:confirm", function (e) {
    if (e.detail.elt && e.detail.elt.id === "dl-live" && busy()) e.preventDefault();
  });
  var kept = null;
  document.addEventListener("htmx:beforeSwap", function (e) {
    if (!live(e)) return;
    var rs = rows(), sel = selected(rs), a = document.activeElement;
    var row = a && a.closest && a.closest("#dl-table tr.device");
    kept = {
      selected: sel >= 0 ? rs[sel].dataset.device : null,
      focus: row ? row.dataset.device : null,
      link: !!(a && a.classList.contains("dl-open")),
      x: window.scrollX, y: window.scrollY
    };
  });
  document.addEventListener("htmx:afterSwap", function (e) {
    if (!live(e) || !kept) return;
    var k = kept;
    kept = null;
    rows().forEach(function (r) {
      var on = r.dataset.device === k.selected;
      r.classList.toggle("selected", on);
      if (on) r.setAttribute("aria-selected", "true");
      if (k.focus && r.dataset.device === k.focus) {
        var el = r.querySelector(k.link ? "a.dl-open" : "input[type=checkbox]");
        if (el) el.focus({ preventScroll: true });
      }
    });
    window.scrollTo(k.x, k.y);
  });

  fields();
})();

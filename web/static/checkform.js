// Check parameter forms (partials-checkform.html): "Add an entry" in a list
// of objects copies the blank entry the server rendered last, numbered as
// the next one, so that several entries can be typed before saving. Without
// this script the form still offers one blank entry per save.
(function () {
  "use strict";
  // fieldID is the server's fieldID (checkform.go): an input's id from its name.
  function fieldID(name) {
    return "f-" + name.replace(/[^A-Za-z0-9_-]/g, "-");
  }
  function show() {
    document.querySelectorAll(".param-add[hidden]").forEach(function (b) {
      b.hidden = false;
    });
  }
  function add(button) {
    var rows = document.getElementById(button.dataset.rows);
    var count = rows && rows.querySelector('input[type="hidden"][name="' + CSS.escape(button.dataset.name + "#n") + '"]');
    var items = rows ? rows.querySelectorAll(":scope > .param-item") : [];
    if (!count || items.length === 0) {
      return;
    }
    var last = items[items.length - 1];
    var k = items.length - 1;
    var from = button.dataset.name + "[" + k + "]", to = button.dataset.name + "[" + (k + 1) + "]";
    var fromID = fieldID(from), toID = fieldID(to);
    var item = last.cloneNode(true);
    item.querySelectorAll("*").forEach(function (el) {
      Array.prototype.forEach.call(el.attributes, function (a) {
        var v = a.value.split(from).join(to).split(fromID).join(toID);
        if (v !== a.value) {
          el.setAttribute(a.name, v);
        }
      });
      // The blank entry as the server rendered it, not what was typed into it.
      if (el.matches("input, textarea")) {
        el.value = el.defaultValue;
        el.checked = el.defaultChecked;
      } else if (el.matches("option")) {
        el.selected = el.defaultSelected;
      } else if (el.matches(".field-error")) {
        el.remove();
      }
    });
    var legend = item.querySelector("legend");
    if (legend) {
      legend.textContent = legend.textContent.replace(/\d+$/, String(k + 2));
    }
    last.after(item);
    count.value = String(items.length + 1);
    var first = item.querySelector("input:not([type=hidden]), select, textarea");
    if (first) {
      first.focus();
    }
  }
  document.addEventListener("click", function (e) {
    var b = e.target.closest(".param-add");
    if (b) {
      add(b);
    }
  });
  document.addEventListener("htmx:afterSettle", show);
  show();
})();

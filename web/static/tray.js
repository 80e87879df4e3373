// The client page's tray card: keeps the tray menu's preview in step with
// the form as the technician types (the server renders it as stored, so
// the page works without this script).
(function () {
  "use strict";
  var form = document.getElementById("tray-form");
  var preview = document.getElementById("tray-preview");
  if (!form || !preview) {
    return;
  }
  var lang = document.getElementById("tp-hours").dataset.lang;

  function line(id, value) {
    var el = document.getElementById(id);
    el.textContent = value;
    el.hidden = value === "";
  }

  function update() {
    var v = function (name) { return form.elements[name].value.trim(); };
    document.getElementById("tp-name").textContent = v("product_name") || preview.dataset.defaultName;
    line("tp-phone", v("phone"));
    line("tp-email", v("email"));
    line("tp-url", v("url"));
    var de = v("hours_de"), en = v("hours_en");
    line("tp-hours", lang === "de" && de !== "" ? de : en);
    document.getElementById("tp-remote").hidden = v("remote_support") === "";
    var show = form.elements.show.checked;
    preview.classList.toggle("tp-hidden", !show);
    document.getElementById("tp-hidden-note").hidden = show;
  }

  form.addEventListener("input", update);
  form.addEventListener("change", update);
})();

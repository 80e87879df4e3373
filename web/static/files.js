// Uploads a file from the file browser (/devices/{id}/files) with a PUT of
// the file itself, so that the server streams it to the device instead of
// parsing a form; the CSRF token goes in a header. The answer is JSON: the
// transfer, or {code, message} with the reason in the page's language.
(function () {
  "use strict";
  var form = document.getElementById("files-upload");
  if (!form) {
    return;
  }
  var status = document.getElementById("files-status");
  var bar = document.getElementById("upload-progress");

  function show(msg, kind) {
    var p = document.createElement("p");
    p.className = "notice n-" + kind;
    p.setAttribute("role", kind === "failure" ? "alert" : "status");
    p.textContent = msg;
    status.replaceChildren(p);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("upload-file").files[0];
    if (!file) {
      return;
    }
    var q = "?dir=" + encodeURIComponent(form.dataset.dir) + "&name=" + encodeURIComponent(file.name);
    if (document.getElementById("upload-overwrite").checked) {
      q += "&overwrite=true";
    }
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", form.dataset.action + q);
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.setRequestHeader("Content-Type", "application/octet-stream");
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
      }
    });
    xhr.addEventListener("load", function () {
      bar.hidden = true;
      if (xhr.status === 200) {
        window.location.assign(form.dataset.done + "?path=" + encodeURIComponent(form.dataset.dir) + "&done=upload");
        return;
      }
      var msg = xhr.statusText;
      try {
        msg = JSON.parse(xhr.responseText).message || msg;
      } catch (e) {
        // not JSON: keep the status text
      }
      show(msg, "failure");
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      show(xhr.statusText || "network error", "failure");
    });
    bar.hidden = false;
    bar.value = 0;
    show(form.dataset.uploading, "ok");
    xhr.send(file);
  });
})();

// Uploads one file with a PUT of the file itself, so that the server
// streams it instead of parsing a form (bounded to 64 KiB); the browser
// shows the progress. It serves every form with data-upload: the file
// browser's (/devices/{id}/files) and a package's installer
// (/packages/{id}). The form's data: action (the PUT's URL), csrf (sent in
// a header), uploading (the message while it runs), status (the ID of the
// element for messages), done (where to go afterwards) and, in the file
// browser, dir (the folder, sent as dir= and shown again as path=). A
// checkbox with data-overwrite adds overwrite=true. The answer is JSON:
// the result, or {code, message} with the reason in the page's language.
(function () {
  "use strict";
  document.querySelectorAll("form[data-upload]").forEach(function (form) {
    var status = document.getElementById(form.dataset.status);
    var bar = form.querySelector("progress");
    var dir = form.dataset.dir;

    function show(msg, kind) {
      var p = document.createElement("p");
      p.className = "notice n-" + kind;
      p.setAttribute("role", kind === "failure" ? "alert" : "status");
      p.textContent = msg;
      status.replaceChildren(p);
    }

    form.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var file = form.querySelector('input[type="file"]').files[0];
      if (!file) {
        return;
      }
      var q = "?name=" + encodeURIComponent(file.name);
      var done = form.dataset.done;
      if (dir !== undefined) {
        q += "&dir=" + encodeURIComponent(dir);
        done += "?path=" + encodeURIComponent(dir) + "&done=upload";
      }
      var overwrite = form.querySelector("[data-overwrite]");
      if (overwrite && overwrite.checked) {
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
          window.location.assign(done);
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
    form.dataset.ready = "1"; // the upload goes through this script from now on
  });
})();

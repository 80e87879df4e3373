// Uploads a package's installer from its page (/packages/{id}) with a PUT
// of the file itself, so that the server streams it into its blob store
// while hashing it; the browser shows the progress. The CSRF token goes in
// a header; the answer is JSON: the stored file, or {code, message} with
// the reason in the page's language.
(function () {
  "use strict";
  var form = document.getElementById("package-upload");
  if (!form) {
    return;
  }
  var status = document.getElementById("package-upload-status");
  var bar = document.getElementById("package-upload-progress");

  function show(msg, kind) {
    var p = document.createElement("p");
    p.className = "notice n-" + kind;
    p.setAttribute("role", kind === "failure" ? "alert" : "status");
    p.textContent = msg;
    status.replaceChildren(p);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("package-upload-file").files[0];
    if (!file) {
      return;
    }
    var xhr = new XMLHttpRequest();
    xhr.open("PUT", form.dataset.action + "?name=" + encodeURIComponent(file.name));
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
        window.location.assign(form.dataset.done);
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
})();

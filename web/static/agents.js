// Uploads a signed agent file on the Agents page: a multipart POST with the
// part manifest (the .sig.json) before the part file, so that the server
// verifies the signature first and streams the file into its blob store.
// The CSRF token goes in a header; the answer is JSON: the file, or
// {code, message} with the reason in the page's language.
(function () {
  "use strict";
  var form = document.querySelector("form[data-agent-upload]");
  if (!form) {
    return;
  }
  var status = document.getElementById(form.dataset.status);
  var bar = form.querySelector("progress");

  function show(msg, kind) {
    var p = document.createElement("p");
    p.className = "notice n-" + kind;
    p.setAttribute("role", kind === "failure" ? "alert" : "status");
    p.textContent = msg;
    status.replaceChildren(p);
  }

  form.addEventListener("submit", function (ev) {
    ev.preventDefault();
    var file = document.getElementById("agent-upload-file").files[0];
    var manifest = document.getElementById("agent-upload-manifest").files[0];
    if (!file || !manifest) {
      return;
    }
    var data = new FormData();
    data.append("manifest", manifest, manifest.name);
    data.append("file", file, file.name);
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/agents/files");
    xhr.setRequestHeader("X-CSRF-Token", form.dataset.csrf);
    xhr.upload.addEventListener("progress", function (e) {
      if (e.lengthComputable) {
        bar.value = Math.round((100 * e.loaded) / e.total);
      }
    });
    xhr.addEventListener("load", function () {
      bar.hidden = true;
      if (xhr.status === 200) {
        window.location.assign("/agents?uploaded=1");
        return;
      }
      var msg = xhr.statusText;
      try {
        msg = JSON.parse(xhr.responseText).message || msg;
      } catch (e) {
        // not JSON: the status text
      }
      show(msg, "failure");
    });
    xhr.addEventListener("error", function () {
      bar.hidden = true;
      show(xhr.statusText || "upload failed", "failure");
    });
    bar.hidden = false;
    bar.value = 0;
    show(form.dataset.uploading, "info");
    xhr.send(data);
  });
})();

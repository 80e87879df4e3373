// Tells the server this browser's time zone once, for a user who has none
// yet (the layout loads this script only then). The server keeps a zone the
// user chose; the footer shows the new zone, and the next page uses it.
(function () {
  "use strict";
  var el = document.getElementById("tz-detect");
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  if (!el || !zone) {
    return;
  }
  var body = new URLSearchParams({ csrf: el.dataset.csrf, time_zone: zone, auto: "1" });
  fetch("/account/time-zone", { method: "POST", body: body, credentials: "same-origin" }).then(function (r) {
    var name = document.getElementById("tz-name");
    if (r.ok && name) {
      name.textContent = zone;
    }
  });
})();

// Draws the check history chart of /devices/{id}/history with uPlot: the
// values as a line, the time spans of warning and failure results as
// coloured bands behind it. The series comes from the chart element's
// data-series attribute (JSON, oldest first), so no inline script is needed.
(function () {
  "use strict";
  var el = document.getElementById("history-chart");
  if (!el || typeof uPlot === "undefined") {
    return; // uPlot not built in: the table below still shows the results
  }
  var d = JSON.parse(el.getAttribute("data-series"));
  var locale = d.lang === "de" ? "de-DE" : "en-US";
  var num = new Intl.NumberFormat(locale, { maximumFractionDigits: 1 });
  var unit = d.unit ? (d.unit === "%" && d.lang === "en" ? "%" : " " + d.unit) : "";
  var bands = { warning: "rgba(217, 119, 6, 0.18)", failure: "rgba(220, 38, 38, 0.18)" };
  // Times in the user's zone (the page footer names it), not the browser's.
  var timeFmt = new Intl.DateTimeFormat(locale, { dateStyle: "medium", timeStyle: "medium", timeZone: d.zone || undefined });

  // drawBands colours the span from each non-ok result to the next one.
  function drawBands(u) {
    var ctx = u.ctx, top = u.bbox.top, height = u.bbox.height;
    var right = u.bbox.left + u.bbox.width;
    ctx.save();
    for (var i = 0; i < d.t.length; i++) {
      var fill = bands[d.s[i]];
      if (!fill) {
        continue;
      }
      var x0 = u.valToPos(d.t[i], "x", true);
      var x1 = i + 1 < d.t.length ? u.valToPos(d.t[i + 1], "x", true) : right;
      x0 = Math.max(x0, u.bbox.left);
      x1 = Math.min(Math.max(x1, x0 + 2), right);
      ctx.fillStyle = fill;
      ctx.fillRect(x0, top, x1 - x0, height);
    }
    ctx.restore();
  }

  // German axis labels: 24-hour clock, day before month, German month names.
  var deNames = {
    MMMM: ["Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"],
    MMM: ["Jan", "Feb", "Mär", "Apr", "Mai", "Jun", "Jul", "Aug", "Sep", "Okt", "Nov", "Dez"],
    WWWW: ["Sonntag", "Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag"],
    WWW: ["So", "Mo", "Di", "Mi", "Do", "Fr", "Sa"],
  };
  function fmtDate(tpl) {
    if (d.lang !== "de") {
      return uPlot.fmtDate(tpl);
    }
    tpl = tpl.replace(/\{h\}:\{mm\}\{aa\}/g, "{HH}:{mm}").replace(/\{h\}\{aa\}/g, "{H} Uhr")
      .replace(/\{M\}\/\{D\}\/\{YY\}/g, "{D}.{M}.{YY}").replace(/\{M\}\/\{D\}/g, "{D}.{M}.");
    return uPlot.fmtDate(tpl, deNames);
  }

  function size() {
    return { width: Math.max(el.clientWidth, 300), height: 280 };
  }

  var opts = Object.assign(size(), {
    scales: { x: { time: true } },
    fmtDate: fmtDate,
    tzDate: function (ts) { return d.zone ? uPlot.tzDate(new Date(ts * 1000), d.zone) : new Date(ts * 1000); },
    series: [
      { label: d.time, value: function (u, v) { return v == null ? "–" : timeFmt.format(new Date(v * 1000)); } },
      {
        label: d.label,
        stroke: "#2563eb",
        width: 2,
        spanGaps: false,
        points: { size: 4 },
        value: function (u, v) { return v == null ? "–" : num.format(v) + unit; },
      },
    ],
    axes: [
      {},
      { size: 60, values: function (u, splits) { return splits.map(function (v) { return num.format(v) + unit; }); } },
    ],
    hooks: { drawClear: [drawBands] },
  });
  var plot = new uPlot(opts, [d.t, d.v], el);
  el.uplot = plot; // for the browser test and the console
  window.addEventListener("resize", function () { plot.setSize(size()); });
})();

// Filters a table as the user types: every input[data-filter] hides the
// rows of the table whose ID it names that do not contain all of its
// words (case-insensitive), and writes the number still shown into the
// element that data-count names. The inventory tab's software list uses
// it; 5,000 rows filter without a round trip.
(function () {
  "use strict";
  document.querySelectorAll("input[data-filter]").forEach(function (input) {
    var table = document.getElementById(input.dataset.filter);
    var count = document.getElementById(input.dataset.count);
    if (!table) return;
    var rows = Array.prototype.slice.call(table.tBodies[0].rows);
    var texts = rows.map(function (r) { return r.textContent.toLowerCase(); });
    function apply() {
      var words = input.value.toLowerCase().split(/\s+/).filter(Boolean);
      var shown = 0;
      rows.forEach(function (r, i) {
        var hit = words.every(function (w) { return texts[i].indexOf(w) >= 0; });
        r.hidden = !hit;
        if (hit) shown++;
      });
      if (count) count.textContent = shown;
    }
    input.addEventListener("input", apply);
    apply(); // a value the browser restored on back
  });
})();

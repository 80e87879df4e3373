// Replays a terminal recording (asciicast v2) in xterm.js: output events
// at their times (or faster), resize events as they happened; input
// events are not replayed (their echo is in the output).
(function () {
  'use strict';
  var el = document.getElementById('replay');
  if (!el || !window.Terminal) { return; }
  var status = document.getElementById('replay-status');
  var speed = document.getElementById('replay-speed');
  var term = new window.Terminal({ fontSize: 14, scrollback: 10000, disableStdin: true,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace' });
  term.open(el);
  el.wachtTerminal = term; // for the browser test
  var events = [];
  var next = 0;
  var timer = null;
  var started = 0; // performance.now() minus the replayed time, in ms

  function resize(spec) {
    var m = /^(\d+)x(\d+)$/.exec(spec);
    if (m) { term.resize(Math.max(2, +m[1]), Math.max(1, +m[2])); }
  }
  function apply(ev) {
    if (ev[1] === 'o') { term.write(ev[2]); } else if (ev[1] === 'r') { resize(ev[2]); }
  }
  function finish() {
    timer = null;
    status.textContent = status.dataset.done;
    el.dataset.done = 'true';
  }
  function tick() {
    var now = (performance.now() - started) * (+speed.value) / 1000;
    while (next < events.length && events[next][0] <= now) { apply(events[next++]); }
    if (next >= events.length) { finish(); return; }
    timer = setTimeout(tick, Math.min(250, (events[next][0] - now) * 1000 / (+speed.value)));
  }
  function play() {
    if (timer) { clearTimeout(timer); }
    term.reset();
    next = 0;
    el.dataset.done = '';
    started = performance.now();
    tick();
  }
  document.getElementById('replay-play').addEventListener('click', play);
  document.getElementById('replay-end').addEventListener('click', function () {
    if (timer) { clearTimeout(timer); }
    while (next < events.length) { apply(events[next++]); }
    finish();
  });
  fetch(el.dataset.cast, { credentials: 'same-origin' }).then(function (r) {
    if (!r.ok) { throw new Error('HTTP ' + r.status); }
    return r.text();
  }).then(function (text) {
    var lines = text.split('\n').filter(function (l) { return l.length > 0; });
    var h = JSON.parse(lines[0]);
    term.resize(h.width || 80, h.height || 24);
    for (var i = 1; i < lines.length; i++) { events.push(JSON.parse(lines[i])); }
    el.dataset.loaded = 'true';
    play();
  }).catch(function (e) { status.textContent = String(e); });
})();

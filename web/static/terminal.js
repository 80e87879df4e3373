// The device's terminal: xterm.js over the websocket of
// internal/server/termws. Keys go out as binary 'i' messages, sizes as 'r'
// messages; output comes back as binary messages, the session's start and
// end as JSON text messages. Key handling is left to xterm.js (composed
// input, dead keys and AltGr characters of a German keyboard arrive as
// typed); only Ctrl+Shift+C and Ctrl+Shift+V are taken for copy and paste.
(function () {
  'use strict';
  var el = document.getElementById('terminal');
  var status = document.getElementById('term-status');
  if (!el) { return; }
  if (!window.Terminal || !window.FitAddon || !window.WebSocket) {
    status.textContent = status.dataset.unsupported;
    return;
  }
  var form = document.getElementById('term-form');
  var shell = document.getElementById('term-shell');
  var de = document.documentElement.lang === 'de';
  var enc = new TextEncoder();
  var term = new window.Terminal({ cursorBlink: true, fontSize: 14, scrollback: 5000,
    fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace' });
  var fit = new window.FitAddon.FitAddon();
  term.loadAddon(fit);
  term.open(el);
  fit.fit();
  el.wachtTerminal = term; // for the browser test

  var ws = null;
  var ended = false;

  function send(kind, payload) {
    if (!ws || ws.readyState !== WebSocket.OPEN) { return; }
    var b = new Uint8Array(1 + payload.length);
    b[0] = kind;
    b.set(payload, 1);
    ws.send(b);
  }
  function sendSize() {
    var b = new Uint8Array(4);
    var v = new DataView(b.buffer);
    v.setUint16(0, term.rows);
    v.setUint16(2, term.cols);
    send(0x72, b); // 'r'
  }
  term.onData(function (d) { send(0x69, enc.encode(d)); }); // 'i'
  term.onBinary(function (d) {
    var b = new Uint8Array(d.length);
    for (var i = 0; i < d.length; i++) { b[i] = d.charCodeAt(i) & 0xff; }
    send(0x69, b);
  });
  term.onResize(sendSize);
  window.addEventListener('resize', function () { fit.fit(); });
  term.attachCustomKeyEventHandler(function (e) {
    // Only Ctrl+Shift (no Alt: AltGr is Ctrl+Alt on Windows) + C or V.
    if (e.type !== 'keydown' || !e.ctrlKey || !e.shiftKey || e.altKey || e.metaKey) { return true; }
    if (e.code === 'KeyC') {
      var sel = term.getSelection();
      if (sel && navigator.clipboard) { navigator.clipboard.writeText(sel); }
      e.preventDefault();
      return false;
    }
    if (e.code === 'KeyV') {
      return false; // the browser's paste event reaches xterm.js
    }
    return true;
  });

  function connect() {
    if (ws) { ws.onclose = null; ws.close(); }
    ended = false;
    term.reset();
    status.textContent = status.dataset.connecting;
    var u = new URL(el.dataset.ws, window.location.href);
    u.protocol = window.location.protocol === 'https:' ? 'wss:' : 'ws:';
    u.searchParams.set('shell', shell.value);
    u.searchParams.set('rows', term.rows);
    u.searchParams.set('cols', term.cols);
    var sock = new WebSocket(u.toString());
    sock.binaryType = 'arraybuffer';
    ws = sock;
    sock.onmessage = function (ev) {
      if (typeof ev.data !== 'string') {
        term.write(new Uint8Array(ev.data));
        return;
      }
      var m = JSON.parse(ev.data);
      if (m.type === 'open') {
        status.textContent = status.dataset.open + ' ' + m.shell;
        el.dataset.pid = m.pid;
        el.dataset.recording = m.recording;
        sendSize();
      } else if (m.type === 'exit') {
        ended = true;
        status.textContent = m.message ? (de ? m.message.de : m.message.en) : status.dataset.closed;
        el.dataset.exit = m.code || 'closed';
      }
    };
    sock.onclose = function () {
      if (!ended) { status.textContent = status.dataset.closed; el.dataset.exit = 'closed'; }
      if (ws === sock) { ws = null; }
    };
    term.focus();
  }
  form.addEventListener('submit', function (e) { e.preventDefault(); connect(); });
  connect();
})();

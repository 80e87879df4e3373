// The script pages: the editor, the run dialog and the job page. The
// editor puts CodeMirror
// (static/vendor/codemirror.js, bundled from npm by web/build.sh) over the
// body's textarea, which stays the form field: every change is copied
// back, so the form posts the same with or without JavaScript. The
// highlighting follows the language select. CodeMirror lives in a shadow
// root: there it styles itself with a constructed style sheet, which the
// dashboard's Content-Security-Policy allows (a <style> element it is not).
// "Add parameter" adds an empty parameter row (without JavaScript, the
// form has two and more after saving). The job page keeps the outputs a
// user opened open while htmx replaces its progress every 2 s. The run dialog's device
// filter hides the devices that do not match what is typed.
(function () {
  'use strict';
  var filter = document.getElementById('device-filter');
  if (filter) {
    var apply = function () {
      var want = filter.value.toLowerCase();
      document.querySelectorAll('#run-devices tbody tr').forEach(function (tr) {
        var box = tr.querySelector('input[type=checkbox]');
        tr.hidden = want !== '' && !(box && box.checked) && tr.textContent.toLowerCase().indexOf(want) < 0;
      });
    };
    filter.addEventListener('input', apply);
    apply(); // what was typed before this ran, or what the browser restored
  }

  var rows = document.querySelector('#param-rows tbody');
  var add = document.getElementById('param-add');
  if (rows && add) {
    add.hidden = false;
    add.addEventListener('click', function () {
      var count = document.querySelector('input[name=prows]');
      var all = rows.querySelectorAll('tr[id^=param-]');
      var last = all[all.length - 1];
      var n = Number(count.value);
      var row = last.cloneNode(true);
      row.id = 'param-' + n;
      row.classList.remove('invalid');
      row.querySelectorAll('input, select').forEach(function (el) {
        el.name = el.name.replace(/^p\d+\./, 'p' + n + '.');
        if (el.type === 'checkbox') { el.checked = false; } else if (el.tagName === 'SELECT') { el.selectedIndex = 0; } else { el.value = ''; }
      });
      rows.appendChild(row);
      count.value = String(n + 1);
      row.querySelector('input').focus();
    });
  }

  document.body.addEventListener('htmx:beforeSwap', function (e) {
    if (e.detail.target.id !== 'job-progress') { return; }
    var open = [];
    e.detail.target.querySelectorAll('tr[id^=run-]:has(details[open])').forEach(function (tr) { open.push(tr.id); });
    document.body.wachtOpenRuns = open;
  });
  document.body.addEventListener('htmx:afterSwap', function () {
    (document.body.wachtOpenRuns || []).forEach(function (id) {
      var d = document.querySelector('#' + CSS.escape(id) + ' details');
      if (d) { d.open = true; }
    });
  });

  var area = document.getElementById('body');
  var CM = window.WachtCodeMirror;
  if (!area || !CM) { return; }
  var select = document.getElementById('language');
  var lang = new CM.Compartment();
  var readOnly = area.readOnly;
  var host = document.createElement('div');
  host.id = 'body-editor';
  var shadow = host.attachShadow({ mode: 'open' });
  area.parentNode.insertBefore(host, area);
  var view = new CM.EditorView({
    parent: shadow,
    root: shadow,
    state: CM.EditorState.create({
      doc: area.value,
      extensions: [
        CM.lineNumbers(), CM.history(), CM.drawSelection(), CM.highlightActiveLine(), CM.indentOnInput(),
        CM.bracketMatching(), CM.syntaxHighlighting(CM.defaultHighlightStyle, { fallback: true }),
        CM.keymap.of([CM.indentWithTab].concat(CM.defaultKeymap, CM.historyKeymap)),
        lang.of(CM.language(select.value) || []),
        CM.EditorState.readOnly.of(readOnly), CM.EditorView.editable.of(!readOnly),
        CM.EditorView.theme({
          '&': { minHeight: '18rem', fontSize: '.9rem', backgroundColor: '#fff' },
          '.cm-scroller': { fontFamily: 'ui-monospace, "DejaVu Sans Mono", Menlo, Consolas, monospace', minHeight: '18rem' },
        }),
        CM.EditorView.contentAttributes.of({ 'aria-label': document.querySelector('label[for=body]').textContent }),
        CM.EditorView.updateListener.of(function (u) {
          if (u.docChanged) { area.value = u.state.doc.toString(); }
        }),
      ],
    }),
  });
  area.hidden = true;
  select.addEventListener('change', function () {
    view.dispatch({ effects: lang.reconfigure(CM.language(select.value) || []) });
  });
  area.wachtEditor = view; // for the browser test
})();

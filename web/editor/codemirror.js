// The script editor's CodeMirror 6 bundle: web/build.sh bundles this file
// with esbuild into static/vendor/codemirror.js, which exposes the global
// WachtCodeMirror for static/scripts.js. Only what the editor uses
// is imported, so the bundle stays small.
import { EditorState, Compartment } from '@codemirror/state';
import { EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection } from '@codemirror/view';
import { defaultKeymap, history, historyKeymap, indentWithTab } from '@codemirror/commands';
import { StreamLanguage, syntaxHighlighting, defaultHighlightStyle, indentOnInput, bracketMatching } from '@codemirror/language';
import { shell } from '@codemirror/legacy-modes/mode/shell';
import { powerShell } from '@codemirror/legacy-modes/mode/powershell';
import { python } from '@codemirror/legacy-modes/mode/python';
import { batch } from './batch.js';

// modes maps a script language (protocol.Languages) to its highlighting.
const modes = {
  bash: shell, sh: shell, zsh: shell,
  pwsh: powerShell, powershell: powerShell,
  python: python,
  cmd: batch,
};

// language returns the highlighting of a script language, or null.
export function language(name) {
  const m = modes[name];
  return m ? StreamLanguage.define(m) : null;
}

export { EditorState, Compartment, EditorView, keymap, lineNumbers, highlightActiveLine, drawSelection,
  defaultKeymap, history, historyKeymap, indentWithTab, syntaxHighlighting, defaultHighlightStyle,
  indentOnInput, bracketMatching };

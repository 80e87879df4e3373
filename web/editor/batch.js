// A CodeMirror stream mode for Windows batch files (cmd): no npm package
// ships one. It marks comments (REM, ::), labels, %variables% and
// !delayed!, strings, numbers and the commands of cmd itself.
const keywords = new Set(('call cd chdir cls copy del echo endlocal erase exit for goto if in do else md mkdir move ' +
  'not exist defined errorlevel equ neq lss leq gtr geq pause popd pushd rd rem ren rename rmdir set setlocal shift ' +
  'start title type ver verify vol enabledelayedexpansion enableextensions').split(' '));

export const batch = {
  name: 'batch',
  startState: () => ({ lineStart: true }),
  token(stream, state) {
    if (stream.sol()) { state.lineStart = true; }
    if (stream.eatSpace()) { return null; }
    const first = state.lineStart;
    state.lineStart = false;
    if (first && (stream.match(/^@?rem\b/i) || stream.match('::'))) {
      stream.skipToEnd();
      return 'comment';
    }
    if (first && stream.match(/^:\w+/)) { return 'labelName'; }
    if (stream.match(/^%~?[\w]+%?/) || stream.match(/^%%~?\w/) || stream.match(/^![\w]+!/)) { return 'variableName'; }
    if (stream.match(/^"[^"]*"?/)) { return 'string'; }
    if (stream.match(/^\d+\b/)) { return 'number'; }
    if (stream.match(/^[&|<>()]+/)) {
      state.lineStart = /[&|(]/.test(stream.current());
      return 'operator';
    }
    const w = stream.match(/^@?[\w.-]+/);
    if (w) { return keywords.has(w[0].replace(/^@/, '').toLowerCase()) ? 'keyword' : null; }
    stream.next();
    return null;
  },
};

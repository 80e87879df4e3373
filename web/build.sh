#!/bin/sh
# Installs the pinned front-end libraries and copies the files the dashboard
# serves into static/vendor (gitignored). The Makefile's web-assets target
# calls this; the server still builds and runs without it (no htmx).
set -eu
cd "$(dirname "$0")"
npm ci
mkdir -p static/vendor
cp node_modules/htmx.org/dist/htmx.min.js static/vendor/
cp node_modules/uplot/dist/uPlot.iife.min.js node_modules/uplot/dist/uPlot.min.css static/vendor/
cp node_modules/@xterm/xterm/lib/xterm.js node_modules/@xterm/xterm/css/xterm.css node_modules/@xterm/addon-fit/lib/addon-fit.js static/vendor/
# The script editor's CodeMirror: one bundle of the modules it imports.
node_modules/.bin/esbuild editor/codemirror.js --bundle --format=iife --global-name=WachtCodeMirror \
  --minify --log-level=warning --outfile=static/vendor/codemirror.js

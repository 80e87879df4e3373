#!/bin/sh
# Runs every fuzz target of the module for a short, bounded time (FUZZTIME,
# default 10s each). `make test` already runs each target on its seed corpus;
# this explores beyond it. A crasher is written to the package's
# testdata/fuzz/<Target>/ and fails the run.
set -eu
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10s}
go=${GO:-go}
grep -rl --include='*_test.go' '^func Fuzz' internal cmd 2>/dev/null | sort | while read -r file; do
	pkg=./$(dirname "$file")
	for target in $(sed -n 's/^func \(Fuzz[A-Za-z0-9_]*\)(.*/\1/p' "$file"); do
		echo "fuzz $pkg $target ($fuzztime)"
		$go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
	done
done

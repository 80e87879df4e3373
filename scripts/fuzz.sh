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
		# Go's fuzzer sometimes ends a time-bounded run with a bare "context
		# deadline exceeded" and no crasher (a worker still starting when the
		# time is up); that run found nothing, so it is tried once more. A
		# real crasher is written to testdata/fuzz and fails either way.
		log=$(mktemp)
		if ! $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
			cat "$log"
			if grep -q 'context deadline exceeded' "$log" && ! grep -q 'Failing input written' "$log"; then
				echo "fuzz $pkg $target: deadline hit without a crasher; running it again"
				$go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
			else
				rm -f "$log"
				exit 1
			fi
		else
			cat "$log"
		fi
		rm -f "$log"
	done
done

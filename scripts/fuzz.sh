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
		# Go's fuzzer (1.26) sometimes ends a time-bounded run with a bare
		# "context deadline exceeded" and no crasher: a race in its
		# coordinator at the end of -fuzztime (golang/go#75804, fixed in Go
		# 1.27), seen twice in a row on a busy machine. Such a run found
		# nothing; it is tried up to three times, and if the race ends every
		# try the target counts as having found nothing. A real crasher is
		# written to testdata/fuzz and fails at once.
		log=$(mktemp)
		try=1
		while :; do
			if $go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
				cat "$log"
				break
			fi
			cat "$log"
			if ! grep -q 'context deadline exceeded' "$log" || grep -q 'Failing input written' "$log"; then
				rm -f "$log"
				exit 1
			fi
			if [ "$try" -ge 3 ]; then
				echo "fuzz $pkg $target: the fuzzer's deadline race (golang/go#75804) ended all $try tries; no crasher found"
				break
			fi
			try=$((try + 1))
			echo "fuzz $pkg $target: deadline hit without a crasher; try $try"
		done
		rm -f "$log"
	done
done

#!/usr/bin/env bash
# Runs every fuzzer of the repository (each `func FuzzX` in a _test.go file)
# for FUZZTIME each (default 10m), one after the other; a failing fuzzer is
# reported and the others still run; the exit status says whether any
# failed. A failure leaves its input in PKG/testdata/fuzz/FuzzX/,
# which then becomes part of that fuzzer's seed corpus: commit it with the
# fix. `make fuzz-long FUZZTIME=30m` is the long run; ONLY=regexp selects
# fuzzers by name.
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-10m}
only=${ONLY:-.}
export CGO_ENABLED=1
failed=()
while read -r file; do
	pkg="./$(dirname "${file#./}")"
	for name in $(grep -o '^func Fuzz[A-Za-z0-9_]*' "$file" | cut -d' ' -f2); do
		if ! [[ $name =~ $only ]]; then
			continue
		fi
		echo "== $pkg $name ($fuzztime)"
		log=$(mktemp)
		if go test -run '^$' -fuzz "^${name}\$" -fuzztime "$fuzztime" "$pkg" >"$log" 2>&1; then
			grep '^fuzz: elapsed' "$log" | tail -1
		else
			grep -v '^fuzz: elapsed' "$log" | tail -40
			failed+=("$pkg $name")
		fi
		rm -f "$log"
	done
done < <(grep -rl --include='*_test.go' '^func Fuzz' . | sort)
if [ ${#failed[@]} -gt 0 ]; then
	printf 'FAILED: %s\n' "${failed[@]}"
	exit 1
fi
echo "every fuzzer passed"

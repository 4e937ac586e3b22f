#!/usr/bin/env bash
# Runs every fuzz target for FUZZTIME each (default 10s): `make test` runs it
# short, `make fuzz` long. New crashers land in the package's testdata/fuzz
# directory; commit them with the fix.
set -euo pipefail
cd "$(dirname "$0")/.."
GO="${GO:-go}"
FUZZTIME="${FUZZTIME:-10s}"
targets=(
	"./inject FuzzInjector"
	"./inject FuzzScanner"
	"./gateway FuzzSafeReturnPath"
	"./gateway FuzzSessionCookie"
	"./auth FuzzSealerOpen"
)
for t in "${targets[@]}"; do
	read -r pkg name <<<"$t"
	echo "fuzz: $name ($pkg) for $FUZZTIME"
	"$GO" test -run '^$' -fuzz "^${name}\$" -fuzztime "$FUZZTIME" -fuzzminimizetime 5s "$pkg"
done

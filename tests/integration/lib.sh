# lib.sh - tiny TAP-style helpers for the integration scripts (POSIX sh).
# Source it; call ok/fail/check; end with `finish`.
PASS=0
FAIL=0
BIN=${SPOOLD_BIN:-$(pwd)/bin}
TOP=$(pwd)
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/spoold-test.XXXXXX")
trap 'rm -rf "$TRASH"' EXIT

ok()   { PASS=$((PASS + 1)); }
fail() { FAIL=$((FAIL + 1)); echo "FAIL: $*" >&2; }
# check DESCRIPTION COMMAND...: passes when the command succeeds.
check() { d=$1; shift; if "$@"; then ok; else fail "$d"; fi; }
# expect_eq DESCRIPTION GOT WANT
expect_eq() {
	if [ "$2" = "$3" ]; then ok; else fail "$1: got [$2], want [$3]"; fi
}
finish() {
	echo "# passed $PASS failed $FAIL"
	[ "$FAIL" = 0 ]
}

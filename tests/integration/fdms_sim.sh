#!/bin/sh
# check: once
# fdms_sim.sh - the FDMS simulator's own test suite (tests/fdms-sim/test_sim.py,
# Python unittest against a real simulator process), run from the repository
# top by tests/run-tests. Prints unittest's verbose log, then the summary line
# "# passed N failed M" that run-tests adds up; exits non-zero on any failure.
# Needs python3 with the cryptography module (Debian: python3-cryptography).
PY=${PYTHON:-python3}
log=$(mktemp "${TMPDIR:-/tmp}/fdms-sim-test.XXXXXX") || exit 1
trap 'rm -f "$log"' EXIT
if ! "$PY" -c 'import cryptography' >/dev/null 2>&1; then
	echo "FAIL: $PY with the cryptography module is required (apt-get install python3-cryptography)" >&2
	echo "# passed 0 failed 1"
	exit 1
fi
# A hung simulator must not hang make check: bound the run when timeout(1) exists.
if command -v timeout >/dev/null 2>&1; then
	timeout 300 "$PY" tests/fdms-sim/test_sim.py -v >"$log" 2>&1
else
	"$PY" tests/fdms-sim/test_sim.py -v >"$log" 2>&1
fi
rc=$?
cat "$log"
ran=$(sed -n 's/^Ran \([0-9][0-9]*\) tests* in .*/\1/p' "$log" | tail -n 1)
last=$(grep -E '^(OK|FAILED)( \(.*\))?$' "$log" | tail -n 1)
num() { # key: the number after "key=" in the unittest summary, else 0
	n=$(echo "$last" | sed -n "s/.*$1=\([0-9][0-9]*\).*/\1/p")
	echo "${n:-0}"
}
if [ -z "$ran" ] || [ -z "$last" ]; then
	echo "FAIL: the simulator tests did not finish (exit $rc)" >&2
	echo "# passed 0 failed 1"
	exit 1
fi
failed=$(( $(num failures) + $(num errors) + $(num "unexpected successes") ))
passed=$(( ran - failed - $(num skipped) - $(num "expected failures") ))
[ "$rc" != 0 ] && [ "$failed" = 0 ] && failed=1
echo "# passed $passed failed $failed"
[ "$failed" = 0 ]

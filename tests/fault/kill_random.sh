#!/bin/sh
# kill_random.sh - fault suite scenario 2 (issue 6; anchors B.12 test 2):
# kill -9 at random moments.  Receipts (JSON, some XML, every 50th
# breaking a rule) are dropped into the inbox by rename at a steady pace
# while `spoold -f` is started, SIGKILLed 50-500 ms later (seeded) and
# started again; then a last `spoold --once` must exit 0.
#
# Checks: every round ended by our SIGKILL (spoold never exited by
# itself), at least MIN_KILLS kills; a temporary file of a write cut off
# by a kill (planted in done/ and error/) is removed and logged by the
# next start; no CRITICAL in the log; then faultlib's closing check
# (every input once in done/ or error/, journal = done/, chain, ledger =
# journal in order, integrity_check, spoolctl audit).
#
# Sizes: make check (reduced) 500 files over 5 s (300 over 4 s under
# ASan), killing until all are fed and at least 10 (5) kills, within a
# time limit; make check-fault (full) 10,000 files, exactly 100 rounds.
# SPOOLD_CRASH_SEED=N repeats a run (the seed is printed).
. tests/fault/faultlib

if [ "$FAULT_ASAN" = 1 ]; then
	NFILES=$(fault_size 300 10000)
	FEED_S=$(fault_size 4 40)
	MIN_KILLS=5
	LIMIT_S=$(fault_size 20 900)
else
	NFILES=$(fault_size 500 10000)
	FEED_S=$(fault_size 5 30)
	MIN_KILLS=10
	LIMIT_S=$(fault_size 12 900)
fi
ROUNDS=$(fault_size 0 100)	# 0: until fed and MIN_KILLS
SEED=${SPOOLD_CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9)}
echo "# seed $SEED (SPOOLD_CRASH_SEED=$SEED repeats this run), $NFILES files"

SPID=
FEED_PID=
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$FEED_PID" ] && kill "$FEED_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
fault_setup 4711 || { fail "set-up"; finish; exit 1; }
trap cleanup EXIT
fault_gen "$NFILES" "$SEED" K
expect_eq "files generated" "$(wc -l <"$TRASH/manifest" | tr -d ' ')" \
    "$NFILES"
# The kill delays, from the same seed: 50..500 ms.
DELAYS=$(python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]) + 1)
print(" ".join("%.3f" % (r.randint(50, 500) / 1000) for _ in range(2000)))' \
    "$SEED")

fault_feed "$FEED_S"
fed() { grep -q '^fed' "$TRASH/fed"; }

kills=0
rounds=0
died=0
t0=$(date +%s)
DEADLINE=$((t0 + LIMIT_S))	# then stop killing; --once finishes
for delay in $DELAYS; do
	if [ "$ROUNDS" -gt 0 ]; then
		[ "$rounds" -ge "$ROUNDS" ] && break
	elif fed && [ "$kills" -ge "$MIN_KILLS" ] && fault_empty "$S/inbox" &&
	    fault_empty "$S/work"; then
		break
	fi
	if [ "$(date +%s)" -ge "$DEADLINE" ]; then
		echo "# time is up after $rounds rounds: --once finishes"
		break
	fi
	rounds=$((rounds + 1))
	"$D" -c "$CONF" -f >>"$TRASH/d.out" 2>>"$TRASH/d.err" &
	SPID=$!
	sleep "$delay"
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null; rc=$?
	if [ "$rc" = 137 ]; then	# 128 + SIGKILL: ours
		kills=$((kills + 1))
	else
		died=$((died + 1))
		echo "spoold exited by itself: status $rc, round $rounds" >&2
		tail -n 5 "$TRASH/d.err" >&2
	fi
	SPID=
done
t1=$(date +%s)
wait "$FEED_PID"
FEED_PID=
echo "# $rounds rounds, $kills kills in $((t1 - t0)) s"
check "all files fed" grep -q "^fed $NFILES\$" "$TRASH/fed"
expect_eq "spoold never stopped by itself" "$died" 0
check "killed at least $MIN_KILLS times" test "$kills" -ge "$MIN_KILLS"
[ "$ROUNDS" -gt 0 ] && expect_eq "rounds" "$rounds" "$ROUNDS"

# What a kill inside fsutil_write_atomic leaves (the kills above may or
# may not have hit that window): the next start removes it.
echo '{"status": "sig' >"$S/done/.spoold-tmp.1.1"
echo '{"file": "x' >"$S/error/.spoold-tmp.1.2"
if fault_drain 1; then ok; else fail "--once after the kills"; fi
check "temporary files of a killed write removed" sh -c \
    "! ls -A '$S/done' '$S/error' | grep -q '^\.spoold-tmp'"
check "their removal logged" grep -q 'removed 1 temporary file' \
    "$TRASH/logs/fdms.log"
check "no CRITICAL in the log" sh -c \
    "! grep -q CRITICAL '$TRASH/logs/fdms.log'"
grep CRITICAL "$TRASH/logs/fdms.log" | head -n 5 >&2
echo "# total $(($(date +%s) - t0)) s"

fault_verify kill_random "$rounds" "$kills kills, seed $SEED"
finish

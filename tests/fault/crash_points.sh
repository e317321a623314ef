#!/bin/sh
# crash_points.sh - fault suite scenario 1 (issue 6; anchors B.12): a
# crash at each named point (lib/util/testhook.h), at its 1st, 2nd ...
# k-th hit, then restarts until everything is done.
#
# Daemon points (claimed, journaled, submit-recorded, submit-answered,
# write-renamed, move-renamed): for each point and each k, a fresh batch
# of receipts goes into the inbox and `spoold --once` runs with
# SPOOLD_CRASH=POINT:k until it no longer dies (at most CRASHES_MAX
# times; each run must die by SIGKILL at that very point and hit, as the
# SPOOLD_CRASH_LOG line shows), then once without a crash; it must exit
# 0 (everything submitted).
# Close-day points (closeday-requested, -accepted, -closed): spoolctl
# close-day killed at the point, then run again: exit 0, the day closed
# in the journal and at the simulator, and exactly ONE CloseDay request
# reached the simulator for that day (counted by a never-firing
# simulator fault rule).  Then the daemon goes on with the next day.
# Backup points (backup-copying: after the k-th page copied, i.e. mid-
# copy; backup-copied: copy complete, not yet verified or named, hit once
# per run, so killed at its only hit k times): the
# earlier backups are untouched (SHA-256), no file with a backup's name
# is a partial copy (each passes integrity_check and holds every
# receipt), the next `spoolctl backup` succeeds and cleans up.
# The end: faultlib's closing check over every batch (fault_verify).
#
# A release build (no SPOOLD_TEST_HOOKS: the gcc pass of make check) has
# no crash points: the script says so, checks that SPOOLD_CRASH has no
# effect there, and runs the same batches, close and backup without
# crashes (the sanitizer pass and make check-fault have the hooks).
#
# Sizes: reduced (make check) BATCH=8 files, k=1..2, 2 crashes per
# (point, k), one close per close-day point, backup points once; full
# (make check-fault) BATCH=100, k=1..10 (1,000 files per daemon point),
# up to 25 crashes per (point, k), three days closed per close-day point,
# backup points at k=1..5.
. tests/fault/faultlib

DAEMON_POINTS="claimed journaled submit-recorded submit-answered \
write-renamed move-renamed"
CLOSE_POINTS="closeday-requested closeday-accepted closeday-closed"
BACKUP_POINTS="backup-copying backup-copied"
BATCH=$(fault_size 8 100)
KMAX=$(fault_size 2 10)
CRASHES_MAX=$(fault_size 2 25)
CLOSES=$(fault_size 1 3)
BKMAX=$(fault_size 1 5)
if [ "$FAULT_ASAN" = 1 ] && [ "$FAULT_FULL" != 1 ]; then
	BATCH=6
	CRASHES_MAX=1
fi
HOOKS=0
grep -q spoold-test-hooks "$D" 2>/dev/null &&
    grep -q spoold-test-hooks "$CTL" 2>/dev/null && HOOKS=1

CRASHLOG=
cleanup() {
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
# A CloseDay rule that never fires: its "seen" counts CloseDay requests.
fault_setup 5150 --fault 'CloseDay:1000000000=500' ||
    { fail "set-up"; finish; exit 1; }
trap cleanup EXIT
CRASHLOG=$TRASH/crash.log
export SPOOLD_CRASH_LOG="$CRASHLOG"
BK=$TRASH/backups
T0=$(date +%s)
crashes=0
batchno=0

sim_get() {
	curl -sf --cacert "$SIM_CA" "$SIM_URL/_sim/$1"
}
closeday_requests() {
	sim_get fault | python3 -c 'import json, sys
print(json.load(sys.stdin)["rules"][0]["seen"])'
}
sim_day() {	# "DAYNO STATUS" at the simulator
	sim_get "state/$DEV" | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(s["fiscalDayNo"], s["fiscalDayStatus"])'
}
journal_day() {	# "DAYNO STATUS" of the journal's newest day
	sqlite3 "$DB" "SELECT day_no || ' ' || status FROM fiscal_days
	    WHERE device_id = $DEV ORDER BY day_no DESC LIMIT 1"
}
# A new batch of N receipts in the inbox.
batch() {
	batchno=$((batchno + 1))
	fault_gen "$1" "$batchno" "B$batchno"
	fault_drop_all
}
# run_killed WHAT POINT K COMMAND...: COMMAND must die by SIGKILL at hit
# K of POINT; 0 when it did.
# (sh has no local variables: rk_ names keep the callers' loops intact.)
run_killed() {
	rk_what=$1 rk_pt=$2 rk_hit=$3
	shift 3
	: >"$CRASHLOG"
	SPOOLD_CRASH="$rk_pt:$rk_hit" "$@" >>"$TRASH/run.out" \
	    2>>"$TRASH/run.err"
	rc=$?
	if [ "$rc" = 137 ] && grep -q "^$rk_pt $rk_hit " "$CRASHLOG"; then
		crashes=$((crashes + 1))
		return 0
	fi
	fail "$rk_what: status $rc, want a SIGKILL at $rk_pt:$rk_hit" \
	    "($(cat "$CRASHLOG"))"
	tail -n 5 "$TRASH/run.err" >&2
	return 1
}
# drain: spoold --once without a crash; it must submit everything.
drain() {
	"$D" -c "$CONF" --once >>"$TRASH/run.out" 2>>"$TRASH/run.err"
	rc=$?
	expect_eq "$1: spoold --once after the crashes" "$rc" 0
	[ "$rc" = 0 ] || tail -n 10 "$TRASH/run.err" >&2
}

if [ "$HOOKS" = 0 ]; then
	echo "# crash points not compiled in (release build): covered by" \
	    "the sanitizer pass"
	# SPOOLD_CRASH must be inert here: a batch goes through untouched.
	batch "$BATCH"
	SPOOLD_CRASH="claimed:1 journaled:1 move-renamed:1" \
	    "$D" -c "$CONF" --once >>"$TRASH/run.out" 2>>"$TRASH/run.err"
	expect_eq "release build: SPOOLD_CRASH has no effect" "$?" 0
	check "release build: no crash logged" test ! -s "$CRASHLOG"
	check "release build: spoolctl has no hooks either" sh -c \
	    "! grep -q spoold-test-hooks '$CTL'"
	"$CTL" -c "$CONF" close-day >>"$TRASH/run.out" 2>>"$TRASH/run.err"
	expect_eq "release build: close-day" "$?" 0
	expect_eq "release build: the day closed at the simulator" \
	    "$(sim_day)" "1 FiscalDayClosed"
	expect_eq "release build: one CloseDay request" \
	    "$(closeday_requests)" 1
	"$CTL" -c "$CONF" backup --output-dir "$BK" >>"$TRASH/run.out" \
	    2>>"$TRASH/run.err"
	expect_eq "release build: backup" "$?" 0
	fault_verify crash_points 0 "release build: no hooks"
	finish
	exit
fi

# ---- the daemon's points ----------------------------------------------
for pt in $DAEMON_POINTS; do
	k=1
	while [ "$k" -le "$KMAX" ]; do
		batch "$BATCH"
		n=0
		while [ "$n" -lt "$CRASHES_MAX" ]; do
			: >"$CRASHLOG"
			SPOOLD_CRASH="$pt:$k" "$D" -c "$CONF" --once \
			    >>"$TRASH/run.out" 2>>"$TRASH/run.err"
			rc=$?
			[ "$rc" = 137 ] || break
			if grep -q "^$pt $k " "$CRASHLOG"; then
				crashes=$((crashes + 1))
			else
				fail "$pt:$k: killed, but not by the hook"
			fi
			n=$((n + 1))
		done
		# The first run of a batch always reaches hit k (BATCH >= k).
		check "$pt:$k: killed at least once" test "$n" -ge 1
		[ "$n" -lt "$CRASHES_MAX" ] && [ "$rc" != 0 ] && {
			fail "$pt:$k: spoold exited $rc after $n crashes"
			tail -n 10 "$TRASH/run.err" >&2
		}
		drain "$pt:$k"
		k=$((k + 1))
	done
	echo "# $pt: k=1..$KMAX, $crashes crashes so far, $(($(date +%s) - T0)) s"
done

# ---- close-day ----------------------------------------------------------
for pt in $CLOSE_POINTS; do
	c=0
	while [ "$c" -lt "$CLOSES" ]; do
		c=$((c + 1))
		batch 3
		drain "$pt close $c: the day's receipts"
		day=$(journal_day | cut -d' ' -f1)
		before=$(closeday_requests)
		run_killed "$pt close $c" "$pt" 1 \
		    "$CTL" -c "$CONF" close-day
		"$CTL" -c "$CONF" close-day >>"$TRASH/run.out" \
		    2>>"$TRASH/run.err"
		rc=$?
		expect_eq "$pt close $c: close-day after the crash" "$rc" 0
		[ "$rc" = 0 ] || tail -n 10 "$TRASH/run.err" >&2
		expect_eq "$pt close $c: the journal's day" "$(journal_day)" \
		    "$day closed"
		expect_eq "$pt close $c: the simulator's day" "$(sim_day)" \
		    "$day FiscalDayClosed"
		expect_eq "$pt close $c: CloseDay requests for day $day" \
		    "$(($(closeday_requests) - before))" 1
		# A third run has nothing to do and sends nothing.
		"$CTL" -c "$CONF" close-day >>"$TRASH/run.out" \
		    2>>"$TRASH/run.err"
		expect_eq "$pt close $c: close-day again" "$?" 0
		expect_eq "$pt close $c: still one CloseDay request" \
		    "$(($(closeday_requests) - before))" 1
	done
done
# The next day opens with the next batch.
batch 3
drain "after the closes"

# ---- backup -------------------------------------------------------------
# Backups have one-second names: each run waits for a fresh second.
"$CTL" -c "$CONF" backup --output-dir "$BK" >>"$TRASH/run.out" \
    2>>"$TRASH/run.err"
expect_eq "first backup" "$?" 0
nrows=$(sqlite3 "$DB" "SELECT count(*) FROM receipts")
# Every file named like a backup: a complete, sound copy.
backups_sound() {
	for f in "$BK"/db_*.sqlite3; do
		[ -f "$f" ] || continue
		[ "$(sqlite3 -readonly "$f" 'PRAGMA integrity_check' 2>&1)" = ok ] ||
		    { echo "$f: integrity_check fails" >&2; return 1; }
		[ "$(sqlite3 -readonly "$f" 'SELECT count(*) FROM receipts' \
		    2>&1)" = "$nrows" ] ||
		    { echo "$f: not every receipt" >&2; return 1; }
	done
	return 0
}
for pt in $BACKUP_POINTS; do
	k=1
	while [ "$k" -le "$BKMAX" ]; do
		(cd "$BK" && sha256sum db_*.sqlite3 >"$TRASH/bk.sums")
		# backup-copied is hit once per run: its k-th round is hit 1.
		hit=$k
		[ "$pt" = backup-copied ] && hit=1
		run_killed "$pt:$k" "$pt" "$hit" "$CTL" -c "$CONF" backup \
		    --output-dir "$BK"
		check "$pt:$k: the killed copy is a temporary" sh -c \
		    "ls -A '$BK' | grep -q '^\.partial-db_'"
		check "$pt:$k: earlier backups untouched" sh -c \
		    "cd '$BK' && sha256sum --quiet -c '$TRASH/bk.sums'"
		check "$pt:$k: no partial copy under a backup's name" \
		    backups_sound
		"$CTL" -c "$CONF" backup --output-dir "$BK" \
		    >>"$TRASH/run.out" 2>>"$TRASH/run.err"
		rc=$?
		expect_eq "$pt:$k: the next backup" "$rc" 0
		[ "$rc" = 0 ] || tail -n 5 "$TRASH/run.err" >&2
		check "$pt:$k: every backup sound after it" backups_sound
		check "$pt:$k: nothing left of the killed copy" sh -c \
		    "! ls -A '$BK' | grep -v '^db_[0-9]*_[0-9]*\.sqlite3\$' |
		    grep -v '^\.backup\.lock\$'"
		k=$((k + 1))
	done
done

echo "# $crashes crashes, $(wc -l <"$TRASH/manifest" | tr -d ' ') files," \
    "$(($(date +%s) - T0)) s"
fault_verify crash_points "$crashes" "$(echo $DAEMON_POINTS $CLOSE_POINTS \
    $BACKUP_POINTS | wc -w) points, k<=$KMAX"
finish

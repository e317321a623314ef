#!/bin/sh
# concurrency.sh - fault suite scenario 11 (issue 6): what runs beside a
# busy spoold.
#  1. A second spoold (-f, and --once) refuses to start while the first
#     runs: exit 1, "another spoold is using this spool"; the first goes
#     on undisturbed.
#  2. spoolctl backup while spoold processes a stream of files (a quarter
#     in): exit 0, the copy passes integrity_check and holds receipts, no
#     more than the journal.
#  3. spoolctl close-day during the same stream (a third in): it waits
#     while spoold's queue of signed receipts drains (it refuses only
#     when the queue stops moving), then closes the day: exactly one CloseDay at the
#     simulator, the day closed there and in the journal with the same
#     receipts; files dropped while the close is in progress are held
#     (spoold logs "is being closed") and numbered in the next day.
#  4. Two spoolctl close-day at once: one refuses ("another spoolctl
#     close-day is running", exit 1) and one closes (exit 0); exactly one
#     CloseDay at the simulator.
# Then faultlib's closing check over every file (fault_verify).
# Sizes: reduced 90 files fed over 6 s (60 under ASan); full 2,000
# files over 130 s.
. tests/fault/faultlib

# About 15 files a second: busy, yet with moments when every receipt is
# submitted (close-day refuses while spoold still has some to submit).
NFILES=$(fault_size 90 2000)
FEED_S=$(fault_size 6 130)
[ "$FAULT_ASAN" = 1 ] && [ "$FAULT_FULL" != 1 ] && NFILES=60
SEED=${SPOOLD_CONC_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9)}
echo "# seed $SEED, $NFILES files"
export SPOOLCTL_POLL_MS=100

SPID=
FEED_PID=
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$FEED_PID" ] && kill "$FEED_PID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	[ -n "${SPOOLD_KEEP_LOGS:-}" ] && cp -r "$TRASH/logs" "$SPOOLD_KEEP_LOGS"
	rm -rf "$TRASH"
}
# A CloseDay rule that never fires: its "seen" counts CloseDay requests.
fault_setup 6262 --fault 'CloseDay:1000000000=500' ||
    { fail "set-up"; finish; exit 1; }
trap cleanup EXIT
T0=$(date +%s)
LOG=$TRASH/logs/fdms.log

sim_get() { curl -sf --cacert "$SIM_CA" "$SIM_URL/_sim/$1"; }
sim_set() {
	curl -sf --cacert "$SIM_CA" -X POST -d "$1" "$SIM_URL/_sim/settings" \
	    >/dev/null
}
closeday_requests() {
	sim_get fault | python3 -c 'import json, sys
print(json.load(sys.stdin)["rules"][0]["seen"])'
}
sim_day() {
	sim_get "state/$DEV" | python3 -c 'import json, sys
s = json.load(sys.stdin)
print(s["fiscalDayNo"], s["fiscalDayStatus"])'
}
# Receipts of day N at the simulator (its ledger) and in the journal.
sim_day_receipts() {
	sim_get "ledger/$DEV" | python3 -c 'import json, sys
print(sum(1 for r in json.load(sys.stdin)["receipts"] if r["fiscalDayNo"] == int(sys.argv[1])))' "$1"
}
journal_day_receipts() {
	sqlite3 "$DB" "SELECT count(*) FROM receipts WHERE device_id = $DEV
	    AND day_no = $1"
}
journal_day() {
	sqlite3 "$DB" "SELECT day_no || ' ' || status FROM fiscal_days
	    WHERE device_id = $DEV ORDER BY day_no DESC LIMIT 1"
}
ndone() { ls "$S/done" 2>/dev/null | grep -vc '\.result\.'; }
# wait_for SECONDS COMMAND...: poll (every 50 ms) until COMMAND succeeds.
wait_for() {
	n=$(($1 * 20))
	shift
	while ! "$@"; do
		n=$((n - 1))
		[ "$n" -gt 0 ] || return 1
		sleep 0.05
	done
}
locked_by() { grep -qx "$1" "$TRASH/spool/.spoold.lock" 2>/dev/null; }

# ---- 1. a second spoold -------------------------------------------------
"$D" -c "$CONF" -f -v >"$TRASH/d.out" 2>"$TRASH/d.err" &
SPID=$!
check "the first spoold holds the spool lock" wait_for 20 locked_by "$SPID"
for mode in -f --once; do
	"$D" -c "$CONF" $mode >"$TRASH/d2.out" 2>"$TRASH/d2.err"
	expect_eq "a second spoold $mode: exit status" "$?" 1
	check "a second spoold $mode: says why" grep -q \
	    'another spoold is using this spool' "$TRASH/d2.err"
done
check "the first spoold still runs" kill -0 "$SPID"
check "... and still holds the lock" locked_by "$SPID"

# ---- 2. the stream; a backup while busy --------------------------------
fault_gen "$NFILES" "$SEED" C
fault_feed "$FEED_S"
# A quarter of the stream in: a backup.
quarter=$((NFILES / 4))
quarter_done() { [ "$(ndone)" -ge "$quarter" ]; }
check "a quarter of the stream processed" wait_for 60 quarter_done
check "spoold still busy for the backup" sh -c "! grep -q '^fed' '$TRASH/fed'"
"$CTL" -c "$CONF" backup --output-dir "$TRASH/bk" >"$TRASH/bk.out" \
    2>"$TRASH/bk.err"
rc=$?
expect_eq "backup while spoold is busy" "$rc" 0
[ "$rc" = 0 ] || cat "$TRASH/bk.err" >&2
copy=$(ls "$TRASH"/bk/db_*.sqlite3 2>/dev/null | head -n 1)
check "the backup exists" test -f "$copy"
expect_eq "the backup passes integrity_check" \
    "$(sqlite3 -readonly "$copy" 'PRAGMA integrity_check' 2>&1)" ok
inbk=$(sqlite3 -readonly "$copy" 'SELECT count(*) FROM receipts' 2>&1)
check "the backup holds receipts ($inbk), no more than the journal" sh -c \
    "[ '$inbk' -gt 0 ] && [ '$inbk' -le \
    \$(sqlite3 '$DB' 'SELECT count(*) FROM receipts') ]"

# ---- 3. close-day during the stream ------------------------------------
# A third of the stream in, close the day: the simulator takes 1 s to
# close it, so files keep arriving while it is close_requested.
third=$((NFILES / 3))
enough_done() { [ "$(ndone)" -ge "$third" ]; }
check "a third of the stream processed" wait_for 60 enough_done
sim_set '{"closeDelayS": 1}'
before=$(closeday_requests)
# close-day waits while spoold's queue drains (no retry loop needed).
"$CTL" -c "$CONF" close-day >"$TRASH/cd.out" 2>"$TRASH/cd.err"
rc=$?
echo "# close-day during the stream: exit $rc"
expect_eq "close-day during the stream" "$rc" 0
[ "$rc" = 0 ] || cat "$TRASH/cd.err" >&2
expect_eq "day 1 closed in the journal" "$(sqlite3 "$DB" "SELECT status \
    FROM fiscal_days WHERE device_id = $DEV AND day_no = 1")" closed
expect_eq "one CloseDay for day 1" "$(($(closeday_requests) - before))" 1
sim_set '{"closeDelayS": 0}'

# The rest of the stream: every file processed and submitted.
wait "$FEED_PID"
FEED_PID=
check "all files fed" grep -q "^fed $NFILES\$" "$TRASH/fed"
ngood=$(grep -c ' good$' "$TRASH/manifest")
submitted_all() {
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM receipts WHERE device_id = \
	    $DEV AND fdms_receipt_id IS NOT NULL")" = "$ngood" ]
}
check "spoold took every file of the stream" wait_for 120 submitted_all
held=$(sed -n 's/.*\] \(.*\): deferred: fiscal day 1 is being closed$/\1/p' \
    "$LOG" | head -n 1)
check "files were held while day 1 was closing" test -n "$held"
expect_eq "the held file $held is numbered in day 2" "$(sqlite3 "$DB" \
    "SELECT day_no FROM receipts WHERE source_name = '$held'")" 2
expect_eq "day 1: the simulator's receipts = the journal's" \
    "$(sim_day_receipts 1)" "$(journal_day_receipts 1)"
d2=$(journal_day_receipts 2)
check "the files after the close are numbered in day 2 ($d2)" \
    test "$d2" -gt 0
expect_eq "day 1 + day 2 = every good file" \
    "$(($(journal_day_receipts 1) + d2))" "$ngood"

# ---- 4. two close-day at once ------------------------------------------
sim_set '{"closeDelayS": 1}'
before=$(closeday_requests)
"$CTL" -c "$CONF" close-day >"$TRASH/c1.out" 2>"$TRASH/c1.err" &
P1=$!
"$CTL" -c "$CONF" close-day >"$TRASH/c2.out" 2>"$TRASH/c2.err" &
P2=$!
wait "$P1"; r1=$?
wait "$P2"; r2=$?
sim_set '{"closeDelayS": 0}'
expect_eq "two close-day at once: exit statuses (sorted)" \
    "$(printf '%s\n' "$r1" "$r2" | sort | tr '\n' ' ')" "0 1 "
check "the refused one says why" grep -q \
    'another spoolctl close-day is running' "$TRASH/c1.err" "$TRASH/c2.err"
expect_eq "two close-day at once: one CloseDay" \
    "$(($(closeday_requests) - before))" 1
expect_eq "day 2 closed in the journal" "$(journal_day)" "2 closed"
expect_eq "day 2 closed at the simulator" "$(sim_day)" "2 FiscalDayClosed"

# ---- the end --------------------------------------------------------------
kill -TERM "$SPID"
wait "$SPID"; rc=$?
SPID=
expect_eq "spoold stops on SIGTERM" "$rc" 0
if fault_drain 2; then ok; else fail "spoold --once at the end"; fi
# The refused starts log theirs; nothing else may be CRITICAL.
expect_eq "each refused start logged" \
    "$(grep -c 'CRITICAL start: another spoold is using this spool' "$LOG")" 2
check "no other CRITICAL in the log" sh -c "! grep CRITICAL '$LOG' |
    grep -vq 'another spoold is using this spool'"
echo "# $(($(date +%s) - T0)) s"
fault_verify concurrency 4 "close-day x3 (1 during a stream), backup"
finish

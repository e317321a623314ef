#!/bin/sh
# clock.sh - fault suite scenario 12 (issue 6): the wall clock jumps
# forward and back under the running daemon, across local midnight and
# past the fiscal day's maximum length (taxPayerDayMaxHrs).
#
# Only spoold (and the spoolctl close-day run in the same fake time) runs
# under libfaketime; the simulator keeps the real clock (fault_setup gives
# it --future-skew-s 86400, and no jump here goes further than that).  The
# offset lives in a file (FAKETIME_TIMESTAMP_FILE, FAKETIME_NO_CACHE=1),
# so it changes while spoold runs; the monotonic clock is left alone
# (FAKETIME_DONT_FAKE_MONOTONIC=1), as on a real machine whose time is
# set.  The device's GetConfig says taxPayerDayMaxHrs = 4
# (PUT /_sim/config/{id}, then spoolctl config).  Steps, a batch of files
# each:
#   1. 23:58:30 local time (Africa/Harare, the default zone): the day opens;
#   2. +90 s: past midnight;
#   3. -30 min: back to before the day's opening;
#   4. +4 h 10 min after the opening: the day is at its maximum: the files
#      are deferred (in work/ or the inbox), not rejected;
#   5. spoolctl close-day, then they go on (a new day is opened).
# Asserted: receipt dates in the journal strictly increasing with the
# global number, none before its day's opening, none past the opening plus
# the maximum hours; the deferral logged; nothing in error/ but the bad
# receipts; fault_verify.
. tests/fault/faultlib

FT=""
for f in /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 \
    /usr/lib/faketime/libfaketime.so.1; do
	[ -f "$f" ] && FT=$f && break
done
if [ -z "$FT" ]; then
	echo "# libfaketime is not installed: scenario skipped"
	echo "# passed 0 failed 0"
	exit 0
fi
t0=$(date +%s)
fault_setup 66 || { fail "set-up"; finish; exit 1; }
# A daemon left running by a failed step goes with the test.
trap 'kill ${DPID:-} 2>/dev/null; kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null; rm -rf "$TRASH"' EXIT
B=$(fault_size 6 60)		# files per step
fault_gen $((B * 5)) 12 T

# taxPayerDayMaxHrs 4 at the simulator, then in the journal.
curl -s --cacert "$SIM_CA" -X PUT -H 'Content-Type: application/json' \
    -d '{"taxPayerDayMaxHrs": 4, "taxpayerDayEndNotificationHrs": 1}' \
    "$SIM_URL/_sim/config/$DEV" >"$TRASH/put.out" 2>&1 ||
    fail "PUT /_sim/config"
"$CTL" -c "$CONF" config >"$TRASH/config.out" 2>&1 ||
    { cat "$TRASH/config.out" >&2; fail "spoolctl config"; }

# The offset (seconds) that makes the local time 23:58:30 today.
OFF0=$(python3 -c '
import datetime, zoneinfo
z = zoneinfo.ZoneInfo("Africa/Harare")
now = datetime.datetime.now(z)
t = now.replace(hour=23, minute=58, second=30, microsecond=0)
print(int((t - now).total_seconds()))')
CLOCK=$TRASH/faketime
setclock() { echo "+$(($1))" >"$CLOCK.new" && mv "$CLOCK.new" "$CLOCK"; }
setclock "$OFF0"

PRE=$FT
if [ "$FAULT_ASAN" = 1 ]; then
	PRE="$(ldd "$D" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p') $FT"
fi
faked() {
	env LD_PRELOAD="$PRE" FAKETIME_TIMESTAMP_FILE="$CLOCK" \
	    FAKETIME_NO_CACHE=1 FAKETIME_DONT_FAKE_MONOTONIC=1 \
	    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0" \
	    "$@"
}

nfiles() {
	ls -A "$1" 2>/dev/null | grep -v '^\.' |
	    grep -Evc '\.(result\.json|result\.xml|error\.json)$'
}
filed() { echo $(( $(nfiles "$S/done") + $(nfiles "$S/error") )); }
wait_until() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
started() { grep -qs 'spoold started' "$ERR"; }
alive() {
	st=$(sed 's/.*) //' "/proc/$DPID/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}
dropped=0
drop() {
	ls "$TRASH/src" | head -n "$1" | while read -r f; do
		mv "$TRASH/src/$f" "$S/inbox/$f"
	done
	dropped=$((dropped + $1))
}
through() {
	[ "$(filed)" -ge "$dropped" ] && fault_empty "$S/work" &&
	    fault_empty "$S/inbox"
}
submitted() {
	[ "$(sqlite3 "$DB" "SELECT count(*) FROM receipts WHERE state NOT IN
	    ('submitted', 'flagged')")" = 0 ]
}
maxed() { grep -qs 'has reached its maximum' "$ERR"; }

ERR=$TRASH/d.err
# env execs spoold: $! is spoold itself (a shell function would not be).
env LD_PRELOAD="$PRE" FAKETIME_TIMESTAMP_FILE="$CLOCK" FAKETIME_NO_CACHE=1 \
    FAKETIME_DONT_FAKE_MONOTONIC=1 \
    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0" \
    "$D" -c "$CONF" -f >/dev/null 2>"$ERR" &
DPID=$!
check "spoold starts under faketime" wait_until 300 started
# date(1) is no ASan program: libfaketime alone (libasan would hang it).
echo "# fake local time at the start: $(TZ=Africa/Harare LD_PRELOAD="$FT" \
    FAKETIME_TIMESTAMP_FILE="$CLOCK" date +%H:%M:%S)"

drop "$B"
check "1. 23:58: filed" wait_until 200 through
setclock $((OFF0 + 90))
drop "$B"
check "2. past midnight: filed" wait_until 200 through
setclock $((OFF0 - 1800))
drop "$B"
check "3. back 30 min, before the opening: filed" wait_until 200 through
check "1-3 submitted" wait_until 300 submitted
setclock $((OFF0 + 4 * 3600 + 600))
before=$(filed)
drop "$B"
check "4. past the maximum: the deferral is logged" wait_until 100 maxed
sleep 1.5	# a rescan and a retry: still nothing may move
expect_eq "4. past the maximum: nothing filed" "$(filed)" "$before"
check "4. the files wait in work/ or the inbox" \
    [ $(( $(nfiles "$S/work") + $(nfiles "$S/inbox") )) -eq "$B" ]
check "4. spoold still running" alive
faked "$CTL" -c "$CONF" close-day >"$TRASH/close.out" 2>&1
rc=$?
expect_eq "5. close-day (under the same fake clock)" "$rc" 0
[ "$rc" = 0 ] || tail -n 5 "$TRASH/close.out" >&2
check "5. after close-day the deferred files go on" wait_until 300 through
setclock $((OFF0 + 4 * 3600 + 1200))
drop "$B"
check "5. and new ones, in the new day" wait_until 200 through
check "all submitted" wait_until 300 submitted
kill -TERM "$DPID"
wait "$DPID"
expect_eq "SIGTERM: exit status" "$?" 0
if grep -Eq 'Sanitizer|runtime error' "$ERR"; then
	fail "sanitizer report"
	grep -E -A5 'Sanitizer|runtime error' "$ERR" | head -n 20 >&2
fi

# The journal's dates: strictly increasing, inside their days.
python3 - "$DB" "$DEV" >"$TRASH/dates.out" 2>&1 <<'PY'
import sqlite3, sys, datetime
db = sqlite3.connect(sys.argv[1])
dev = int(sys.argv[2])
days = {d: o for d, o in db.execute(
    "SELECT day_no, opened FROM fiscal_days WHERE device_id = ?", (dev,))}
rows = db.execute("SELECT global_no, day_no, receipt_date FROM receipts "
                  "WHERE device_id = ? ORDER BY global_no", (dev,)).fetchall()
p = lambda s: datetime.datetime.strptime(s, "%Y-%m-%dT%H:%M:%S")
bad, prev = 0, None
for g, d, t in rows:
    if prev is not None and p(t) <= p(prev):
        print("BAD receipt %d dated %s, not after %s" % (g, t, prev)); bad += 1
    if p(t) < p(days[d]):
        print("BAD receipt %d dated %s, before day %d opened %s" % (g, t, d, days[d])); bad += 1
    if p(t) > p(days[d]) + datetime.timedelta(hours=4):
        print("BAD receipt %d dated %s, past day %d's 4 hours" % (g, t, d)); bad += 1
    prev = t
print("receipts %d days %d first %s last %s" % (len(rows), len(days),
      rows[0][2] if rows else "-", rows[-1][2] if rows else "-"))
for d in sorted(days):
    print("day %d opened %s" % (d, days[d]))
sys.exit(1 if bad else 0)
PY
rc=$?
sed 's/^/# /' "$TRASH/dates.out"
expect_eq "dates strictly increasing, inside their days" "$rc" 0
ndays=$(grep -c '^day ' "$TRASH/dates.out")
check "a second day was opened after close-day" [ "$ndays" -ge 2 ]
check "drained" fault_drain 10
echo "# $dropped files, 4 clock jumps, $ndays days, $(( $(date +%s) - t0 )) s"
fault_verify clock 5 "jumps +90s -30m +4h10m; max 4h deferred; $ndays days"
finish

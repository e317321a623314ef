#!/bin/sh
# outage.sh - a long FDMS outage with a deep queue (issue 6, scenario 5:
# "a 72-hour outage simulated with 100,000 queued receipts").
#
# FDMS is down (the simulator stopped: every call fails to connect) while
# spoold fiscalises N receipts: they are signed, journaled and filed in
# done/ as "signed", none submitted.  What is checked:
#  - memory stays bounded: the queue lives in the journal, not in memory
#    (outbox.c invariant 5).  The queue grows in two batches, N1 then
#    N2 = 4 x N1 receipts, each dropped into the inbox at once; after each
#    batch spoold runs again with an empty inbox and the whole queue in
#    the journal: the peak RSS (VmHWM) of that run with five times the
#    queue may exceed the first by at most RSS_SLACK_KB.  The signing
#    runs (a whole batch waiting in the inbox) cost memory for the names
#    in the intake table, which is bounded by INTAKE_MAX_ENTRIES (the full
#    run measured 24 MB with 20,000 files and 35 MB with 80,000 waiting);
#    every figure must stay below RSS_MAX_KB;
#  - the backoff is capped: the gaps between spoold's failed attempts in
#    the log never exceed the exponential schedule (1 s doubling per
#    failure, full jitter) capped at FDMS_BACKOFF_CAP_MS (300 s) plus the
#    connect time.  Wall time is irrelevant: 72 hours down or 20 seconds
#    is the same journal and the same capped schedule (the cap itself is
#    reached only after 9 failures, ~10 minutes; test_fdms_codec checks
#    fdms_backoff_ms at and beyond it);
#  - FDMS comes back (same port, same state): everything is submitted
#    once, in order (fault_verify).
. tests/fault/faultlib
export SPOOLD_FDMS_TIMEOUT_MS=2000
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
N1=${OUTAGE_N1:-$(fault_size 40 20000)}
N2=$((N1 * 4))
RSS_SLACK_KB=${RSS_SLACK_KB:-4096}
RSS_MAX_KB=${RSS_MAX_KB:-65536}
# FDMS takes one receipt per second per device (receiptDate strictly
# increasing, in seconds), so N receipts signed in a burst are dated N
# seconds ahead: 100,000 span 28 hours, more than a 24-hour fiscal day
# (spoold would rightly stop signing until close-day, which needs FDMS).
# The taxpayer here has a 48-hour day and the simulator tolerates dates
# up to 60 hours ahead; the scenario is about the queue, not the day.
echo '{"taxPayerDayMaxHrs": 48}' >"$TRASH/sim-config.json"
SIMOPTS="--close-delay-s 0 --future-skew-s 216000 --config $TRASH/sim-config.json"
fault_setup 502 $SIMOPTS || { fail "set-up"; finish; exit 1; }
trap cleanup EXIT
t0=$(date +%s)

# Move every generated file into the inbox (one process, not one mv each).
drop_all() {
	python3 - "$TRASH/src" "$S/inbox" <<'PY'
import os, sys
for n in sorted(os.listdir(sys.argv[1])):
    os.rename(os.path.join(sys.argv[1], n), os.path.join(sys.argv[2], n))
PY
}
# filed: files in done/ (receipts and their results) and error/.
filed() {
	python3 - "$S" <<'PY'
import os, sys
n = 0
for d in ("done", "error"):
    p = os.path.join(sys.argv[1], d)
    if os.path.isdir(p):
        n += sum(1 for f in os.listdir(p) if ".result." not in f
                 and not f.endswith(".error.json") and not f.startswith("."))
print(n)
PY
}
# outbox_fails: the outbox's failed calls logged so far (Ping aside).
outbox_fails() {
	cat "$TRASH"/logs/fdms.log* 2>/dev/null | grep "Couldn't connect" |
	    grep -vc ' ping: '
}
# hwm_of PID: its peak RSS (VmHWM) in kB.
hwm_of() {
	sed -n 's/^VmHWM:[ 	]*\([0-9]*\) kB/\1/p' "/proc/$1/status"
}
stop_spoold() {
	kill "$SPID"
	wait "$SPID"
	echo "spoold exit $?" >>"$TRASH/spoold.out"
	SPID=
}
# run_outage COUNT SEED PREFIX: COUNT more receipts dropped at once and
# fiscalised with FDMS down; then spoold again with an empty inbox and
# the whole queue in the journal, until its outbox has failed twice more.
# Prints the two peak RSS figures in kB: "SIGNING QUEUE".
run_outage() {
	fault_gen "$1" "$2" "$3"
	want=$(wc -l <"$TRASH/manifest" | tr -d ' ')
	drop_all
	"$D" -c "$CONF" -f >>"$TRASH/spoold.out" 2>&1 &
	SPID=$!
	n=$(( (want / 50) + 60 ))	# seconds: 50 files a second at least
	while [ "$(filed)" != "$want" ]; do
		n=$((n - 1))
		if [ "$n" -le 0 ] || ! kill -0 "$SPID" 2>/dev/null; then
			echo "filed $(filed) of $want" >&2
			break
		fi
		sleep 1
	done
	hs=$(hwm_of "$SPID")
	stop_spoold
	f0=$(outbox_fails)
	"$D" -c "$CONF" -f >>"$TRASH/spoold.out" 2>&1 &
	SPID=$!
	n=100
	while [ "$(outbox_fails)" -lt $((f0 + 2)) ] && [ $n -gt 0 ]; do
		n=$((n - 1))
		sleep 0.2
	done
	hq=$(hwm_of "$SPID")
	stop_spoold
	echo "${hs:-0} ${hq:-0}"
}

# FDMS down: the simulator stopped; its port refuses connections.
kill "$SIM_PID"
wait "$SIM_PID" 2>/dev/null
set -- $(run_outage "$N1" 61 P)
hs1=$1 hq1=$2
q1=$(wc -l <"$TRASH/manifest" | tr -d ' ')
set -- $(run_outage "$N2" 62 Q)
hs2=$1 hq2=$2
q2=$(wc -l <"$TRASH/manifest" | tr -d ' ')
expect_eq "outage: every file filed" "$(filed)" "$q2"
nsub=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT count(*) FROM receipts WHERE state IN (%s)"
                 % "\"submitted\", \"flagged\"").fetchone()[0])' "$DB")
expect_eq "outage: nothing submitted while FDMS is down" "$nsub" 0
echo "# peak RSS, queue only: $hq1 kB with $q1 queued, $hq2 kB with $q2 queued" >&2
echo "# peak RSS, signing a batch dropped at once: $hs1 kB ($N1 files), $hs2 kB ($N2 files)" >&2
if [ "$FAULT_ASAN" = 1 ]; then
	# ASan's quarantine (256 MB) and shadow memory swamp the figure.
	check "outage: peak RSS measured (ASan: not bounded here)" \
	    test "$hq1" -gt 0 -a "$hq2" -gt 0 -a "$hs1" -gt 0 -a "$hs2" -gt 0
else
	# The queue lives in the journal: five times the queue, the same
	# memory (SQLite's page cache is capped; one receipt is loaded).
	check "outage: peak RSS with the queue bounded ($hq1 kB -> $hq2 kB)" \
	    test "$hq1" -gt 0 -a "$hq2" -le $((hq1 + RSS_SLACK_KB)) \
	    -a "$hq2" -le "$RSS_MAX_KB"
	# A backlog in the inbox costs its names, up to the intake table's
	# bound (INTAKE_MAX_ENTRIES names): bounded, not constant.
	check "outage: peak RSS while signing bounded ($hs1 kB, $hs2 kB)" \
	    test "$hs1" -gt 0 -a "$hs2" -gt 0 -a "$hs1" -le "$RSS_MAX_KB" \
	    -a "$hs2" -le "$RSS_MAX_KB"
fi

# The gaps between failed attempts, from the log: each at most the
# capped exponential ceiling for its position in the run, plus slack for
# the connect attempt and the loop.
check "outage: backoff follows the capped schedule" python3 - \
    "$TRASH/logs" "$SPOOLD_FDMS_TIMEOUT_MS" <<'PY'
import os, re, sys, datetime
logs, timeout_ms = sys.argv[1], int(sys.argv[2])
CAP_MS, BASE_MS = 300000, 1000
lines = []
# fdms.log and its rotations (fdms.log.N, higher N older), oldest first
def age(f):
    return -int(f.rsplit(".", 1)[1]) if f != "fdms.log" else 0
for f in sorted((f for f in os.listdir(logs) if re.fullmatch(r"fdms\.log(\.\d+)?", f)),
                key=age):
    lines += open(os.path.join(logs, f), errors="replace").read().splitlines()
runs, cur = [], None
for l in lines:
    if "spoold started" in l:
        cur = []
        runs.append(cur)
    m = re.match(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?)", l)
    # the outbox's calls (GetConfig, OpenDay, receipts); Ping has its own
    # period
    if m and cur is not None and "Couldn't connect" in l and " ping: " not in l:
        cur.append(datetime.datetime.fromisoformat(m.group(1)))
fails, worst = 0, 0.0
for r in runs:
    for k in range(1, len(r)):
        gap = (r[k] - r[k - 1]).total_seconds() * 1000
        ceiling = min(BASE_MS * 2 ** (k - 1), CAP_MS) + timeout_ms + 1500
        worst = max(worst, gap)
        if gap > ceiling:
            print("gap %d ms after failure %d > %d ms" % (gap, k, ceiling))
            fails += 1
n = sum(len(r) for r in runs)
print("%d failed attempts logged over %d runs, longest gap %d ms" % (n, len(runs), worst))
sys.exit(1 if fails or n < 2 else 0)
PY

# FDMS is back on the same port with the same state.
check "outage: simulator back on the same port" fault_sim_restart $SIMOPTS
good=$(grep -c ' good$' "$TRASH/manifest")
t1=$(date +%s)
check "outage: the queue drains with --once" fault_drain 3
check "outage: FDMS holds every good receipt" fault_wait_sim_last "$good" 10
t2=$(date +%s)
fault_verify outage 2 "queue $q1/$q2: peak RSS queue $hq1/$hq2 kB, signing $hs1/$hs2 kB; drain $((t2 - t1)) s, total $((t2 - t0)) s"
finish

#!/bin/sh
# fdms_faults.sh - FDMS misbehaving while spoold processes a stream of
# files (issue 6, scenario 5; anchors B.12).
#
# Phase 1, at most once on the wire: the first OpenDay is committed and
# its answer lost (spoold settles it with GetStatus); every 3rd
# SubmitReceipt is read by the simulator and its connection closed without
# an answer (drop).  On a kept-alive connection libcurl would silently
# send the request again on a new one, a submission nobody journaled;
# spoold uses a fresh connection for every state-changing call, so the
# simulator sees exactly as many SubmitReceipt requests as the journal
# counts attempts (fdms_http.c), and more attempts than receipts.
#
# Phase 2: a stream of files fed at a steady pace while the simulator
# times out (hang beyond SPOOLD_FDMS_TIMEOUT_MS), drops and resets
# connections, answers 500/503/429 storms (with Retry-After), answers
# late, commits and then drops the reply, and is killed (-9) and started
# again on the same port with the same state (one more lost answer after
# it).  Then the faults clear, spoold catches up by itself, is stopped,
# and `spoold --once` finds nothing left.
#
# Closing check (fault_verify): every file in done/ or error/ once, the
# simulator's ledger = the journal, in order, nothing duplicated.
. tests/fault/faultlib
export SPOOLD_FDMS_TIMEOUT_MS=1000
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "${FEED_PID:-}" ] && kill "$FEED_PID" 2>/dev/null
	[ -n "${SIM_PID:-}" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}

N=$(fault_size 24 400)
FEED_S=$(fault_size 3 30)
# A rule that never fires counts every SubmitReceipt the simulator sees.
COUNT_RULE='SubmitReceipt:1000000000=500'
fault_setup 501 --fault "$COUNT_RULE" --fault 'SubmitReceipt:%3=drop' \
    --fault 'OpenDay:1=commit-drop' || {
	fail "set-up"; finish; exit 1; }
trap cleanup EXIT

# sim_seen RULE: how many requests the rule has counted.
sim_seen() {
	fault_sim GET /_sim/fault | python3 -c '
import json, sys
print(sum(r["seen"] for r in json.load(sys.stdin)["rules"]
          if r["spec"] == sys.argv[1]))' "$1"
}
# attempts: the journal's total of SubmitReceipt attempts.
attempts() {
	python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(db.execute("SELECT coalesce(sum(attempts), 0) FROM receipts").fetchone()[0])
' "$DB"
}
good_files() { grep -c ' good$' "$TRASH/manifest"; }
# stop_spoold: SIGTERM, wait (bounded) for the exit.
stop_spoold() {
	kill "$SPID" 2>/dev/null
	n=0
	while kill -0 "$SPID" 2>/dev/null && [ $n -lt 300 ]; do
		n=$((n + 1))
		sleep 0.1
	done
	wait "$SPID" 2>/dev/null
	SPID=
}

t0=$(date +%s)
# ---- phase 1: drops on what would be a kept-alive connection ----
fault_gen 6 51 A
fault_drop_all
"$D" -c "$CONF" -f >"$TRASH/spoold1.out" 2>&1 &
SPID=$!
check "phase 1: all good receipts reach FDMS" \
    fault_wait_sim_last "$(good_files)" 30
stop_spoold
seen1=$(sim_seen "$COUNT_RULE")
att1=$(attempts)
expect_eq "phase 1: SubmitReceipt requests at FDMS = journaled attempts" \
    "$seen1" "$att1"
check "phase 1: some attempts were dropped and resent" \
    test "$att1" -gt "$(good_files)"

# ---- phase 2: a stream under faults, a simulator crash ----
fault_sim DELETE /_sim/fault >/dev/null
RULES_A="$COUNT_RULE
SubmitReceipt:2=hang/2500
SubmitReceipt:4=drop
SubmitReceipt:6=reset
SubmitReceipt:8-9=503/1
SubmitReceipt:11-12=500"
# after the simulator's restart (counted from its start)
RULES_B="SubmitReceipt:2-3=429/1
SubmitReceipt:5=commit-drop
SubmitReceipt:7=delay/300
SubmitReceipt:9=commit-drop"
fault_sim POST /_sim/fault "$RULES_A" >/dev/null || fail "adding fault rules"
fault_gen $((N / 2)) 52 B
fault_feed "$FEED_S"
"$D" -c "$CONF" -f >"$TRASH/spoold2.out" 2>&1 &
SPID=$!

# all_fired: every rule but the counter fired as often as it covers.
all_fired() {
	fault_sim GET /_sim/fault | python3 -c '
import json, sys, re
ok = True
for r in json.load(sys.stdin)["rules"]:
    m = re.match(r"SubmitReceipt:(\d+)(?:-(\d+))?=", r["spec"])
    if r["spec"].startswith("SubmitReceipt:1000000000"):
        continue
    lo, hi = int(m.group(1)), int(m.group(2) or m.group(1))
    ok = ok and r["fired"] == hi - lo + 1
sys.exit(0 if ok else 1)'
}
# wait_fired SECONDS
wait_fired() {
	n=$(($1 * 5))
	while ! all_fired 2>/dev/null; do
		n=$((n - 1))
		[ $n -le 0 ] && return 1
		sleep 0.2
	done
}
check "phase 2: timeouts, drops, resets, 503 and 500 storms fired" \
    wait_fired 60
# The simulator dies (-9) in the middle of the stream and comes back on
# the same port with the same state; the stream's second half follows
# while it answers 429 storms, loses answers and answers late.
rargs=
for r in $RULES_B; do rargs="$rargs --fault $r"; done
check "phase 2: simulator restarted on the same port" fault_sim_restart -9 \
    --close-delay-s 0 --future-skew-s 86400 $rargs
# wait_fed: the feeder is through.
wait_fed() {
	n=0
	while ! grep -q '^fed ' "$TRASH/fed" 2>/dev/null && [ $n -lt 600 ]; do
		n=$((n + 1))
		sleep 0.1
	done
	wait "$FEED_PID" 2>/dev/null
	FEED_PID=
	grep -q '^fed ' "$TRASH/fed"
}
check "phase 2: first half fed" wait_fed
fault_gen $((N - N / 2)) 53 C
fault_feed "$FEED_S"
check "phase 2: 429 storm, lost answers, late answers fired" wait_fired 60
nrules=$(( $(echo "$RULES_A" | wc -l) - 1 + $(echo "$RULES_B" | wc -l) ))
check "phase 2: second half fed" wait_fed
# Faults clear; spoold catches up by itself within its backoff.
check "phase 2: all good receipts reach FDMS after the faults" \
    fault_wait_sim_last "$(good_files)" 60
stop_spoold
check "phase 2: nothing left for --once" fault_drain 3
nfaults=$(cat "$TRASH"/logs/fdms.log* 2>/dev/null | grep -c ' retry: ')
fault_verify fdms_faults 1 "$((nrules + 2)) fault rules, 1 simulator kill, $nfaults retries logged, $(( $(date +%s) - t0 )) s"
finish

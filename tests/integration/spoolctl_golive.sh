#!/bin/sh
# spoolctl_golive.sh - spoolctl pre-golive (interface.md §8) against the
# simulator: on a device that is not ready each unmet item is named
# (FAIL line) and the exit is 1; on a prepared device (registered,
# configuration fetched, receipts accepted) it closes the open day at FDMS,
# audits the journal and exits 0; a missing done/ file fails the audit
# item; FDMS down fails the reachability item.
. tests/integration/testlib
spoold_env
start_sim || { fail "simulator"; finish; exit 1; }
cd "$TRASH" || exit 1
export SPOOLCTL_POLL_MS=100

cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool

[device shop]
device_id = 4242
serial_no = SN-4242
activation_key = TESTKEY1
CONF
S=$TRASH/spool/shop

# golive ARGS...: run it, keep stdout in out, exit status in rc.
golive() { $CTL -c spoold.conf pre-golive "$@" >out 2>err; rc=$?; }
# line STATUS ITEM: out has that item with that status.
line() { grep -q "^$1  $2" out; }
fails() { grep -c '^FAIL' out; }

# Nothing done yet: not registered, no configuration, no day, no receipts.
golive
expect_eq "unregistered: exit" "$rc" 1
check "unregistered: registration item fails" line FAIL "device registered"
check "unregistered: configuration item fails" line FAIL "configuration fetched"
check "unregistered: day item fails" line FAIL "fiscal day closed"
check "unregistered: receipts item fails" line FAIL "receipts accepted"
check "unregistered: summary" grep -q '^pre-golive: FAIL' out

$CTL -c spoold.conf register >reg.out 2>&1
expect_eq "register" "$?" 0
$CTL -c spoold.conf open-day >od.out 2>&1
expect_eq "open-day" "$?" 0

# Registered with an open day but no receipt, --skip-close: only the day
# (no day ever closed) and the receipts items fail.
golive --skip-close
expect_eq "no receipts: exit" "$rc" 1
check "no receipts: registration passes" line PASS "device registered"
check "no receipts: FDMS reachable" line PASS "FDMS reachable"
check "no receipts: configuration passes" line PASS "configuration fetched"
check "no receipts: --skip-close and no closed day" line FAIL "fiscal day closed"
check "no receipts: receipts item fails" line FAIL "receipts accepted"
check "no receipts: audit passes" line PASS "journal audit"
expect_eq "no receipts: two failures" "$(fails)" 2
check "no receipts: the day is still open" sh -c \
    "$CTL -c spoold.conf status --json | grep -q FiscalDayOpened || \
     $CTL -c spoold.conf status --json | grep -q '\"open\"'"

mkdir -p "$S/inbox"
for f in 001-invoice-usd.json 002-invoice-zwg.xml 003-invoice-discount.json; do
	cp "$TOP/examples/$f" "$S/inbox/.$f" && mv "$S/inbox/.$f" "$S/inbox/$f"
done
"$D" -c spoold.conf --once >once.out 2>&1
expect_eq "spoold --once" "$?" 0

# More receipts asked for than were issued: that item alone fails (the
# day is not closed because of --skip-close... which fails too).
golive --skip-close --min-receipts 4

expect_eq "min-receipts 4: exit" "$rc" 1
check "min-receipts 4: receipts item fails" line FAIL "receipts accepted by FDMS: 3 accepted"

# Prepared: the checklist closes the day at FDMS and passes.
golive --min-receipts 3
expect_eq "prepared: exit" "$rc" 0
check "prepared: day closed by FDMS" line PASS "fiscal day closed at FDMS: day 1 closed"
check "prepared: receipts" line PASS "receipts accepted by FDMS: 3 accepted"
check "prepared: audit" line PASS "journal audit: 3 receipts"
check "prepared: summary" grep -q '^pre-golive: PASS (all 6 items)' out
check "prepared: FDMS has the day closed" python3 - "$SIM_URL" "$SIM_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
st = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/state/4242", context=ctx))
s = json.dumps(st)
assert "FiscalDayClosed" in s and '"receiptCount": 3' in s.replace("receipts", "receiptCount"), s[:600]
PY

# Again: nothing to close, still passes.
golive --min-receipts 3
expect_eq "re-run: exit" "$rc" 0

# A journaled receipt whose file left done/: the audit item fails alone.
mv "$S/done/002-invoice-zwg.xml" "$TRASH/moved.xml"
golive --min-receipts 3
expect_eq "missing done/ file: exit" "$rc" 1
check "missing done/ file: audit fails" line FAIL "journal audit"
expect_eq "missing done/ file: one failure" "$(fails)" 1
mv "$TRASH/moved.xml" "$S/done/002-invoice-zwg.xml"

# A new day open with --skip-close: the earlier closed day counts.
$CTL -c spoold.conf open-day >od2.out 2>&1
expect_eq "open-day 2" "$?" 0
golive --skip-close --min-receipts 3
expect_eq "skip-close with an earlier closed day: exit" "$rc" 0
check "skip-close: names the earlier day" line PASS "fiscal day closed at FDMS: day 2 is open (--skip-close); day 1 was closed"

# FDMS down: the reachability item fails (and the close cannot happen).
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null
SPOOLD_FDMS_TIMEOUT_MS=2000 golive --skip-close --min-receipts 3
expect_eq "FDMS down: exit" "$rc" 1
check "FDMS down: reachability fails" line FAIL "FDMS reachable"
expect_eq "FDMS down: only that item" "$(fails)" 1

expect_eq "usage: bad --min-receipts" "$($CTL -c spoold.conf pre-golive --min-receipts x >/dev/null 2>&1; echo $?)" 2
finish

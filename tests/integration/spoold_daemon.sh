#!/bin/sh
# spoold_daemon.sh - the real bin/spoold against the FDMS simulator in a
# trash directory (interface.md §1, §3; issue 4): receipts dropped as JSON
# and XML are fiscalised into done/ and their results become "submitted";
# a bad file goes to error/ and the daemon keeps running; a second spoold
# refuses to start; SIGHUP with a broken configuration keeps the old one;
# SIGTERM exits 0; READY=1, WATCHDOG=1 and STOPPING=1 reach $NOTIFY_SOCKET
# (a path or an abstract name); --once exits 0 when everything is at FDMS
# and 75 when FDMS is unreachable, and a later run submits what was left;
# without -f spoold detaches and the parent exits once it is ready; a Red
# receipt stops the device across runs and resync until the block is
# lifted.  FDMS's ledger holds every receipt once, in order.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000
SPID=
NPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$NPID" ] && kill "$NPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
start_sim --close-delay-s 0 || { fail "simulator"; finish; exit 1; }
trap cleanup EXIT
cd "$TRASH" || exit 1

# wait_for TRIES COMMAND...: poll every 0.1 s until the command succeeds.
wait_for() {
	n=$1
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -le 0 ] && return 1
		sleep 0.1
	done
}

write_conf() {	# URL
	cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $1
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
rescan_interval = 1
settle_ms = 200

[device till1]
device_id = 4711
serial_no = SN-4711
activation_key = TESTKEY1
CONF
}
write_conf "$SIM_URL"
S=$TRASH/spool/till1
$CTL -c spoold.conf register >out 2>err
expect_eq "register" "$?" 0

# drop NAME SOURCE [INVOICE]: the POS protocol, a temporary name then a
# rename; the corpus samples share invoice numbers, so INVOICE replaces it.
drop() {
	sed -e "s/INV-000101/${3:-INV-000101}/" -e "s/INV-X1/${3:-INV-X1}/" \
	    "$2" >"$S/inbox/.$1.tmp" && mv "$S/inbox/.$1.tmp" "$S/inbox/$1"
}
status_of() {	# result file -> its status
	python3 -c '
import json, re, sys
t = open(sys.argv[1]).read()
if sys.argv[1].endswith(".xml"):
    print(re.search(r"<status>([a-z]+)</status>", t).group(1))
else:
    print(json.load(open(sys.argv[1]))["status"])' "$1" 2>/dev/null
}
is_status() { [ "$(status_of "$1")" = "$2" ]; }

# systemd notify sockets to listen on: a path, as systemd gives it, and
# an abstract name ("@..." in NOTIFY_SOCKET).
ABSTRACT="spoold-test-$$"
python3 -c '
import socket, sys, threading
def serve(addr, log):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    s.bind(addr)
    open(log + ".up", "w").close()
    with open(log, "a") as f:
        while True:
            f.write(s.recv(4096).decode() + "\n")
            f.flush()
threading.Thread(target=serve, args=("\0" + sys.argv[3], sys.argv[4]),
    daemon=True).start()
serve(sys.argv[1], sys.argv[2])' "$TRASH/notify.sock" "$TRASH/notify.log" \
    "$ABSTRACT" "$TRASH/notify-abstract.log" &
NPID=$!
wait_for 50 test -S "$TRASH/notify.sock" || fail "notify listener"
wait_for 50 test -f "$TRASH/notify-abstract.log.up" || fail "abstract listener"

# ---- the daemon, in the foreground as under systemd ----
mkdir -p "$S/inbox"
NOTIFY_SOCKET=$TRASH/notify.sock WATCHDOG_USEC=400000 \
    "$D" -c spoold.conf -f >d.out 2>d.err &
SPID=$!
check "READY=1 sent" wait_for 100 grep -q '^READY=1' notify.log
check "WATCHDOG=1 sent" wait_for 50 grep -q '^WATCHDOG=1' notify.log
drop sale-1.json "$TOP/tests/corpus/good/basic-numbers.json" INV-D1
drop sale-2.xml "$TOP/tests/corpus/good/basic.xml" INV-D2
drop broken.json "$TOP/tests/corpus/bad/bad-enum.json"
check "JSON result submitted" wait_for 150 is_status "$S/done/sale-1.json.result.json" submitted
check "XML result submitted" wait_for 150 is_status "$S/done/sale-2.xml.result.xml" submitted
check "bad file in error/" wait_for 50 test -f "$S/error/broken.json.error.json"
check "bad file moved" test -f "$S/error/broken.json"
check "daemon still running" kill -0 "$SPID"
check "fdms block in the result" grep -q '"receiptID"' "$S/done/sale-1.json.result.json"

# A second spoold on the same spool and journal refuses to start.
"$D" -c spoold.conf --once -f >out 2>err; rc=$?
expect_eq "second spoold refused" "$rc" 1
check "says why" grep -q 'refusing to start' err

# SIGHUP with a broken configuration: logged, the old one kept.
cp spoold.conf good.conf
echo "rescan_interval = soon" >>spoold.conf
kill -HUP "$SPID"
check "reload refused in the log" wait_for 50 grep -q 'keeping the running one' logs/fdms.log
check "alive after a bad SIGHUP" kill -0 "$SPID"
drop sale-3.json "$TOP/tests/corpus/good/wrapper.json" INV-D3
check "still working after a bad SIGHUP" wait_for 150 is_status "$S/done/sale-3.json.result.json" submitted
cp good.conf spoold.conf
kill -HUP "$SPID"
check "good SIGHUP applied" wait_for 50 grep -q 'configuration reloaded' logs/fdms.log

# SIGTERM: exit 0, STOPPING=1.
kill -TERM "$SPID"
wait "$SPID"; rc=$?
SPID=
expect_eq "SIGTERM exit status" "$rc" 0
check "STOPPING=1 sent" grep -q '^STOPPING=1' notify.log
check "inbox empty" test -z "$(ls -A "$S/inbox")"
check "work/ empty" test -z "$(ls -A "$S/work")"

# ---- --once ----
drop sale-4.json "$TOP/tests/corpus/good/basic-strings.json" INV-D4
NOTIFY_SOCKET="@$ABSTRACT" "$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once with FDMS up" "$rc" 0
check "READY=1 to an abstract socket" wait_for 20 grep -q '^READY=1' notify-abstract.log
check "--once: result submitted" is_status "$S/done/sale-4.json.result.json" submitted

# FDMS unreachable: signed, journaled, filed; exit 75.
kill "$SIM_PID"; wait "$SIM_PID" 2>/dev/null; SIM_PID=
cat >"$TRASH/sale5.json" <<'JSON'
{"receiptType":"FiscalInvoice","receiptCurrency":"USD","invoiceNo":"INV-D5",
 "receiptLinesTaxInclusive":true,"receiptLines":[{"receiptLineType":"Sale",
 "receiptLineHSCode":"12345678","receiptLineName":"Bread",
 "receiptLinePrice":5.00,"receiptLineQuantity":1,"receiptLineTotal":5.00,
 "taxID":1}],"receiptPayments":[{"moneyTypeCode":"Cash","paymentAmount":5.00}],
 "receiptTotal":5.00}
JSON
drop sale-5.json "$TRASH/sale5.json"
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once with FDMS down" "$rc" 75
check "--once: signed while FDMS is down" is_status "$S/done/sale-5.json.result.json" signed

# FDMS back (same state, a new port): the next run submits what was left.
start_sim --close-delay-s 0 || fail "simulator restart"
trap cleanup EXIT
write_conf "$SIM_URL"
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once after FDMS is back" "$rc" 0
check "left-over receipt submitted" is_status "$S/done/sale-5.json.result.json" submitted

# ---- detached (no -f, no systemd): the parent exits 0 once ready ----
"$D" -c spoold.conf >out 2>err; rc=$?
expect_eq "detached start" "$rc" 0
pid=$(tr -dc 0-9 <"$TRASH/spool/.spoold.lock")
check "detached daemon running" kill -0 "$pid"
drop sale-6.json "$TOP/tests/corpus/good/basic-numbers.json" INV-D6
check "detached daemon submits" wait_for 150 is_status "$S/done/sale-6.json.result.json" submitted
kill -TERM "$pid"
check "detached daemon stops" wait_for 50 sh -c "! kill -0 $pid"

# FDMS holds each receipt once, numbered 1..n in order.
check "ledger: each receipt once, in order" python3 - "$SIM_URL" "$SIM_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/ledger/4711", context=ctx))
nos = [x["receiptGlobalNo"] for x in r["receipts"]]
assert nos == list(range(1, 7)), nos
PY
# FDMS flags a receipt Red (its tax table lost 517, ours did not): the
# device stops, signs nothing more, and neither a restart nor resync
# resumes it; an admin lifting the block does.
check "FDMS tax table changed" python3 - "$SIM_URL" "$SIM_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
body = json.dumps({"applicableTaxes": [{"taxID": 1, "taxName": "Exempt",
    "validFrom": "2023-01-01"}]}).encode()
rq = urllib.request.Request(sys.argv[1] + "/_sim/config/4711", data=body,
    method="PUT", headers={"Content-Type": "application/json"})
urllib.request.urlopen(rq, context=ctx).read()
PY
drop sale-7.json "$TOP/tests/corpus/good/basic-numbers.json" INV-D7
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: a flagged receipt is answered" "$rc" 0
check "flagged result" is_status "$S/done/sale-7.json.result.json" flagged
check "RCPT025 in the result" grep -q RCPT025 "$S/done/sale-7.json.result.json"
check "stop logged" grep -q 'STOPPED: FDMS flagged receipt 7 Red' logs/fdms_error.log
drop sale-8.xml "$TOP/tests/corpus/good/basic.xml" INV-D8
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: a stopped device leaves work" "$rc" 75
check "not signed while stopped" test ! -e "$S/done/sale-8.xml"
$CTL -c spoold.conf status --json >st.json
check "status shows the block" python3 -c '
import json; d = json.load(open("st.json"))["devices"][0]
assert d["signingBlocked"] is True, d'
$CTL -c spoold.conf resync >out 2>err; rc=$?
expect_eq "resync: needs an admin" "$rc" 1
check "resync keeps the block" grep -q 'BLOCKED by spoold' out
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: still stopped after resync" "$rc" 75
# The admin's act: spoolctl unblock (resync does not lift this stop).
$CTL -c spoold.conf unblock >out 2>err; rc=$?
expect_eq "unblock" "$rc" 0
check "unblock says what it lifted" grep -q 'stop lifted' out
$CTL -c spoold.conf unblock >out 2>err; rc=$?
expect_eq "unblock with nothing to lift" "$rc" 1
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once after the block is lifted" "$rc" 0
check "deferred file fiscalised and submitted" \
    is_status "$S/done/sale-8.xml.result.xml" submitted

check "no CRITICAL but the refusal" sh -c \
    "! grep CRITICAL logs/fdms.log | grep -qv 'refusing to start'"
finish

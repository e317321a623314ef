#!/bin/sh
# spoolctl_close.sh - spoolctl close-day and export against the FDMS
# simulator (interface.md §1, fdms-reference §2.8, §2.11, §4.3; issue 5):
#  - a day of invoices, credit and debit notes in USD and ZWG closes with
#    FiscalDayClosed; the counters and the signature sent equal an
#    independent computation (tests/fdms-sim/testkit.py) from FDMS's ledger,
#    and the simulator accepted them (it validates both);
#  - re-running after success is safe (exit 0, nothing sent);
#  - refusals: receipts not yet submitted, running totals that disagree
#    with the receipts (both values named), a receipt FDMS flagged Red,
#    a second close-day holding the lock; a day FDMS closed manually (the
#    portal, after the Red receipt) is recorded as closed;
#  - forced CountersMismatch and BadCertificateSignature: exit 1, the code
#    and advice printed, the day close_failed; a later run closes;
#  - an empty day closes (counters [], receiptCounter 0);
#  - kill -9 while FDMS processes the close, then a re-run: one close seen
#    by FDMS; a CloseDay lost before FDMS (drop): exit 75, the re-run
#    resends the same request; an answer lost after FDMS took it
#    (commit-drop): settled with GetStatus; --no-wait;
#  - close-day while spoold runs: a file dropped during the close is held
#    and numbered in the next day;
#  - an Offline device: close-day files the day with SubmitFile, FDMS
#    closes it, its receipts no longer count as pending;
#  - export: jsonl lines reproduce the journal's hashes through spoolctl
#    inspect; fdms-file is what close-day sent (footer = CloseDay request;
#    Offline: the exact document FDMS received).
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000 SPOOLCTL_POLL_MS=100
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	[ -n "$LPID" ] && kill "$LPID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
start_sim --close-delay-s 0 || { fail "simulator"; finish; exit 1; }
trap cleanup EXIT
cd "$TRASH" || exit 1

cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
rescan_interval = 1
settle_ms = 100

[device shop]
device_id = 3131
serial_no = SN-3131
activation_key = TESTKEY1

[device red]
device_id = 4242
serial_no = SN-4242
activation_key = TESTKEY1

[device live]
device_id = 5151
serial_no = SN-5151
activation_key = TESTKEY1

[device paper]
device_id = 6161
serial_no = SN-6161
activation_key = TESTKEY1
CONF

# h.py: the simulator's /_sim endpoints and read-only journal queries.
cat >h.py <<'PY'
import json, sqlite3, ssl, sys, urllib.request
url, ca = sys.argv[1], sys.argv[2]
def sim(method, path, body=None):
    ctx = ssl.create_default_context(cafile=ca)
    rq = urllib.request.Request(url + "/_sim/" + path, method=method,
        data=body.encode() if body is not None else None)
    return urllib.request.urlopen(rq, context=ctx).read().decode()
def db(sql, *args):
    c = sqlite3.connect("file:db.sqlite3?mode=ro", uri=True)
    return c.execute(sql, args).fetchall()
cmd = sys.argv[3]
if cmd == "sim":
    out = sim(sys.argv[4], sys.argv[5], sys.argv[6] if len(sys.argv) > 6 else None)
    print(out)
elif cmd == "day":      # device [field]: the latest day's status (or field)
    f = sys.argv[5] if len(sys.argv) > 5 else "status"
    r = db("select %s from fiscal_days where device_id=? order by day_no desc limit 1" % f,
           int(sys.argv[4]))
    print(r[0][0] if r and r[0][0] is not None else "")
elif cmd == "simday":   # device: FDMS's day status
    print(json.loads(sim("GET", "state/" + sys.argv[4]))["fiscalDayStatus"])
elif cmd == "closes":   # how often the counting rule saw CloseDay
    print([r["seen"] for r in json.loads(sim("GET", "fault"))["rules"]
           if r["spec"].startswith("CloseDay@3131:1000")][0])
PY
H="python3 h.py $SIM_URL $SIM_CA"
sim() { $H sim "$@" >/dev/null; }
C="$CTL -c spoold.conf"
wait_for() {	# TRIES COMMAND...: every 0.1 s until it succeeds
	n=$1
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -le 0 ] && return 1
		sleep 0.1
	done
}
day_is() { [ "$($H day "$1")" = "$2" ]; }
simday_is() { [ "$($H simday "$1")" = "$2" ]; }
# drop DEVICE EXAMPLE TAG: the POS protocol (a dotfile, then a rename) for
# examples/EXAMPLE as inbox/TAG-EXAMPLE; invoice numbers (and the notes'
# references to them) get -TAG: they are unique per taxpayer.
drop() {
	d=$TRASH/spool/$1/inbox
	mkdir -p "$d"
	sed -e "s/DEMO-\([A-Z]*\)-\([0-9]*\)/DEMO-\1-\2-$3/g" \
	    "$TOP/examples/$2" >"$d/.$3-$2" && mv "$d/.$3-$2" "$d/$3-$2"
}
status_of() {	# RESULT-FILE: its "status"
	python3 -c 'import json, sys; print(json.load(open(sys.argv[1]))["status"])' \
	    "$1" 2>/dev/null
}
is_status() { [ "$(status_of "$1")" = "$2" ]; }
once() { "$D" -c spoold.conf --once >once.out 2>once.err; }

for dev in shop red live paper; do
	[ $dev = paper ] && sim POST devices '[{"deviceID": 6161, "operatingMode": "Offline"}]'
	$C --device $dev register >out 2>err || fail "register $dev"
done
S=$TRASH/spool/shop

# ---- no day yet -----------------------------------------------------------
$C --device shop close-day >out 2>err; rc=$?
expect_eq "no day open: refused" "$rc" 1
check "no day: says so" grep -q 'no fiscal day is open' err

# ---- day 1: USD and ZWG invoices, a credit note, a debit note -------------
drop shop 001-invoice-usd.json s1
drop shop 002-invoice-zwg.xml s1
drop shop 003-invoice-discount.json s1
once; expect_eq "spoold --once: invoices" "$?" 0
drop shop 004-credit-note.json s1
drop shop 005-debit-note.xml s1
once; expect_eq "spoold --once: credit and debit notes" "$?" 0

# The journal's running totals tampered with: refused, both values named.
python3 -c "
import sqlite3; c = sqlite3.connect('db.sqlite3')
c.execute(\"update day_counters set value = value + 1 where device_id = 3131 and counter_type = 'SaleByTax' and currency = 'ZWG'\")
c.commit()"
$C --device shop close-day >out 2>err; rc=$?
expect_eq "counters disagree: refused" "$rc" 1
check "counters disagree: both values named" grep -q \
    'SaleByTax ZWG tax 517 (15.50): the journal.s running total is 115.51, recomputed from the day.s receipts it is 115.50' err
check "refusal journals nothing" day_is 3131 open
python3 -c "
import sqlite3; c = sqlite3.connect('db.sqlite3')
c.execute(\"update day_counters set value = value - 1 where device_id = 3131 and counter_type = 'SaleByTax' and currency = 'ZWG'\")
c.commit()"

# A second close-day while one holds the lock: refused at once.
mkfifo lockfifo
python3 -c '
import fcntl, sys
f = open(sys.argv[1], "a")
fcntl.flock(f, fcntl.LOCK_EX)
print("locked", flush=True)
sys.stdin.read()' spool/.close-day-3131.lock <lockfifo >lock.out &
LPID=$!
exec 7>lockfifo
wait_for 50 grep -q locked lock.out || fail "lock holder"
$C --device shop close-day >out 2>err; rc=$?
expect_eq "second close-day refused" "$rc" 1
check "second close-day: says why" grep -q 'another spoolctl close-day is running' err
exec 7>&-
wait "$LPID"
LPID=

$C --device shop close-day >out 2>err; rc=$?
expect_eq "day 1 closes" "$rc" 0
check "FiscalDayClosed" grep -q 'fiscal day 1 closed at FDMS (FiscalDayClosed' out
check "journal: closed" day_is 3131 closed
check "journal: FDMS's answer and day signature" python3 -c '
import json, sqlite3
c = sqlite3.connect("db.sqlite3")
a, closed = c.execute("select fdms_answer, closed from fiscal_days where device_id=3131 and day_no=1").fetchone()
a = json.loads(a)
assert a["fiscalDayStatus"] == "FiscalDayClosed" and a["fiscalDayClosed"] == closed, a
assert len(a["fiscalDayServerSignature"]["hash"]) == 44, a'
check "FDMS: closed" simday_is 3131 FiscalDayClosed
check "outcome logged" grep -q '\[shop\] close-day: fiscal day 1 closed at FDMS' logs/fdms.log
$C --device shop cert >cert.pem
# Independently of the C code: counters and signature string from FDMS's
# ledger with testkit.py; the JSON array in the request, byte for byte.
check "counters and signature = independent computation" python3 - \
    "$TOP/tests/fdms-sim" "$SIM_URL" "$SIM_CA" <<'PY'
import json, sqlite3, ssl, sys, urllib.request, base64
sys.path.insert(0, sys.argv[1])
import testkit as tk
from cryptography import x509
ctx = ssl.create_default_context(cafile=sys.argv[3])
led = json.loads(urllib.request.urlopen(sys.argv[2] + "/_sim/ledger/3131", context=ctx).read())
rcs = [tk.loads(x["requestBody"])["receipt"] for x in led["receipts"] if x["fiscalDayNo"] == 1]
assert len(rcs) == 5 and {r["receiptCurrency"] for r in rcs} == {"USD", "ZWG"}
assert {r["receiptType"] for r in rcs} == {"FiscalInvoice", "CreditNote", "DebitNote"}
cs = tk.day_counters(rcs)
c = sqlite3.connect("db.sqlite3")
req, h, sig, opened = c.execute("select close_request, close_hash, close_signature, "
    "opened from fiscal_days where device_id=3131 and day_no=1").fetchone()
want = tk.dumps(tk.counters_json(cs))
assert '"fiscalDayCounters":' + want + "," in req, (want, req)
text = tk.day_string(3131, 1, opened[:10], cs)
assert h == tk.sha_b64(text), (text, h)
pub = x509.load_pem_x509_certificate(open("cert.pem", "rb").read()).public_key()
assert tk.verify(pub, base64.b64decode(sig), text)
assert json.loads(req)["receiptCounter"] == 5
PY
$C --device shop close-day >out 2>err; rc=$?
expect_eq "re-run after success: exit 0" "$rc" 0
check "re-run: already closed" grep -q 'already closed' out

# ---- export ---------------------------------------------------------------
$C --device shop export --day 1 >day1.jsonl; rc=$?
expect_eq "export jsonl" "$rc" 0
expect_eq "export jsonl: one line per receipt" "$(wc -l <day1.jsonl | tr -d ' ')" 5
check "export jsonl: inspect reproduces every journaled hash" python3 - \
    "$CTL" <<'PY'
import json, sqlite3, subprocess, sys
c = sqlite3.connect("db.sqlite3")
hashes = [r[0] for r in c.execute("select hash from receipts where device_id=3131 "
    "and day_no=1 order by counter")]
lines = open("day1.jsonl").read().splitlines()
assert len(lines) == len(hashes)
for i, line in enumerate(lines):
    open("line.json", "w").write(line)
    o = json.loads(subprocess.run([sys.argv[1], "inspect", "line.json", "--json"],
        capture_output=True, text=True).stdout)
    assert o["hash"] == hashes[i], (i, o["hash"], hashes[i])
    assert ("previousReceiptHash" in json.loads(line)) == (i > 0)
PY
$C --device shop export --day 1 --format fdms-file >day1.json; rc=$?
expect_eq "export fdms-file" "$rc" 0
check "export fdms-file: the footer is the CloseDay request sent" python3 -c '
import json, sqlite3
d = json.load(open("day1.json"))
req = json.loads(sqlite3.connect("db.sqlite3").execute(
    "select close_request from fiscal_days where device_id=3131 and day_no=1").fetchone()[0])
f = d["footer"]
for k in ("fiscalDayCounters", "fiscalDayDeviceSignature", "receiptCounter"):
    assert f[k] == req[k], k
assert d["header"] == {"deviceID": 3131, "fiscalDayNo": 1,
    "fiscalDayOpened": d["header"]["fiscalDayOpened"], "fileSequence": 1}
assert len(d["content"]["receipts"]) == 5 and f["fiscalDayClosed"]'
$C --device shop export --day 9 >out 2>err; rc=$?
expect_eq "export of a day that does not exist" "$rc" 1
$C --device shop export --format pdf >out 2>err; rc=$?
expect_eq "export: bad format is a usage error" "$rc" 2

# ---- day 2: unsubmitted receipts, then forced close failures --------------
sim POST fault 'SubmitReceipt@3131:*=503'
drop shop 001-invoice-usd.json d2
once; expect_eq "spoold --once with FDMS refusing: 75" "$?" 75
$C --device shop close-day >out 2>err; rc=$?
expect_eq "unsubmitted receipts: refused" "$rc" 1
check "unsubmitted: says how many" grep -q 'spoold has not submitted 1 receipts yet' err
check "unsubmitted: refusal logged" grep -q 'close-day: fiscal day 2: refused' logs/fdms.log
sim DELETE fault
once; expect_eq "spoold --once: submitted now" "$?" 0
sim POST fault 'CloseDay@3131:1=close-fail/CountersMismatch; CloseDay@3131:2=close-fail/BadCertificateSignature'
$C --device shop close-day >out 2>err; rc=$?
expect_eq "forced CountersMismatch: exit 1" "$rc" 1
check "CountersMismatch named with advice" sh -c \
    "grep -q 'did not close fiscal day 2: CountersMismatch' err && grep -q 'what to do: FDMS.s counters' err"
check "journal: close_failed, error code" sh -c \
    "[ \"\$($H day 3131)\" = close_failed ] && [ \"\$($H day 3131 error_code)\" = CountersMismatch ]"
$C --device shop close-day >out 2>err; rc=$?
expect_eq "forced BadCertificateSignature: exit 1" "$rc" 1
check "BadCertificateSignature named" grep -q 'BadCertificateSignature' err
check "a fresh request after a failure" grep -q 'the last close failed (CountersMismatch); building a fresh request' out
$C --device shop close-day >out 2>err; rc=$?
expect_eq "day 2 closes on the third run" "$rc" 0
check "journal: day 2 closed, no stale error code" sh -c \
    "[ \"\$($H day 3131)\" = closed ] && [ -z \"\$($H day 3131 error_code)\" ]"
check "failure logged as an error" grep -q 'close-day: fiscal day 2: close failed at FDMS: CountersMismatch' logs/fdms_error.log
sim DELETE fault

# ---- day 3: empty ---------------------------------------------------------
$C --device shop open-day >out 2>err || fail "open-day 3"
$C --device shop close-day >out 2>err; rc=$?
expect_eq "empty day closes" "$rc" 0
check "empty day: counters [] and receiptCounter 0" python3 -c '
import json, sqlite3
r = json.loads(sqlite3.connect("db.sqlite3").execute(
    "select close_request from fiscal_days where device_id=3131 and day_no=3").fetchone()[0])
assert r["fiscalDayCounters"] == [] and r["receiptCounter"] == 0 and r["fiscalDayNo"] == 3, r'

# ---- day 4: kill -9 while FDMS works on the close -------------------------
sim POST fault 'CloseDay@3131:1000=500'		# counts CloseDay, never fires
sim POST settings '{"closeDelayS": 3}'
drop shop 003-invoice-discount.json d4
once; expect_eq "spoold --once: day 4" "$?" 0
$C --device shop close-day >kill.out 2>kill.err &
cpid=$!
check "CloseDay accepted and journaled" wait_for 100 sh -c \
    "[ -n \"\$($H day 3131 close_operation_id)\" ]"
kill -9 $cpid
wait $cpid 2>/dev/null
check "kill -9 landed while FDMS works on it" simday_is 3131 FiscalDayCloseInitiated
check "journal: close_requested after kill -9" day_is 3131 close_requested
$C --device shop close-day >out 2>err; rc=$?
expect_eq "re-run after kill -9 closes" "$rc" 0
check "re-run follows the close in progress" grep -q 'FDMS is processing the close requested earlier' out
expect_eq "FDMS saw one close" "$($H closes)" 1
sim POST settings '{"closeDelayS": 0}'

# ---- day 5: CloseDay lost before FDMS: 75, then the same bytes again -----
# (hang, not drop: libcurl repeats a request by itself, once, when a
# reused keep-alive connection closes before any answer; a timeout it
# does not repeat.)
drop shop 001-invoice-usd.json d5
once; expect_eq "spoold --once: day 5" "$?" 0
sim POST fault 'CloseDay@3131:1=hang/4500'
$C --device shop close-day >out 2>err; rc=$?
expect_eq "CloseDay lost: exit 75" "$rc" 75
check "lost CloseDay: stays close_requested" day_is 3131 close_requested
req5=$($H day 3131 close_request)
$C --device shop close-day >out 2>err; rc=$?
expect_eq "re-run resends and closes" "$rc" 0
check "resent unchanged" grep -q 'never reached FDMS; sending it again, unchanged' out
expect_eq "the journaled request did not change" "$($H day 3131 close_request)" "$req5"
expect_eq "FDMS saw two CloseDay (the lost one and the resend)" "$($H closes)" 3

# ---- day 6: answer lost after FDMS took it; then --no-wait (day 7) --------
drop shop 003-invoice-discount.json d6
once; expect_eq "spoold --once: day 6" "$?" 0
sim POST fault 'CloseDay@3131:1=commit-drop'
$C --device shop close-day >out 2>err; rc=$?
expect_eq "answer lost after commit: settled with GetStatus" "$rc" 0
check "day 6 closed at FDMS and in the journal" sh -c \
    "[ \"\$($H day 3131)\" = closed ] && [ \"\$($H simday 3131)\" = FiscalDayClosed ]"
# One CloseDay of ours; libcurl may have repeated it on a fresh connection
# (FDMS then answers FISC04, which GetStatus settles).
n6=$($H closes)
check "day 6: no second close of our own" test "$n6" -ge 4 -a "$n6" -le 5
drop shop 001-invoice-usd.json d7
once; expect_eq "spoold --once: day 7" "$?" 0
sim POST settings '{"closeDelayS": 1}'
$C --device shop close-day --no-wait >out 2>err; rc=$?
expect_eq "--no-wait: exit 0" "$rc" 0
check "--no-wait: in progress, how to check" grep -q 'FDMS is processing it.*run `spoolctl close-day` again' out
check "--no-wait: close_requested" day_is 3131 close_requested
$C --device shop close-day --timeout 30 >out 2>err; rc=$?
expect_eq "after --no-wait: the follow-up closes" "$rc" 0
expect_eq "one CloseDay for day 7" "$($H closes)" $((n6 + 1))
sim POST settings '{"closeDelayS": 0}'
sim DELETE fault

# ---- a Red receipt --------------------------------------------------------
sim PUT config/4242 '{"applicableTaxes": [{"taxID": 1, "taxName": "Exempt", "validFrom": "2023-01-01"}, {"taxID": 2, "taxPercent": 0, "taxName": "Zero", "validFrom": "2023-01-01"}]}'
drop red 001-invoice-usd.json r1
once
check "Red receipt flagged" grep -q 'FDMS flagged receipt' logs/fdms_error.log
$C --device red close-day >out 2>err; rc=$?
expect_eq "Red receipt: refused" "$rc" 1
check "Red receipt: named" grep -q 'FDMS flagged receipt 1 (receiptCounter 1) Red RCPT025' err
check "Red receipt: day stays open" day_is 4242 open
# Only ZIMRA or the taxpayer portal can close it; close-day then records it.
sim POST manual-close/4242
$C --device red close-day >out 2>err; rc=$?
expect_eq "closed by the portal: recorded" "$rc" 0
check "closed by the portal: said so" sh -c \
    "grep -q 'already closed at FDMS; recording' out && grep -q 'reconciliation Manual' out"
check "closed by the portal: journal closed" day_is 4242 closed

# ---- close-day while spoold runs ------------------------------------------
"$D" -c spoold.conf -f >d.out 2>d.err &
SPID=$!
L=$TRASH/spool/live
drop live 001-invoice-usd.json l1
check "live: first receipt submitted" wait_for 150 is_status \
    "$L/done/l1-001-invoice-usd.json.result.json" submitted
sim POST settings '{"closeDelayS": 2}'
$C --device live close-day >live.out 2>live.err &
cpid=$!
check "live: close requested" wait_for 100 day_is 5151 close_requested
drop live 003-invoice-discount.json l2
wait $cpid; rc=$?
expect_eq "live: close-day with spoold running" "$rc" 0
check "live: the file dropped during the close is fiscalised" wait_for 150 \
    test -f "$L/done/l2-003-invoice-discount.json.result.json"
check "live: numbered in the next day" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert (r["fiscalDayNo"], r["receiptCounter"]) == (2, 1), r' \
    "$L/done/l2-003-invoice-discount.json.result.json"
check "live: day 1 kept its one receipt" python3 -c '
import sqlite3
c = sqlite3.connect("file:db.sqlite3?mode=ro", uri=True)
assert c.execute("select receipt_counter, status from fiscal_days where device_id=5151 and day_no=1").fetchone() == (1, "closed")'
sim POST settings '{"closeDelayS": 0}'
kill -TERM "$SPID"
wait "$SPID"
SPID=

# ---- an Offline device: SubmitFile ----------------------------------------
# open-day opens an Offline device's day locally (FDMS answers GetStatus
# and OpenDay with DEV01 for it; it learns of the day from the file).
$C --device paper open-day >out 2>err; rc=$?
expect_eq "offline: open-day opens the day locally" "$rc" 0
check "offline: open-day said so" grep -qi 'offline' out
drop paper 001-invoice-usd.json p1
drop paper 002-invoice-zwg.xml p1
drop paper 003-invoice-discount.json p1
once; expect_eq "offline: spoold keeps the receipts for the file (75)" "$?" 75
check "offline: nothing sent receipt by receipt" python3 -c '
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
led = json.loads(urllib.request.urlopen(sys.argv[1] + "/_sim/ledger/6161", context=ctx).read())
assert led["receipts"] == [], led' "$SIM_URL" "$SIM_CA"
$C --device paper close-day >out 2>err; rc=$?
expect_eq "offline: close-day by SubmitFile" "$rc" 0
check "offline: file accepted" grep -q 'SubmitFile 1/1 accepted' out
check "offline: closed, receipts marked" grep -q 'closed at FDMS by SubmitFile.*3 receipts marked submitted' out
check "offline: FDMS closed the day" simday_is 6161 FiscalDayClosed
check "offline: FDMS has the three receipts from the file" python3 -c '
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
led = json.loads(urllib.request.urlopen(sys.argv[1] + "/_sim/ledger/6161", context=ctx).read())
assert [(x["receiptGlobalNo"], x["source"], x["validationErrors"]) for x in led["receipts"]] == \
    [(n, "SubmitFile", []) for n in (1, 2, 3)], led' "$SIM_URL" "$SIM_CA"
once; expect_eq "offline: nothing pending after the close" "$?" 0
$C --device paper export --format fdms-file >paper1.json; rc=$?
expect_eq "offline: export fdms-file" "$rc" 0
$H sim GET files/6161 >files.json
check "offline: export = the document FDMS received, byte for byte" python3 -c '
import json
f = json.load(open("files.json"))["files"]
assert len(f) == 1 and f[0]["hasFooter"] and f[0]["status"] == "CompleteSuccessful", f
assert open("paper1.json").read() == f[0]["body"]'
$C --device paper close-day >out 2>err; rc=$?
expect_eq "offline: re-run after success" "$rc" 0

check "no CRITICAL in the logs" sh -c '! grep -q CRITICAL logs/fdms.log'
finish

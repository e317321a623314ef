#!/bin/sh
# spoolctl_audit.sh - spoolctl audit over a journal made by the real
# daemon against the FDMS simulator (interface.md §1, §7; issue 5):
#  - two days (the first closed by spoolctl close-day), JSON and XML
#    receipts, USD and ZWG, invoices, a credit and a debit note: the audit
#    passes (exit 0), in text and in --json (which python's json.tool
#    parses), for all days and for --day 1 / --day 2; a missing day and
#    bad usage fail (1, 2); the journal is only read;
#  - an attacker's edits on a COPY of the database (python3 sqlite3, the
#    triggers dropped as they would be) and on done/, each in its own
#    case: a changed amount, a changed hash, a deleted receipt, two
#    swapped receipts, a receipt re-signed with another key, a missing
#    done/ file, an extra done/ file, a wrong counter in the close
#    request, a bad close signature: exit 1, and the kind named with the
#    first bad record's day, receiptCounter and receiptGlobalNo, the same
#    in text and in JSON.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000 SPOOLCTL_POLL_MS=100
start_sim --close-delay-s 0 || { fail "simulator"; finish; exit 1; }
cd "$TRASH" || exit 1

cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool

[device shop]
device_id = 3131
serial_no = SN-3131
activation_key = TESTKEY1
CONF
S=$TRASH/spool/shop
$CTL -c spoold.conf register >out 2>err
expect_eq "register" "$?" 0
mkdir -p "$S/inbox"
drop() {
	cp "$TOP/examples/$1" "$S/inbox/.$1" && mv "$S/inbox/.$1" "$S/inbox/$1"
}

# Day 1: three invoices (JSON USD, XML ZWG, a discount), closed.
drop 001-invoice-usd.json
drop 002-invoice-zwg.xml
drop 003-invoice-discount.json
"$D" -c spoold.conf --once >out 2>err
expect_eq "--once: day 1" "$?" 0
$CTL -c spoold.conf close-day >close.out 2>close.err
expect_eq "close-day: $(cat close.err)" "$?" 0
# Day 2 (opened by spoold): the credit and the debit note.
drop 004-credit-note.json
drop 005-debit-note.xml
"$D" -c spoold.conf --once >out 2>err
expect_eq "--once: day 2" "$?" 0

# The clean journal passes; nothing in it changes.
before=$(sha256sum <db.sqlite3)
$CTL -c spoold.conf audit >audit.out 2>audit.err
expect_eq "clean audit: $(cat audit.out audit.err)" "$?" 0
check "text summary" grep -q \
    '^device shop (deviceID 3131): 5 receipts in 2 days (1 closed), 10 files in done/: ok$' \
    audit.out
check "PASS line" grep -q '^audit: PASS (5 receipts verified)$' audit.out
$CTL -c spoold.conf audit --json >audit.json 2>audit.err
expect_eq "clean audit --json" "$?" 0
check "--json parses" python3 -m json.tool audit.json >/dev/null
check "--json: pass, 5 receipts" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
d = r["devices"][0]
assert r["result"] == "pass" and r["receipts"] == 5 and r["problems"] == 0, r
assert d["deviceID"] == 3131 and d["days"] == 2 and d["closedDays"] == 1, d
assert d["files"] == 10 and d["findings"] == [], d
assert set(d["counts"]) == {"wire", "hash", "signature", "chain", "counter",
    "global-number", "day-counters", "close-counters", "close-signature",
    "file-missing", "file-extra"}, d
' audit.json
expect_eq "the journal was only read" "$(sha256sum <db.sqlite3)" "$before"
$CTL -c spoold.conf audit --day 1 >out 2>err
expect_eq "--day 1" "$?" 0
check "--day 1: 3 receipts" grep -q ': 3 receipts in 1 day (1 closed)' out
$CTL -c spoold.conf --device shop audit --day 2 --json >out 2>err
expect_eq "--device shop audit --day 2" "$?" 0
check "--day 2 --json: 2 receipts" python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
assert r["fiscalDayNo"] == 2 and r["receipts"] == 2 and r["result"] == "pass", r
' out
$CTL -c spoold.conf audit --day 9 >out 2>err
expect_eq "--day 9 (no such day)" "$?" 1
check "--day 9 says so" grep -q 'no fiscal day 9' out
$CTL -c spoold.conf audit --day x >out 2>err
expect_eq "--day x" "$?" 2
$CTL -c spoold.conf audit --bogus >out 2>err
expect_eq "unknown option" "$?" 2
$CTL -c spoold.conf --device nosuch audit >out 2>err
expect_eq "unknown device" "$?" 2

# tamper.py CASE DB: the attacker's edit on a copy of the journal.
cat >tamper.py <<'PY'
import base64, json, sqlite3, subprocess, sys
case, path = sys.argv[1], sys.argv[2]
db = sqlite3.connect(path)
db.executescript("""
DROP TRIGGER receipts_signed_fixed;
DROP TRIGGER receipts_no_delete;
DROP TRIGGER fiscal_days_closed_final;
PRAGMA ignore_check_constraints = ON;
""")
def one(q, *a):
    return db.execute(q, a).fetchone()
if case == "amount":
    w, = one("SELECT wire_json FROM receipts WHERE global_no = 2")
    r = json.loads(w)
    old = '"receiptTotal":%s' % json.dumps(r["receiptTotal"])
    assert old in w, (old, w)
    db.execute("UPDATE receipts SET wire_json = ? WHERE global_no = 2",
               (w.replace(old, '"receiptTotal":999.99'),))
elif case == "hash":
    db.execute("UPDATE receipts SET hash = ? WHERE global_no = 1",
               (base64.b64encode(b"x" * 32).decode(),))
elif case == "deleted":
    db.execute("DELETE FROM receipts WHERE global_no = 2")
elif case == "swapped":
    db.executescript("""
    UPDATE receipts SET global_no = 1000, counter = 1000 WHERE global_no = 2;
    UPDATE receipts SET global_no = 2, counter = 2 WHERE global_no = 3;
    UPDATE receipts SET global_no = 3, counter = 3 WHERE global_no = 1000;
    """)
elif case == "otherkey":
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import ec
    ctl, conf = sys.argv[3], sys.argv[4]
    w, prev, old = one("SELECT wire_json, prev_hash, signature FROM receipts "
                       "WHERE global_no = 4")
    doc = {"deviceID": 3131, "receipt": json.loads(w)}
    if prev:
        doc["previousReceiptHash"] = prev
    open("r4.json", "w").write(json.dumps(doc))
    out = subprocess.run([ctl, "-c", conf, "inspect", "r4.json", "--json"],
                         capture_output=True, text=True).stdout
    s = json.loads(out)["signatureInput"].encode()
    k = ec.generate_private_key(ec.SECP256R1())
    sig = base64.b64encode(k.sign(s, ec.ECDSA(hashes.SHA256()))).decode()
    db.execute("UPDATE receipts SET signature = ?, wire_json = replace("
               "wire_json, ?, ?) WHERE global_no = 4", (sig, old, sig))
elif case == "closecounter":
    q, = one("SELECT close_request FROM fiscal_days WHERE day_no = 1")
    r = json.loads(q)
    c = r["fiscalDayCounters"][0]
    old = '"fiscalCounterValue":%s' % json.dumps(c["fiscalCounterValue"])
    assert old in q, (old, q)
    db.execute("UPDATE fiscal_days SET close_request = ? WHERE day_no = 1",
               (q.replace(old, '"fiscalCounterValue":12345.67', 1),))
elif case == "closesig":
    q, s = one("SELECT close_request, close_signature FROM fiscal_days "
               "WHERE day_no = 1")
    other, = one("SELECT signature FROM receipts WHERE global_no = 1")
    assert s in q
    db.execute("UPDATE fiscal_days SET close_signature = ?, close_request = ? "
               "WHERE day_no = 1", (other, q.replace(s, other)))
else:
    sys.exit("unknown case " + case)
db.commit()
db.close()
PY

# audit_case NAME: audit the copy made by tamper.py NAME; sets RC and
# leaves NAME.out (text) and NAME.json.
audit_case() {
	rm -f "c-$1.sqlite3"*
	cp db.sqlite3 "c-$1.sqlite3"
	if ! python3 tamper.py "$1" "c-$1.sqlite3" "$CTL" spoold.conf \
	    >"$1.tamper" 2>&1; then
		fail "tampering $1: $(cat "$1.tamper")"
		RC=x
		return
	fi
	DATABASE_URL="$TRASH/c-$1.sqlite3" $CTL -c spoold.conf audit \
	    >"$1.out" 2>"$1.err"
	RC=$?
	DATABASE_URL="$TRASH/c-$1.sqlite3" $CTL -c spoold.conf audit --json \
	    >"$1.json" 2>>"$1.err"
}
# expect_kind NAME KIND DAY COUNTER GLOBAL [COUNT]: the kind's first bad
# record in the JSON report, and the same record in the text report.
expect_kind() {
	if python3 - "$@" <<'PY'
import json, sys
name, kind, day, ctr, glob = sys.argv[1:6]
r = json.load(open(name + ".json"))
d = r["devices"][0]
assert r["result"] == "fail" and d["result"] == "fail", r
f = [x for x in d["findings"] if x["kind"] == kind]
assert f, "no %s finding: %s" % (kind, [x["kind"] for x in d["findings"]])
f = f[0]
if len(sys.argv) > 6:
    assert f["count"] == int(sys.argv[6]), f
first = f["first"]
want = [None if v == "-" else int(v) for v in (day, ctr, glob)]
got = [first["fiscalDayNo"], first["receiptCounter"], first["receiptGlobalNo"]]
assert got == want, (kind, got, want, first)
assert first["deviceID"] == 3131 and first["message"], first
assert d["counts"][kind] == f["count"], d
PY
	then ok; else fail "$1: $2 $3/$4/$5"; fi
	want="day $3"
	[ "$4" != - ] && want="$want, receiptCounter $4"
	[ "$5" != - ] && want="$want, receiptGlobalNo $5"
	want="$want:"
	if grep -q "^  $2  *[0-9][0-9]*  first: $want" "$1.out"; then ok; else
		fail "$1: text has no \"$2 ... $want\": $(cat "$1.out")"
	fi
}
expect_no_kind() {	# NAME KIND
	if python3 -c '
import json, sys
d = json.load(open(sys.argv[1] + ".json"))["devices"][0]
assert d["counts"][sys.argv[2]] == 0, d["findings"]
' "$1" "$2"; then ok; else fail "$1: unexpected $2"; fi
}

audit_case amount
expect_eq "changed amount: exit" "$RC" 1
expect_kind amount hash 1 2 2 1
expect_kind amount signature 1 2 2 1
expect_kind amount wire 1 2 2 1
check "changed amount: expected vs found" grep -q \
    'receiptTotal in the stored wire receipt differs from the journal row (expected [0-9]*\.[0-9][0-9], found 999.99)' \
    amount.out
expect_no_kind amount chain

audit_case hash
expect_eq "changed hash: exit" "$RC" 1
expect_kind hash hash 1 1 1 1
expect_kind hash chain 1 2 2
expect_no_kind hash signature

audit_case deleted
expect_eq "deleted receipt: exit" "$RC" 1
expect_kind deleted counter 1 3 3
expect_kind deleted global-number 1 3 3 1
expect_kind deleted chain 1 3 3
expect_kind deleted close-counters 1 3 -
check "deleted: expected 2, found 3" grep -q \
    'receiptGlobalNo jumps from 1 to 3 (expected 2, found 3)' deleted.out

audit_case swapped
expect_eq "swapped receipts: exit" "$RC" 1
expect_kind swapped chain 1 2 2
expect_kind swapped wire 1 2 2 2
expect_no_kind swapped hash
expect_no_kind swapped signature

audit_case otherkey
expect_eq "another key: exit" "$RC" 1
expect_kind otherkey signature 2 1 4 1
expect_no_kind otherkey hash
expect_no_kind otherkey wire

audit_case closecounter
expect_eq "close request counter: exit" "$RC" 1
expect_kind closecounter close-counters 1 3 -
check "close request counter: value named" grep -q \
    'close-counters .*found SaleByTax .* = 12345.67)' closecounter.out
expect_kind closecounter close-signature 1 3 -

audit_case closesig
expect_eq "close signature: exit" "$RC" 1
expect_kind closesig close-signature 1 3 - 1
expect_no_kind closesig close-counters

# done/: a journaled file missing (receipt 2's: the daemon chose the
# order), then a file the journal does not know.
name2=$(python3 -c '
import sqlite3, sys
db = sqlite3.connect("file:" + sys.argv[1] + "?mode=ro", uri=True)
print(db.execute("SELECT source_name FROM receipts WHERE global_no = 2")
      .fetchone()[0])' db.sqlite3)
mv "$S/done/$name2" moved.file
$CTL -c spoold.conf audit >missing.out 2>missing.err
expect_eq "missing done/ file: exit" "$?" 1
$CTL -c spoold.conf audit --json >missing.json 2>>missing.err
expect_kind missing file-missing 1 2 2 1
expect_no_kind missing file-extra
check "missing file named" grep -q "done/$name2: no such file" missing.out
mv moved.file "$S/done/$name2"
sed 's/DEMO-INV-001/DEMO-INV-777/' "$TOP/examples/001-invoice-usd.json" \
    >"$S/done/planted.json"
$CTL -c spoold.conf audit >extra.out 2>extra.err
expect_eq "extra done/ file: exit" "$?" 1
$CTL -c spoold.conf audit --json >extra.json 2>>extra.err
check "extra file named in JSON" python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))["devices"][0]
f = [x for x in d["findings"] if x["kind"] == "file-extra"][0]
assert f["count"] == 1 and f["first"]["file"] == "planted.json", f
assert [x["kind"] for x in d["findings"]] == ["file-extra"], d
' extra.json
check "extra file named in text" grep -q \
    '^  file-extra  *1  first: done/planted.json: done/planted.json is not in the journal' \
    extra.out
rm "$S/done/planted.json"
$CTL -c spoold.conf audit >out 2>err
expect_eq "done/ restored: pass" "$?" 0
finish

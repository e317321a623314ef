#!/bin/sh
# spoold_examples.sh - every receipt type through the real daemon: the
# examples/ set (JSON and XML invoices, a credit note and a debit note
# naming their originals by invoice number, USD and ZWG, exempt,
# zero-rated and standard-rated lines, one broken file) ends in done/ and
# error/ with results whose hashes chain and whose signatures verify, and
# the simulator's ledger equals the journal (tests/integration/invariants.py).
. tests/integration/testlib
spoold_env
start_sim || { fail "simulator"; finish; exit 1; }
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

: >manifest
drop() {	# NAME good|bad
	cp "$TOP/examples/$1" "$S/inbox/.$1"
	mv "$S/inbox/.$1" "$S/inbox/$1"
	echo "$1 $(sha256sum <"$S/inbox/$1" | cut -d' ' -f1) $2" >>manifest
}
# The originals first: credit and debit notes look them up by invoiceNo.
drop 001-invoice-usd.json good
drop 002-invoice-zwg.xml good
drop 003-invoice-discount.json good
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: invoices" "$rc" 0
drop 004-credit-note.json good
drop 005-debit-note.xml good
drop 099-broken-total.json bad
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: notes and the broken file" "$rc" 0

python3 "$TOP/tests/integration/invariants.py" "$TOP" "$S" "$TRASH/db.sqlite3" \
    manifest "$SIM_URL" "$SIM_CA" 3131 >inv.out 2>&1; rc=$?
grep '^BAD' inv.out >&2
expect_eq "invariants I1 I3 I4 I5 I6" "$rc" 0
check "five receipts journaled and at FDMS" \
    grep -q '^5 receipts journaled, 5 in the ledger, 1 in error/' inv.out

# The result files carry what the POS prints.
check "credit note result" python3 - "$S/done/004-credit-note.json.result.json" <<'PY'
import json, re, sys
r = json.load(open(sys.argv[1]))
assert r["status"] == "submitted" and r["receiptType"] == "CreditNote", r
assert r["receiptTotal"] == -11.55 and r["receiptCurrency"] == "USD", r
assert re.fullmatch(r"[0-9A-F]{4}(-[0-9A-F]{4}){3}", r["verificationCode"]), r
assert r["qrUrl"].startswith("https://fdmstest.zimra.co.zw/0000003131"), r
assert r["fdms"]["receiptID"] > 0 and r["fdms"]["validationErrors"] == [], r
PY
check "XML result for XML input" grep -q '<status>submitted</status>' \
    "$S/done/005-debit-note.xml.result.xml"
check "the broken file explained" python3 -c '
import json, sys
e = json.load(open(sys.argv[1]))
assert e["stage"] == "validate", e
assert "RCPT019" in [x["code"] for x in e["errors"]], e
' "$S/error/099-broken-total.json.error.json"
finish

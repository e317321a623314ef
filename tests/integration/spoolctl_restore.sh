#!/bin/sh
# spoolctl_restore.sh - spoolctl restore FILE [--force] (interface.md §1,
# §6; issue 5) with the real spoold and spoolctl against the FDMS
# simulator:
#   - refused while spoold runs, while another spoolctl restore holds
#     the journal's lock (one stuck in its resync on a hanging FDMS; that
#     one leaves signing blocked until a resync agrees), and while a
#     spoolctl close-day holds the device's close lock;
#   - refused, with the journal untouched and nothing kept aside, for a
#     missing file, a directory, a symbolic link, a text file, a damaged
#     backup, the journal itself, a backup of another environment, with
#     another serial number, or of a newer schema;
#   - the latest backup: exit 0, the current journal kept aside intact as
#     <db>.pre-restore-YYYYMMDD_HHMMSS, spoold goes on with the next number;
#   - an older backup while FDMS holds newer receipts: refused with what
#     would be set aside; with --force restored, resync blocks signing
#     (exit 1), spoold defers new files (nothing signed with a number FDMS
#     has: ledger and journal checked), and the documented repair (restore
#     the journal kept aside) gives exit 0 and spoold signs the deferred
#     file with the next number; FDMS's ledger equals the journal;
#   - a damaged current journal: refused without --force, with --force
#     moved aside with its side files (bytes unchanged) and replaced;
#   - a backup of an older schema: compared as far as it goes (refused
#     without --force), migrated up after the copy.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=2000
SPID=
RPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$RPID" ] && kill "$RPID" 2>/dev/null
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

cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
backup_dir = $TRASH/backups
rescan_interval = 1
settle_ms = 100

[device till1]
device_id = 4711
serial_no = SN-4711
activation_key = TESTKEY1
CONF
C="$CTL -c spoold.conf"
S=$TRASH/spool/till1
DB=$TRASH/db.sqlite3
$C register >out 2>err
expect_eq "register" "$?" 0
mkdir -p "$S/inbox"

# sale N: drop a receipt with invoice INV-R<N> (temporary name, rename).
sale() {
	cat >"$S/inbox/.sale-$1.tmp" <<JSON
{"receiptType":"FiscalInvoice","receiptCurrency":"USD","invoiceNo":"INV-R$1",
 "receiptLinesTaxInclusive":true,"receiptLines":[{"receiptLineType":"Sale",
 "receiptLineHSCode":"12345678","receiptLineName":"Item $1",
 "receiptLinePrice":$1.00,"receiptLineQuantity":1,"receiptLineTotal":$1.00,
 "taxID":1}],"receiptPayments":[{"moneyTypeCode":"Cash","paymentAmount":$1.00}],
 "receiptTotal":$1.00}
JSON
	mv "$S/inbox/.sale-$1.tmp" "$S/inbox/sale-$1.json"
}
# ledger: FDMS's global numbers, space-separated.
ledger() {
	python3 - "$SIM_URL" "$SIM_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
r = json.load(urllib.request.urlopen(sys.argv[1] + "/_sim/ledger/4711",
    context=ctx))
print(" ".join(str(x["receiptGlobalNo"]) for x in r["receipts"]))
PY
}
# journal DB: the journal's global numbers, space-separated.
journal() {
	python3 -c 'import sqlite3, sys
d = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(" ".join(str(r[0]) for r in d.execute(
    "select global_no from receipts order by global_no")))' "$1"
}
# dump DB: the row count and a SHA-256 of every row of every table.
dump() {
	python3 -c 'import hashlib, sqlite3, sys
d = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
h, n = hashlib.sha256(), 0
for (t,) in d.execute("select name from sqlite_master where type = %s "
        "order by name" % repr("table")):
    for r in d.execute("select * from \"%s\" order by 1, 2" % t):
        h.update((t + repr(r) + "\n").encode()); n += 1
print(n, "rows", h.hexdigest())' "$1"
}
blocked() {
	$C status --json 2>/dev/null | python3 -c '
import json, sys; d = json.load(sys.stdin)["devices"][0]
sys.exit(0 if d["signingBlocked"] else 1)'
}
unblocked() { ! blocked; }
asides() { ls "$TRASH" | grep -c '^db\.sqlite3\.pre-restore-'; }
result_no() {	# done/NAME.result.json -> "status globalNo"
	python3 -c 'import json, sys
r = json.load(open(sys.argv[1])); print(r["status"], r["receiptGlobalNo"])' \
	    "$1" 2>/dev/null
}

# ---- two backups: B1 after receipts 1-3, B2 after 1-5 ----
for i in 1 2 3; do sale $i; done
"$D" -c spoold.conf --once >out 2>err
expect_eq "spoold --once: receipts 1-3" "$?" 0
$C backup --output-dir b1 >out 2>err
expect_eq "backup B1" "$?" 0
B1=$TRASH/b1/$(ls b1 | grep '^db_')
for i in 4 5; do sale $i; done
"$D" -c spoold.conf --once >out 2>err
expect_eq "spoold --once: receipts 4-5" "$?" 0
$C backup --output-dir b2 >out 2>err
expect_eq "backup B2" "$?" 0
B2=$TRASH/b2/$(ls b2 | grep '^db_')
expect_eq "ledger before any restore" "$(ledger)" "1 2 3 4 5"
dump "$DB" >d2

# ---- refused while spoold runs ----
"$D" -c spoold.conf -f >d.out 2>d.err &
SPID=$!
check "spoold up (its journal lock taken)" wait_for 100 grep -qx "$SPID" "$DB.lock"
$C restore "$B2" >out 2>err; rc=$?
expect_eq "restore while spoold runs" "$rc" 1
check "says spoold holds the journal" grep -q 'spoold (or another restore) is using the journal' err
check "names spoold's pid" grep -q "pid $SPID" err
kill -TERM "$SPID"; wait "$SPID"; SPID=
expect_eq "journal untouched by the refusal" "$(dump "$DB")" "$(cat d2)"
expect_eq "nothing kept aside by a refusal" "$(asides)" 0

# ---- refused while another spoolctl restore holds the lock ----
# That one hangs in its resync: FDMS's GetConfig hangs past the timeout.
python3 - "$SIM_URL" "$SIM_CA" "GetConfig:1=hang/5000" <<'PY'
import ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_sim/fault",
    data=sys.argv[3].encode(), method="POST"), context=ctx).read()
PY
$C restore "$B2" >r1.out 2>r1.err &
RPID=$!
check "first restore reaches its resync" wait_for 100 grep -q '^restored ' r1.out
$C restore "$B2" >out 2>err; rc=$?
expect_eq "restore while another restore holds the lock" "$rc" 1
check "says the journal is in use" grep -q 'is using the journal' err
wait "$RPID"; rc=$?; RPID=
expect_eq "restore whose resync cannot reach FDMS" "$rc" 1
check "it says signing stays blocked" grep -q 'signing stays BLOCKED' r1.out
check "device blocked after a restore without resync" blocked
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold --once: nothing to do, device blocked" "$rc" 0
$C resync >out 2>err; rc=$?
expect_eq "resync after that restore" "$rc" 0
check "resync lifts the restore's block" grep -q 'signing unblocked' out
check "device unblocked" unblocked
rm -f "$TRASH"/db.sqlite3.pre-restore-*
dump "$DB" >d2	# the block and its lifting changed the device row

# ---- refused: not a sound backup of this installation ----
refused() {	# DESCRIPTION PATTERN FILE...
	d=$1; pat=$2; shift 2
	$C restore "$@" >out 2>err; rc=$?
	expect_eq "$d: exit" "$rc" 1
	check "$d: message" grep -q "$pat" err
}
refused "missing file" 'No such file' "$TRASH/nosuch.sqlite3"
mkdir adir
refused "a directory" 'not a regular file' "$TRASH/adir"
ln -s "$B2" link.sqlite3
refused "a symbolic link" 'symbolic link' "$TRASH/link.sqlite3"
echo 'hello, not a database' >text.sqlite3
refused "a text file" 'not a spoold journal' "$TRASH/text.sqlite3"
cp "$B2" damaged.sqlite3
python3 - damaged.sqlite3 <<'PY'
import sys
f = open(sys.argv[1], "r+b"); f.seek(0, 2); n = f.tell()
f.seek(4096 * 3); f.write(b"\xa5" * min(8192, n - 4096 * 3)); f.close()
PY
refused "a damaged backup" 'damaged\|malformed\|not a spoold journal' "$TRASH/damaged.sqlite3"
refused "the journal itself" 'the journal itself' "$DB"
sqlbak() {	# NAME SQL: a copy of B2 changed by SQL
	cp "$B2" "$1"
	python3 -c 'import sqlite3, sys
d = sqlite3.connect(sys.argv[1]); d.executescript(sys.argv[2]); d.commit()' \
	    "$1" "$2"
}
sqlbak staging.sqlite3 "update devices set env = 'staging'"
refused "another environment" 'registered in staging; this configuration is development' "$TRASH/staging.sqlite3"
sqlbak serial.sqlite3 "update devices set serial_no = 'SN-OTHER'"
refused "another serial number" 'serial number SN-OTHER' "$TRASH/serial.sqlite3"
sqlbak newer.sqlite3 "insert into schema_migrations values ((select max(version) + 1 from schema_migrations), 'future', '2030-01-01T00:00:00Z')"
refused "a newer schema" 'newer than this program' "$TRASH/newer.sqlite3"
refused "--force does not override a wrong environment" 'registered in staging' --force "$TRASH/staging.sqlite3"
$C restore >out 2>err; rc=$?
expect_eq "no FILE: usage" "$rc" 2
$C restore "$B1" "$B2" >out 2>err; rc=$?
expect_eq "two FILEs: usage" "$rc" 2
$C restore --bogus "$B2" >out 2>err; rc=$?
expect_eq "unknown option: usage" "$rc" 2
$C --device till1 restore "$B2" >out 2>err; rc=$?
expect_eq "--device: usage" "$rc" 2
expect_eq "journal untouched by the refusals" "$(dump "$DB")" "$(cat d2)"
expect_eq "nothing kept aside by the refusals" "$(asides)" 0

# ---- the latest backup: exit 0, spoold goes on ----
$C restore "$B2" >out 2>err; rc=$?
expect_eq "restore the latest backup" "$rc" 0
check "resync consistent" grep -q 'resync: consistent' out
check "done, spoold may start" grep -q 'restore: done; the journal agrees with FDMS' out
A=$(ls "$TRASH" | grep '^db\.sqlite3\.pre-restore-[0-9]\{8\}_[0-9]\{6\}$')
check "current journal kept aside under its documented name" test -n "$A"
expect_eq "the copy kept aside is the journal as it was" "$(dump "$TRASH/$A")" "$(cat d2)"
expect_eq "kept aside 0600" "$(stat -c %a "$TRASH/$A" 2>/dev/null)" 600
check "restore logged with who" grep -q "restore: by $(id -un): .* restored from $B2" logs/fdms.log
check "device not blocked" unblocked
rm -f "$TRASH/$A"
sale 6
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold after restoring the latest backup" "$rc" 0
expect_eq "next receipt numbered 6 and submitted" "$(result_no "$S/done/sale-6.json.result.json")" "submitted 6"
dump "$DB" >d6

# ---- an older backup while FDMS holds newer receipts ----
$C restore "$B1" >out 2>err; rc=$?
expect_eq "older backup refused without --force" "$rc" 1
check "says which receipts would be set aside" grep -q '3 receipts of the current journal (global numbers 4..6) are not in the backup' err
expect_eq "journal untouched" "$(dump "$DB")" "$(cat d6)"
$C restore --force "$B1" >out 2>err; rc=$?
expect_eq "older backup with --force: resync needs an admin" "$rc" 1
check "resync names the discrepancy" grep -q 'DISCREPANCY: FDMS holds receipt 6, the journal ends at 3' out
check "signing blocked" grep -q 'signing is BLOCKED' out
check "done, but needs an admin" grep -q 'restore: done, but resync needs an admin' out
A=$(ls "$TRASH" | grep '^db\.sqlite3\.pre-restore-')
expect_eq "the newer journal kept aside intact" "$(dump "$TRASH/$A")" "$(cat d6)"
expect_eq "journal now ends at 3" "$(journal "$DB")" "1 2 3"
check "device blocked" blocked
sale 7
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold defers the blocked device's file" "$rc" 75
check "deferred (in inbox/ or work/), not signed" sh -c "[ -e '$S/inbox/sale-7.json' ] || [ -e '$S/work/sale-7.json' ] && [ ! -e '$S/done/sale-7.json' ]"
check "spoold says why" grep -q 'signing is blocked for this device' logs/fdms_error.log
expect_eq "nothing signed: journal still ends at 3" "$(journal "$DB")" "1 2 3"
expect_eq "nothing sent: FDMS ledger unchanged" "$(ledger)" "1 2 3 4 5 6"

# The repair (docs/operations.md): restore the journal kept aside.
$C restore "$TRASH/$A" >out 2>err; rc=$?
expect_eq "restore the journal kept aside" "$rc" 0
check "consistent again" grep -q 'journal and FDMS agree again: signing unblocked\|resync: consistent' out
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold after the repair" "$rc" 0
expect_eq "the deferred file numbered 7 and submitted" "$(result_no "$S/done/sale-7.json.result.json")" "submitted 7"
expect_eq "ledger: every receipt once, in order" "$(ledger)" "1 2 3 4 5 6 7"
expect_eq "journal equals the ledger" "$(journal "$DB")" "1 2 3 4 5 6 7"
rm -f "$TRASH"/db.sqlite3.pre-restore-*

# ---- a damaged current journal ----
$C backup --output-dir b3 >out 2>err
expect_eq "backup B3" "$?" 0
B3=$TRASH/b3/$(ls b3 | grep '^db_')
printf 'garbage garbage garbage garbage\n' >"$DB"
printf 'stale wal\n' >"$DB-wal"
cp "$DB" damaged.copy
$C restore "$B3" >out 2>err; rc=$?
expect_eq "damaged current journal: refused without --force" "$rc" 1
check "says it cannot be opened" grep -q 'current journal cannot be opened\|damaged' err
$C restore --force "$B3" >out 2>err; rc=$?
expect_eq "damaged current journal: --force" "$rc" 0
A=$(ls "$TRASH" | grep '^db\.sqlite3\.pre-restore-[0-9_]*$')
check "damaged journal moved aside unchanged" cmp -s "$TRASH/$A" damaged.copy
check "its -wal moved with it" test -f "$TRASH/$A-wal"
expect_eq "restored journal" "$(journal "$DB")" "1 2 3 4 5 6 7"
check "integrity ok" python3 -c 'import sqlite3, sys
assert sqlite3.connect(sys.argv[1]).execute("pragma integrity_check").fetchone()[0] == "ok"' "$DB"
sale 8
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold after replacing a damaged journal" "$rc" 0
expect_eq "receipt 8 submitted" "$(result_no "$S/done/sale-8.json.result.json")" "submitted 8"

# ---- refused while spoolctl close-day holds the device's close lock ----
python3 - "$SIM_URL" "$SIM_CA" <<'PY'
import json, ssl, sys, urllib.request
ctx = ssl.create_default_context(cafile=sys.argv[2])
urllib.request.urlopen(urllib.request.Request(sys.argv[1] + "/_sim/settings",
    data=json.dumps({"closeDelayS": 3}).encode(), method="POST",
    headers={"Content-Type": "application/json"}), context=ctx).read()
PY
n_aside=$(asides)
$C close-day --timeout 30 >cd.out 2>cd.err &
RPID=$!
check "close-day holds its lock" wait_for 100 grep -qx "$RPID" "spool/.close-day-4711.lock"
$C restore "$B3" >out 2>err; rc=$?
expect_eq "restore while close-day runs" "$rc" 1
check "says close-day is running" grep -q 'a spoolctl close-day is running for device till1' err
wait "$RPID"; rc=$?; RPID=
expect_eq "close-day finishes" "$rc" 0
expect_eq "nothing kept aside by the refusal" "$(asides)" "$n_aside"

# ---- a backup of an older schema (registration only) is migrated up ----
cp "$B3" v1.sqlite3
DATABASE_URL=$TRASH/v1.sqlite3 $C migrate 1 --force >out 2>err
expect_eq "a schema-1 copy of a backup" "$?" 0
$C restore "$TRASH/v1.sqlite3" >out 2>err; rc=$?
expect_eq "schema-1 backup without --force: refused" "$rc" 1
check "says all 8 receipts would be set aside" grep -q '8 receipts of the current journal (global numbers 1..8) are not in the backup' err
check "and the fiscal day" grep -q 'fiscal day 1 of the current journal is not in the backup' err
$C restore --force "$TRASH/v1.sqlite3" >out 2>err; rc=$?
expect_eq "schema-1 backup with --force: resync needs an admin" "$rc" 1
check "migrated up after the copy" grep -q 'schema version 1 -> ' out
check "FDMS ahead: blocked" grep -q 'DISCREPANCY: FDMS holds receipt 8' out
$C migrate >out 2>err
check "the restored journal is at the latest schema" grep -q 'nothing to do' out
check "device blocked" blocked
check "no CRITICAL in the log" sh -c '! grep -q CRITICAL logs/fdms.log'
finish

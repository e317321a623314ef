#!/bin/sh
# spoolctl_migrate.sh - spoolctl migrate down and up on a journal with
# receipts made by the daemon (interface.md §1; lib/store/migrations.c),
# in staging, where nothing migrates by itself:
#   - the tables each down step drops are found on a scratch database
#     (so this test follows the schema as migrations are added);
#   - a down step that would drop tables holding rows is refused, naming
#     them, and the journal stays identical (every table compared through
#     a dump made with python3's sqlite3);
#   - a down step that drops only empty tables (a future additive
#     migration), then `spoolctl migrate`, keeps receipts, days, counters,
#     devices, certificates and keys identical;
#   - the rollback procedure of docs/operations.md when the down step
#     would drop the journal: backup, `migrate VERSION --force` (the data
#     of the dropped tables goes, the lower versions' stay identical),
#     spoold refuses the older schema, `migrate` brings the tables back
#     empty, `restore` of the backup brings every row back identical;
#   - spoold works afterwards (the next receipt continues the chain) and
#     the audit passes;
#   - usage: a version this program does not know, a non-number.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000
start_sim --close-delay-s 0 || { fail "simulator"; finish; exit 1; }
cd "$TRASH" || exit 1

KEY=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
cat >spoold.conf <<CONF
[global]
env = staging
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
backup_dir = $TRASH/backups
encryption_key = $KEY
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

sale() {	# N: a receipt with invoice INV-M<N>, dropped by rename
	cat >"$S/inbox/.sale-$1.tmp" <<JSON
{"receiptType":"FiscalInvoice","receiptCurrency":"USD","invoiceNo":"INV-M$1",
 "receiptLinesTaxInclusive":true,"receiptLines":[{"receiptLineType":"Sale",
 "receiptLineHSCode":"12345678","receiptLineName":"Item $1",
 "receiptLinePrice":$1.50,"receiptLineQuantity":2,"receiptLineTotal":$((2 * $1 + 1)).00,
 "taxID":517,"taxPercent":15.5}],"receiptPayments":[{"moneyTypeCode":"Cash",
 "paymentAmount":$((2 * $1 + 1)).00}],"receiptTotal":$((2 * $1 + 1)).00}
JSON
	mv "$S/inbox/.sale-$1.tmp" "$S/inbox/sale-$1.json"
}
# dump [TABLE...]: the journal's rows (all tables but schema_migrations
# when none are named), one line per table: name, count, SHA-256.
dump() {
	python3 - "$DB" "$@" <<'PY'
import hashlib, sqlite3, sys
d = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
want = sys.argv[2:] or [r[0] for r in d.execute("select name from "
    "sqlite_master where type = 'table' and name <> 'schema_migrations' "
    "order by name")]
for t in want:
    try:
        rows = d.execute('select * from "%s" order by 1, 2' % t).fetchall()
    except sqlite3.OperationalError:
        print(t, "absent")
        continue
    h = hashlib.sha256("\n".join(map(repr, rows)).encode()).hexdigest()
    print(t, len(rows), h[:16])
PY
}
tables() {	# DB: its tables but schema_migrations, space-separated
	python3 -c 'import sqlite3, sys
print(" ".join(r[0] for r in sqlite3.connect(sys.argv[1]).execute(
    "select name from sqlite_master where type = %s and name <> %s "
    "order by name" % (repr("table"), repr("schema_migrations")))))' "$1"
}

for i in 1 2 3; do sale $i; done
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold --once: three receipts" "$rc" 0
dump >before
check "the journal has receipts, days, counters, certificates, keys" \
    sh -c "grep -q '^receipts 3 ' before && grep -q '^fiscal_days 1 ' before &&
    grep -q '^certificates 1 ' before && grep -q '^device_keys 1 ' before &&
    ! grep -q '^day_counters 0 ' before"

$C migrate >out 2>err; rc=$?
expect_eq "migrate at the latest" "$rc" 0
LATEST=$(sed -n 's/.*(latest \([0-9]*\)).*/\1/p' out)
check "latest version printed" test -n "$LATEST"
PREV=$((LATEST - 1))

# What the step LATEST -> PREV drops, seen on a scratch database.
DATABASE_URL=$TRASH/scratch.sqlite3 $C migrate >out 2>err
expect_eq "scratch database created" "$?" 0
all=$(tables scratch.sqlite3)
DATABASE_URL=$TRASH/scratch.sqlite3 $C migrate "$PREV" >out 2>err
expect_eq "scratch database down to $PREV" "$?" 0
kept=$(tables scratch.sqlite3)
DROPS=
for t in $all; do
	case " $kept " in *" $t "*) ;; *) DROPS="$DROPS $t" ;; esac
done
check "the step to $PREV drops tables" test -n "$DROPS"
held=
for t in $DROPS; do
	grep -q "^$t 0 " before || held="$held $t"
done
echo "# latest $LATEST; down to $PREV drops:$DROPS; holding rows:${held:- none}"

if [ -n "$held" ]; then
	# Refused, named, nothing changed.
	$C migrate "$PREV" >out 2>err; rc=$?
	expect_eq "down to $PREV refused: it would drop journal rows" "$rc" 1
	for t in $held; do
		check "refusal names $t" grep -q "$t (" err
	done
	check "refusal says --force" grep -q 'force' err
	expect_eq "journal identical after the refusal" "$(dump)" "$(cat before)"

	# The rollback procedure: backup, forced down, up, restore.
	$C backup >out 2>err
	expect_eq "backup before the forced downgrade" "$?" 0
	B=$TRASH/backups/$(ls backups | grep '^db_')
	$C migrate "$PREV" --force >out 2>err; rc=$?
	expect_eq "down to $PREV with --force" "$rc" 0
	for t in $DROPS; do
		expect_eq "$t dropped" "$(dump "$t")" "$t absent"
	done
	keep_list=
	for t in $kept; do keep_list="$keep_list $t"; done
	dump $keep_list >kept.now
	grep -E "^($(echo $keep_list | tr ' ' '|')) " before >kept.before
	check "the lower versions' tables identical" cmp -s kept.now kept.before
	"$D" -c spoold.conf --once >out 2>err; rc=$?
	check "spoold refuses the older schema" test "$rc" -ne 0
	check "and says run spoolctl migrate" grep -q 'spoolctl migrate' err
	$C migrate >out 2>err; rc=$?
	expect_eq "back up to $LATEST" "$rc" 0
	check "says from and to" grep -q "schema version $PREV -> $LATEST" out
	for t in $DROPS; do
		expect_eq "$t back, empty" "$(dump "$t")" \
		    "$t 0 $(python3 -c 'import hashlib; print(hashlib.sha256(b"").hexdigest()[:16])')"
	done
	$C restore "$B" >out 2>err; rc=$?
	expect_eq "restore the backup taken before the downgrade" "$rc" 0
	check "resync consistent" grep -q 'resync: consistent' out
	# The devices row carries bookkeeping restore and resync rewrite
	# (updated_at, the GetConfig answer's time): compare its identity.
	ident() {
		python3 -c 'import sqlite3, sys
d = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True)
print(d.execute("select device_id, serial_no, model_name, model_version, "
    "env, base_url, last_global_no, signing_blocked, created_at "
    "from devices").fetchall())' "$1"
	}
	expect_eq "devices identical (identity, head, no block)" \
	    "$(ident "$DB")" "$(ident "$B")"
	dump >after
	grep -v '^devices ' before >a
	grep -v '^devices ' after >b
	check "receipts, days, counters, certificates, keys identical" cmp -s a b
	[ -s a ] && ! cmp -s a b && diff a b | sed 's/^/# /'
	rm -f "$TRASH"/db.sqlite3.pre-restore-*
else
	# An additive step: down and up keep every row.
	$C migrate "$PREV" >out 2>err; rc=$?
	expect_eq "down to $PREV (drops only empty tables)" "$rc" 0
	$C migrate >out 2>err; rc=$?
	expect_eq "back up to $LATEST" "$rc" 0
	expect_eq "every table identical after down and up" "$(dump)" "$(cat before)"
fi

# spoold goes on: the next receipt continues the chain.
sale 4
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "spoold after down and up" "$rc" 0
check "receipt 4 submitted with global number 4" python3 -c 'import json, sys
r = json.load(open(sys.argv[1]))
assert (r["status"], r["receiptGlobalNo"]) == ("submitted", 4), r' \
    "$S/done/sale-4.json.result.json"
$C audit >out 2>err; rc=$?
expect_eq "audit after down and up" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' out err | head -n 20

$C migrate $((LATEST + 1)) >out 2>err; rc=$?
expect_eq "a version this program does not know" "$rc" 1
check "says so" grep -q "no schema version $((LATEST + 1))" err
$C migrate two >out 2>err; rc=$?
expect_eq "a version that is not a number: usage" "$rc" 2
finish

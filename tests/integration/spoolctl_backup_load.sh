#!/bin/sh
# spoolctl_backup_load.sh - spoolctl backup while spoold is busy
# (interface.md §6, issue 5): a POS drops receipts at a steady pace for a
# few seconds while the daemon fiscalises and submits them, and
# `spoolctl backup` runs again and again meanwhile.  Every copy must be a
# consistent snapshot:
#   - PRAGMA integrity_check ok and foreign_key_check empty;
#   - its chain head agrees with its receipts (the device's last global
#     number is its highest receipt, the day's counter and last hash are
#     its last receipt's), so no copy caught half a fiscalisation;
#   - its receipts are a prefix of the final journal (numbers 1..k, same
#     hashes and signatures): a copy never holds what the journal lost;
#   - `spoolctl audit --day 1` with a configuration pointed at the copy
#     passes (--day: done/ holds the files of receipts signed after the
#     copy, which a whole-journal audit would rightly call extra);
# and at least one copy was taken in the middle of the stream.  Pruning
# by age is tests/integration/spoolctl_files.sh's.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000
if grep -q __asan_init "$D" 2>/dev/null; then
	NFILES=80
else
	NFILES=150
fi
FEED_S=5
NBACKUPS=6
SPID=
FPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
# Receipts dated one second apart run ahead of the clock: no RCPT031.
start_sim --close-delay-s 0 --future-skew-s 86400 ||
    { fail "simulator"; finish; exit 1; }
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
$C register >out 2>err
expect_eq "register" "$?" 0
mkdir -p "$S/inbox"

python3 - "$TRASH/src" "$NFILES" >manifest <<'PY'
import json, os, sys
out, n = sys.argv[1], int(sys.argv[2])
os.makedirs(out)
for i in range(1, n + 1):
    c = 100 + 7 * i
    amt = "%d.%02d" % (c // 100, c % 100)
    r = {"receiptType": "FiscalInvoice", "receiptCurrency": "USD",
         "invoiceNo": "INV-L%05d" % i, "receiptLinesTaxInclusive": True,
         "receiptLines": [{"receiptLineType": "Sale",
             "receiptLineHSCode": "12345678", "receiptLineName": "Item",
             "receiptLinePrice": amt, "receiptLineQuantity": 1,
             "receiptLineTotal": amt, "taxID": 1}],
         "receiptPayments": [{"moneyTypeCode": "Cash", "paymentAmount": amt}],
         "receiptTotal": amt}
    name = "sale-%04d.json" % i
    with open(os.path.join(out, name), "w") as f:
        json.dump(r, f)
    print(name)
PY

"$D" -c spoold.conf -f >d.out 2>d.err &
SPID=$!
check "spoold holds its lock" sh -c "n=0; until grep -qx $SPID '$TRASH/db.sqlite3.lock' 2>/dev/null; do n=\$((n+1)); [ \$n -gt 100 ] && exit 1; sleep 0.1; done"

# The POS: every file by rename, at a steady pace over FEED_S seconds.
python3 - "$TRASH/src" "$S/inbox" manifest "$FEED_S" >fed 2>&1 <<'PY' &
import os, sys, time
src, inbox, manifest, secs = sys.argv[1:4] + [float(sys.argv[4])]
names = [l.strip() for l in open(manifest)]
t0 = time.monotonic()
for i, n in enumerate(names):
    pause = t0 + secs * i / len(names) - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    os.rename(os.path.join(src, n), os.path.join(inbox, n))
print("fed", len(names))
PY
FPID=$!

# Backups meanwhile: a name is taken at most once a second, so these
# spread over the stream.
i=0
while [ $i -lt $NBACKUPS ]; do
	i=$((i + 1))
	$C backup --output-dir bk >>backup.out 2>>backup.err; rc=$?
	expect_eq "backup $i under load" "$rc" 0
done
wait "$FPID"; FPID=
check "all files fed" grep -q "^fed $NFILES\$" fed
kill -TERM "$SPID"; wait "$SPID"; rc=$?; SPID=
expect_eq "spoold stops cleanly" "$rc" 0
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once: everything signed and submitted" "$rc" 0
expect_eq "$NBACKUPS backups written" "$(ls bk | grep -c '^db_')" "$NBACKUPS"

# Every copy: sound, self-consistent, a prefix of the final journal.
check "every copy consistent and a prefix of the journal" python3 - \
    "$TRASH/db.sqlite3" "$NFILES" bk/db_* >consistency.out 2>&1 <<'PY'
import sqlite3, sys
live, n, copies = sys.argv[1], int(sys.argv[2]), sys.argv[3:]
def ro(p):
    return sqlite3.connect("file:%s?mode=ro" % p, uri=True)
final = {r[0]: r[1:] for r in ro(live).execute(
    "select global_no, hash, signature from receipts where device_id = 4711")}
assert sorted(final) == list(range(1, n + 1)), "final journal: %d" % len(final)
counts = []
for p in copies:
    d = ro(p)
    assert d.execute("pragma integrity_check").fetchone()[0] == "ok", p
    assert d.execute("pragma foreign_key_check").fetchall() == [], p
    rows = d.execute("select global_no, hash, signature, day_no, counter "
        "from receipts where device_id = 4711 order by global_no").fetchall()
    k = len(rows)
    assert [r[0] for r in rows] == list(range(1, k + 1)), (p, "gap")
    for r in rows:
        assert final[r[0]] == (r[1], r[2]), (p, r[0], "differs from journal")
    last = d.execute("select last_global_no from devices where device_id = "
        "4711").fetchone()[0]
    assert last == k, (p, "device head", last, k)
    if k:
        day = d.execute("select receipt_counter, last_hash from fiscal_days "
            "where device_id = 4711 and day_no = ?", (rows[-1][3],)).fetchone()
        assert day == (rows[-1][4], rows[-1][1]), (p, "day head", day)
    counts.append(k)
    print(p, k)
print("counts", counts)
assert any(0 < k < n for k in counts), "no copy in the middle: %s" % counts
PY
sed 's/^/# /' consistency.out

# spoolctl audit of each copy (a configuration pointed at it).
audited=0
for b in bk/db_*; do
	k=$(python3 -c 'import sqlite3, sys
print(sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True).execute(
    "select count(*) from receipts").fetchone()[0])' "$b")
	[ "$k" -gt 0 ] || continue
	sed "s|^database = .*|database = $TRASH/$b|" spoold.conf >audit.conf
	$CTL -c audit.conf audit --day 1 >audit.out 2>audit.err; rc=$?
	expect_eq "audit of $b ($k receipts)" "$rc" 0
	[ "$rc" = 0 ] || sed 's/^/# /' audit.out audit.err | head -n 20
	audited=$((audited + 1))
done
check "at least one copy audited" test "$audited" -gt 0
$C audit >audit.out 2>audit.err; rc=$?
expect_eq "audit of the final journal" "$rc" 0
[ "$rc" = 0 ] || sed 's/^/# /' audit.out audit.err | head -n 20
check "no CRITICAL in the log" sh -c '! grep -q CRITICAL logs/fdms.log'
finish

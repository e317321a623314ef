#!/bin/sh
# spoold_crash.sh - kill -9 at random moments (anchors B.12 test 2, the
# random kill soak, at a size make check can afford).  500 distinct
# receipts (JSON, some XML, a few that break a rule) are dropped by
# rename at a steady pace over 5 s, while `spoold -f` is started, killed
# with SIGKILL 50-400 ms later, and started again, until every file has
# been taken; a last `spoold --once` must exit 0.  Then the invariants:
#   I1  every input's SHA-256 is exactly once in done/ or error/, never
#       in both, and where its kind says (good: done/, bad: error/), each
#       with its result or error file;
#   I2  inbox/ and work/ are empty;
#   I3  journal rows and done/ files match one to one (name and SHA-256),
#       every result file says "submitted" with the row's number and hash;
#   I4  the chain: global numbers 1..n, counters 1..k per day, each
#       previousReceiptHash the previous receipt's hash (none on the
#       first of a day), each hash recomputed from the journaled wire JSON
#       (fdms-reference §4.2, by the simulator's testkit, not our C code)
#       and each signature verified with the device certificate;
#   I5  FDMS's ledger holds each journaled receipt once, in order, with
#       the same number, hash and receiptID, sent byte for byte as
#       journaled, none with validation errors;
#   I6  PRAGMA integrity_check is ok.
# The seed is printed; SPOOLD_CRASH_SEED=N repeats a run, and
# SPOOLD_CRASH_FILES=N changes the size (ASan+UBSan builds use fewer
# files by default; they must still be killed at least 5 times).
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000

# Sanitized binaries are slower: fewer files, fewer kills required.
if grep -q __asan_init "$D" 2>/dev/null; then
	NFILES=${SPOOLD_CRASH_FILES:-300}
	FEED_S=4
	MIN_KILLS=5
else
	NFILES=${SPOOLD_CRASH_FILES:-500}
	FEED_S=5
	MIN_KILLS=10
fi
SEED=${SPOOLD_CRASH_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -dc 0-9)}
echo "# seed $SEED (SPOOLD_CRASH_SEED=$SEED repeats this run), $NFILES files"
DEADLINE=$(( $(date +%s) + 45 ))	# then stop killing; --once finishes

SPID=
FPID=
cleanup() {
	[ -n "$SPID" ] && kill -9 "$SPID" 2>/dev/null
	[ -n "$FPID" ] && kill "$FPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
# No RCPT031 (future date): 500 receipts in a few seconds are dated one
# second apart, so their dates run ahead of the clock (fdms-reference §8).
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
rescan_interval = 1
settle_ms = 100

[device till1]
device_id = 4711
serial_no = SN-4711
activation_key = TESTKEY1
CONF
S=$TRASH/spool/till1
$CTL -c spoold.conf register >out 2>err
expect_eq "register" "$?" 0
mkdir -p "$S/inbox"

# The receipts, and a manifest: name -> SHA-256, good or bad.  Every 10th
# is XML, every 50th breaks a rule (RCPT019/RCPT039) and belongs in
# error/.  Written outside the spool; dropped by rename.
python3 - "$TRASH/src" "$NFILES" "$SEED" >manifest <<'PY'
import hashlib, json, os, random, sys
out, n, rnd = sys.argv[1], int(sys.argv[2]), random.Random(int(sys.argv[3]))
os.makedirs(out)
def money(c):
    return "%d.%02d" % (c // 100, c % 100)
for i in range(1, n + 1):
    bad, inv = i % 50 == 7, "INV-K%05d" % i
    p1, q, p2 = rnd.randint(100, 99999), rnd.randint(1, 5), rnd.randint(1, 5000)
    if i % 10 == 3:
        name = "sale-%04d.xml" % i
        doc = ('<?xml version="1.0" encoding="UTF-8"?>\n<receipt>'
            '<receiptType>FiscalInvoice</receiptType>'
            '<receiptCurrency>USD</receiptCurrency><invoiceNo>%s</invoiceNo>'
            '<receiptLinesTaxInclusive>true</receiptLinesTaxInclusive>'
            '<receiptLines><receiptLine><receiptLineType>Sale</receiptLineType>'
            '<receiptLineHSCode>12345678</receiptLineHSCode>'
            '<receiptLineName>Item %d</receiptLineName>'
            '<receiptLinePrice>%s</receiptLinePrice>'
            '<receiptLineQuantity>1</receiptLineQuantity>'
            '<receiptLineTotal>%s</receiptLineTotal><taxID>1</taxID>'
            '</receiptLine></receiptLines><receiptPayments><receiptPayment>'
            '<moneyTypeCode>Cash</moneyTypeCode>'
            '<paymentAmount>%s</paymentAmount>'
            '</receiptPayment></receiptPayments><receiptTotal>%s</receiptTotal>'
            '</receipt>\n' % (inv, i, money(p1), money(p1), money(p1),
            money(p1)))
    else:
        name = "sale-%04d.json" % i
        total = p1 * q + p2
        r = {"receiptType": "FiscalInvoice", "receiptCurrency": "USD",
             "invoiceNo": inv, "receiptLinesTaxInclusive": True,
             "receiptLines": [
                 {"receiptLineType": "Sale", "receiptLineHSCode": "12345678",
                  "receiptLineName": "Item %d" % i,
                  "receiptLinePrice": money(p1), "receiptLineQuantity": q,
                  "receiptLineTotal": money(p1 * q), "taxID": 1},
                 {"receiptLineType": "Sale", "receiptLineHSCode": "87654321",
                  "receiptLineName": "Soap", "receiptLinePrice": money(p2),
                  "receiptLineQuantity": 1, "receiptLineTotal": money(p2),
                  "taxPercent": "15.5", "taxID": 517}],
             "receiptPayments": [{"moneyTypeCode": "Cash",
                                  "paymentAmount": money(total)}],
             "receiptTotal": money(total + (1 if bad else 0))}
        doc = json.dumps(r, indent=1) + "\n"
    data = doc.encode()
    with open(os.path.join(out, name), "wb") as f:
        f.write(data)
    print(name, hashlib.sha256(data).hexdigest(), "bad" if bad else "good")
PY
expect_eq "files generated" "$(wc -l <manifest | tr -d ' ')" "$NFILES"
# The kill delays, from the same seed: 50..400 ms.
DELAYS=$(python3 -c 'import random, sys
r = random.Random(int(sys.argv[1]) + 1)
print(" ".join("%.3f" % (r.randint(50, 400) / 1000) for _ in range(400)))' \
    "$SEED")

# The feeder: a POS dropping the files by rename at a steady pace over
# FEED_S seconds, whether spoold is up, starting, busy or dead; it
# writes "fed N" when it is through.
python3 - "$TRASH/src" "$S/inbox" manifest "$FEED_S" >fed 2>&1 <<'PY' &
import os, sys, time
src, inbox, manifest, secs = sys.argv[1:4] + [float(sys.argv[4])]
names = [l.split()[0] for l in open(manifest)]
t0 = time.monotonic()
for i, n in enumerate(names):
    pause = t0 + secs * i / len(names) - time.monotonic()
    if pause > 0:
        time.sleep(pause)
    os.rename(os.path.join(src, n), os.path.join(inbox, n))
print("fed", len(names))
PY
FPID=$!
empty() { [ -z "$(ls -A "$1" 2>/dev/null)" ]; }
fed() { grep -q '^fed' fed; }

kills=0
rounds=0
died=0
t0=$(date +%s)
for delay in $DELAYS; do
	if fed && [ "$kills" -ge "$MIN_KILLS" ] && empty "$S/inbox" &&
	    empty "$S/work"; then
		break
	fi
	if [ "$(date +%s)" -ge "$DEADLINE" ]; then
		echo "# time is up after $rounds rounds: --once finishes"
		break
	fi
	rounds=$((rounds + 1))
	"$D" -c spoold.conf -f >>d.out 2>>d.err &
	SPID=$!
	sleep "$delay"
	kill -9 "$SPID" 2>/dev/null
	wait "$SPID" 2>/dev/null; rc=$?
	if [ "$rc" = 137 ]; then	# 128 + SIGKILL: ours
		kills=$((kills + 1))
	else
		died=$((died + 1))
		echo "spoold exited by itself: status $rc, round $rounds" >&2
	fi
	SPID=
done
t1=$(date +%s)
wait "$FPID"
FPID=
echo "# $rounds rounds, $kills kills in $((t1 - t0)) s"
check "all files fed" grep -q "^fed $NFILES\$" fed
expect_eq "spoold never stopped by itself" "$died" 0
check "killed at least $MIN_KILLS times" test "$kills" -ge "$MIN_KILLS"

# What a kill inside fsutil_write_atomic leaves (the kills above may or
# may not have hit that window): the next start removes it.
echo '{"status": "sig' >"$S/done/.spoold-tmp.1.1"
echo '{"file": "x' >"$S/error/.spoold-tmp.1.2"
"$D" -c spoold.conf --once >out 2>err; rc=$?
expect_eq "--once after the kills" "$rc" 0
[ "$rc" = 0 ] || tail -n 20 err >&2
check "temporary files of a killed write removed" sh -c \
    "! ls -A '$S/done' '$S/error' | grep -q '^\.spoold-tmp'"
check "their removal logged" grep -q 'removed 1 temporary file' logs/fdms.log
check "no CRITICAL in the log" sh -c '! grep -q CRITICAL logs/fdms.log'
grep CRITICAL logs/fdms.log | head -n 5 >&2

# I2.
check "inbox empty" empty "$S/inbox"
check "work/ empty" empty "$S/work"

# I1, I3, I4, I5, I6: one report line per broken invariant.
python3 "$TOP/tests/integration/invariants.py" "$TOP" "$S" "$TRASH/db.sqlite3" \
    manifest "$SIM_URL" "$SIM_CA" 4711 >inv.out 2>&1
rc=$?
sed 's/^/# /' inv.out | grep -v '^# BAD'
grep '^BAD' inv.out >&2
expect_eq "invariants I1 I3 I4 I5 I6" "$rc" 0
finish

#!/bin/sh
# device_admin.sh - spoolctl register, config, status, open-day, ping,
# renew-cert, resync, cert and migrate against the FDMS simulator over real
# mutual TLS (interface.md §1, issue 3).
. tests/integration/testlib
spoold_env
start_sim || { fail "simulator"; finish; exit 1; }
cd "$TRASH" || exit 1

KEY=$(python3 -c 'import base64, os; print(base64.urlsafe_b64encode(os.urandom(32)).decode())')
cat >spoold.conf <<CONF
[global]
env = staging
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db_staging.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
encryption_key = $KEY

[device till1]
device_id = 12345
serial_no = SN-001
activation_key = TESTKEY1

[device till2]
device_id = 777
serial_no = SN 002
activation_key = testkey1
CONF
C="$CTL -c spoold.conf"

# register: ECDSA for till1, RSA for till2 (activation key case-insensitive).
$C --device till1 register >out 2>err; rc=$?
expect_eq "register ecdsa" "$rc" 0
check "register shows the taxpayer" grep -q 'belongs to' out
check "register prints the taxes" grep -q '517  15.50' out
$C --device till2 register --key-type rsa >out 2>err; rc=$?
expect_eq "register rsa" "$rc" 0
check "rsa key" grep -q 'RSA-2048' out
$C --device till1 register >out 2>err; rc=$?
expect_eq "second register refused" "$rc" 1
check "already registered" grep -q 'already registered' err
check "no unencrypted-key warning with a key" sh -c '! grep -q WARNING err'

# The key is stored as a Fernet token that Python decrypts with the same key.
check "key encrypted at rest (Fernet, python3-cryptography)" python3 - \
    "$TRASH/db_staging.sqlite3" "$KEY" <<'PY'
import sqlite3, sys
from cryptography.fernet import Fernet
db = sqlite3.connect(sys.argv[1])
rows = db.execute("select * from device_keys").fetchall()
assert rows, "no keys"
cols = [d[0] for d in db.execute("select * from device_keys").description]
n = 0
for r in rows:
    rec = dict(zip(cols, r))
    blob = [v for k, v in rec.items() if isinstance(v, (str, bytes)) and
            (v.startswith(b"gAAAA" if isinstance(v, bytes) else "gAAAA"))]
    assert blob, rec.keys()
    tok = blob[0] if isinstance(blob[0], bytes) else blob[0].encode()
    pem = Fernet(sys.argv[2].encode()).decrypt(tok)
    assert b"PRIVATE KEY" in pem
    n += 1
assert n == 2
PY

# cert: the PEM with the FDMS CN.
$C --device till2 cert >cert.pem; rc=$?
expect_eq "cert" "$rc" 0
check "cert CN" sh -c "openssl x509 -in cert.pem -noout -subject | grep -q 'ZIMRA-SN 002-0000000777'"

# config, ping.
$C --device till1 config >out; expect_eq "config" "$?" 0
check "config qrUrl" grep -q 'qrUrl: *https://fdmstest.zimra.co.zw' out
$C --device till1 ping >out; expect_eq "ping" "$?" 0
check "ping frequency" grep -q 'reportingFrequency: 5' out

# status of both devices, text and JSON.
$C status >out; expect_eq "status" "$?" 0
check "status lists both" sh -c 'grep -q "device till1" out && grep -q "device till2" out'
$C status --json >st.json; expect_eq "status --json" "$?" 0
check "status json" python3 -c '
import json
d = json.load(open("st.json"))
assert d["env"] == "staging" and len(d["devices"]) == 2
t = d["devices"][0]
for k in ("fiscalDayNo", "receiptsToday", "pending", "lastReceiptGlobalNo",
          "fdmsLastReceiptGlobalNo", "certificateValidTill", "errorFiles"):
    assert k in t, k
assert t["registered"] is True and t["fiscalDayNo"] is None
'

# A copy of the journal before the day opens: the "old backup" below.
python3 -c "import sqlite3; s=sqlite3.connect('$TRASH/db_staging.sqlite3'); d=sqlite3.connect('$TRASH/old.sqlite3'); s.backup(d)"

# open-day: journaled and confirmed; a second one refused.
$C --device till1 open-day >out 2>err; rc=$?
expect_eq "open-day" "$rc" 0
check "day 1" grep -q 'fiscal day 1 opened' out
$C --device till1 open-day >out 2>err; rc=$?
expect_eq "second open-day refused" "$rc" 1
$C --device till2 open-day --opened-at 2026-01-05T07:30:00 >out 2>err; rc=$?
expect_eq "open-day --opened-at" "$rc" 0
check "opened-at recorded" grep -q '2026-01-05T07:30:00' out
$C --device till2 open-day --opened-at yesterday >out 2>err
expect_eq "bad --opened-at" "$?" 2

# renew-cert, then the device keeps working with the new certificate.
old=$($C --device till1 cert | openssl x509 -noout -serial)
$C --device till1 renew-cert >out 2>err; expect_eq "renew-cert" "$?" 0
new=$($C --device till1 cert | openssl x509 -noout -serial)
check "certificate replaced" test "$old" != "$new"
$C --device till1 ping >out 2>err; expect_eq "ping with the new certificate" "$?" 0

# resync: consistent now.
$C --device till1 resync >out 2>err; rc=$?
expect_eq "resync clean" "$rc" 0
check "consistent" grep -q 'resync: consistent' out

# Restore the old journal: FDMS knows day 1, the journal does not.
cp "$TRASH/old.sqlite3" "$TRASH/db_staging.sqlite3"
rm -f "$TRASH/db_staging.sqlite3-wal" "$TRASH/db_staging.sqlite3-shm"
$C --device till1 resync >out 2>err; rc=$?
expect_eq "resync finds the discrepancy" "$rc" 1
check "discrepancy named" grep -q 'DISCREPANCY: FDMS knows fiscal day 1' out
check "signing blocked" grep -q 'BLOCKED' out
$C --device till1 status --json >st.json
check "status shows the block" python3 -c '
import json; d = json.load(open("st.json"))
assert d["devices"][0]["signingBlocked"] is True'
$C --device till1 open-day >out 2>err; rc=$?
expect_eq "open-day refused while FDMS has an open day" "$rc" 1

# Production refuses http:// and a missing encryption key (exit 2).
sed -e 's/^env = staging/env = production/' -e '/^encryption_key/d' \
    -e 's|^database = .*|database = '"$TRASH"'/db_production.sqlite3|' \
    spoold.conf >prod.conf
$CTL -c prod.conf --device till1 ping >out 2>err; rc=$?
expect_eq "production without a key" "$rc" 2
check "names the key" grep -q 'encryption_key' err

# A device registered in staging cannot be used from a development config.
sed -e 's/^env = staging/env = development/' spoold.conf >dev.conf
$CTL -c dev.conf --device till2 ping >out 2>err; rc=$?
expect_eq "environment mismatch refused" "$rc" 2
check "says which environment" grep -qi 'staging' err

# Several devices need --device; unknown commands and options are usage errors.
$C ping >out 2>err; expect_eq "ambiguous device" "$?" 2
$C --device till1 ping --bogus >out 2>err; expect_eq "bad option" "$?" 2
$C --device nosuch ping >out 2>err; expect_eq "unknown device" "$?" 2
finish

#!/bin/sh
# secrets.sh - issue 6 scenario 10: keys and secrets (anchors B.10).
#  (a) production refuses to start (spoold -n, spoold, spoolctl) with the
#      journal readable or writable by group or others, with the
#      configuration file readable by others while it holds
#      encryption_key, and without an encryption key; each message names
#      the file and the setting; the fixed set-up then passes;
#  (b) a full cycle in development WITH an encryption key and -v
#      (register, open-day, receipts through spoold, a bad file,
#      close-day, backup, renew-cert): no byte of key material (the PEM
#      body lines, the raw private scalar in hex, the Fernet key raw or
#      encoded) in any log, result or error file, backup, or captured
#      output; the key in the journal is a Fernet token that decrypts with
#      the key, and no "PRIVATE KEY" text is in the database, its -wal or
#      a backup;
#  (c) no core dump: Max core file size 0 in /proc/PID/limits; SIGSEGV
#      with `ulimit -c unlimited` leaves no core file;
#  (d) as root: spoold with user = spoold-test drops to it before it
#      opens anything (Uid/Gid/Groups in /proc/PID/status, NoNewPrivs,
#      not dumpable: /proc/PID owned by root), processes receipts, its
#      files belong to the account, and a planted link to a root-only
#      secret is refused without a byte of it read; not root: the test
#      says so and checks that user = SOMEONE ELSE is refused.
# Ends with fault_verify over the receipts of (b) and (d).
. tests/fault/faultlib
SPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}

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
# refused WHAT PATTERN COMMAND...: the command fails and says PATTERN.
refused() {
	what=$1 pat=$2
	shift 2
	"$@" >"$TRASH/ref.out" 2>&1
	r=$?
	if [ "$r" = 0 ]; then
		fail "$what: accepted (exit 0)"
	elif grep -q -- "$pat" "$TRASH/ref.out"; then
		ok
	else
		fail "$what: exit $r without \"$pat\": $(head -c 400 "$TRASH/ref.out")"
	fi
}

KEY=$(python3 -c 'from cryptography.fernet import Fernet
print(Fernet.generate_key().decode())')
N=$(fault_size 12 60)
FAULT_CONF="encryption_key = $KEY"
fault_setup 3101 || { fail "set-up"; finish; exit 1; }
trap cleanup EXIT	# after start_sim, which sets its own

# ---- (a) production refuses ------------------------------------------
P=$TRASH/prod
mkdir -p "$P"
PDB=$P/db.sqlite3
# write_prod KEYLINE: a production configuration over a journal of its own.
write_prod() {
	cat >"$P/spoold.conf" <<CONF
[global]
env = production
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $PDB
logs_dir = $P/logs
spool_dir = $P/spool
$1

[device till1]
device_id = 3102
serial_no = SN-3102
activation_key = TESTKEY1
CONF
	chmod 600 "$P/spoold.conf"
}
write_prod "encryption_key = $KEY"
# The journal, created by spoolctl (0600, at the latest schema).
"$CTL" -c "$P/spoold.conf" status >"$P/status.out" 2>&1
check "production: journal created" test -f "$PDB"
expect_eq "production: created 0600" "$(stat -c %a "$PDB")" 600
ok_n() { "$D" -c "$P/spoold.conf" -n >"$TRASH/n.out" 2>&1; }
check "production: the clean set-up passes -n" ok_n
[ -s "$TRASH/n.out" ] && ! grep -q 'configuration OK' "$TRASH/n.out" &&
    cat "$TRASH/n.out" >&2
for mode in 644 640 604 620 602; do
	chmod "$mode" "$PDB"
	refused "journal $mode: spoold -n" "$PDB: database: mode 0$mode" \
	    "$D" -c "$P/spoold.conf" -n
	refused "journal $mode: spoold" "$PDB: database: mode 0$mode" \
	    "$D" -c "$P/spoold.conf" -f --once
	refused "journal $mode: spoolctl status" "$PDB: database: mode" \
	    "$CTL" -c "$P/spoold.conf" status
done
chmod 600 "$PDB"
# The WAL inherits the mode; one made readable by hand is refused too.
: >"$PDB-wal"
chmod 644 "$PDB-wal"
refused "journal -wal 644: spoold -n" "$PDB-wal: database: mode 0644" \
    "$D" -c "$P/spoold.conf" -n
rm -f "$PDB-wal"
ln -s "$PDB" "$P/link.sqlite3"
sed "s|^database = .*|database = $P/link.sqlite3|" "$P/spoold.conf" \
    >"$P/link.conf" && chmod 600 "$P/link.conf"
refused "journal behind a symlink" "link.sqlite3: database: is a symbolic" \
    "$D" -c "$P/link.conf" -n
# The configuration file with the key in it.
chmod 644 "$P/spoold.conf"
refused "config 644 with encryption_key: spoold -n" \
    "$P/spoold.conf: encryption_key: mode 0644" "$D" -c "$P/spoold.conf" -n
refused "config 644 with encryption_key: spoold" \
    "$P/spoold.conf: encryption_key: mode 0644" \
    "$D" -c "$P/spoold.conf" -f --once
refused "config 644 with encryption_key: spoolctl" \
    "$P/spoold.conf: encryption_key: mode 0644" \
    "$CTL" -c "$P/spoold.conf" status
check "the refusal does not echo the key" sh -c "! grep -qF '$KEY' \
    '$TRASH/ref.out'"
chmod 640 "$P/spoold.conf"
check "config 0640 with encryption_key: accepted" ok_n
chmod 666 "$P/spoold.conf"
refused "config writable by others" "$P/spoold.conf: mode 0666: writable" \
    "$D" -c "$P/spoold.conf" -n
# The key from the environment: a readable file holds no secret.
write_prod ""
chmod 644 "$P/spoold.conf"
export FDMS_ENCRYPTION_KEY=$KEY
check "config 0644, key in \$FDMS_ENCRYPTION_KEY: accepted" ok_n
unset FDMS_ENCRYPTION_KEY
refused "no encryption key: spoold -n" \
    "encryption_key: required in production" "$D" -c "$P/spoold.conf" -n
refused "no encryption key: spoold" \
    "encryption_key: required in production" \
    "$D" -c "$P/spoold.conf" -f --once
refused "no encryption key: spoolctl" \
    "encryption_key: required in production" \
    "$CTL" -c "$P/spoold.conf" status
write_prod "user = no-such-user-$$"
refused "user that does not exist" "user: no such user" \
    "$D" -c "$P/spoold.conf" -n

# ---- (b) a full cycle, verbose, looking for key material --------------
OUT=$TRASH/out
mkdir -p "$OUT"
cp "$TRASH/register.out" "$OUT/"
"$CTL" -c "$CONF" open-day >"$OUT/open-day.out" 2>&1
expect_eq "open-day" "$?" 0
fault_gen "$N" 31 S
fault_drop_all
"$D" -c "$CONF" --once -v >"$OUT/once.out" 2>"$OUT/once.err"
expect_eq "spoold --once -v: all submitted" "$?" 0
nbad=$(grep -c ' bad$' "$TRASH/manifest")
check "a bad file among them" test "$nbad" -ge 1
# key_material: every string of key material the journal now holds, one
# per line (the PEM body lines, the private scalar in hex, the Fernet
# key and its raw bytes in hex); checks on the way that the key is a
# Fernet token for KEY and that no PEM is in the database files.
key_material() {
	python3 - "$DB" "$KEY" "$1" <<'PY'
import base64, glob, sqlite3, sys
from cryptography.fernet import Fernet
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
db, key, out = sys.argv[1], sys.argv[2], sys.argv[3]
rows = sqlite3.connect(db).execute(
    "SELECT key_blob, encrypted FROM device_keys").fetchall()
pats = {key, base64.urlsafe_b64decode(key).hex()}
for blob, enc in rows:
    if enc != 1:
        sys.exit("key stored in the clear (encrypted = %r)" % enc)
    if "PRIVATE KEY" in blob:
        sys.exit("a PEM in key_blob")
    pem = Fernet(key.encode()).decrypt(blob.encode())
    if b"PRIVATE KEY" not in pem:
        sys.exit("the token does not decrypt to a private key")
    for l in pem.decode().splitlines():
        if l and not l.startswith("-----"):
            pats.add(l)
    k = serialization.load_pem_private_key(pem, None)
    if isinstance(k, ec.EllipticCurvePrivateKey):
        v = k.private_numbers().private_value
        pats.add("%064x" % v)
        pats.add(base64.b64encode(v.to_bytes(32, "big")).decode().rstrip("="))
    elif isinstance(k, rsa.RSAPrivateKey):
        pats.add("%x" % k.private_numbers().d)
for f in glob.glob(db + "*"):
    with open(f, "rb") as fp:
        if b"PRIVATE KEY" in fp.read():
            sys.exit("PRIVATE KEY text in " + f)
with open(out, "a") as fp:
    for p in sorted(pats):
        fp.write(p + "\n")
print(len(rows))
PY
}
PATS=$TRASH/patterns
: >"$PATS"
nkeys=$(key_material "$PATS" 2>"$TRASH/km.err")
expect_eq "the journal holds 1 key, a Fernet token for the key" \
    "$nkeys" 1
[ -s "$TRASH/km.err" ] && cat "$TRASH/km.err" >&2
"$CTL" -c "$CONF" close-day >"$OUT/close-day.out" 2>&1
expect_eq "close-day" "$?" 0
"$CTL" -c "$CONF" backup --output-dir "$TRASH/backups" \
    >"$OUT/backup.out" 2>&1
expect_eq "backup" "$?" 0
"$CTL" -c "$CONF" renew-cert >"$OUT/renew.out" 2>&1
expect_eq "renew-cert" "$?" 0
nkeys=$(key_material "$PATS" 2>"$TRASH/km.err")
expect_eq "after renew-cert: still 1 key, a Fernet token" "$nkeys" 1
"$CTL" -c "$CONF" open-day >>"$OUT/open-day.out" 2>&1
expect_eq "open-day after the renewal" "$?" 0
fault_gen 3 32 T
fault_drop_all
"$D" -c "$CONF" --once -v >>"$OUT/once.out" 2>>"$OUT/once.err"
expect_eq "spoold --once -v with the new key" "$?" 0
"$CTL" -c "$CONF" backup --output-dir "$TRASH/backups" \
    >>"$OUT/backup.out" 2>&1
expect_eq "second backup" "$?" 0
npats=$(wc -l <"$PATS")
check "key material to look for ($npats strings)" test "$npats" -ge 8
check "the log is verbose (DEBUG lines)" grep -q DEBUG "$TRASH/logs/fdms.log"
check "backups written" test -n "$(ls "$TRASH/backups" 2>/dev/null)"
# Everything the cycle wrote, the journal itself aside (it must hold the
# Fernet token); backups are journals too: no PEM in them, and the token
# is all they have.
hits=$(grep -rlaF -f "$PATS" "$TRASH/logs" "$TRASH/spool" "$OUT" \
    "$TRASH/drain.out" "$TRASH/drain.err" 2>/dev/null)
expect_eq "no key material in logs, spool, outputs" "$hits" ""
hits=$(grep -rlaF -f "$PATS" "$TRASH/backups" 2>/dev/null)
expect_eq "no key material in the backups" "$hits" ""
hits=$(grep -rla "PRIVATE KEY" "$TRASH/logs" "$TRASH/spool" "$OUT" \
    "$TRASH/backups" "$DB"* 2>/dev/null)
expect_eq "no PEM private key anywhere" "$hits" ""
# The Fernet token for KEY in the backup decrypts: it is the journal's.
check "the backups keep the key encrypted" python3 - "$KEY" \
    "$TRASH"/backups/* <<'PY'
import sqlite3, sys
from cryptography.fernet import Fernet
f = Fernet(sys.argv[1].encode())
for b in sys.argv[2:]:
    for blob, enc in sqlite3.connect(b).execute(
            "SELECT key_blob, encrypted FROM device_keys"):
        assert enc == 1 and b"PRIVATE KEY" in f.decrypt(blob.encode()), b
PY

# ---- (c) no core dumps --------------------------------------------------
# start_d [ENV...]: spoold -f in the background (cwd $TRASH, core files
# unlimited from the shell), SPID once it holds the spool lock.
start_d() {
	rm -f "$TRASH/spool/.spoold.lock"
	(ulimit -c unlimited 2>/dev/null; exec env "$@" "$D" -c "$CONF" -f \
	    >>"$OUT/d.out" 2>>"$OUT/d.err") &
	SPID=$!
	wait_for 300 test -s "$TRASH/spool/.spoold.lock"
}
start_d
check "spoold up" kill -0 "$SPID"
check "RLIMIT_CORE 0 in /proc/PID/limits" grep -qE \
    '^Max core file size +0 +0 ' "/proc/$SPID/limits"
pattern=$(cat /proc/sys/kernel/core_pattern 2>/dev/null)
kill -SEGV "$SPID"
{ wait "$SPID"; } 2>/dev/null
rc=$?
SPID=
# ASan catches SIGSEGV itself and exits 1; the kernel would say 139.
check "SIGSEGV killed it" test "$rc" -ne 0
case $pattern in
'|'*)	echo "# core_pattern is a pipe ($pattern): no core file to look for" ;;
*)	cores=$(find "$TRASH" -name 'core*' -newer "$CONF" 2>/dev/null)
	expect_eq "no core file after SIGSEGV" "$cores" "" ;;
esac
check "no key material in the daemon's output" sh -c "! grep -qaF -f \
    '$PATS' '$OUT/d.out' '$OUT/d.err'"

# ---- (d) privilege drop --------------------------------------------------
if [ "$(id -u)" != 0 ]; then
	echo "# not root: the privilege drop is not tested"
	refused "user = root when not root" "needs spoold started as root" \
	    env SPOOLD_USER=root "$D" -c "$CONF" -f --once
else
	U=spoold-test
	id "$U" >/dev/null 2>&1 ||
	    useradd -r -M -d /nonexistent -s /usr/sbin/nologin "$U" ||
	    fail "useradd $U"
	uid=$(id -u "$U")
	gid=$(id -g "$U")
	# The account owns the tree spoold writes (tmpfiles does it for
	# /var/spool/spoold); the configuration stays root's alone.
	chmod 755 "$TRASH"
	chown -R "$U:" "$TRASH/spool" "$TRASH/logs" "$DB"* "$TRASH/sim"
	chown root:root "$CONF"
	chmod 600 "$CONF"
	# The schemas are read after the drop: a checkout under /root is
	# not the account's to read, a copy is.
	cp -R "$SPOOLD_SCHEMA_DIR" "$TRASH/schemas"
	chmod -R a+rX "$TRASH/schemas"
	SECRET="root-only-$$-secret"
	echo "$SECRET" >"$TRASH/root-secret.json"
	chmod 600 "$TRASH/root-secret.json"
	echo "$SECRET" >>"$PATS"
	rm -rf "$TRASH/logs"	# created anew, after the drop
	mkdir "$TRASH/logs" && chown "$U:" "$TRASH/logs"
	start_d SPOOLD_USER="$U" SPOOLD_SCHEMA_DIR="$TRASH/schemas"
	check "spoold up as $U" kill -0 "$SPID"
	st=/proc/$SPID/status
	expect_eq "Uid: real, effective, saved, fs" \
	    "$(awk '/^Uid:/ { print $2, $3, $4, $5 }' "$st")" \
	    "$uid $uid $uid $uid"
	expect_eq "Gid: real, effective, saved, fs" \
	    "$(awk '/^Gid:/ { print $2, $3, $4, $5 }' "$st")" \
	    "$gid $gid $gid $gid"
	groups=$(awk '/^Groups:/ { $1 = ""; print }' "$st" | tr ' ' '\n' |
	    grep -vx "$gid" | grep -v '^$' || :)
	expect_eq "no other supplementary group (no root's)" "$groups" ""
	expect_eq "NoNewPrivs" "$(awk '/^NoNewPrivs:/ { print $2 }' "$st")" 1
	expect_eq "not dumpable after the drop (/proc/PID is root's)" \
	    "$(stat -c %u "$st")" 0
	check "still RLIMIT_CORE 0" grep -qE '^Max core file size +0 +0 ' \
	    "/proc/$SPID/limits"
	ln -s "$TRASH/root-secret.json" "$S/inbox/root-link.json"
	fault_gen 5 33 U
	fault_drop_all
	last=$(tail -n 1 "$TRASH/manifest" | awk '{ print $1 }')
	check "receipts processed as $U" wait_for 300 test -f \
	    "$S/done/$last.result.json"
	check "planted link refused" wait_for 100 test -f \
	    "$S/error/root-link.json.error.json"
	expect_eq "planted link: SYMLINK" "$(python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))["errors"][0]["code"])' \
	    "$S/error/root-link.json.error.json" 2>&1)" SYMLINK
	expect_eq "result files belong to $U" \
	    "$(stat -c %u "$S/done/$last.result.json")" "$uid"
	expect_eq "log files created after the drop belong to $U" \
	    "$(stat -c %u "$TRASH/logs/fdms.log")" "$uid"
	check "the secret is still root's" test "$(stat -c %U:%a \
	    "$TRASH/root-secret.json")" = root:600
	kill -TERM "$SPID"
	wait "$SPID"
	expect_eq "SIGTERM: exit 0" "$?" 0
	SPID=
	hits=$(grep -rlaF "$SECRET" "$TRASH/spool" "$TRASH/logs" "$OUT" \
	    2>/dev/null)
	expect_eq "no byte of the root-only secret read" "$hits" ""
	# The symlink itself goes to error/ (it is not the input file).
	rm -f "$S/error/root-link.json" "$S/error/root-link.json.error.json"
	chown -R root:root "$TRASH/spool" "$TRASH/logs" "$DB"* "$TRASH/sim"
fi
fault_drain 3 || fail "drain"
fault_verify secrets 1 "keys=$npats strings; uid=$(id -u)"
finish

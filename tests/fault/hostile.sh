#!/bin/sh
# hostile.sh - issue 6 scenarios 6 and 7: a hostile inbox and hostile
# content, while good receipts flow (tests/integration/spoold_inbox.sh
# already covers the bad corpus's codes, symlinks and a hard link to a
# secret, FIFOs, directories, a too-large and a 10 GB sparse file one at a
# time; this adds what it does not).  One spoold -f, traced by strace
# (when it can attach) for opens and network calls:
#  (a) links to what spoold holds dear: symbolic AND hard links to the
#      journal and to the configuration file that holds encryption_key,
#      a device node (/dev/zero) when root: each refused (SYMLINK,
#      HARD_LINK, NOT_REGULAR_FILE), the journal and the configuration
#      untouched;
#  (b) swapped between check and open: a background loop replaces one
#      name, thousands of times, by a regular file, a symbolic link to a
#      secret and a hard link to it: no open that resolved to the secret
#      succeeded (strace -y), and no byte of the secret is in any result,
#      error or logged file (only links to the secret's own inode may
#      hold it);
#  (c) names: with "..", control characters (ESC, newline, DEL),
#      invalid UTF-8, exactly 255 bytes, and 250 bytes (result names
#      would pass NAME_MAX): each processed or refused inside the spool,
#      nothing overwritten in done/ or error/ (an input's twin is
#      suffixed), every reply named after its input, the logs escape the
#      control bytes;
#  (d) memory: VmHWM stays under a bound (not under ASan, whose
#      quarantine holds freed memory) while a 10 GB sparse file, a
#      directory of many files and an inbox crowded with non-receipt
#      names are present;
#  (e) content: the bad corpus plus XML bombs (billion laughs, parameter
#      entities, quadratic blow-up), external entities (file and http, to
#      a listener that must see no connection), any DOCTYPE, XInclude,
#      JSON nested 100,000 deep (arrays and objects), duplicate keys,
#      1e400, amounts past 2^53, UTF-16: each in error/ with a code; no
#      open outside the spool, logs and start-up files, no connect()
#      other than to FDMS; no crash (ASan in make check);
# then fault_verify over the good files dropped all along (the hostile
# ones are checked here and taken out of error/ first: they are no
# manifest input).
. tests/fault/faultlib
SPID=
TPID=
LPID=
RPID=
cleanup() {
	for p in $RPID $TPID $SPID $LPID $SIM_PID; do
		kill "$p" 2>/dev/null
	done
	wait 2>/dev/null
	rm -rf "$TRASH"
}

wait_for() {
	n=$1
	shift
	while ! "$@" 2>/dev/null; do
		n=$((n - 1))
		[ "$n" -le 0 ] && return 1
		sleep 0.1
	done
}

KEY=$(python3 -c 'from cryptography.fernet import Fernet
print(Fernet.generate_key().decode())')
FAULT_CONF="encryption_key = $KEY"
fault_setup 3201 || { fail "set-up"; finish; exit 1; }
trap cleanup EXIT	# after start_sim, which sets its own
N=$(fault_size 30 400)
SWAPS=$(fault_size 2000 30000)
CROWD=$(fault_size 2000 100000)
I=$S/inbox
SECRET="hostile-secret-$$-never-read"
echo "{\"receiptType\": \"$SECRET\"}" >"$TRASH/secret.json"
SECRET_INO=$(stat -c %i "$TRASH/secret.json")
DB_SUM=$(sha256sum <"$DB")
CONF_SUM=$(sha256sum <"$CONF")

# A listener for the external entities' http:// URLs: must see nothing.
cat >"$TRASH/listener.py" <<'PY'
import socket, sys
s = socket.socket()
s.bind(("127.0.0.1", 0))
s.listen(5)
open(sys.argv[1] + ".port", "w").write("%d\n" % s.getsockname()[1])
while True:
    c, a = s.accept()
    open(sys.argv[1] + ".hits", "a").write("connection from %s\n" % (a,))
    c.close()
PY
python3 "$TRASH/listener.py" "$TRASH/listener" &
LPID=$!
wait_for 100 test -s "$TRASH/listener.port" || fail "listener"
LPORT=$(cat "$TRASH/listener.port")

# ---- start, traced ----------------------------------------------------
rm -f "$TRASH/spool/.spoold.lock"
"$D" -c "$CONF" -f >"$TRASH/d.out" 2>"$TRASH/d.err" &
SPID=$!
wait_for 300 test -s "$TRASH/spool/.spoold.lock"
check "spoold up" kill -0 "$SPID"
traced=no
if command -v strace >/dev/null 2>&1; then
	# Attached after start-up: every open it logs is the run's own.
	strace -f -qq -y -p "$SPID" -e trace=open,openat,openat2,connect \
	    -e signal=none -o "$TRASH/strace.log" 2>"$TRASH/strace.err" &
	TPID=$!
	# Attached once spoold names its tracer.
	if wait_for 50 sh -c "grep -q '^TracerPid:[[:space:]]*[1-9]' \
	    /proc/$SPID/status"; then
		traced=yes
	else
		kill "$TPID" 2>/dev/null
		wait "$TPID" 2>/dev/null
		TPID=
		echo "# strace cannot attach here: opens are not traced"
	fi
else
	echo "# strace not installed: opens are not traced"
fi
HWM0=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SPID/status")

# The good files of the run, dropped at a steady pace meanwhile.
fault_gen "$N" 61 H
fault_feed 3

# ---- (a) links to the journal and the configuration ------------------
ln -s "$DB" "$I/db-symlink.json"
ln "$DB" "$I/db-hardlink.json"
ln -s "$CONF" "$I/conf-symlink.xml"
ln "$CONF" "$I/conf-hardlink.json"
ln -s "$DB-wal" "$I/wal-symlink.json"
ln -s /etc/shadow "$I/shadow.json"
expect_a="db-symlink.json:SYMLINK db-hardlink.json:HARD_LINK
conf-symlink.xml:SYMLINK conf-hardlink.json:HARD_LINK
wal-symlink.json:SYMLINK shadow.json:SYMLINK"
if [ "$(id -u)" = 0 ]; then
	mknod "$I/zero.json" c 1 5 &&
	    expect_a="$expect_a zero.json:NOT_REGULAR_FILE"
fi

# ---- (b) swapped between check and open --------------------------------
cat >"$TRASH/swap.py" <<'PY'
import os, sys
inbox, secret, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
tmp = os.path.join(os.path.dirname(inbox), "swap.tmp")
for i in range(n):
    for j in range(3):
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        if j == 0:
            with open(tmp, "w") as f:
                f.write('{"swap": %d}\n' % i)
        elif j == 1:
            os.symlink(secret, tmp)
        else:
            os.link(secret, tmp)
        os.rename(tmp, os.path.join(inbox, "swap.json"))
print("swapped", n)
PY
python3 "$TRASH/swap.py" "$I" "$TRASH/secret.json" "$SWAPS" \
    >"$TRASH/swap.out" 2>&1 &
RPID=$!

# ---- (c) names -----------------------------------------------------------
# mkname BYTES-AS-PYTHON-LITERAL CONTENT-FILE: a file of that name.
mkname() {
	python3 - "$I" "$1" "$2" <<'PY'
import os, sys
name = eval(sys.argv[2])		# ours: bytes expressions
with open(sys.argv[3], "rb") as f:
    data = f.read()
inbox = os.fsencode(sys.argv[1])
tmp = os.path.join(inbox, b".n.tmp")
with open(tmp, "wb") as f:
    f.write(data)
os.rename(tmp, os.path.join(inbox, name))
PY
}
BADJ=$TOP/tests/corpus/bad/wrong-line-total.json
printf '{"x": 1}\n' >"$TRASH/small.json"
mkname "b'a..b.json'" "$TRASH/small.json"
mkname "b'x..%2f..%2fetc.json'" "$TRASH/small.json"
mkname "b'..%2f..%2fetc.json'" "$TRASH/small.json"	# a dotfile: skipped
mkname "b'ctl-\\x1b[31m-red\\x07.json'" "$TRASH/small.json"
mkname "b'nl-\\nFAKE LOG LINE CRITICAL\\n.json'" "$TRASH/small.json"
mkname "b'del-\\x7f.json'" "$TRASH/small.json"
mkname "b'utf8-\\xff\\xfe\\xc0\\xaf.json'" "$TRASH/small.json"
mkname "b'u' + b'x' * 245 + b'.json'" "$TRASH/small.json"	# 251
mkname "b'v' * 250 + b'.json'" "$BADJ"				# 255
mkname "b'w' * 245 + b'.xml'" "$TOP/tests/corpus/bad/malformed.xml"	# 249
# A twin: the same name again once the first is in error/.
mkname "b'twin.json'" "$TRASH/small.json"
check "twin: first in error/" wait_for 100 test -f "$S/error/twin.json.error.json"
printf '{"x": 2}\n' >"$TRASH/small2.json"
mkname "b'twin.json'" "$TRASH/small2.json"

# ---- (d) memory --------------------------------------------------------
truncate -s 10G "$I/sparse.json"
mkdir "$TRASH/many.json"
python3 - "$TRASH/many.json" "$I" "$CROWD" <<'PY'
import os, sys
d, inbox, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
for i in range(n):
    open(os.path.join(d, "f%06d.json" % i), "w").close()
for i in range(n):	# non-receipt names and work in progress, left alone
    open(os.path.join(inbox, ("crowd-%06d.txt" if i % 2 else
                              ".crowd-%06d.json") % i), "w").close()
PY
mv "$TRASH/many.json" "$I/"

# ---- (e) content -----------------------------------------------------------
H=$TRASH/hostile-content
mkdir -p "$H"
for f in "$TOP"/tests/corpus/bad/*; do
	cp "$f" "$H/corpus-$(basename "$f")"
done
python3 - "$H" "$TRASH/secret.json" "$LPORT" <<'PY'
import os, sys
d, secret, port = sys.argv[1], sys.argv[2], sys.argv[3]
http = "http://127.0.0.1:%s" % port
R = ('<receipt><receiptType>FiscalInvoice</receiptType>'
     '<receiptCurrency>USD</receiptCurrency><invoiceNo>%s</invoiceNo>'
     '<receiptTotal>1.00</receiptTotal></receipt>')
docs = {
 "laughs.xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "aaaaaaaaaa">'
   + "".join('<!ENTITY %s "%s">' % (chr(98 + i), ("&%s;" % chr(97 + i)) * 10)
             for i in range(9)) + ']>' + R % "&j;",
 "param-entities.xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY % p '
   '"<!ENTITY x \'xx\'>"> %p;]>' + R % "&x;",
 "quadratic.xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY a "'
   + "A" * 50000 + '">]>' + R % ("&a;" * 2000),
 "xxe-secret.xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY s SYSTEM '
   '"file://%s">]>' % secret + R % "&s;",
 "xxe-http.xml": '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY s SYSTEM '
   '"%s/entity">]>' % http + R % "&s;",
 "xxe-param-http.xml": ('<?xml version="1.0"?><!DOCTYPE r [<!ENTITY %% s '
   'SYSTEM "%s/param.dtd"> %%s;]>' % http) + R % "x",
 "dtd-http.xml": '<?xml version="1.0"?><!DOCTYPE receipt SYSTEM '
   '"%s/receipt.dtd">' % http + R % "x",
 "dtd-file.xml": '<?xml version="1.0"?><!DOCTYPE receipt SYSTEM '
   '"file://%s">' % secret + R % "x",
 "doctype-empty.xml": '<?xml version="1.0"?><!DOCTYPE receipt>' + R % "x",
 "doctype-internal.xml": '<?xml version="1.0"?><!DOCTYPE receipt '
   '[<!ELEMENT receipt ANY>]>' + R % "x",
 "xinclude.xml": '<?xml version="1.0"?><receipt '
   'xmlns:xi="http://www.w3.org/2001/XInclude"><xi:include href="file://%s"'
   ' parse="text"/></receipt>' % secret,
 "stylesheet.xml": '<?xml version="1.0"?><?xml-stylesheet type="text/xsl" '
   'href="%s/x.xsl"?>' % http + R % "x",
 "schema-location.xml": '<?xml version="1.0"?><receipt '
   'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
   'xsi:noNamespaceSchemaLocation="%s/x.xsd"><receiptType>x'
   '</receiptType></receipt>' % http,
 "deep-100k.xml": "<a>" * 100000 + "</a>" * 100000,
 "deep-100k-array.json": "[" * 100000 + "]" * 100000,
 "deep-100k-object.json": '{"a":' * 100000 + "1" + "}" * 100000,
 "dup-top.json": '{"receiptType": "FiscalInvoice", "receiptType": '
   '"CreditNote", "receiptCurrency": "USD"}',
 "dup-nested.json": '{"receiptLines": [{"taxID": 1, "taxID": 2}]}',
 "total-1e400.json": '{"receiptType": "FiscalInvoice", "receiptTotal": 1e400}',
 "total-neg-1e400.json": '{"receiptTotal": -1e400}',
 "total-2-53.json": '{"receiptType": "FiscalInvoice", "receiptTotal": '
   '9007199254740993}',
 "total-2-64.json": '{"receiptTotal": "184467440737095516.16"}',
 "total-huge-string.json": '{"receiptTotal": "%s.00"}' % ("9" * 400),
 "utf16.json": "\ufeff{\"receiptType\": \"FiscalInvoice\"}".encode(
   "utf-16-le"),
 "bom-then-garbage.xml": b"\xef\xbb\xbf\x00<receipt/>",
}
for name, doc in docs.items():
    with open(os.path.join(d, name), "wb") as f:
        f.write(doc if isinstance(doc, bytes) else doc.encode())
PY
ncontent=0
for f in "$H"/*; do
	n=$(basename "$f")
	cp "$f" "$I/.$n.tmp" && mv "$I/.$n.tmp" "$I/$n"
	ncontent=$((ncontent + 1))
done

# ---- wait for it all -------------------------------------------------------
wait "$RPID"
RPID=
check "the swapper ran" grep -q "^swapped $SWAPS" "$TRASH/swap.out"
wait "$FEED_PID"
# in_error NAME: NAME has its error file.
in_error() { test -f "$S/error/$1.error.json"; }
check "all hostile content in error/" wait_for 600 sh -c 'for n in \
    $(ls "$0"); do test -f "$1/error/$n.error.json" || exit 1; done' "$H" "$S"
for n in $(ls "$H"); do
	check "content $n: in error/" in_error "$n"
done
for e in $expect_a; do
	check "${e%%:*}: in error/" wait_for 100 in_error "${e%%:*}"
done
check "sparse.json: in error/" wait_for 100 in_error sparse.json
check "many.json: in error/" wait_for 100 in_error many.json
check "swap.json: the last one taken" wait_for 100 sh -c \
    "! test -e '$I/swap.json' -o -L '$I/swap.json'"
last=$(tail -n 1 "$TRASH/manifest" | awk '{ print $1 }')
check "the good files went on meanwhile" wait_for 600 sh -c \
    "test -f '$S/done/$last.result.json' -o -f '$S/done/$last.result.xml' \
    -o -f '$S/error/$last.error.json'"
HWM=$(awk '/^VmHWM:/ { print $2 }' "/proc/$SPID/status")
check "spoold alive" kill -0 "$SPID"
if [ -n "$TPID" ]; then
	kill "$TPID"
	wait "$TPID" 2>/dev/null
	TPID=
fi
kill -TERM "$SPID"
wait "$SPID"
expect_eq "SIGTERM: exit 0" "$?" 0
SPID=

# ---- checks ------------------------------------------------------------------
# Every error file's stage and first code, read once: "NAME STAGE CODE".
python3 - "$S/error" >"$TRASH/codes" <<'PY'
import json, os, sys
d = sys.argv[1]
for n in sorted(os.listdir(d)):
    if n.endswith(".error.json") and n.isprintable() and " " not in n:
        try:
            e = json.load(open(os.path.join(d, n)))
            print(n[:-11], e["stage"],
                  e["errors"][0]["code"] if e["errors"] else "none")
        except Exception as x:
            print(n[:-11], "unreadable", type(x).__name__)
PY
code_of() { awk -v n="$1" '$1 == n { print $2, $3 }' "$TRASH/codes"; }
for e in $expect_a; do
	n=${e%%:*}
	expect_eq "$n: code" "$(code_of "$n" | awk '{ print $2 }')" "${e#*:}"
done
expect_eq "the journal's hard link in error/: the same inode" \
    "$(stat -c %i "$S/error/db-hardlink.json")" "$(stat -c %i "$DB")"
check "the configuration untouched" test "$(sha256sum <"$CONF")" = \
    "$CONF_SUM"
check "the journal still a regular file" test -f "$DB" -a ! -L "$DB"
for n in $(ls "$H"); do
	c=$(code_of "$n")
	case $c in
	parse\ *|schema\ *|validate\ *|read\ *) ok ;;
	*) fail "content $n: error file says [$c]" ;;
	esac
done
expect_eq "no connection to the external entities' host" \
    "$(cat "$TRASH/listener.hits" 2>/dev/null)" ""
# (b): the secret, only in links to its own inode.
leaks=$(grep -rlaF --exclude=sparse.json "$SECRET" "$S" "$TRASH/logs" "$TRASH/d.out" \
    "$TRASH/d.err" 2>/dev/null | while read -r f; do
	[ -L "$f" ] && continue
	[ "$(stat -c %i "$f")" = "$SECRET_INO" ] && continue
	echo "$f"
done)
expect_eq "no byte of the secret in any other file" "$leaks" ""
nswap=$(ls "$S/error" | grep -c '^swap.*\.json\.error\.json$')
check "swapped entries refused or processed ($nswap in error/)" \
    test "$nswap" -ge 1
# (c): every reply is named after an input beside it; no stray names.
python3 - "$S" >"$TRASH/names.out" 2>&1 <<'PY'
import os, sys
s = os.fsencode(sys.argv[1])
bad = []
for d in (b"done", b"error"):
    names = set(os.listdir(os.path.join(s, d)))
    for n in names:
        if len(n) > 255 or b"/" in n:
            bad.append((d, n))
        for suf in (b".result.json", b".result.xml", b".error.json"):
            if n.endswith(suf) and n[:-len(suf)] not in names:
                bad.append((d, n, "reply without its input"))
print("BAD" if bad else "OK", bad[:5])
PY
expect_eq "reply names match their inputs" "$(cut -c1-2 "$TRASH/names.out")" \
    OK
[ "$(cut -c1-2 "$TRASH/names.out")" = OK ] || cat "$TRASH/names.out" >&2
pyname() {	# LITERAL: does the name exist in error/ with its error file
	python3 - "$S/error" "$1" <<'PY'
import os, sys
d, n = os.fsencode(sys.argv[1]), eval(sys.argv[2])
sys.exit(0 if os.path.exists(os.path.join(d, n)) and
         os.path.exists(os.path.join(d, n + b".error.json")) else 1)
PY
}
for lit in "b'a..b.json'" "b'x..%2f..%2fetc.json'" \
    "b'ctl-\\x1b[31m-red\\x07.json'" "b'nl-\\nFAKE LOG LINE CRITICAL\\n.json'" \
    "b'del-\\x7f.json'" "b'utf8-\\xff\\xfe\\xc0\\xaf.json'" \
    "b'twin.json'"; do
	check "name $lit: in error/ with its error file" pyname "$lit"
done
check "a dotfile name with .. is left alone (in progress)" test -f \
    "$I/..%2f..%2fetc.json"
# 255 bytes: NAME.error.json cannot exist; the file must still be out of
# the inbox, in error/ under a shorter name with its error file.
check "255-byte name: out of the inbox" python3 -c 'import os, sys
sys.exit(os.path.exists(os.path.join(sys.argv[1], "v" * 250 + ".json")))' "$I"
# 249 to 255 bytes: NAME.error.json would pass NAME_MAX.
for p in vvvvvvvvvv uxxxxxxxxx wwwwwwwwww; do
	nlong=$(ls "$S/error" | grep -c "^$p.*\.error\.json\$")
	expect_eq "long name $p...: one error file" "$nlong" 1
	nlong=$(ls "$S/error" | grep "^$p" | grep -vc '\.error\.json$')
	expect_eq "long name $p...: the input in error/" "$nlong" 1
done
check "twin: kept apart, not overwritten" sh -c "grep -q '\"x\": 1' \
    '$S/error/twin.json' && cat '$S'/error/twin*.json | grep -q '\"x\": 2'"
check "logs: control bytes escaped" sh -c "! grep -qa \
    \"\$(printf '\\033')\" '$TRASH/logs/fdms.log'"
check "logs: no forged line" sh -c "! grep -q '^FAKE LOG LINE' \
    '$TRASH/logs/fdms.log'"
check "nothing outside the spool written" test ! -e "$TRASH/etc.json" -a \
    ! -e "$TRASH/spool/etc.json"
# The hard links go (error/ kept them as found): the journal is one name
# again.
rm -f "$S/error/db-hardlink.json" "$S/error/conf-hardlink.json"
expect_eq "the journal's link count is 1 again" "$(stat -c %h "$DB")" 1
# (d): memory.
echo "# VmHWM: $HWM0 kB after start, $HWM kB at the end ($CROWD crowd files)"
if [ "$FAULT_ASAN" = 1 ]; then
	echo "# ASan: VmHWM not bounded (quarantine)"
else
	check "VmHWM under 64 MB ($HWM kB)" test "$HWM" -lt 65536
fi
# (e) and (b): the trace.
if [ "$traced" = yes ]; then
	python3 - "$TRASH/strace.log" "$TRASH" "$SIM_URL" "$SIM_CA" \
	    "$TRASH/secret.json" >"$TRASH/trace.out" 2>&1 <<'PY'
import re, sys
log, trash, url, ca, secret = sys.argv[1:6]
simport = url.rsplit(":", 1)[1].split("/")[0]
# The journal's directory: SQLite opens it to fsync.
allowed = (trash + "/spool/", trash + "/logs/", trash + "/db.sqlite3", ca, "/etc/ssl/",
           "/usr/lib/ssl/", "/etc/localtime", "/usr/share/zoneinfo/",
           "/etc/hosts", "/etc/resolv.conf", "/etc/nsswitch.conf",
           "/etc/gai.conf", "/etc/host.conf", "/dev/urandom")
bad, opens, conns = [], 0, 0
for line in open(log, errors="replace"):
    m = re.search(r'\b(open|openat|openat2)\(.*\) = (\d+)<([^>]*)>', line)
    if m:
        opens += 1
        p = m.group(3)
        if p == secret or not (p.startswith(allowed) or p == trash):
            bad.append("open " + p)
        continue
    m = re.search(r'\bconnect\(\d+<[^>]*>, \{sa_family=(\w+)(.*?)\}', line)
    if m:
        conns += 1
        if m.group(1) != "AF_INET" or 'sin_port=htons(%s)' % simport \
                not in m.group(2) or '127.0.0.1' not in m.group(2):
            bad.append("connect " + m.group(0))
print("opens=%d connects=%d" % (opens, conns))
for b in sorted(set(bad))[:20]:
    print("BAD", b)
PY
	cat "$TRASH/trace.out" | head -n 1 | sed 's/^/# strace: /'
	check "strace saw the run's opens" grep -q 'opens=[1-9]' \
	    "$TRASH/trace.out"
	bad=$(grep '^BAD' "$TRASH/trace.out")
	expect_eq "no open outside the spool and logs, no foreign connect" \
	    "$bad" ""
fi

# ---- the hostile ones out, then the closing check ------------------------
mkdir -p "$TRASH/checked"
python3 - "$S" "$TRASH/manifest" "$TRASH/checked" <<'PY'
import os, sys
s, manifest, out = sys.argv[1], sys.argv[2], sys.argv[3]
keep = {l.split()[0].encode() for l in open(manifest)}
err = os.path.join(os.fsencode(s), b"error")
for n in os.listdir(err):
    base = n
    for suf in (b".error.json",):
        if n.endswith(suf):
            base = n[:-len(suf)]
    if base not in keep:
        os.rename(os.path.join(err, n), os.path.join(os.fsencode(out), n))
inbox = os.path.join(os.fsencode(s), b"inbox")
for n in os.listdir(inbox):	# the crowd and the dotfiles, left alone
    os.unlink(os.path.join(inbox, n))
PY
fault_drain 3 || fail "drain"
fault_verify hostile 1 "swaps=$SWAPS crowd=$CROWD content=$ncontent \
vmhwm=${HWM}kB"
finish

#!/bin/sh
# spoold_inbox.sh - what a running spoold does with what lands in an inbox
# (interface.md §3; anchors B.12 tests 7, 11, 12, 13), against the FDMS
# simulator in a trash directory:
#  (a) every file of tests/corpus/bad goes to error/ with NAME.error.json
#      carrying the code and stage of tests/corpus/expect.txt; the daemon
#      keeps running;
#  (b) hostile entries: symbolic links to the journal and to a secret
#      outside the spool, a hard link to a secret, a FIFO, a directory
#      named x.json, a file of max_file_size + 1 bytes and a 10 GB sparse
#      file all go to error/ (SYMLINK, HARD_LINK, NOT_REGULAR_FILE,
#      TOO_LARGE), nothing of them is opened (strace, when installed), no
#      byte of the secrets appears anywhere, and a good file dropped after
#      them is fiscalised (the FIFO blocked nothing);
#  (c) partial writes: a writer that keeps the file open and pauses
#      longer than settle_ms while the daemon rescans, and a writer that
#      writes a dotfile slowly and renames it: both files are taken only
#      complete, never as truncated JSON;
#  (d) re-drop: the same bytes again are re-filed (suffixed name, same
#      receipt number and hash, nothing new journaled); other bytes with
#      the same invoiceNo go to error/ as DUPLICATE;
#  (e) inotify = no: no inotify descriptor, and files are found by the
#      rescans alone within a rescan interval (plus settle_ms); SIGHUP
#      with inotify = yes brings the watch back.
. tests/integration/testlib
spoold_env
export SPOOLD_FDMS_TIMEOUT_MS=3000
SPID=
WPID=
cleanup() {
	[ -n "$SPID" ] && kill "$SPID" 2>/dev/null
	[ -n "$WPID" ] && kill "$WPID" 2>/dev/null
	[ -n "$SIM_PID" ] && kill "$SIM_PID" 2>/dev/null
	wait 2>/dev/null
	rm -rf "$TRASH"
}
start_sim --close-delay-s 0 --future-skew-s 86400 ||
    { fail "simulator"; finish; exit 1; }
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

RESCAN=1
SETTLE=300
MAXSIZE=800000		# the corpus has a 700 kB file
write_conf() {	# inotify yes|no
	cat >spoold.conf <<CONF
[global]
env = development
fdms_base_url = $SIM_URL
fdms_ca_file = $SIM_CA
database = $TRASH/db.sqlite3
logs_dir = $TRASH/logs
spool_dir = $TRASH/spool
rescan_interval = $RESCAN
settle_ms = $SETTLE
max_file_size = $MAXSIZE
inotify = $1

[device till1]
device_id = 4711
serial_no = SN-4711
activation_key = TESTKEY1
CONF
}
write_conf yes
S=$TRASH/spool/till1
$CTL -c spoold.conf register >out 2>err
expect_eq "register" "$?" 0
mkdir -p "$S/inbox"

# start [WRAPPER...]: spoold -f in the background, its pid in SPID once
# it holds the spool lock (with a wrapper, $! is the wrapper's).
start() {
	rm -f "$TRASH/spool/.spoold.lock"
	starts=$(grep -c 'spoold started' logs/fdms.log 2>/dev/null || :)
	"$@" "$D" -c spoold.conf -f >>d.out 2>>d.err &
	WPID=$!
	if wait_for 300 test -s "$TRASH/spool/.spoold.lock"; then
		SPID=$(tr -dc 0-9 <"$TRASH/spool/.spoold.lock")
	else
		SPID=$WPID
	fi
	[ "$SPID" = "$WPID" ] && WPID=
	check "spoold started" wait_for 300 sh -c "test \
	    \$(grep -c 'spoold started' logs/fdms.log) -gt ${starts:-0}"
}
stop() {
	kill -TERM "$SPID"
	if [ -n "$WPID" ]; then
		wait "$WPID"; rc=$?
	else
		wait "$SPID"; rc=$?
	fi
	SPID=
	WPID=
	expect_eq "SIGTERM: exit 0" "$rc" 0
}
# drop NAME SOURCE [INVOICE]: the POS protocol (dotfile, then rename);
# INVOICE replaces the corpus's invoice number.
drop() {
	sed -e "s/INV-000101/${3:-INV-000101}/" -e "s/INV-X1/${3:-INV-X1}/" \
	    "$2" >"$S/inbox/.$1.tmp" && mv "$S/inbox/.$1.tmp" "$S/inbox/$1"
}
# field FILE KEY: a top-level field of a JSON result or error file.
field() {
	python3 -c 'import json, sys
print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1" "$2" 2>/dev/null
}
submitted() { [ "$(field "$1" status)" = submitted ]; }
rm -f logs/fdms.log

# ---- (a) the bad corpus -------------------------------------------------
start
nbad=0
for f in "$TOP"/tests/corpus/bad/*; do
	n=$(basename "$f")
	cp "$f" "$S/inbox/.$n.tmp" && mv "$S/inbox/.$n.tmp" "$S/inbox/$n"
	nbad=$((nbad + 1))
done
check "bad corpus: $nbad files" test "$nbad" -ge 40
check "bad corpus: all in error/" wait_for 300 sh -c \
    "test \$(ls '$S/error' | grep -c '\\.error\\.json\$') -ge $nbad"
while read -r n code stage; do
	case $n in '#'*|'') continue ;; esac
	e=$S/error/$n.error.json
	got=$(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
codes = [x["code"] for x in e["errors"]]
ok = e["stage"] == sys.argv[3] and sys.argv[2] in codes
print("ok" if ok else "%s %s" % (e["stage"], codes))' "$e" "$code" "$stage" \
	    2>&1 | tail -n 1)
	expect_eq "bad corpus: $n: $stage $code" "$got" ok
	check "bad corpus: $n moved to error/" test -f "$S/error/$n"
done <"$TOP/tests/corpus/expect.txt"
check "bad corpus: nothing in done/" test -z "$(ls -A "$S/done")"
check "daemon alive after the bad corpus" kill -0 "$SPID"

# ---- (c) partial writes -------------------------------------------------
# Half the receipt, then a pause longer than settle_ms plus two rescans
# with the file open (no close event), then the rest.
sed 's/INV-000101/INV-P1/' "$TOP/tests/corpus/good/basic-numbers.json" \
    >slow.json
sed 's/INV-000101/INV-P2/' "$TOP/tests/corpus/good/basic-strings.json" \
    >slow2.json
pause=$(( SETTLE + 2 * RESCAN * 1000 + 500 ))
python3 - "$S/inbox" "$pause" <<'PY' &
import os, sys, threading, time
inbox, pause = sys.argv[1], int(sys.argv[2]) / 1000
def held_open():		# one open, two writes, a long pause between
    data = open("slow.json", "rb").read()
    with open(os.path.join(inbox, "slow.json"), "wb") as f:
        f.write(data[:len(data) // 2])
        f.flush()
        time.sleep(pause)
        f.write(data[len(data) // 2:])
def dotfile():			# written slowly as a dotfile, then renamed
    data = open("slow2.json", "rb").read()
    tmp = os.path.join(inbox, ".slow2.json.part")
    with open(tmp, "wb") as f:
        f.write(data[:len(data) // 3])
    time.sleep(pause / 2)
    with open(tmp, "ab") as f:
        f.write(data[len(data) // 3:])
    time.sleep(pause / 2)
    os.rename(tmp, os.path.join(inbox, "slow2.json"))
ts = [threading.Thread(target=held_open), threading.Thread(target=dotfile)]
for t in ts:
    t.start()
for t in ts:
    t.join()
PY
PPID_W=$!
check "held-open writer: complete file in done/" wait_for 150 submitted \
    "$S/done/slow.json.result.json"
check "held-open writer: nothing in error/" test ! -e "$S/error/slow.json"
check "held-open writer: the whole file" cmp -s slow.json "$S/done/slow.json"
check "dotfile writer: complete file in done/" wait_for 100 submitted \
    "$S/done/slow2.json.result.json"
check "dotfile writer: the whole file" cmp -s slow2.json "$S/done/slow2.json"
wait "$PPID_W"

# ---- (d) re-drop ---------------------------------------------------------
drop redrop.json "$TOP/tests/corpus/good/wrapper.json" INV-R1
check "first drop submitted" wait_for 150 submitted \
    "$S/done/redrop.json.result.json"
receipts() {	# how many the journal holds
	python3 -c 'import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
print(db.execute("select count(*) from receipts").fetchone()[0])' \
	    "$TRASH/db.sqlite3"
}
n0=$(receipts)
drop redrop.json "$TOP/tests/corpus/good/wrapper.json" INV-R1
check "the same bytes again: re-filed under a new name" wait_for 100 test \
    -f "$S/done/redrop.1.json.result.json"
check "re-filed copy in done/" test -f "$S/done/redrop.1.json"
for k in receiptGlobalNo receiptHash invoiceNo; do
	expect_eq "re-drop: same $k" \
	    "$(field "$S/done/redrop.1.json.result.json" "$k")" \
	    "$(field "$S/done/redrop.json.result.json" "$k")"
done
expect_eq "re-drop: nothing new journaled" "$(receipts)" "$n0"
# Other bytes (another total), the same invoice number.
sed -e 's/INV-000101/INV-R1/' -e 's/"Bread"/"Bread roll"/' \
    "$TOP/tests/corpus/good/wrapper.json" >changed.json
check "changed receipt differs" sh -c '! cmp -s changed.json \
    "$0/done/redrop.json"' "$S"
cp changed.json "$S/inbox/.changed.tmp" && mv "$S/inbox/.changed.tmp" \
    "$S/inbox/redrop.json"
check "changed content: in error/" wait_for 100 test \
    -f "$S/error/redrop.json.error.json"
expect_eq "changed content: stage" \
    "$(field "$S/error/redrop.json.error.json" stage)" duplicate
check "changed content: DUPLICATE" python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
assert e["errors"][0]["code"] == "DUPLICATE", e' \
    "$S/error/redrop.json.error.json"
stop

# ---- (b) hostile entries ------------------------------------------------
SECRET="top-secret-$$-do-not-read"
echo "$SECRET" >"$TRASH/secret.txt"
echo "{\"secret\": \"$SECRET\"}" >"$TRASH/secret.json"
if command -v strace >/dev/null 2>&1; then
	# LeakSanitizer cannot run under ptrace: leaks are checked elsewhere.
	asan=${ASAN_OPTIONS-unset}
	export ASAN_OPTIONS="${ASAN_OPTIONS:+$ASAN_OPTIONS:}detect_leaks=0"
	start strace -f -qq --seccomp-bpf -e trace=open,openat,openat2 \
	    -o strace.log
	if [ "$asan" = unset ]; then unset ASAN_OPTIONS
	else ASAN_OPTIONS=$asan; fi
	traced=yes
else
	echo "# strace not installed: opens are not traced"
	start
	traced=no
fi
I=$S/inbox
ln -s "$TRASH/db.sqlite3" "$I/journal-link.json"
ln -s "$TRASH/secret.txt" "$I/secret-link.json"
ln "$TRASH/secret.json" "$I/hard-link.json"
mkfifo "$I/fifo.json"
mkdir "$I/x.json"
head -c $((MAXSIZE + 1)) /dev/zero | tr '\0' ' ' >big.json
mv big.json "$I/big.json"
truncate -s 10G "$I/sparse.json"
drop after.json "$TOP/tests/corpus/good/basic-numbers.json" INV-H1
check "good file after the hostile ones: submitted" wait_for 150 submitted \
    "$S/done/after.json.result.json"
for e in journal-link.json:SYMLINK secret-link.json:SYMLINK \
    hard-link.json:HARD_LINK fifo.json:NOT_REGULAR_FILE \
    x.json:NOT_REGULAR_FILE big.json:TOO_LARGE sparse.json:TOO_LARGE; do
	name=${e%%:*}
	code=${e#*:}
	check "$name: error file" wait_for 50 test \
	    -f "$S/error/$name.error.json"
	expect_eq "$name: code" "$(python3 -c 'import json, sys
e = json.load(open(sys.argv[1]))
print(e["stage"], e["errors"][0]["code"])' "$S/error/$name.error.json" \
	    2>/dev/null)" "read $code"
	check "$name: moved to error/" test -e "$S/error/$name" -o \
	    -L "$S/error/$name"
done
check "the symbolic link was moved, not followed" test -L \
    "$S/error/secret-link.json"
check "the journal is untouched" test -f "$TRASH/db.sqlite3" -a ! -L \
    "$TRASH/db.sqlite3"
check "the secret is still there" grep -q "$SECRET" "$TRASH/secret.txt"
check "inbox empty" test -z "$(ls -A "$I")"
# The hard link is the secret (and the sparse file 10 GB of zeros).
check "no secret in the spool or the logs" sh -c "! grep -rqa \
    --exclude=hard-link.json --exclude=sparse.json '$SECRET' \
    '$TRASH/spool' '$TRASH/logs' d.out d.err"
stop
if [ "$traced" = yes ]; then
	check "strace saw the good file opened" grep -q '"after\.json"' \
	    strace.log
	for n in journal-link.json secret-link.json hard-link.json fifo.json \
	    x.json big.json sparse.json secret.txt secret.json; do
		check "never opened: $n" sh -c \
		    "! grep -q '\"[^\"]*$n\"' strace.log"
	done
fi

# ---- (e) inotify = no ----------------------------------------------------
write_conf no
start
inotify_fds() {
	ls -l "/proc/$SPID/fd" 2>/dev/null | grep -c 'anon_inode:inotify'
}
expect_eq "inotify = no: no inotify descriptor" "$(inotify_fds)" 0
# Within one rescan interval plus the settle time (and 1.5 s to spare
# for a slow machine): tries of 0.1 s.
tries=$(( (RESCAN * 1000 + SETTLE + 1500) / 100 ))
for k in 1 2 3; do
	drop "quiet-$k.json" "$TOP/tests/corpus/good/basic-numbers.json" \
	    "INV-Q$k"
	drop "quiet-$k.xml" "$TOP/tests/corpus/good/basic.xml" "INV-QX$k"
	check "inotify = no: quiet-$k.json found by a rescan" wait_for \
	    "$tries" test -f "$S/done/quiet-$k.json.result.json"
	check "inotify = no: quiet-$k.xml found by a rescan" wait_for \
	    "$tries" test -f "$S/done/quiet-$k.xml.result.xml"
done
# A bad file too: rescans find it, error/ gets it.
drop quiet-bad.json "$TOP/tests/corpus/bad/wrong-total.json" INV-QB
check "inotify = no: a bad file found by a rescan" wait_for "$tries" \
    test -f "$S/error/quiet-bad.json.error.json"
write_conf yes
kill -HUP "$SPID"
check "SIGHUP: inboxes reopened" wait_for 50 grep -q 'inboxes reopened' \
    logs/fdms.log
expect_eq "inotify = yes after SIGHUP: watching" "$(inotify_fds)" 1
drop loud.json "$TOP/tests/corpus/good/basic-numbers.json" INV-L1
check "inotify again: processed" wait_for 100 test \
    -f "$S/done/loud.json.result.json"
stop
check "no CRITICAL in the log" sh -c '! grep -q CRITICAL logs/fdms.log'
check "work/ empty" test -z "$(ls -A "$S/work")"
finish

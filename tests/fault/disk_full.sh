#!/bin/sh
# disk_full.sh - fault suite scenario 4 (issue 6): the spool's file system
# fills up while spoold works; space returns; everything is finished.
#
# Where the machine allows it (root, mount permitted), the spool and the
# logs live on a tmpfs of a few hundred KB, filled up to a small margin by
# a filler file, so that spoold runs out of space after some files: real
# ENOSPC from the kernel.  Otherwise (CI without mount) libfiu fails every
# write(2) with ENOSPC (failinfo=28) in spoold only.  The journal stays on
# the big file system for the first run; a second run (DISK_FULL_JOURNAL=1,
# started by the first) puts the journal on the small file system too:
# SQLite's SQLITE_FULL is a failed journal write, fatal by design (exit
# status 1, CRITICAL), and the restart once space is back finishes.
#
# Asserted while the disk is full:
#  - no file goes to error/ because of the disk (only the generator's bad
#    receipts are in error/, and no error file mentions the space);
#  - nothing lost or duplicated: every dropped file is in exactly one of
#    inbox/, work/, done/, error/;
#  - spoold does not spin: it uses under 30 % of a CPU while paused;
#  - it pauses: files wait in work/ or the inbox, the process stays up
#    (the pipeline defers on ENOSPC; a result the outbox could not rewrite
#    is rewritten before the next file, pipeline.c refresh_stale).  Should
#    it stop instead, that is reported as a failure, and for the rest of
#    the run treated like systemd would (exit status 1 and a CRITICAL
#    line expected, restarted once space is back).
# Then space returns (filler removed, or the fault disabled): the running
# daemon resumes by itself and files everything; fault_verify.
. tests/fault/faultlib

t0=$(date +%s)
fault_setup 64 || { fail "set-up"; finish; exit 1; }
# A daemon left running by a failed step goes with the test.
trap 'kill ${DPID:-} 2>/dev/null; kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null; rm -rf "$TRASH"' EXIT
N=$(fault_size 40 400)
fault_gen "$N" 4 F

FS=$TRASH/fs
mkdir -p "$FS"
# Room for about a third of the results (a tmpfs file takes 4 KB pages).
MARGIN_KB=$(( (N / 3) * 4 + 8 ))
SIZE_KB=$(( N * 8 + 512 ))
# The journal's WAL grows to 1000 pages (4 MB) before a checkpoint.
[ -n "${DISK_FULL_JOURNAL:-}" ] && SIZE_KB=$((SIZE_KB + 8192))
MODE=libfiu
if [ -z "${DISK_FULL_NO_MOUNT:-}" ] &&
    mount -t tmpfs -o "size=${SIZE_KB}k,mode=0750" tmpfs "$FS" 2>/dev/null; then
	MODE=tmpfs
	trap 'kill ${DPID:-} 2>/dev/null; umount -l "$FS" 2>/dev/null; kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null; rm -rf "$TRASH"' EXIT
	# Spool, logs and the not yet dropped files on the small file
	# system (the POS renames them in: same file system).
	cp -a "$TRASH/spool" "$FS/" && rm -rf "$TRASH/spool"
	sed -e "s|^spool_dir = .*|spool_dir = $FS/spool|" \
	    -e "s|^logs_dir = .*|logs_dir = $FS/logs|" "$CONF" >"$CONF.new" &&
	    mv "$CONF.new" "$CONF"
	S=$FS/spool/dev$DEV
	# DISK_FULL_JOURNAL=1: the journal on the small file system too
	# (SQLITE_FULL is a failed journal write: fatal, exit 1, and the
	# restart recovers; the daemon may then stop instead of pausing).
	if [ -n "${DISK_FULL_JOURNAL:-}" ]; then
		mv "$DB" "$FS/db.sqlite3" && DB=$FS/db.sqlite3
		sed "s|^database = .*|database = $DB|" "$CONF" >"$CONF.new" &&
		    mv "$CONF.new" "$CONF"
	fi
	mv "$TRASH/src" "$FS/src" && ln -s "$FS/src" "$TRASH/src"
	avail=$(df -k --output=avail "$FS" | tail -n 1 | tr -d ' ')
	fill=$(( avail - MARGIN_KB ))
	dd if=/dev/zero of="$FS/filler" bs=1k count="$fill" 2>/dev/null
	echo "# tmpfs of ${SIZE_KB} KB, $(df -k --output=avail "$FS" |
	    tail -n 1 | tr -d ' ') KB left free for $N files"
else
	echo "# mount not permitted here: ENOSPC injected with libfiu"
	FIU_LIB=${FIU_LIB:-/usr/lib/fiu}
	if [ ! -x /usr/bin/fiu-ctrl ] ||
	    [ ! -f "$FIU_LIB/fiu_posix_preload.so" ]; then
		echo "# libfiu is not installed either: scenario skipped"
		echo "# passed 0 failed 0"
		exit 0
	fi
fi

nfiles() {
	ls -A "$1" 2>/dev/null | grep -v '^\.' |
	    grep -Evc '\.(result\.json|result\.xml|error\.json)$'
}
filed() { echo $(( $(nfiles "$S/done") + $(nfiles "$S/error") )); }
present() {
	echo $(( $(nfiles "$S/inbox") + $(nfiles "$S/work") + $(filed) ))
}
wait_until() {
	n=$1
	shift
	while [ "$n" -gt 0 ]; do
		"$@" && return 0
		sleep 0.1
		n=$((n - 1))
	done
	return 1
}
alive() {
	st=$(sed 's/.*) //' "/proc/$DPID/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}
dead() { ! alive; }
started() { grep -qs 'spoold started' "$ERR"; }
all_filed() {
	[ "$(filed)" -ge "$N" ] && fault_empty "$S/work" &&
	    fault_empty "$S/inbox"
}
# CPU ticks (utime + stime) of the daemon.
ticks() { awk '{print $14 + $15}' "/proc/$DPID/stat" 2>/dev/null || echo 0; }
# Stalled: the filed count did not move for 2 s (or the daemon stopped).
stalled() {
	a=$(filed)
	sleep 2
	[ "$a" = "$(filed)" ] || dead
}

start_daemon() {
	ERR=$TRASH/d.$1.err
	if [ "$MODE" = libfiu ]; then
		PRE=""
		[ "$FAULT_ASAN" = 1 ] &&
		    PRE=$(ldd "$D" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p')
		env FIU_CTRL_FIFO="$TRASH/fiu" FIU_ENABLE="" \
		    LD_PRELOAD="$PRE $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so" \
		    ASAN_OPTIONS="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0" \
		    "$D" -c "$CONF" -f >/dev/null 2>"$ERR" &
	else
		"$D" -c "$CONF" -f >/dev/null 2>"$ERR" &
	fi
	DPID=$!
}

running() { started; }
filed_quarter() { [ "$(filed)" -ge $((N / 4)) ]; }

start_daemon 1
check "spoold starts" wait_until 300 running
fault_drop_all
if [ "$MODE" = libfiu ]; then
	# A quarter through, every write(2) fails with ENOSPC (log lines
	# included: the stderr log is lost from then on).
	wait_until 300 filed_quarter
	fiu-ctrl -f "$TRASH/fiu" -c "enable name=posix/io/rw/write,failinfo=28" \
	    "$DPID" >/dev/null 2>&1 || fail "fiu-ctrl enable"
fi
check "the disk fills: progress stops" wait_until 30 stalled
full_filed=$(filed)
echo "# $full_filed of $N files filed when the disk was full ($MODE)"
check "not all files went through on a full disk" [ "$full_filed" -lt "$N" ]
expect_eq "full: every dropped file once" "$(present)" "$N"
bad=$(grep -c ' bad$' "$TRASH/manifest")
check "full: error/ holds only bad receipts" \
    [ "$(nfiles "$S/error")" -le "$bad" ]
if ls "$S/error/" | grep -q '\.error\.json$'; then
	check "full: no error file blames the disk" \
	    sh -c "! grep -il 'space\|ENOSPC' '$S'/error/*.error.json"
fi
stopped=0
# The journal has room: a full spool alone must not stop the daemon.
[ -n "${DISK_FULL_JOURNAL:-}" ] ||
    check "full: spoold stays up (pauses, does not exit)" alive
if alive; then
	a=$(ticks)
	sleep 2
	b=$(ticks)
	hz=$(getconf CLK_TCK)
	echo "# paused: $((b - a)) CPU ticks in 2 s (CLK_TCK $hz)"
	check "paused, not spinning (<30 % CPU)" [ $((b - a)) -lt $((hz * 6 / 10)) ]
	check "paused: files wait in work/ or the inbox" \
	    [ $(( $(nfiles "$S/inbox") + $(nfiles "$S/work") )) -gt 0 ]
	[ "$MODE" = libfiu ] || check "paused: says so" grep -q 'disk full' "$ERR"
else
	wait "$DPID"
	rc=$?
	stopped=1
	echo "# stopped on the full disk, exit status $rc"
	expect_eq "stopped: exit status" "$rc" 1
	check "stopped: a CRITICAL line" grep -q CRITICAL "$ERR"
	grep -E "CRITICAL|disk full|fatal" "$ERR" | head -n 4 | cut -c1-220 | sed 's/^/# /'
fi
if grep -Eq 'Sanitizer|runtime error' "$ERR"; then
	fail "sanitizer report"
	grep -E -A5 'Sanitizer|runtime error' "$ERR" | head -n 20 >&2
fi

# Space returns.
if [ "$MODE" = tmpfs ]; then
	rm -f "$FS/filler"
elif alive; then
	fiu-ctrl -f "$TRASH/fiu" -c "disable name=posix/io/rw/write" "$DPID" \
	    >/dev/null 2>&1 || fail "fiu-ctrl disable"
fi
if [ "$stopped" = 1 ]; then
	# What systemd's Restart=on-failure does.
	start_daemon 2
	check "restarted" wait_until 300 running
fi
check "space back: it resumes and files everything" wait_until 300 all_filed
if alive; then
	kill -TERM "$DPID"
	wait "$DPID"
	rc=$?
	[ "$MODE" = libfiu ] && [ "$rc" = 143 ] && rc=0	# see io_errors.sh
	expect_eq "SIGTERM: exit status" "$rc" 0
fi
check "drained" fault_drain 10
echo "# $MODE, $N files, $full_filed filed before the disk was full," \
    "stopped=$stopped, $(( $(date +%s) - t0 )) s"
if [ -n "${DISK_FULL_JOURNAL:-}" ]; then
	fault_verify disk_full_journal 1 "$MODE, journal on it too; stopped=$stopped"
else
	fault_verify disk_full 1 "$MODE; stopped=$stopped"
fi
# Then the same with the journal on the small file system as well (tmpfs
# only): a separate run of this script, its counts added to ours.
if [ "$MODE" = tmpfs ] && [ -z "${DISK_FULL_JOURNAL:-}" ]; then
	(cd "$TOP" && DISK_FULL_JOURNAL=1 sh tests/fault/disk_full.sh) \
	    >"$TRASH/journal.out" 2>&1
	grep -v '^# passed' "$TRASH/journal.out" | grep -E '^#|FAIL' |
	    sed 's/^# /# journal too: /'
	line=$(grep '^# passed [0-9]* failed [0-9]*$' "$TRASH/journal.out" |
	    tail -n 1)
	if [ -n "$line" ]; then
		PASS=$((PASS + $(echo "$line" | awk '{print $3}')))
		FAIL=$((FAIL + $(echo "$line" | awk '{print $5}')))
	else
		fail "journal too: no result"
	fi
fi
finish

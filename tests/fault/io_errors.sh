#!/bin/sh
# io_errors.sh - fault suite scenario 3 (issue 6): I/O errors injected with
# libfiu into the running daemon while it processes files.
#
# Only spoold runs under libfiu (never the simulator, Python or the shell):
# its environment gets what fiu-run(1) would set (FIU_CTRL_FIFO, LD_PRELOAD
# of fiu_run_preload.so and fiu_posix_preload.so) plus tests/fault/fiu-at.c,
# which adds failure points for the directory-relative calls spoold's
# fsutil uses and libfiu does not wrap (openat, renameat, renameat2).  The
# points, each failed once ("onetime") and persistently, after the daemon
# has filed k files of the round's batch:
#	posix/io/sync/fsync	our files and directories
#	posix/io/sync/fdatasync	SQLite's WAL sync at COMMIT (synchronous=FULL)
#	posix/io/rw/write	result and error files (and log lines)
#	posix/io/rw/pwrite	SQLite's pages and WAL frames
#	posix/io/oc/openat	claimed files, temporary files
#	posix/io/dir/renameat2	claims and moves (never replacing)
#	posix/io/dir/renameat	a result file's temporary to its name
#	posix/io/oc/close	a written temporary file's close
# errno EIO (failinfo=5).  Expectations (anchors B.1, B.3; fsutil.h):
#  - a failed fsync or fdatasync stops the daemon: exit status 1 and a
#    CRITICAL line, never a retry and never carrying on;
#  - a persistent failure of any of these stops it the same way (every
#    one of them is on the way of each file);
#  - a one-time failure elsewhere may be survived, but never loses or
#    duplicates a file: right after each round every dropped file is in
#    exactly one of inbox/, work/, done/, error/;
#  - no crash and no sanitizer report;
#  - after the rounds, spoold without faults recovers everything and the
#    closing check (fault_verify) passes: journal = done/ = FDMS ledger.
. tests/fault/faultlib

FIU_LIB=${FIU_LIB:-/usr/lib/fiu}
if [ ! -x /usr/bin/fiu-ctrl ] || [ ! -f "$FIU_LIB/fiu_posix_preload.so" ]; then
	echo "# libfiu (fiu-utils, libfiu0) is not installed: scenario skipped"
	echo "# passed 0 failed 0"
	exit 0
fi
t0=$(date +%s)
cc -shared -fPIC -O1 -o "$TRASH/fiu-at.so" "$TOP/tests/fault/fiu-at.c" \
    -lfiu -ldl >"$TRASH/cc.out" 2>&1 || {
	cat "$TRASH/cc.out" >&2
	fail "build tests/fault/fiu-at.c"
	finish
	exit 1
}
fault_setup 63 || { fail "set-up"; finish; exit 1; }
# A daemon left running by a failed step goes with the test.
trap 'kill ${DPID:-} 2>/dev/null; kill $SIM_PID 2>/dev/null; wait $SIM_PID 2>/dev/null; rm -rf "$TRASH"' EXIT

# Under ASan the sanitizer's runtime must come first in LD_PRELOAD (its
# malloc, not libfiu's wrapper around libc's, so that ASan frees what it
# allocated); without ASan nothing goes before libfiu's libraries.
PRE=""
if [ "$FAULT_ASAN" = 1 ]; then
	PRE=$(ldd "$D" | sed -n 's/.*libasan[^ ]* => \([^ ]*\) .*/\1/p')
fi
PRE="$PRE $FIU_LIB/fiu_run_preload.so $FIU_LIB/fiu_posix_preload.so"
PRE="$PRE $TRASH/fiu-at.so"

# The rounds: POINT MODE K (fail after k files of the batch were filed).
POINTS="posix/io/sync/fsync posix/io/sync/fdatasync posix/io/rw/write
posix/io/rw/pwrite posix/io/oc/openat posix/io/dir/renameat2
posix/io/dir/renameat posix/io/oc/close"
ROUNDS=$TRASH/rounds
: >"$ROUNDS"
if [ "$FAULT_FULL" = 1 ]; then
	for k in 0 2 5; do
		for p in $POINTS; do
			echo "$p onetime $k" >>"$ROUNDS"
			echo "$p always $k" >>"$ROUNDS"
		done
	done
	BATCH=12
else
	for p in $POINTS; do
		echo "$p always 0" >>"$ROUNDS"
		echo "$p onetime 1" >>"$ROUNDS"
	done
	BATCH=4
fi
# IO_ONLY=REGEX: only the matching rounds; IO_DEBUG=1: the state and the
# log tail of a round the daemon survived (to look at one closely).
if [ -n "${IO_ONLY:-}" ]; then
	grep -E "$IO_ONLY" "$ROUNDS" >"$ROUNDS.only"
	mv "$ROUNDS.only" "$ROUNDS"
fi
NR=$(wc -l <"$ROUNDS" | tr -d ' ')
fault_gen $((NR * BATCH)) 3 E

# Count of non-reply, non-temporary names in a spool directory.
nfiles() {
	ls -A "$1" 2>/dev/null | grep -v '^\.' |
	    grep -Evc '\.(result\.json|result\.xml|error\.json)$'
}
filed() { echo $(( $(nfiles "$S/done") + $(nfiles "$S/error") )); }
# wait_until TENTHS COMMAND...: poll, bounded.
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
# Running, not a zombie waiting for us (kill -0 succeeds on those).
drop() {
	ls "$TRASH/src" | head -n "$1" | while read -r f; do
		mv "$TRASH/src/$f" "$S/inbox/$f"
	done
	dropped=$((dropped + $1))
}
through_or_dead() { dead || batch_through; }
alive() {
	st=$(sed 's/.*) //' "/proc/$DPID/stat" 2>/dev/null | cut -c1)
	[ -n "$st" ] && [ "$st" != Z ]
}
dead() { ! alive; }
started() { grep -qs 'spoold started' "$ERR"; }
filed_at_least() { [ "$(filed)" -ge "$1" ]; }
batch_through() {
	[ "$(filed)" -ge "$dropped" ] && fault_empty "$S/work" &&
	    fault_empty "$S/inbox"
}
ASAN_FIU="${ASAN_OPTIONS:-}${ASAN_OPTIONS:+:}verify_asan_link_order=0"

dropped=0
r=0
stops=0
survived=0
injected=0
while read -r point mode k; do
	r=$((r + 1))
	ERR=$TRASH/d.$r.err
	# What fiu-run -x would set, plus fiu-at.so; env execs spoold, so
	# $! is spoold itself.
	env FIU_CTRL_FIFO="$TRASH/fiu" FIU_ENABLE="" LD_PRELOAD="$PRE" \
	    ASAN_OPTIONS="$ASAN_FIU" "$D" -c "$CONF" -f \
	    >"$TRASH/d.$r.out" 2>"$ERR" &
	DPID=$!
	if ! wait_until 300 started; then
		fail "round $r: spoold did not start under libfiu"
		tail -n 5 "$ERR" >&2
		kill "$DPID" 2>/dev/null
		wait "$DPID" 2>/dev/null
		continue
	fi
	# The round's batch into the inbox (the POS renames them in): k
	# files, the fault once they are filed, then the rest, so that the
	# fault always meets work still to do.
	base=$(filed)
	drop "$k"
	wait_until 100 filed_at_least $((base + k)) ||
	    fail "round $r: $k files not filed before the fault"
	if [ "$mode" = onetime ]; then
		cmd="enable name=$point,failinfo=5,onetime"
	else
		cmd="enable name=$point,failinfo=5"
	fi
	if ! fiu-ctrl -f "$TRASH/fiu" -c "$cmd" "$DPID" >/dev/null 2>&1; then
		fail "round $r: fiu-ctrl $cmd"
	fi
	injected=$((injected + 1))
	drop $((BATCH - k))
	# Fatal points and persistent faults must stop it; others may not.
	must_stop=0
	case "$point:$mode" in
	posix/io/sync/*|*:always) must_stop=1 ;;
	esac
	if [ "$must_stop" = 1 ]; then
		wait_until 150 dead ||
		    fail "round $r: $point $mode: spoold still running"
	else
		wait_until 150 through_or_dead
	fi
	if alive && [ -n "${IO_DEBUG:-}" ]; then
		echo "round $r: inbox $(nfiles "$S/inbox") work $(nfiles "$S/work") filed $(filed) dropped $dropped" >&2
		tail -n 8 "$ERR" >&2
	fi
	if alive; then
		fiu-ctrl -f "$TRASH/fiu" -c "disable name=$point" "$DPID" \
		    >/dev/null 2>&1
		kill -TERM "$DPID"
		wait "$DPID"
		rc=$?
		# 143: libfiu's remote control thread (started before main,
		# so SIGTERM is not blocked there) takes the signal and the
		# process dies of it; spoold itself reads it from a signalfd.
		case "$rc" in
		0|143) ok ;;
		*) fail "round $r: $point $mode survived, SIGTERM: $rc" ;;
		esac
		survived=$((survived + 1))
		echo "# round $r: $point $mode k=$k: survived"
	else
		wait "$DPID"
		rc=$?
		expect_eq "round $r: $point $mode: exit status" "$rc" 1
		[ "$rc" = 1 ] || tail -n 5 "$ERR" >&2
		# With write(2) failing, no log line can be written at all.
		[ "$point" = posix/io/rw/write ] ||
		    check "round $r: $point $mode: a CRITICAL line" \
		    grep -q CRITICAL "$ERR"
		stops=$((stops + 1))
		echo "# round $r: $point $mode k=$k: stopped:" \
		    "$(grep -m1 -E 'fatal|CRITICAL' "$ERR" | cut -c21-180)"
	fi
	if grep -Eq 'Sanitizer|runtime error' "$ERR"; then
		fail "round $r: sanitizer report"
		grep -E -A5 'Sanitizer|runtime error' "$ERR" | head -n 20 >&2
	fi
	# Nothing lost or duplicated at the moment it stopped.
	now=$(( $(nfiles "$S/inbox") + $(nfiles "$S/work") + $(filed) ))
	expect_eq "round $r: $point $mode: every dropped file once" \
	    "$now" "$dropped"
done <"$ROUNDS"

# Recovery without faults; the outbox submits what was journaled.
check "recovery: spoold --once drains" fault_drain 10
echo "# $injected faults injected in $NR rounds ($stops stops," \
    "$survived survived), $dropped files, $(( $(date +%s) - t0 )) s"
fault_verify io_errors "$NR" "$injected faults, $stops stops"
finish

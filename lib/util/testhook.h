/*
 * testhook.h - named crash points for the fault suite (issue 6, scenario
 * 1; anchors B.12).  Test builds only.
 *
 * Design.  A crash point is one line in the product,
 *	TESTHOOK_CRASH("claimed");
 * placed where a crash would leave the most awkward state (a step done,
 * its follow-up not yet).  In a build with SPOOLD_TEST_HOOKS defined (the
 * sanitizer build of make check, build-fault of make check-fault,
 * `make TEST_HOOKS=1`) each hit of a named point is counted, and when the
 * environment says so the process kills itself with raise(SIGKILL) at
 * that hit: nothing is flushed, no handler or atexit function runs, no
 * descriptor is closed by us, so it is a real crash, only placed exactly.
 * Without SPOOLD_TEST_HOOKS (every release build: make, make install) the
 * macros expand to nothing: no code, no environment lookup, and no
 * testhook symbol or string in the binaries (the fault suite detects a
 * release build by the absence of the string "spoold-test-hooks").
 *
 * Grammar of SPOOLD_CRASH (read once, at the first hit of any point):
 *	SPOOLD_CRASH = RULE [ ( ';' | ' ' ) RULE ]...
 *	RULE         = NAME ':' N [ ',' N ]...
 * The process is killed at the N-th hit (1-based, counted from the
 * process's start) of point NAME, for the smallest listed N reached; the
 * other Ns matter only to TESTHOOK_ARMED.  At most TESTHOOK_RULES_MAX
 * rules; a malformed rule is ignored with one line on stderr (a test
 * that misspells a point must see its kill counts fail, never a crash
 * somewhere else).  With SPOOLD_CRASH_LOG=FILE, the line
 * "NAME N PID\n" is appended to FILE (O_APPEND, one write) just before
 * the kill, so a test can tell which point killed which run.
 *
 * The points (docs/testing.md lists them too):
 *	claimed          intake.c: the file renamed into work/, nothing read
 *	journaled        pipeline.c: the fiscalisation transaction committed,
 *	                 no result file written yet
 *	submit-recorded  outbox.c: store_receipt_attempt committed, the
 *	                 SubmitReceipt not yet started
 *	submit-answered  outbox.c: the SubmitReceipt exchange completed (FDMS
 *	                 committed), its answer not yet journaled
 *	write-renamed    fsutil.c fsutil_write_atomic: the temporary renamed to
 *	                 its final name (result, error file), directory not
 *	                 yet fsynced
 *	move-renamed     fsutil.c fsutil_move: the entry moved (claim, filing
 *	                 into done/ or error/), directories not yet fsynced
 *	closeday-requested  dayclose.c: the close request journaled
 *	                 (close_requested), CloseDay not yet sent
 *	closeday-accepted   dayclose.c: FDMS accepted CloseDay, its
 *	                 operationID not yet journaled
 *	closeday-closed  dayclose.c: GetStatus says FiscalDayClosed, the close
 *	                 not yet journaled
 *	backup-copying   store_sqlite.c sq_backup: after each page copied into
 *	                 the new backup file (armed: one page per step)
 *	backup-copied    admin_files.c: the copy complete, not yet verified
 *	                 or given its backup name
 */
#ifndef UTIL_TESTHOOK_H
#define UTIL_TESTHOOK_H

#define TESTHOOK_RULES_MAX	16
#define TESTHOOK_ENV		"SPOOLD_CRASH"
#define TESTHOOK_LOG_ENV	"SPOOLD_CRASH_LOG"

#ifdef SPOOLD_TEST_HOOKS

/* Count a hit of point name; SIGKILL when SPOOLD_CRASH says this hit. */
void	testhook_crash(const char *name);
/* 1 when SPOOLD_CRASH has a rule for point name, else 0. */
int	testhook_armed(const char *name);

#define TESTHOOK_CRASH(name)	testhook_crash(name)
#define TESTHOOK_ARMED(name)	testhook_armed(name)

#else

#define TESTHOOK_CRASH(name)	((void)0)
#define TESTHOOK_ARMED(name)	0

#endif /* SPOOLD_TEST_HOOKS */

#endif /* UTIL_TESTHOOK_H */

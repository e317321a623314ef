/*
 * dayclose.h - closing a fiscal day at FDMS: `spoolctl close-day` and the
 * close step of `spoolctl pre-golive` (interface.md §1, §8;
 * fdms-reference §2.5, §2.8, §2.11, §2.12, §4.3, §6).
 *
 *	struct devadmin a;			devadmin_open(&a, ...)
 *	struct dayclose_opts o = { 0 };		defaults: wait, 120 s, 5 s polls
 *	rc = dayclose_run(&a, &o, stdout);	0 closed (or already closed,
 *						or --no-wait: accepted),
 *						1 refused or CloseFailed,
 *						75 FDMS unreachable / still busy
 *
 * Progress and results for people go to `out`, problems to stderr (each
 * naming the device), and one log line per outcome to the logs (log.h:
 * the caller opens them with log_init).  Safe to re-run at any time, also
 * after a crash or kill -9: a close already requested is followed up,
 * never replaced by a second one while FDMS works on it.
 */
#ifndef SPOOL_DAYCLOSE_H
#define SPOOL_DAYCLOSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

struct devadmin;

#define DAYCLOSE_TIMEOUT_S	120	/* --timeout default */
#define DAYCLOSE_TIMEOUT_MAX_S	86400
#define DAYCLOSE_POLL_MS	5000	/* GetStatus / SubmittedFileList period */
/* Not for users: tests set it so they need not wait 5 s per poll. */
#define DAYCLOSE_POLL_ENV	"SPOOLCTL_POLL_MS"

/* The per-device lock in spool_dir (restore takes it too); %lld: deviceID. */
#define DAYCLOSE_LOCK_NAME	".close-day-%lld.lock"

#define DAYCLOSE_EXIT_OK	0
#define DAYCLOSE_EXIT_FAIL	1
#define DAYCLOSE_EXIT_TEMPFAIL	75

struct dayclose_opts {
	bool	 no_wait;	/* send, journal FDMS's acceptance, return */
	int	 timeout_s;	/* <= 0: DAYCLOSE_TIMEOUT_S */
	int	 poll_ms;	/* <= 0: $SPOOLCTL_POLL_MS, else DAYCLOSE_POLL_MS */
	size_t	 file_max;	/* SubmitFile size limit, 0: FDMS_MAX_FILE.
				   Tests only: a close must be resumed with
				   the limit it started with. */
};

/*
 * Close the selected device's latest fiscal day (a->dev).  Returns the
 * exit status above.  Holds a per-device lock (spool_dir/.close-day-ID.lock)
 * for its duration: a second close-day for the device refuses (1).
 */
int	dayclose_run(struct devadmin *a, const struct dayclose_opts *o,
	    FILE *out);

#endif

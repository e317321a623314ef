/*
 * golive.h - the go-live checklist: `spoolctl pre-golive [--skip-close]
 * [--min-receipts N]` (interface.md §8).
 *
 * Before a device goes live in production (and in staging before that),
 * the admin proves the whole chain works once, end to end: the device is
 * registered with a valid certificate and key, FDMS answers over mutual
 * TLS, the configuration is in the journal, a fiscal day can be closed at
 * FDMS, receipts were accepted, and the journal audits clean.  Each item
 * prints one PASS/FAIL line with what was found, so a failed item says
 * what to do next.
 */
#ifndef SPOOL_GOLIVE_H
#define SPOOL_GOLIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

struct devadmin;

#define GOLIVE_MIN_RECEIPTS	1	/* --min-receipts default */

struct golive_opts {
	bool		 skip_close;	/* never close the open day: the item
					   then asks for an earlier day that
					   FDMS closed */
	int64_t		 min_receipts;	/* accepted by FDMS, >= 0 */
	int		 close_timeout_s;	/* 0: close-day's default */
};

/*
 * Run the checklist for the selected device (a->dev).  Every item is run
 * even after a failure (so one run names everything left to do), except
 * that the audit is skipped when the journal cannot be read.  Returns 0
 * when every item passes, 1 otherwise.
 */
int	golive_run(struct devadmin *a, const struct golive_opts *o, FILE *out);

#endif

/*
 * audit.h - verify the journal (spoolctl audit, interface.md §7; used by
 * spoolctl pre-golive, §8).
 *
 * For every receipt of the journal the audit recomputes what was signed
 * from the stored wire bytes (the FDMS signature input string of
 * fdms-reference §4.2 and its SHA-256), checks the chain link to the
 * previous receipt's hash (none for the first of a day), verifies the
 * signature with the device certificate the receipt was signed under,
 * checks that receipt counters run 1..n in each day and global numbers run
 * without gaps, recomputes each day's counters (against the journal's
 * running totals and, for a closed day, against the close request and its
 * signature, §4.3), and pairs journal rows with the files in done/.
 *
 * Findings are grouped by kind (enum audit_kind); for each kind the report
 * keeps the count and the FIRST bad record: the one with the lowest global
 * number (days: the lowest day number; files: the smallest name), so the
 * report is the same whatever the thread timing.
 *
 * Trust: the journal is what is being checked, so nothing read from it is
 * trusted (a row may have been edited behind the store's triggers); the
 * certificates in the journal are trusted as the device's keys.  The store
 * is only read (open it with STORE_OPEN_READONLY); done/ is only listed
 * and read.
 *
 * Speed: one thread streams the journal (one row in memory) and does the
 * sequential checks; parsing, hashing and signature verification run on a
 * pool of worker threads fed through a bounded queue of batches, so memory
 * stays bounded whatever the journal's size (docs/audit.md).
 */
#ifndef SPOOL_AUDIT_H
#define SPOOL_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct config;
struct store;

enum audit_kind {
	AUDIT_WIRE = 0,		/* stored wire receipt unreadable, or it
				   disagrees with its journal row */
	AUDIT_HASH,		/* hash of the recomputed signature input
				   differs from the journaled hash */
	AUDIT_SIGNATURE,	/* signature does not verify with the
				   certificate (or no usable certificate) */
	AUDIT_CHAIN,		/* previous-hash link broken */
	AUDIT_COUNTER,		/* receiptCounter not 1..n in the day */
	AUDIT_GLOBAL_NO,	/* receiptGlobalNo gap, repeat or disorder */
	AUDIT_DAY_COUNTERS,	/* the day's journaled running counters are
				   not the sum of its receipts */
	AUDIT_CLOSE_COUNTERS,	/* a closed day's close request does not
				   match its receipts (counters, count) */
	AUDIT_CLOSE_SIGNATURE,	/* close request hash or signature wrong */
	AUDIT_FILE_MISSING,	/* journaled receipt without its done/ file
				   (or result file) */
	AUDIT_FILE_EXTRA,	/* a done/ file the journal does not know */
	AUDIT_KIND_COUNT
};

/* "wire", "hash", "signature", "chain", "counter", "global-number", ... */
const char	*audit_kind_name(enum audit_kind);

#define AUDIT_TEXT_MAX	512
#define AUDIT_VALUE_MAX	160
#define AUDIT_NAME_MAX	256

/* The first bad record of one kind. */
struct audit_finding {
	bool		 set;
	int64_t		 day_no;		/* 0: not about one day */
	int64_t		 counter;		/* 0: not about one receipt */
	int64_t		 global_no;		/* 0: not about one receipt */
	char		 file[AUDIT_NAME_MAX];	/* "" unless about a file */
	char		 expected[AUDIT_VALUE_MAX];	/* "" when n/a */
	char		 found[AUDIT_VALUE_MAX];
	char		 message[AUDIT_TEXT_MAX];
};

struct audit_device_report {
	char			 name[AUDIT_NAME_MAX];	/* configured name */
	int64_t			 device_id;
	bool			 in_journal;	/* false: not registered yet */
	bool			 day_missing;	/* --day N: the device has none */
	bool			 files_checked;	/* done/ was paired */
	int64_t			 receipts;	/* receipts verified */
	int64_t			 days, closed_days;
	int64_t			 files;		/* done/ entries looked at */
	int64_t			 count[AUDIT_KIND_COUNT];
	struct audit_finding	 first[AUDIT_KIND_COUNT];
	char			 error[AUDIT_TEXT_MAX];	/* "" or why the
						   audit of this device
						   could not finish */
};

struct audit_report {
	int64_t				 day_no;	/* 0: every day */
	int				 threads;	/* workers used */
	size_t				 ndevices;
	struct audit_device_report	*devices;
};

struct audit_opts {
	int	 threads;	/* verification threads; 0: every online CPU,
				   1: all in the calling thread */
	bool	 skip_files;	/* do not pair journal rows with done/ */
	size_t	 max_file_size;	/* done/ files read (0: DOC_MAX_SIZE) */
};

/*
 * Audit one device: day_no 0 for every day, else that day only (then
 * files in done/ that no journal row names are not looked for: they
 * belong to no day).  done_dir NULL: no file pairing.  rep is filled
 * (cleared first).  Returns 0 pass, 1 findings, -1 the audit could not
 * run to the end (journal error, out of memory: rep->error says why).
 */
int	audit_device(struct store *, int64_t device_id, const char *done_dir,
	    int64_t day_no, const struct audit_opts *,
	    struct audit_device_report *rep);

/*
 * Audit the configured devices (device_name NULL: all of them, else the
 * one of that name; the caller has checked it exists) and fill rep (free
 * with audit_report_free).  0 pass; 1 a finding, or a device without day
 * day_no (a device not in the journal at all has nothing to audit and
 * passes); -1 a device's audit could not finish (its error says why).
 */
int	audit_run(struct store *, const struct config *,
	    const char *device_name, int64_t day_no,
	    const struct audit_opts *, struct audit_report *rep);
void	audit_report_free(struct audit_report *);

/* Did the device pass (no finding, no error, day present)? */
bool	audit_device_passed(const struct audit_device_report *);

/* For people: per device a summary line, then per kind its count and
 * first bad record; a last line "audit: PASS" or "audit: FAIL ...". */
void	audit_print_text(FILE *, const struct audit_report *);
/* One JSON document (malloc'd; NULL when out of memory); docs/audit.md. */
char	*audit_to_json(const struct audit_report *);

#endif

/*
 * dayfile.h - FDMS SubmitFile documents for a fiscal day (fdms-reference
 * §2.11, §6.2): what `spoolctl close-day` sends for an Offline-mode device
 * and what `spoolctl export --format fdms-file` writes for a manual upload.
 *
 *	{"header":{"deviceID":N,"fiscalDayNo":N,"fiscalDayOpened":"...",
 *	           "fileSequence":N},
 *	 "content":{"receipts":[<wire receipt>,...]},
 *	 "footer":{"fiscalDayCounters":[...],"fiscalDayDeviceSignature":
 *	           {"hash":"...","signature":"..."},"receiptCounter":N,
 *	           "fiscalDayClosed":"..."}}
 *
 * Receipts go into content exactly as journaled (the wire bytes that were
 * signed), in journal order.  A document never exceeds the size limit
 * (FDMS_MAX_FILE, FILE01): content is split across documents numbered by
 * fileSequence from 1; the footer is never split and rides in the last
 * document, or in one of its own when it does not fit there.  Everything
 * is a pure function of (header fields, receipts, footer text, limit), so
 * the same inputs always give the same bytes: close-day rebuilds the
 * documents after a crash from the journal, and export reproduces what
 * close-day sent.
 *
 * Streaming: one document is held in memory at a time; each finished one
 * is handed to the caller's emit callback with its sequence number.
 */
#ifndef SPOOL_DAYFILE_H
#define SPOOL_DAYFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "util/buf.h"

struct counters;
struct store;
struct store_day;

/*
 * emit: 0 to go on; any other value stops the build, which then fails
 * (-1, err "stopped"); the callback keeps its own reason in arg.
 */
typedef int	(*dayfile_emit_fn)(int64_t seq, const char *doc, size_t len,
		    void *arg);

struct dayfile {
	int64_t		 device_id, day_no, seq;
	char		 opened[20];
	const char	*footer;	/* the caller's, NULL: none */
	size_t		 max;
	struct buf	 doc;		/* the document being filled */
	size_t		 in_doc;	/* receipts in it */
	int64_t		 emitted;
	dayfile_emit_fn	 emit;
	void		*arg;
	char		 err[160];
};

/*
 * Start the documents of a day.  opened: fiscalDayOpened; footer: the
 * footer object's JSON text (dayfile_footer), NULL for none; max: the size
 * limit in bytes (0: FDMS_MAX_FILE).  0, or -1 with d->err.
 */
int	dayfile_begin(struct dayfile *d, int64_t device_id, int64_t day_no,
	    const char *opened, const char *footer, size_t max,
	    dayfile_emit_fn emit, void *arg);
/*
 * The next receipt (its wire JSON).  0, or -1 with d->err (it cannot fit
 * even alone, no memory, or the callback stopped).
 */
int	dayfile_add(struct dayfile *d, const char *wire, size_t len);
/* Emit what is left (the footer too); 0 or -1 with d->err. */
int	dayfile_end(struct dayfile *d);
void	dayfile_free(struct dayfile *d);

/*
 * The footer object: counters (finished: canonical order, no zeros) as
 * fiscalDayCounters in the CloseDay format, the device signature, the
 * day's last receiptCounter and fiscalDayClosed (NULL: left out).
 * 0, or -1 when out appended nothing usable (full).
 */
int	dayfile_footer(struct buf *out, const struct counters *c,
	    const char *hash, const char *signature, int64_t receipt_counter,
	    const char *closed);
/*
 * The footer a journaled day gets: for a day closed (or being closed) by
 * SubmitFile the footer as sent (its close_request); for one closed (or
 * being closed) by CloseDay the same counters and signature with FDMS's
 * fiscalDayClosed when known.  1 footer in out, 0 none (no close
 * requested yet), -1 error.
 */
int	dayfile_day_footer(const struct store_day *day, struct buf *out);
/* Is a journaled close request a SubmitFile footer (not a CloseDay body)? */
bool	dayfile_is_footer(const char *close_request);

/*
 * Every document of the journaled day: the receipts streamed from the
 * store in journal order.  The number of documents, or -1 with err.
 */
int	dayfile_build(struct store *, const struct store_day *day,
	    const char *footer, size_t max, dayfile_emit_fn emit, void *arg,
	    char *err, size_t errlen);

/*
 * spoolctl export --format jsonl: one line per receipt of the day in
 * journal order, {"deviceID":N,"previousReceiptHash":"..." (not for the
 * day's first),"receipt":<wire JSON byte for byte>}.  Each line is a
 * document `spoolctl inspect` reproduces the journaled hash from.
 * The number of receipts, or -1 with err.
 */
long	dayfile_export_jsonl(struct store *, int64_t device_id, int64_t day_no,
	    FILE *out, char *err, size_t errlen);

#endif

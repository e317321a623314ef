/*
 * sigstr.h - the exact strings FDMS hashes and signs (fdms-reference §4).
 *
 * These bytes decide RCPT020 and BadCertificateSignature, the errors every
 * FDMS client has struggled with, so each rendering rule is written once,
 * here, and proven against the corrected worked examples of §4.6.
 */
#ifndef FISCAL_SIGSTR_H
#define FISCAL_SIGSTR_H

#include <stdint.h>

struct buf;
struct receipt;
struct receipt_tax;
struct counters;

/*
 * §4.2: deviceID RECEIPTTYPE CURRENCY receiptGlobalNo receiptDate
 * totalCents taxes [previousReceiptHash]. prev_hash NULL or "" for the
 * first receipt of the day. The receipt must carry its global number and
 * date. Returns 0, or -1 when a field is missing or b is full.
 */
int	sigstr_receipt(const struct receipt *r, int64_t device_id,
	    const char *prev_hash, struct buf *b);

/* The tax-line order of §4.2: taxID ascending, then taxCode (none first). */
int	sigstr_tax_cmp(const struct receipt_tax *, const struct receipt_tax *);

/*
 * §4.3: deviceID fiscalDayNo fiscalDayDate(YYYY-MM-DD of the opening)
 * counters, in the order they are in (call counters_finish() first).
 * day_opened may be a full datetime; only its date part is used.
 */
int	sigstr_day(int64_t device_id, int64_t day_no, const char *day_opened,
	    const struct counters *c, struct buf *b);

/* §4.5: FDMS's receipt signature input: deviceSig(b64) receiptID serverDate. */
int	sigstr_server_receipt(const char *device_sig_b64, int64_t receipt_id,
	    const char *server_date, struct buf *b);

/*
 * §4.5: FDMS's day signature input. manual: reconciliation MANUAL (the
 * device signature is then left out).
 */
int	sigstr_server_day(int64_t device_id, int64_t day_no,
	    const char *day_opened, const char *day_closed, int manual,
	    const struct counters *c, const char *device_sig_b64, struct buf *b);

#endif

/*
 * wire.h - the receipt object as it goes to FDMS (fdms-reference §3.1).
 *
 * fdms_wire_receipt() prints a signed struct receipt as compact JSON: the
 * receipt object itself, not the {"receipt": ...} wrapper, with a fixed
 * member order, amounts printed from integer cents, quantities and prices
 * from micro-units, tax percents from hundredths, taxPercent left out for
 * exempt lines and taxes, optional members left out when absent.
 *
 * These bytes are what the caller journals before the first send and what
 * fdms_req_submit_receipt() wraps, unchanged, on every (re)send.  They
 * must describe exactly what was signed: the signature string is built
 * from the same struct receipt (sigstr), so both agree by construction.
 */
#ifndef FDMS_WIRE_H
#define FDMS_WIRE_H

#include <stddef.h>

struct buf;
struct receipt;

/*
 * Append the wire JSON of r to out.  r must be complete: counter, global
 * number, date and device signature present, a credit/debit note reference
 * resolved to an FDMS receiptID or deviceID + global number + day.
 * 0, or -1 with a reason in err (out is then reset).
 */
int	fdms_wire_receipt(const struct receipt *r, struct buf *out, char *err,
	    size_t errlen);

#endif

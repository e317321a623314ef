/*
 * dayfile.c - SubmitFile documents and the journal export of a fiscal day
 * (see dayfile.h; fdms-reference §2.11, §4.3, §6.2).
 *
 * Splitting.  Greedy and deterministic: receipts are appended to the
 * current document while header + content + the closing brackets stay
 * within the limit; the next receipt that would not fit closes it and
 * opens document seq + 1.  At the end the footer joins the last document
 * if it fits there, otherwise it gets a document of its own (header and
 * footer, no content: FDMS's content is optional).  A receipt that does
 * not fit into an empty document is an error, never a document over the
 * limit (FILE01 would refuse it and the day could not be filed at all).
 *
 * Invariants.
 *  1. Receipts are copied byte for byte from the journal's wire JSON: the
 *     bytes that were signed are the bytes FDMS gets (never re-serialised,
 *     so no number is ever printed by a float formatter).
 *  2. Every document is <= the limit and is one JSON object.
 *  3. Same inputs, same bytes (no clock, no randomness here): the times in
 *     the footer come from the journal.
 *
 * Trust: the journal is ours; its wire JSON was produced by the pipeline
 * and is not parsed again here.  The footer text is the caller's (built by
 * dayfile_footer, journaled as the close request).
 */
#include "spool/dayfile.h"

#include <inttypes.h>
#include <stdarg.h>
#include <string.h>

#include "fdms/fdms.h"
#include "fiscal/counters.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "store/store.h"

#define CONTENT_OPEN	",\"content\":{\"receipts\":["
#define CONTENT_CLOSE	"]}"
#define FOOTER_KEY	",\"footer\":"
#define FOOTER_PREFIX	"{\"fiscalDayCounters\":"
#define CLOSEDAY_KEY	",\"fiscalDayCounters\":"
#define WALK_STOP	100	/* not a store_rc: a callback stopped the walk */

static int
derr(struct dayfile *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
derr(struct dayfile *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(d->err, sizeof(d->err), fmt, ap);
	va_end(ap);
	return -1;
}

/* A new document: its header, no content yet. */
static int
start_doc(struct dayfile *d)
{
	d->seq++;
	d->in_doc = 0;
	buf_reset(&d->doc);
	if (buf_printf(&d->doc, "{\"header\":{\"deviceID\":%" PRId64
	    ",\"fiscalDayNo\":%" PRId64 ",\"fiscalDayOpened\":\"%s\","
	    "\"fileSequence\":%" PRId64 "}", d->device_id, d->day_no,
	    d->opened, d->seq) == -1 || d->doc.len > d->max)
		return derr(d, "the size limit (%zu bytes) leaves no room for "
		    "a header", d->max);
	return 0;
}

static int
emit_doc(struct dayfile *d)
{
	if (d->doc.len > d->max)	/* invariant 2: a bug if it happens */
		return derr(d, "document %" PRId64 " is %zu bytes, over the "
		    "limit", d->seq, d->doc.len);
	if (d->emit(d->seq, d->doc.p, d->doc.len, d->arg) != 0)
		return derr(d, "stopped");
	d->emitted++;
	return 0;
}

int
dayfile_begin(struct dayfile *d, int64_t device_id, int64_t day_no,
    const char *opened, const char *footer, size_t max, dayfile_emit_fn emit,
    void *arg)
{
	memset(d, 0, sizeof(*d));
	d->device_id = device_id;
	d->day_no = day_no;
	d->footer = footer;
	d->max = max != 0 ? max : FDMS_MAX_FILE;
	d->emit = emit;
	d->arg = arg;
	buf_init(&d->doc, d->max + 1);
	if (opened == NULL || strlen(opened) != FDMS_DATE_LEN)
		return derr(d, "fiscalDayOpened is not YYYY-MM-DDTHH:MM:SS");
	memcpy(d->opened, opened, FDMS_DATE_LEN + 1);
	return start_doc(d);
}

int
dayfile_add(struct dayfile *d, const char *wire, size_t len)
{
	size_t tail = strlen(CONTENT_CLOSE) + 1;	/* "]}" and "}" */

	if (d->in_doc > 0 && d->doc.len + 1 + len + tail > d->max) {
		if (buf_adds(&d->doc, CONTENT_CLOSE "}") == -1 ||
		    emit_doc(d) == -1 || start_doc(d) == -1)
			return d->err[0] ? -1 : derr(d, "out of memory");
	}
	if (d->in_doc == 0 &&
	    d->doc.len + strlen(CONTENT_OPEN) + len + tail > d->max)
		return derr(d, "a receipt of %zu bytes does not fit into a "
		    "document of at most %zu bytes", len, d->max);
	if (buf_adds(&d->doc, d->in_doc == 0 ? CONTENT_OPEN : ",") == -1 ||
	    buf_add(&d->doc, wire, len) == -1)
		return derr(d, "out of memory");
	d->in_doc++;
	return 0;
}

int
dayfile_end(struct dayfile *d)
{
	size_t flen;

	if (d->footer == NULL) {
		if (buf_adds(&d->doc, d->in_doc > 0 ? CONTENT_CLOSE "}" :
		    "}") == -1)
			return derr(d, "out of memory");
		return emit_doc(d);
	}
	flen = strlen(FOOTER_KEY) + strlen(d->footer) + 1;
	if (d->in_doc > 0) {
		if (buf_adds(&d->doc, CONTENT_CLOSE) == -1)
			return derr(d, "out of memory");
		/* The footer is never split: a document of its own if need be. */
		if (d->doc.len + flen > d->max) {
			if (buf_adds(&d->doc, "}") == -1 || emit_doc(d) == -1 ||
			    start_doc(d) == -1)
				return d->err[0] ? -1 : derr(d, "out of memory");
		}
	}
	if (d->doc.len + flen > d->max)
		return derr(d, "the footer (%zu bytes) does not fit into a "
		    "document of at most %zu bytes", strlen(d->footer), d->max);
	if (buf_adds(&d->doc, FOOTER_KEY) == -1 ||
	    buf_adds(&d->doc, d->footer) == -1 || buf_adds(&d->doc, "}") == -1)
		return derr(d, "out of memory");
	return emit_doc(d);
}

void
dayfile_free(struct dayfile *d)
{
	buf_free(&d->doc);
}

/* ---- footer ---------------------------------------------------------- */

/* One FiscalDayCounter, as the CloseDay body has it (fdms_codec.c). */
static int
put_counter(struct buf *b, const struct counter *c)
{
	char num[MONEY_BUFSZ];

	if (buf_printf(b, "{\"fiscalCounterType\":\"%s\","
	    "\"fiscalCounterCurrency\":\"%s\",", counter_type_name(c->type),
	    c->currency) == -1)
		return -1;
	if (c->type != COUNTER_BALANCE_BY_MONEY_TYPE) {
		if (buf_printf(b, "\"fiscalCounterTaxID\":%" PRId64 ",",
		    c->tax_id) == -1)
			return -1;
		if (c->has_percent && buf_printf(b,
		    "\"fiscalCounterTaxPercent\":%s,", money_format(c->percent,
		    2, num, sizeof(num))) == -1)
			return -1;
	} else if (buf_printf(b, "\"fiscalCounterMoneyType\":\"%s\",",
	    money_type_name(c->money_type)) == -1)
		return -1;
	return buf_printf(b, "\"fiscalCounterValue\":%s}",
	    money_format(c->value, 2, num, sizeof(num)));
}

int
dayfile_footer(struct buf *out, const struct counters *c, const char *hash,
    const char *signature, int64_t receipt_counter, const char *closed)
{
	size_t i;

	if (buf_adds(out, FOOTER_PREFIX "[") == -1)
		return -1;
	for (i = 0; i < c->n; i++)
		if ((i > 0 && buf_adds(out, ",") == -1) ||
		    put_counter(out, &c->v[i]) == -1)
			return -1;
	if (buf_printf(out, "],\"fiscalDayDeviceSignature\":{\"hash\":\"%s\","
	    "\"signature\":\"%s\"},\"receiptCounter\":%" PRId64, hash,
	    signature, receipt_counter) == -1)
		return -1;
	if (closed != NULL &&
	    buf_printf(out, ",\"fiscalDayClosed\":\"%s\"", closed) == -1)
		return -1;
	return buf_adds(out, "}");
}

bool
dayfile_is_footer(const char *close_request)
{
	return close_request != NULL && strncmp(close_request, FOOTER_PREFIX,
	    strlen(FOOTER_PREFIX)) == 0;
}

int
dayfile_day_footer(const struct store_day *day, struct buf *out)
{
	const char *req = day->close_request, *from;
	size_t n;

	if (req == NULL || (day->status != STORE_DAY_CLOSE_REQUESTED &&
	    day->status != STORE_DAY_CLOSED))
		return 0;
	if (dayfile_is_footer(req))
		return buf_adds(out, req) == -1 ? -1 : 1;
	/*
	 * A CloseDay body, {"fiscalDayNo":N,"fiscalDayCounters":[...],
	 * "fiscalDayDeviceSignature":{...},"receiptCounter":N}: its counters,
	 * signature and receipt counter byte for byte, as they were sent,
	 * and FDMS's closing time when the day is closed.
	 */
	if ((from = strstr(req, CLOSEDAY_KEY)) == NULL ||
	    (n = strlen(from)) < 2 || from[n - 1] != '}')
		return -1;
	if (buf_adds(out, "{") == -1 || buf_add(out, from + 1, n - 2) == -1)
		return -1;
	if (day->closed != NULL && buf_printf(out, ",\"fiscalDayClosed\":"
	    "\"%s\"", day->closed) == -1)
		return -1;
	return buf_adds(out, "}") == -1 ? -1 : 1;
}

/* ---- the journaled day ----------------------------------------------- */

static int
build_cb(const struct store_receipt *r, void *arg)
{
	return dayfile_add(arg, r->wire_json, r->wire_len) == -1 ? WALK_STOP :
	    0;
}

int
dayfile_build(struct store *s, const struct store_day *day,
    const char *footer, size_t max, dayfile_emit_fn emit, void *arg,
    char *err, size_t errlen)
{
	struct dayfile d;
	int rc;

	if (dayfile_begin(&d, day->device_id, day->day_no, day->opened, footer,
	    max, emit, arg) == -1) {
		snprintf(err, errlen, "%s", d.err);
		dayfile_free(&d);
		return -1;
	}
	rc = store_receipts_each(s, day->device_id, day->day_no, build_cb, &d);
	if (rc == WALK_STOP || (rc == STORE_OK && dayfile_end(&d) == -1)) {
		snprintf(err, errlen, "fiscal day %" PRId64 ": %s", day->day_no,
		    d.err);
		rc = -1;
	} else if (rc != STORE_OK) {
		snprintf(err, errlen, "journal: %s", store_errmsg(s));
		rc = -1;
	} else
		rc = (int)d.emitted;
	dayfile_free(&d);
	return rc;
}

/* ---- export jsonl ---------------------------------------------------- */

struct jsonl {
	FILE	*out;
	long	 n;
	bool	 bad_io;
};

static int
jsonl_cb(const struct store_receipt *r, void *arg)
{
	struct jsonl *j = arg;

	if (fprintf(j->out, "{\"deviceID\":%" PRId64 ",", r->device_id) < 0 ||
	    (r->prev_hash != NULL && fprintf(j->out,
	    "\"previousReceiptHash\":\"%s\",", r->prev_hash) < 0) ||
	    fputs("\"receipt\":", j->out) == EOF ||
	    fwrite(r->wire_json, 1, r->wire_len, j->out) != r->wire_len ||
	    fputs("}\n", j->out) == EOF) {
		j->bad_io = true;
		return WALK_STOP;
	}
	j->n++;
	return 0;
}

long
dayfile_export_jsonl(struct store *s, int64_t device_id, int64_t day_no,
    FILE *out, char *err, size_t errlen)
{
	struct jsonl j = { out, 0, false };
	int rc;

	rc = store_receipts_each(s, device_id, day_no, jsonl_cb, &j);
	if (j.bad_io) {
		snprintf(err, errlen, "cannot write the output");
		return -1;
	}
	if (rc != STORE_OK) {
		snprintf(err, errlen, "journal: %s", store_errmsg(s));
		return -1;
	}
	return j.n;
}

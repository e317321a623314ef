/*
 * sigstr.c - signature input strings (see sigstr.h).
 *
 * Trusts the receipt model's types (exact cents, hundredths); does not trust
 * that optional fields are present and says so with -1. Renders from integer
 * values only, so the string describes exactly the numbers we serialise.
 */
#include "fiscal/sigstr.h"

#include <stdlib.h>
#include <string.h>

#include "fiscal/counters.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "util/buf.h"

int
sigstr_tax_cmp(const struct receipt_tax *a, const struct receipt_tax *b)
{
	const char *ca = a->tax_code ? a->tax_code : "";
	const char *cb = b->tax_code ? b->tax_code : "";

	int c;

	/* Same order as tax.c's key_cmp, so computed and given taxes agree. */
	if (a->tax_id != b->tax_id)
		return a->tax_id < b->tax_id ? -1 : 1;
	if ((c = strcmp(ca, cb)) != 0)
		return c < 0 ? -1 : 1;
	if (a->has_tax_percent != b->has_tax_percent)
		return a->has_tax_percent ? 1 : -1;
	if (a->has_tax_percent && a->tax_percent != b->tax_percent)
		return a->tax_percent < b->tax_percent ? -1 : 1;
	return 0;
}

static int
cmp_tax_ptr(const void *x, const void *y)
{
	return sigstr_tax_cmp(*(const struct receipt_tax *const *)x,
	    *(const struct receipt_tax *const *)y);
}

static int
add_upper(struct buf *b, const char *s)
{
	char c;

	for (; *s != '\0'; s++) {
		c = *s >= 'a' && *s <= 'z' ? (char)(*s - 'a' + 'A') : *s;
		if (buf_add(b, &c, 1) == -1)
			return -1;
	}
	return 0;
}

int
sigstr_receipt(const struct receipt *r, int64_t device_id,
    const char *prev_hash, struct buf *b)
{
	const struct receipt_tax **order;
	char pct[MONEY_BUFSZ];
	size_t i;
	int rc = -1;

	if (!r->has_global_no || r->date == NULL || r->currency == NULL)
		return -1;
	if (buf_printf(b, "%lld%s", (long long)device_id,
	    receipt_type_upper(r->type)) == -1 || add_upper(b, r->currency) == -1 ||
	    buf_printf(b, "%lld%s%lld", (long long)r->global_no, r->date,
	    (long long)r->total) == -1)
		return -1;
	if ((order = calloc(r->n_taxes + 1, sizeof(*order))) == NULL)
		return -1;
	for (i = 0; i < r->n_taxes; i++)
		order[i] = &r->taxes[i];
	qsort(order, r->n_taxes, sizeof(*order), cmp_tax_ptr);
	for (i = 0; i < r->n_taxes; i++) {
		const struct receipt_tax *t = order[i];

		if (buf_adds(b, t->tax_code ? t->tax_code : "") == -1 ||
		    (t->has_tax_percent && buf_adds(b, money_format(t->tax_percent,
		    2, pct, sizeof(pct))) == -1) ||
		    buf_printf(b, "%lld%lld", (long long)t->tax_amount,
		    (long long)t->sales_amount_with_tax) == -1)
			goto out;
	}
	if (prev_hash != NULL && buf_adds(b, prev_hash) == -1)
		goto out;
	rc = 0;
out:
	free(order);
	return rc;
}

static int
add_date_part(struct buf *b, const char *when)
{
	/* YYYY-MM-DD, the first ten characters of the opening datetime. */
	if (when == NULL || strlen(when) < 10)
		return -1;
	return buf_add(b, when, 10);
}

static int
add_counters(struct buf *b, const struct counters *c)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (counter_render(&c->v[i], b) == -1)
			return -1;
	return 0;
}

int
sigstr_day(int64_t device_id, int64_t day_no, const char *day_opened,
    const struct counters *c, struct buf *b)
{
	if (buf_printf(b, "%lld%lld", (long long)device_id,
	    (long long)day_no) == -1 || add_date_part(b, day_opened) == -1)
		return -1;
	return add_counters(b, c);
}

int
sigstr_server_receipt(const char *device_sig_b64, int64_t receipt_id,
    const char *server_date, struct buf *b)
{
	return buf_printf(b, "%s%lld%s", device_sig_b64, (long long)receipt_id,
	    server_date);
}

int
sigstr_server_day(int64_t device_id, int64_t day_no, const char *day_opened,
    const char *day_closed, int manual, const struct counters *c,
    const char *device_sig_b64, struct buf *b)
{
	if (buf_printf(b, "%lld%lld", (long long)device_id,
	    (long long)day_no) == -1 || add_date_part(b, day_opened) == -1 ||
	    buf_printf(b, "%s%s", day_closed, manual ? "MANUAL" : "AUTO") == -1 ||
	    add_counters(b, c) == -1)
		return -1;
	if (!manual && buf_adds(b, device_sig_b64) == -1)
		return -1;
	return 0;
}

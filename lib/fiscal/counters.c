/*
 * counters.c - fiscal day counters (see counters.h).
 *
 * Invariants: no two entries share a key (type, currency, tax_id,
 * percent-or-exempt, money type); values are exact int64 cents and every
 * addition is overflow-checked; after counters_finish() no entry is zero and
 * the array is in canonical order.
 */
#include "fiscal/counters.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "fiscal/money.h"
#include "util/buf.h"

static const char *const type_names[COUNTER_TYPE_COUNT] = {
	"SaleByTax", "SaleTaxByTax", "CreditNoteByTax", "CreditNoteTaxByTax",
	"DebitNoteByTax", "DebitNoteTaxByTax", "BalanceByMoneyType"
};

/*
 * The canonical order, most significant key first (fdms-reference §4.3,
 * recommendation of §11): type in enum order, then currency A-Z, then taxID
 * ascending (exempt before a percent on the same ID) for the byTax types or
 * money type in enum order for BalanceByMoneyType. The spec's own example
 * orders taxID before currency; to follow it, swap the two middle rows.
 */
enum order_key {
	KEY_TYPE,
	KEY_CURRENCY,
	KEY_TAX_OR_MONEY
};
static const enum order_key counter_order[] = {
	KEY_TYPE,
	KEY_CURRENCY,
	KEY_TAX_OR_MONEY,
};

static int
is_by_tax(enum counter_type t)
{
	return t != COUNTER_BALANCE_BY_MONEY_TYPE;
}

static int
cmp_i64(int64_t a, int64_t b)
{
	return a < b ? -1 : a > b;
}

static int
cmp_key(const struct counter *a, const struct counter *b, enum order_key k)
{
	int c;

	switch (k) {
	case KEY_TYPE:
		return cmp_i64(a->type, b->type);
	case KEY_CURRENCY:
		return strcmp(a->currency, b->currency);
	case KEY_TAX_OR_MONEY:
		if (!is_by_tax(a->type) || !is_by_tax(b->type))
			return cmp_i64(a->money_type, b->money_type);
		if ((c = cmp_i64(a->tax_id, b->tax_id)) != 0)
			return c;
		if ((c = cmp_i64(a->has_percent, b->has_percent)) != 0)
			return c;
		return cmp_i64(a->percent, b->percent);
	}
	return 0;
}

static int
cmp_counter(const void *x, const void *y)
{
	const struct counter *a = x, *b = y;
	size_t i;
	int c;

	for (i = 0; i < sizeof(counter_order) / sizeof(counter_order[0]); i++)
		if ((c = cmp_key(a, b, counter_order[i])) != 0)
			return c;
	return 0;
}

static int
same_key(const struct counter *a, const struct counter *b)
{
	if (a->type != b->type || strcmp(a->currency, b->currency) != 0)
		return 0;
	if (!is_by_tax(a->type))
		return a->money_type == b->money_type;
	return a->tax_id == b->tax_id && a->has_percent == b->has_percent &&
	    (!a->has_percent || a->percent == b->percent);
}

void
counters_init(struct counters *c)
{
	c->v = NULL;
	c->n = c->cap = 0;
}

void
counters_free(struct counters *c)
{
	free(c->v);
	counters_init(c);
}

int
counters_add(struct counters *c, const struct counter *x)
{
	struct counter *v;
	size_t i, cap;

	for (i = 0; i < c->n; i++)
		if (same_key(&c->v[i], x)) {
			if (__builtin_add_overflow(c->v[i].value, x->value,
			    &c->v[i].value))
				return -1;
			return 0;
		}
	if (c->n == COUNTERS_MAX)
		return -1;
	if (c->n == c->cap) {
		cap = c->cap ? c->cap * 2 : 16;
		if ((v = realloc(c->v, cap * sizeof(*v))) == NULL)
			return -1;
		c->v = v;
		c->cap = cap;
	}
	c->v[c->n] = *x;
	if (!is_by_tax(x->type)) {
		c->v[c->n].tax_id = 0;
		c->v[c->n].has_percent = false;
		c->v[c->n].percent = 0;
	} else {
		c->v[c->n].money_type = MONEY_CASH;
		if (!x->has_percent)
			c->v[c->n].percent = 0;
	}
	c->n++;
	return 0;
}

static int
set_currency(struct counter *x, const char *cur)
{
	size_t i;

	if (cur == NULL || strlen(cur) != 3)
		return -1;
	for (i = 0; i < 3; i++) {
		if (!isalpha((unsigned char)cur[i]))
			return -1;
		x->currency[i] = (char)toupper((unsigned char)cur[i]);
	}
	x->currency[3] = '\0';
	return 0;
}

int
counters_add_receipt(struct counters *c, const struct receipt *r)
{
	static const enum counter_type by_tax[][2] = {
		[RECEIPT_FISCAL_INVOICE] = { COUNTER_SALE_BY_TAX,
		    COUNTER_SALE_TAX_BY_TAX },
		[RECEIPT_CREDIT_NOTE] = { COUNTER_CREDIT_NOTE_BY_TAX,
		    COUNTER_CREDIT_NOTE_TAX_BY_TAX },
		[RECEIPT_DEBIT_NOTE] = { COUNTER_DEBIT_NOTE_BY_TAX,
		    COUNTER_DEBIT_NOTE_TAX_BY_TAX },
	};
	struct counter x;
	size_t i;

	memset(&x, 0, sizeof(x));
	if (set_currency(&x, r->currency) == -1 ||
	    (size_t)r->type >= sizeof(by_tax) / sizeof(by_tax[0]))
		return -1;
	for (i = 0; i < r->n_taxes; i++) {
		const struct receipt_tax *t = &r->taxes[i];

		x.tax_id = t->tax_id;
		x.has_percent = t->has_tax_percent;
		x.percent = t->has_tax_percent ? t->tax_percent : 0;
		x.type = by_tax[r->type][0];
		x.value = t->sales_amount_with_tax;
		if (counters_add(c, &x) == -1)
			return -1;
		x.type = by_tax[r->type][1];
		x.value = t->tax_amount;
		if (counters_add(c, &x) == -1)
			return -1;
	}
	memset(&x, 0, sizeof(x));
	set_currency(&x, r->currency);
	x.type = COUNTER_BALANCE_BY_MONEY_TYPE;
	for (i = 0; i < r->n_payments; i++) {
		x.money_type = r->payments[i].money_type;
		x.value = r->payments[i].amount;
		if (counters_add(c, &x) == -1)
			return -1;
	}
	return 0;
}

void
counters_finish(struct counters *c)
{
	size_t i, o = 0;

	for (i = 0; i < c->n; i++)
		if (c->v[i].value != 0)
			c->v[o++] = c->v[i];
	c->n = o;
	if (c->n > 1)
		qsort(c->v, c->n, sizeof(*c->v), cmp_counter);
}

const char *
counter_type_name(enum counter_type t)
{
	return (size_t)t < COUNTER_TYPE_COUNT ? type_names[t] : "?";
}

int
counter_type_parse(const char *s, enum counter_type *out)
{
	size_t i;

	for (i = 0; i < COUNTER_TYPE_COUNT; i++)
		if (strcmp(type_names[i], s) == 0) {
			*out = (enum counter_type)i;
			return 0;
		}
	return -1;
}

int
counter_render(const struct counter *x, struct buf *b)
{
	const char *name = counter_type_name(x->type);
	char pct[MONEY_BUFSZ];
	size_t i;

	for (i = 0; name[i] != '\0'; i++) {
		char u = (char)toupper((unsigned char)name[i]);

		if (buf_add(b, &u, 1) == -1)
			return -1;
	}
	if (buf_adds(b, x->currency) == -1)
		return -1;
	if (!is_by_tax(x->type)) {
		if (buf_adds(b, money_type_upper(x->money_type)) == -1)
			return -1;
	} else if (x->has_percent &&
	    buf_adds(b, money_format(x->percent, 2, pct, sizeof(pct))) == -1)
		return -1;
	return buf_printf(b, "%lld", (long long)x->value);
}

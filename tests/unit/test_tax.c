/*
 * test_tax.c - receipt tax groups: grouping, signature order, inclusive and
 * exclusive formulas, half-even ties both ways on both signs, and
 * tax_apply()/tax_check() filling and comparing receiptTaxes.
 */
#include "fiscal/tax.h"

#include <stdlib.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "util/arena.h"

#include "tap.h"

#define EXEMPT	(-1)

static struct receipt *
mk(int inclusive, size_t cap)
{
	struct receipt *r;

	if ((r = receipt_new((size_t)1 << 24)) == NULL)
		abort();
	r->lines = arena_alloc(r->arena, cap * sizeof(*r->lines));
	r->taxes = arena_alloc(r->arena, cap * sizeof(*r->taxes));
	if (r->lines == NULL || r->taxes == NULL)
		abort();
	r->taxes_inclusive = inclusive;
	return r;
}

static void
line(struct receipt *r, int64_t total, int64_t tax_id, int32_t percent,
    const char *code)
{
	struct receipt_line *l = &r->lines[r->n_lines++];

	l->type = LINE_SALE;
	l->name = "Item";
	l->quantity = MICRO_PER_UNIT;
	l->total = total;
	l->tax_id = tax_id;
	l->has_tax_percent = percent != EXEMPT;
	l->tax_percent = percent != EXEMPT ? percent : 0;
	l->tax_code = code;
}

static void
given(struct receipt *r, int64_t tax_id, int32_t percent, const char *code,
    int64_t amount, int64_t sales)
{
	struct receipt_tax *t = &r->taxes[r->n_taxes++];

	r->has_taxes = true;
	t->tax_id = tax_id;
	t->has_tax_percent = percent != EXEMPT;
	t->tax_percent = percent != EXEMPT ? percent : 0;
	t->tax_code = code;
	t->tax_amount = amount;
	t->sales_amount_with_tax = sales;
}

/* The one group of a receipt with lines of one tax. */
static struct receipt_tax
one_group(int inclusive, int32_t percent, int64_t total)
{
	struct receipt *r = mk(inclusive, 1);
	struct receipt_tax *g, out;

	memset(&out, 0, sizeof(out));
	line(r, total, 7, percent, NULL);
	CHECK_INT(tax_compute(r, &g), 1);
	out = g[0];
	receipt_free(r);
	return out;
}

static int64_t
tax_of(int inclusive, int32_t percent, int64_t total)
{
	return one_group(inclusive, percent, total).tax_amount;
}

static const struct finding *
find(const struct findings *f, const char *code, const char *path)
{
	size_t i;

	for (i = 0; i < f->n; i++)
		if (strcmp(f->v[i].code, code) == 0 &&
		    strcmp(f->v[i].path, path) == 0)
			return &f->v[i];
	return NULL;
}

static void
expect(const struct findings *f, const char *code, const char *path,
    const char *sub, int at_line)
{
	const struct finding *x = find(f, code, path);
	size_t i;

	CHECK(x != NULL, "line %d: no %s at %s", at_line, code, path);
	if (x == NULL) {
		for (i = 0; i < f->n; i++)
			fprintf(stderr, "    have %s %s: %s\n", f->v[i].code,
			    f->v[i].path, f->v[i].message);
		return;
	}
	CHECK(x->colour == COLOUR_RED, "line %d: %s colour %d", at_line, code,
	    (int)x->colour);
	if (sub != NULL)
		CHECK(strstr(x->message, sub) != NULL,
		    "line %d: message \"%s\" lacks \"%s\"", at_line,
		    x->message, sub);
}

#define EXPECT(f, code, path, sub)	expect(f, code, path, sub, __LINE__)

/* fdms-reference §8: 11.55 at 15.5% inclusive is 1.55; 5.00 exempt is 0. */
static void
test_spec_example(void)
{
	struct receipt *r = mk(1, 4);
	struct receipt_tax *g;

	line(r, 500, 1, EXEMPT, NULL);
	line(r, 1155, 517, 1550, NULL);
	CHECK_INT(tax_compute(r, &g), 2);
	CHECK_INT(g[0].tax_id, 1);
	CHECK_INT(g[0].has_tax_percent, 0);
	CHECK_INT(g[0].tax_amount, 0);
	CHECK_INT(g[0].sales_amount_with_tax, 500);
	CHECK_INT(g[1].tax_id, 517);
	CHECK_INT(g[1].has_tax_percent, 1);
	CHECK_INT(g[1].tax_percent, 1550);
	CHECK_INT(g[1].tax_amount, 155);
	CHECK_INT(g[1].sales_amount_with_tax, 1155);
	CHECK(g[0].tax_code == NULL && g[1].tax_code == NULL, "codes absent");
	receipt_free(r);

	/* The same sale, tax exclusive: 10.00 + 15.5% = 11.55. */
	CHECK_INT(tax_of(0, 1550, 1000), 155);
	CHECK_INT(one_group(0, 1550, 1000).sales_amount_with_tax, 1155);
}

/* Half to even at exact half cents, exclusive and inclusive. */
static void
test_ties(void)
{
	/* Exclusive 15%: 0.10 -> 0.015 -> 0.02; 0.30 -> 0.045 -> 0.04. */
	CHECK_INT(tax_of(0, 1500, 10), 2);
	CHECK_INT(tax_of(0, 1500, 30), 4);
	CHECK_INT(tax_of(0, 1500, 50), 8);	/* 0.075 */
	CHECK_INT(tax_of(0, 1500, 70), 10);	/* 0.105 */
	CHECK_INT(one_group(0, 1500, 30).sales_amount_with_tax, 34);
	/* Not ties: ordinary rounding. */
	CHECK_INT(tax_of(0, 1500, 11), 2);	/* 0.0165 */
	CHECK_INT(tax_of(0, 1500, 9), 1);	/* 0.0135 */

	/* Inclusive 20%: sum / 6. 0.15 -> 0.025 -> 0.02; 0.21 -> 0.035. */
	CHECK_INT(tax_of(1, 2000, 15), 2);
	CHECK_INT(tax_of(1, 2000, 21), 4);
	CHECK_INT(tax_of(1, 2000, 9), 2);	/* 0.015 */
	CHECK_INT(tax_of(1, 2000, 3), 0);	/* 0.005 */
	CHECK_INT(one_group(1, 2000, 15).sales_amount_with_tax, 15);
	/* Inclusive 100%: sum / 2. */
	CHECK_INT(tax_of(1, 10000, 1), 0);
	CHECK_INT(tax_of(1, 10000, 3), 2);
	CHECK_INT(tax_of(1, 10000, 5), 2);
	CHECK_INT(tax_of(1, 10000, 7), 4);
	/* 15.5% inclusive has no ties (31/231); ordinary rounding. */
	CHECK_INT(tax_of(1, 1550, 100), 13);	/* 13.42 */
	CHECK_INT(tax_of(1, 1550, 1000), 134);	/* 134.199 */
}

/* Credit notes: negative groups mirror positive ones exactly. */
static void
test_negative(void)
{
	char buf[MONEY_BUFSZ];
	struct receipt_tax g;

	g = one_group(1, 1550, -1155);
	CHECK_INT(g.tax_amount, -155);
	CHECK_INT(g.sales_amount_with_tax, -1155);
	CHECK_INT(tax_of(0, 1500, -10), -2);
	CHECK_INT(tax_of(0, 1500, -30), -4);
	CHECK_INT(tax_of(0, 1500, -50), -8);
	CHECK_INT(tax_of(0, 1500, -70), -10);
	CHECK_INT(one_group(0, 1500, -30).sales_amount_with_tax, -34);
	CHECK_INT(tax_of(1, 2000, -15), -2);
	CHECK_INT(tax_of(1, 2000, -21), -4);
	CHECK_INT(tax_of(1, 2000, -9), -2);
	CHECK_INT(tax_of(1, 10000, -5), -2);
	CHECK_INT(tax_of(1, 10000, -3), -2);
	/* A tax that rounds to zero is 0, and renders as "0.00". */
	CHECK_INT(tax_of(1, 2000, -3), 0);
	CHECK_STR(money_format(tax_of(1, 2000, -3), 2, buf, sizeof(buf)),
	    "0.00");
	/* Exempt and 0% on a credit note: 0, never -0. */
	g = one_group(1, EXEMPT, -500);
	CHECK_INT(g.tax_amount, 0);
	CHECK_STR(money_format(g.tax_amount, 2, buf, sizeof(buf)), "0.00");
	g = one_group(0, 0, -500);
	CHECK_INT(g.tax_amount, 0);
	CHECK_INT(g.sales_amount_with_tax, -500);
}

static void
test_zero_and_exempt(void)
{
	struct receipt *r = mk(0, 4);
	struct receipt_tax *g;

	/* Same taxID, exempt vs 0%: two groups, exempt first. */
	line(r, 300, 2, 0, NULL);
	line(r, 200, 2, EXEMPT, NULL);
	line(r, 100, 2, 0, NULL);
	CHECK_INT(tax_compute(r, &g), 2);
	CHECK_INT(g[0].has_tax_percent, 0);
	CHECK_INT(g[0].sales_amount_with_tax, 200);
	CHECK_INT(g[0].tax_amount, 0);
	CHECK_INT(g[1].has_tax_percent, 1);
	CHECK_INT(g[1].tax_percent, 0);
	CHECK_INT(g[1].sales_amount_with_tax, 400);
	CHECK_INT(g[1].tax_amount, 0);
	receipt_free(r);
}

/* Tax on the group sum, not the sum of per-line taxes. */
static void
test_per_group(void)
{
	struct receipt *r = mk(0, 4);
	struct receipt_tax *g;

	/* Per line: 3 x round(0.015) = 0.06; per group round(0.045) = 0.04. */
	line(r, 10, 3, 1500, NULL);
	line(r, 10, 3, 1500, NULL);
	line(r, 10, 3, 1500, NULL);
	CHECK_INT(tax_compute(r, &g), 1);
	CHECK_INT(g[0].tax_amount, 4);
	CHECK_INT(g[0].sales_amount_with_tax, 34);
	receipt_free(r);

	/* Mixed signs inside a group (a discount line) sum first. */
	r = mk(1, 4);
	line(r, 1155, 517, 1550, NULL);
	line(r, -155, 517, 1550, NULL);
	CHECK_INT(tax_compute(r, &g), 1);
	CHECK_INT(g[0].sales_amount_with_tax, 1000);
	CHECK_INT(g[0].tax_amount, 134);
	receipt_free(r);
}

/* Groups by taxCode; absent and "" are one code; byte order; taxID first. */
static void
test_codes_and_order(void)
{
	struct receipt *r = mk(1, 8);
	struct receipt_tax *g;

	line(r, 100, 517, 1550, "a");
	line(r, 200, 517, 1550, "B");
	line(r, 300, 517, 1550, NULL);
	line(r, 400, 1, EXEMPT, "Z");
	line(r, 500, 517, 1550, "");
	line(r, 600, 2, 0, NULL);
	line(r, 700, 517, 1550, "a");
	CHECK_INT(tax_compute(r, &g), 5);
	CHECK_INT(g[0].tax_id, 1);
	CHECK_STR(g[0].tax_code, "Z");
	CHECK_INT(g[1].tax_id, 2);
	CHECK_INT(g[2].tax_id, 517);
	CHECK(g[2].tax_code == NULL, "the first line's NULL code is kept");
	CHECK_INT(g[2].sales_amount_with_tax, 800);	/* NULL + "" */
	CHECK_STR(g[3].tax_code, "B");			/* 'B' < 'a' */
	CHECK_INT(g[3].sales_amount_with_tax, 200);
	CHECK_STR(g[4].tax_code, "a");
	CHECK_INT(g[4].sales_amount_with_tax, 800);	/* lines 0 and 6 */
	CHECK_INT(g[4].tax_amount, 107);		/* 800 * 31/231 */
	receipt_free(r);

	/* Order does not depend on line order. */
	r = mk(1, 8);
	line(r, 1, 900, 1550, NULL);
	line(r, 1, 20, 1550, NULL);
	line(r, 1, 300, 1550, NULL);
	line(r, 1, 20, 1500, NULL);
	line(r, 1, 20, EXEMPT, NULL);
	CHECK_INT(tax_compute(r, &g), 5);
	CHECK_INT(g[0].tax_id, 20);
	CHECK_INT(g[0].has_tax_percent, 0);
	CHECK_INT(g[1].tax_percent, 1500);
	CHECK_INT(g[2].tax_percent, 1550);
	CHECK_INT(g[3].tax_id, 300);
	CHECK_INT(g[4].tax_id, 900);
	receipt_free(r);

	/* No lines: no groups. */
	r = mk(1, 1);
	CHECK_INT(tax_compute(r, &g), 0);
	CHECK(g == NULL, "no array for no groups");
	receipt_free(r);
}

static void
test_sort(void)
{
	struct receipt *r = mk(1, 8);

	given(r, 517, 1550, "B", 1, 0);
	given(r, 517, 1550, NULL, 2, 0);
	given(r, 1, EXEMPT, NULL, 3, 0);
	given(r, 517, 1550, "A", 4, 0);
	given(r, 517, 1550, "", 5, 0);		/* equal to NULL: stays after */
	tax_sort(r);
	CHECK_INT(r->taxes[0].tax_amount, 3);
	CHECK_INT(r->taxes[1].tax_amount, 2);
	CHECK_INT(r->taxes[2].tax_amount, 5);
	CHECK_INT(r->taxes[3].tax_amount, 4);
	CHECK_INT(r->taxes[4].tax_amount, 1);
	receipt_free(r);
}

static void
test_apply_fill(void)
{
	struct receipt *r = mk(1, 4);
	struct findings f;

	findings_clear(&f);
	r->taxes = NULL;
	line(r, 1155, 517, 1550, NULL);
	line(r, 500, 1, EXEMPT, NULL);
	CHECK_INT(tax_apply(r, &f), 0);
	CHECK_INT(f.n, 0);
	CHECK_INT(r->has_taxes, 0);
	CHECK_INT(r->n_taxes, 2);
	CHECK(r->taxes != NULL, "taxes filled");
	CHECK_INT(r->taxes[0].tax_id, 1);
	CHECK_INT(r->taxes[1].tax_amount, 155);
	/* Idempotent. */
	CHECK_INT(tax_apply(r, &f), 0);
	CHECK_INT(r->n_taxes, 2);
	receipt_free(r);

	r = mk(1, 1);
	r->taxes = NULL;
	CHECK_INT(tax_apply(r, &f), 0);
	CHECK_INT(r->n_taxes, 0);
	receipt_free(r);
}

static void
test_apply_check(void)
{
	struct receipt *r;
	struct findings f;
	struct receipt_tax *before;

	/* Right amounts, any order: nothing to say, nothing changed. */
	r = mk(1, 8);
	line(r, 500, 1, EXEMPT, NULL);
	line(r, 1155, 517, 1550, NULL);
	given(r, 517, 1550, NULL, 155, 1155);
	given(r, 1, EXEMPT, NULL, 0, 500);
	before = r->taxes;
	findings_clear(&f);
	CHECK_INT(tax_apply(r, &f), 0);
	CHECK_INT(f.n, 0);
	CHECK(r->taxes == before && r->n_taxes == 2, "given taxes kept");
	CHECK_INT(r->taxes[0].tax_id, 517);
	receipt_free(r);

	/* Wrong taxAmount and salesAmountWithTax. */
	r = mk(1, 8);
	line(r, 500, 1, EXEMPT, NULL);
	line(r, 1155, 517, 1550, NULL);
	given(r, 1, EXEMPT, NULL, 10, 500);
	given(r, 517, 1550, NULL, 150, 1150);
	findings_clear(&f);
	CHECK_INT(tax_check(r, &f), 0);
	CHECK_INT(f.n, 3);
	EXPECT(&f, "RCPT026", "receiptTaxes[0].taxAmount",
	    "taxAmount 0.10 should be 0.00: tax 1 is exempt");
	EXPECT(&f, "RCPT026", "receiptTaxes[1].taxAmount",
	    "taxAmount 1.50 should be 1.55: 15.50% included in line totals "
	    "11.55");
	EXPECT(&f, "RCPT027", "receiptTaxes[1].salesAmountWithTax",
	    "salesAmountWithTax 11.50 should be 11.55");
	receipt_free(r);

	/* Exclusive, negative (credit note). */
	r = mk(0, 8);
	line(r, -1000, 517, 1550, NULL);
	given(r, 517, 1550, NULL, -155, -1000);
	findings_clear(&f);
	CHECK_INT(tax_apply(r, &f), 0);
	CHECK_INT(f.n, 1);
	EXPECT(&f, "RCPT027", "receiptTaxes[0].salesAmountWithTax",
	    "salesAmountWithTax -10.00 should be -11.55: line totals -10.00 + "
	    "tax -1.55");
	receipt_free(r);

	/* Exempt sent as 0%: one extra entry, one group without entry. */
	r = mk(1, 8);
	line(r, 500, 1, EXEMPT, NULL);
	line(r, 700, 3, 1500, "A");
	given(r, 1, 0, NULL, 0, 500);
	given(r, 3, 1500, "A", 91, 700);
	given(r, 3, 1500, "A", 91, 700);
	given(r, 9, 1500, NULL, 0, 0);
	findings_clear(&f);
	CHECK_INT(tax_check(r, &f), 0);
	CHECK_INT(f.n, 4);
	EXPECT(&f, "RCPT025", "receiptTaxes[0].taxID",
	    "no receipt line has tax 1 at 0.00%");
	EXPECT(&f, "RCPT025", "receiptTaxes[2].taxID",
	    "tax 3 at 15.00% code \"A\" is listed twice in receiptTaxes "
	    "(first at receiptTaxes[1])");
	EXPECT(&f, "RCPT025", "receiptTaxes[3].taxID",
	    "no receipt line has tax 9 at 15.00%");
	EXPECT(&f, "RCPT025", "receiptLines[0].taxID",
	    "lines with tax 1 (exempt) have no receiptTaxes entry");
	receipt_free(r);

	/* An untrusted taxCode is shown sanitised and bounded. */
	r = mk(1, 4);
	line(r, 100, 3, 1500, "A");
	given(r, 3, 1500, "\x01\x7f" "BCDEFGHIJKLMNOPQRSTUVWXYZ", 13, 100);
	findings_clear(&f);
	CHECK_INT(tax_check(r, &f), 0);
	EXPECT(&f, "RCPT025", "receiptTaxes[0].taxID",
	    "code \"??BCDEFGHIJKLMNO...\"");
	receipt_free(r);
}

/* Sums far beyond any real receipt saturate instead of overflowing. */
static void
test_extremes(void)
{
	struct receipt *r = mk(0, RECEIPT_MAX_LINES);
	struct receipt_tax *g;
	size_t i;

	for (i = 0; i < RECEIPT_MAX_LINES; i++)
		line(r, CENTS_MAX, 5, PERCENT_MAX, NULL);
	CHECK_INT(tax_compute(r, &g), 1);
	CHECK_INT(g[0].sales_amount_with_tax, INT64_MAX);
	CHECK_INT(g[0].tax_amount, INT64_MAX);
	receipt_free(r);

	r = mk(1, RECEIPT_MAX_LINES);
	for (i = 0; i < RECEIPT_MAX_LINES; i++)
		line(r, -CENTS_MAX, 5, PERCENT_MAX, NULL);
	CHECK_INT(tax_compute(r, &g), 1);
	CHECK_INT(g[0].sales_amount_with_tax, -CENTS_MAX * 1000);
	CHECK(g[0].tax_amount < 0 && g[0].tax_amount > -CENTS_MAX * 1000,
	    "inclusive tax below its base");

	/* The largest single line at 999.99% exclusive still fits exactly. */
	CHECK_INT(tax_of(0, PERCENT_MAX, CENTS_MAX),
	    money_div_half_even((__int128)CENTS_MAX * PERCENT_MAX, 10000));
	receipt_free(r);
}

int
main(void)
{
	test_spec_example();
	test_ties();
	test_negative();
	test_zero_and_exempt();
	test_per_group();
	test_codes_and_order();
	test_sort();
	test_apply_fill();
	test_apply_check();
	test_extremes();
	return tap_done();
}

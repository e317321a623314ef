/*
 * test_rules.c - every local FDMS rule both ways: a good receipt (the
 * fdms-reference §8 example and its credit/debit-note twins) is clean, and
 * each mutation raises exactly the rule it breaks, with FDMS's code and
 * colour, the JSON path and the numbers in the message.
 */
#include "fiscal/rules.h"

#include <stdlib.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/tax.h"
#include "util/arena.h"

#include "tap.h"

#define EXEMPT		(-1)
#define NOPRICE		INT64_MIN
#define UNIT		MICRO_PER_UNIT
#define CAP		16

static struct findings F;

/* Receipt builder ------------------------------------------------------- */

static struct receipt *
rnew_cap(enum receipt_type t, int inclusive, size_t cap)
{
	struct receipt *r;

	if ((r = receipt_new((size_t)1 << 24)) == NULL)
		abort();
	r->lines = arena_alloc(r->arena, cap * sizeof(*r->lines));
	r->taxes = arena_alloc(r->arena, cap * sizeof(*r->taxes));
	r->payments = arena_alloc(r->arena, cap * sizeof(*r->payments));
	if (r->lines == NULL || r->taxes == NULL || r->payments == NULL)
		abort();
	r->type = t;
	r->currency = "USD";
	r->has_counter = true;
	r->counter = 1;
	r->has_global_no = true;
	r->global_no = 101;
	r->invoice_no = "INV-000101";
	r->date = "2026-03-02T10:15:00";
	r->taxes_inclusive = inclusive;
	if (t == RECEIPT_CREDIT_NOTE) {
		r->notes = "Soap returned";
		r->cdn.present = true;
		r->cdn.has_receipt_id = true;
		r->cdn.receipt_id = 991;
	} else if (t == RECEIPT_DEBIT_NOTE) {
		r->notes = "Price correction";
		r->cdn.present = true;
		r->cdn.has_device_id = r->cdn.has_global_no =
		    r->cdn.has_fiscal_day_no = true;
		r->cdn.device_id = 12345;
		r->cdn.receipt_global_no = 101;
		r->cdn.fiscal_day_no = 7;
	}
	return r;
}

static struct receipt *
rnew(enum receipt_type t, int inclusive)
{
	return rnew_cap(t, inclusive, CAP);
}

static struct receipt_line *
add_line(struct receipt *r, enum line_type type, int64_t price, int64_t qty,
    int64_t total, int64_t tax_id, int32_t percent, const char *hs)
{
	struct receipt_line *l = &r->lines[r->n_lines++];

	l->type = type;
	l->has_line_no = true;
	l->line_no = (int64_t)r->n_lines;
	l->hs_code = hs;
	l->name = "Item";
	l->has_price = price != NOPRICE;
	l->price = price != NOPRICE ? price : 0;
	l->quantity = qty;
	l->total = total;
	l->has_tax_percent = percent != EXEMPT;
	l->tax_percent = percent != EXEMPT ? percent : 0;
	l->tax_id = tax_id;
	return l;
}

/* One-unit sale of `cents`. */
static struct receipt_line *
sale(struct receipt *r, int64_t cents, int64_t tax_id, int32_t percent)
{
	return add_line(r, LINE_SALE, cents * 10000, UNIT, cents, tax_id,
	    percent, "87654321");
}

/* receiptTaxes, total and one cash payment consistent with the lines. */
static void
finish(struct receipt *r)
{
	struct receipt_tax *g;
	int64_t sum = 0;
	long n, i;

	if ((n = tax_compute(r, &g)) < 0)
		abort();
	if (n > 0)
		memcpy(r->taxes, g, (size_t)n * sizeof(*g));
	r->n_taxes = (size_t)n;
	r->has_taxes = true;
	for (i = 0; i < n; i++)
		sum += g[i].sales_amount_with_tax;
	r->total = sum;
	r->n_payments = 1;
	r->payments[0].money_type = MONEY_CASH;
	r->payments[0].amount = sum;
}

/* fdms-reference §8, written out by hand. */
static struct receipt *
good_fi(void)
{
	struct receipt *r = rnew(RECEIPT_FISCAL_INVOICE, 1);

	add_line(r, LINE_SALE, 5 * UNIT, UNIT, 500, 1, EXEMPT, "12345678");
	add_line(r, LINE_SALE, 11550000, UNIT, 1155, 517, 1550, "87654321");
	r->has_taxes = true;
	r->n_taxes = 2;
	r->taxes[0].tax_id = 1;
	r->taxes[0].sales_amount_with_tax = 500;
	r->taxes[1].tax_id = 517;
	r->taxes[1].has_tax_percent = true;
	r->taxes[1].tax_percent = 1550;
	r->taxes[1].tax_amount = 155;
	r->taxes[1].sales_amount_with_tax = 1155;
	r->n_payments = 1;
	r->payments[0].money_type = MONEY_CASH;
	r->payments[0].amount = 1655;
	r->total = 1655;
	return r;
}

static struct receipt *
good_cn(void)
{
	struct receipt *r = rnew(RECEIPT_CREDIT_NOTE, 1);

	sale(r, -1155, 517, 1550);
	finish(r);
	return r;
}

static struct receipt *
good_dn(void)
{
	struct receipt *r = rnew(RECEIPT_DEBIT_NOTE, 1);

	sale(r, 200, 517, 1550);
	finish(r);
	return r;
}

/* Tax exclusive: 10.00 + 15.5% and 5.00 exempt = 16.55. */
static struct receipt *
good_excl(void)
{
	struct receipt *r = rnew(RECEIPT_FISCAL_INVOICE, 0);

	sale(r, 1000, 517, 1550);
	sale(r, 500, 1, EXEMPT)->hs_code = "12345678";
	finish(r);
	return r;
}

/* Context ---------------------------------------------------------------- */

static const struct tax_def TAXES[] = {
	{ 1, false, 0, "Exempt", NULL, NULL },
	{ 2, true, 0, "Zero rated 0%", NULL, NULL },
	{ 3, true, 1500, "Standard rated 15%", NULL, "2025-12-14" },
	{ 514, true, 500, "Non-VAT Withholding Tax", NULL, NULL },
	{ 517, true, 1550, "Standard rated 15.5%", "2025-12-15T00:00:00",
	    NULL },
};

static const struct tax_key ORIG_TAXES[] = {
	{ 1, false, 0 },
	{ 517, true, 1550 },
};

static struct {
	int			 rc;
	struct original_receipt	 o;
	int			 calls;
	struct receipt_cdn	 ref;
	int			 used_calls;
} CB;

static int
lookup(void *arg, const struct receipt_cdn *ref, struct original_receipt *out)
{
	(void)arg;
	CB.calls++;
	CB.ref = *ref;
	if (CB.rc == 1)
		*out = CB.o;
	return CB.rc;
}

static int
invoice_used(void *arg, const char *invoice_no)
{
	(void)arg;
	CB.used_calls++;
	return strcmp(invoice_no, "INV-USED") == 0;
}

static struct rules_ctx
good_ctx(void)
{
	struct rules_ctx x;

	memset(&CB, 0, sizeof(CB));
	CB.rc = 1;
	CB.o.receipt_id = 991;
	CB.o.date = "2026-01-10T09:00:00";
	CB.o.currency = "USD";
	CB.o.total = 1655;
	CB.o.adjusted = 0;
	CB.o.taxes = ORIG_TAXES;
	CB.o.n_taxes = 2;

	memset(&x, 0, sizeof(x));
	x.taxes = TAXES;
	x.n_taxes = sizeof(TAXES) / sizeof(TAXES[0]);
	x.vat_payer = 1;
	x.has_prev = true;
	x.prev_counter = 0;
	x.prev_global_no = 100;
	x.prev_date = NULL;
	x.day_opened = "2026-03-02T08:00:00";
	x.day_max_hours = 24;
	x.now = "2026-03-02T10:15:30";
	x.lookup_original = lookup;
	x.invoice_used = invoice_used;
	return x;
}

/* Checking --------------------------------------------------------------- */

static void
dump(void)
{
	size_t i;

	for (i = 0; i < F.n; i++)
		fprintf(stderr, "    have %s [%s] %s: %s\n", F.v[i].code,
		    colour_name(F.v[i].colour) ? colour_name(F.v[i].colour) :
		    "-", F.v[i].path, F.v[i].message);
}

static void
run(const struct receipt *r, const struct rules_ctx *x)
{
	findings_clear(&F);
	rules_check(r, x, &F);
}

/* Run and free. */
static void
runf(struct receipt *r, const struct rules_ctx *x)
{
	run(r, x);
	receipt_free(r);
}

static void
expect(int at_line, const char *code, enum colour c, const char *path,
    const char *sub)
{
	const struct finding *x = NULL;
	size_t i;

	/* Prefer the finding whose message matches, among several. */
	for (i = 0; i < F.n; i++)
		if (strcmp(F.v[i].code, code) == 0 &&
		    strcmp(F.v[i].path, path) == 0 && (x == NULL ||
		    (sub != NULL && strstr(F.v[i].message, sub) != NULL)))
			x = &F.v[i];
	CHECK(x != NULL, "line %d: no %s at \"%s\"", at_line, code, path);
	if (x == NULL) {
		dump();
		return;
	}
	CHECK(x->colour == c, "line %d: %s is %s", at_line, code,
	    colour_name(x->colour) ? colour_name(x->colour) : "none");
	if (sub != NULL)
		CHECK(strstr(x->message, sub) != NULL,
		    "line %d: %s message \"%s\" lacks \"%s\"", at_line, code,
		    x->message, sub);
}

/* Exactly these codes (space separated) were raised, in any order. */
static void
only(int at_line, const char *codes)
{
	char want[256], *p, *end;
	size_t n = 0, i;
	int ok = 1;

	snprintf(want, sizeof(want), "%s", codes);
	for (p = want; *p != '\0'; p = end) {
		while (*p == ' ')
			p++;
		if (*p == '\0')
			break;
		for (end = p; *end != '\0' && *end != ' '; end++)
			;
		if (*end == ' ')
			*end++ = '\0';
		n++;
		if (!findings_has(&F, p))
			ok = 0;
	}
	for (i = 0; i < F.n; i++)
		if (strstr(codes, F.v[i].code) == NULL)
			ok = 0;
	CHECK(ok, "line %d: want exactly {%s}, have %zu findings", at_line,
	    codes, F.n);
	if (!ok)
		dump();
	(void)n;
}

#define EXPECT(code, colour, path, sub) \
	expect(__LINE__, code, colour, path, sub)
#define RED(code, path, sub)		EXPECT(code, COLOUR_RED, path, sub)
#define ONLY(codes)			only(__LINE__, codes)
#define CLEAN()		do { CHECK(F.n == 0, "line %d: %zu findings", \
			    __LINE__, F.n); if (F.n) dump(); } while (0)

/* Good twins ------------------------------------------------------------- */

static void
test_good(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	runf(good_fi(), &x);
	CLEAN();
	CHECK_INT(CB.used_calls, 1);
	CHECK_INT(CB.calls, 0);		/* no original for an invoice */
	runf(good_cn(), &x);
	CLEAN();
	CHECK_INT(CB.calls, 1);
	CHECK(CB.ref.has_receipt_id && CB.ref.receipt_id == 991, "ref passed");
	runf(good_dn(), &x);
	CLEAN();
	runf(good_excl(), &x);
	CLEAN();

	/* Receipt taxes left to the daemon: checked as it will compute them. */
	r = good_fi();
	r->has_taxes = false;
	r->n_taxes = 0;
	runf(r, &x);
	CLEAN();

	/* No context at all: only receipt-internal rules, and they pass. */
	runf(good_fi(), NULL);
	CLEAN();
	runf(good_cn(), NULL);
	CLEAN();
	/* A receipt without a date (the daemon stamps it). */
	r = good_fi();
	r->date = NULL;
	runf(r, &x);
	CLEAN();
}

/* RCPT010 ---------------------------------------------------------------- */

static void
test_currency(void)
{
	static const char *good[] = {
		"USD", "ZWG", "ZWL", "ZAR", "BWP", "GBP", "EUR", "CNY", "AED",
		"MZN", "ZMW", "NAD", "KES", "INR", "JPY", "XAF", "XOF", "XCD",
	};
	static const char *bad[] = {
		"usd", "Usd", "US", "USDX", "XYZ", "US ", "ZWD", "XXX", "XAU",
		"HRK", "AAA", "ZZZ",
	};
	struct rules_ctx x = good_ctx();
	struct receipt *r;
	char code[4];
	size_t i, known = 0;

	for (i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		r = good_fi();
		r->currency = good[i];
		runf(r, &x);
		CHECK(!findings_has(&F, "RCPT010"), "%s refused", good[i]);
	}
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		r = good_fi();
		r->currency = bad[i];
		runf(r, &x);
		RED("RCPT010", "receiptCurrency", bad[i]);
		ONLY("RCPT010");
	}
	r = good_fi();
	r->currency = "usd";
	runf(r, &x);
	RED("RCPT010", "receiptCurrency", "not three upper-case letters");
	r = good_fi();
	r->currency = "XYZ";
	runf(r, &x);
	RED("RCPT010", "receiptCurrency", "not an ISO 4217 currency code");
	r = good_fi();
	r->currency = NULL;
	runf(r, &x);
	RED("RCPT010", "receiptCurrency", "no currency");
	r = good_fi();
	r->currency = "\x1b[2J";
	runf(r, &x);
	RED("RCPT010", "receiptCurrency", "\"?[2J\"");

	/*
	 * Every upper-case triple: the table answers for exactly its 158
	 * entries, which also proves bsearch finds each (i.e. it is sorted).
	 */
	code[3] = '\0';
	for (code[0] = 'A'; code[0] <= 'Z'; code[0]++)
		for (code[1] = 'A'; code[1] <= 'Z'; code[1]++)
			for (code[2] = 'A'; code[2] <= 'Z'; code[2]++) {
				r = good_fi();
				r->currency = code;
				run(r, NULL);
				known += !findings_has(&F, "RCPT010");
				receipt_free(r);
			}
	CHECK_INT(known, 158);
}

/* RCPT011, RCPT012 ------------------------------------------------------- */

static void
test_chain(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	/* First of the day: counter must be 1. */
	r = good_fi();
	r->counter = 2;
	runf(r, &x);
	RED("RCPT011", "receiptCounter", "receipt counter 2 should be 1");
	ONLY("RCPT011");

	/* Mid-day: previous + 1. */
	x.prev_counter = 5;
	x.prev_global_no = 100;
	x.prev_date = "2026-03-02T10:00:00";
	r = good_fi();
	r->counter = 6;
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->counter = 7;
	runf(r, &x);
	RED("RCPT011", "receiptCounter", "receipt counter 7 should be 6: the "
	    "previous receipt of the day was 5");
	ONLY("RCPT011");
	r = good_fi();
	r->counter = 5;
	runf(r, &x);
	ONLY("RCPT011");

	/* Global number: previous + 1; 1 only on the first of a day. */
	r = good_fi();
	r->counter = 6;
	r->global_no = 102;
	runf(r, &x);
	RED("RCPT012", "receiptGlobalNo", "receipt global number 102 should "
	    "be 101: the previous receipt's was 100");
	ONLY("RCPT012");
	r = good_fi();
	r->counter = 6;
	r->global_no = 1;
	runf(r, &x);
	ONLY("RCPT012");

	x = good_ctx();
	r = good_fi();
	r->global_no = 1;
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->global_no = 100;
	runf(r, &x);
	RED("RCPT012", "receiptGlobalNo", "or 1 to restart");

	/* Unknown previous receipt or fields the daemon has not set yet. */
	x.has_prev = false;
	r = good_fi();
	r->counter = 9;
	r->global_no = 9;
	runf(r, &x);
	CLEAN();
	x = good_ctx();
	r = good_fi();
	r->has_counter = false;
	r->has_global_no = false;
	r->counter = 9;
	r->global_no = 9;
	runf(r, &x);
	CLEAN();
}

/* RCPT013 ---------------------------------------------------------------- */

static void
test_invoice_no(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->invoice_no = "INV-USED";
	runf(r, &x);
	RED("RCPT013", "invoiceNo", "invoice number \"INV-USED\" was already "
	    "used");
	ONLY("RCPT013");
	x.invoice_used = NULL;
	r = good_fi();
	r->invoice_no = "INV-USED";
	runf(r, &x);
	CLEAN();
}

/* RCPT014, RCPT030, RCPT031, RCPT041, DATE -------------------------------- */

static void
test_dates(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	/* Before the day opened: Yellow. The same second is not after. */
	r = good_fi();
	r->date = "2026-03-02T07:59:59";
	runf(r, &x);
	EXPECT("RCPT014", COLOUR_YELLOW, "receiptDate", "before the fiscal "
	    "day opened (2026-03-02T08:00:00)");
	ONLY("RCPT014");
	r = good_fi();
	r->date = "2026-03-02T08:00:00";
	runf(r, &x);
	EXPECT("RCPT014", COLOUR_YELLOW, "receiptDate", "very second");
	r = good_fi();
	r->date = "2026-03-02T08:00:01";
	runf(r, &x);
	CLEAN();

	/* Not after the previous receipt: Red; same second counts. */
	x.prev_counter = 1;
	x.prev_global_no = 101;
	x.prev_date = "2026-03-02T10:15:00";
	r = good_fi();
	r->counter = 2;
	r->global_no = 102;
	runf(r, &x);
	RED("RCPT030", "receiptDate", "same second as the previous");
	ONLY("RCPT030");
	x.prev_date = "2026-03-02T10:15:01";
	r = good_fi();
	r->counter = 2;
	r->global_no = 102;
	runf(r, &x);
	RED("RCPT030", "receiptDate", "before the previous receipt's "
	    "(2026-03-02T10:15:01)");
	x.prev_date = "2026-03-02T10:14:59";
	r = good_fi();
	r->counter = 2;
	r->global_no = 102;
	runf(r, &x);
	CLEAN();
	x.has_prev = false;	/* prev_date then means nothing */
	x.prev_date = "2026-03-02T23:00:00";
	r = good_fi();
	runf(r, &x);
	CLEAN();

	/* In the future beyond the skew: Yellow. */
	x = good_ctx();
	x.now = "2026-03-02T10:10:00";
	r = good_fi();
	r->date = "2026-03-02T10:15:00";	/* now + 300 s */
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->date = "2026-03-02T10:15:01";	/* now + 301 s */
	runf(r, &x);
	EXPECT("RCPT031", COLOUR_YELLOW, "receiptDate", "is 301 s ahead of "
	    "the clock (2026-03-02T10:10:00); at most 300 s");
	ONLY("RCPT031");
	x.now = NULL;
	r = good_fi();
	r->date = "2030-01-01T00:00:00";
	runf(r, &x);
	ONLY("RCPT041");

	/* After opening + taxPayerDayMaxHrs: Yellow. */
	x = good_ctx();
	x.now = NULL;
	r = good_fi();
	r->date = "2026-03-03T08:00:00";
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->date = "2026-03-03T08:00:01";
	runf(r, &x);
	EXPECT("RCPT041", COLOUR_YELLOW, "receiptDate", "is 24 h 00 min after "
	    "the fiscal day opened (2026-03-02T08:00:00); a day may last at "
	    "most 24 hours");
	ONLY("RCPT041");
	x.day_max_hours = 0;
	r = good_fi();
	r->date = "2026-03-09T08:00:01";
	runf(r, &x);
	CLEAN();

	/* Malformed dates: a finding of ours, never a crash. */
	x = good_ctx();
	r = good_fi();
	r->date = "2026-02-30T10:00:00";
	runf(r, &x);
	EXPECT("DATE", COLOUR_NONE, "receiptDate", "\"2026-02-30T10:00:00\"");
	ONLY("DATE");
	r = good_fi();
	r->date = "";
	runf(r, &x);
	ONLY("DATE");
	r = good_fi();
	r->date = "2026-03-02 10:15:00\n";
	runf(r, &x);
	EXPECT("DATE", COLOUR_NONE, "receiptDate", "\"2026-03-02 10:15:00?\"");
	x.day_opened = "yesterday";
	x.now = "2026-03-02T25:00:00";
	r = good_fi();
	r->date = "2026-03-01T00:00:00";	/* would be RCPT014 */
	runf(r, &x);
	EXPECT("DATE", COLOUR_NONE, "", "the fiscal day opening \"yesterday\"");
	EXPECT("DATE", COLOUR_NONE, "", "the current time");
	CHECK_INT(F.n, 2);
}

/* RCPT015, RCPT029, RCPT034 ---------------------------------------------- */

static void
test_cdn(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_cn();
	r->cdn.present = false;
	runf(r, &x);
	RED("RCPT015", "creditDebitNote", "a credit note must name its "
	    "original");
	ONLY("RCPT015");
	CHECK_INT(CB.calls, 0);

	/* Half a device reference is no reference. */
	r = good_cn();
	r->cdn.has_receipt_id = false;
	r->cdn.has_device_id = r->cdn.has_global_no = true;
	runf(r, &x);
	RED("RCPT015", "creditDebitNote", "names no original");
	ONLY("RCPT015");
	r = good_cn();
	r->cdn.has_receipt_id = false;
	r->cdn.invoice_no = "";
	runf(r, &x);
	ONLY("RCPT015");

	/* Each complete form passes. */
	r = good_cn();
	r->cdn.has_receipt_id = false;
	r->cdn.has_device_id = r->cdn.has_global_no =
	    r->cdn.has_fiscal_day_no = true;
	runf(r, &x);
	CLEAN();
	r = good_cn();
	r->cdn.has_receipt_id = false;
	r->cdn.invoice_no = "INV-000101";
	runf(r, &x);
	CLEAN();
	CHECK_STR(CB.ref.invoice_no, "INV-000101");

	r = good_dn();
	r->cdn.present = false;
	runf(r, &x);
	RED("RCPT015", "creditDebitNote", "a debit note");

	/* A reference on an invoice. */
	CB.calls = 0;
	r = good_fi();
	r->cdn.present = true;
	r->cdn.has_receipt_id = true;
	runf(r, &x);
	RED("RCPT029", "creditDebitNote", "must not carry creditDebitNote");
	ONLY("RCPT029");
	CHECK_INT(CB.calls, 0);

	/* Notes. */
	r = good_cn();
	r->notes = NULL;
	runf(r, &x);
	RED("RCPT034", "receiptNotes", "a credit note must say");
	ONLY("RCPT034");
	r = good_dn();
	r->notes = " \t\n";
	runf(r, &x);
	RED("RCPT034", "receiptNotes", "a debit note must say");
	r = good_fi();
	r->notes = NULL;
	runf(r, &x);
	CLEAN();
}

/* RCPT016..019, RCPT028, RCPT037..040 ------------------------------------- */

static void
test_totals(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->n_lines = 0;
	r->n_taxes = 0;
	r->total = 0;
	r->payments[0].amount = 0;
	runf(r, &x);
	RED("RCPT016", "receiptLines", "no lines");
	RED("RCPT017", "receiptTaxes", "no receiptTaxes");
	ONLY("RCPT016 RCPT017");

	r = good_fi();
	r->n_taxes = 0;
	runf(r, &x);
	RED("RCPT017", "receiptTaxes", NULL);
	ONLY("RCPT017");

	r = good_fi();
	r->n_payments = 0;
	runf(r, &x);
	RED("RCPT018", "receiptPayments", "no payments");
	ONLY("RCPT018");

	/* Inclusive: total = lines = sales = payments. */
	r = good_fi();
	r->total = 1656;
	runf(r, &x);
	RED("RCPT019", "receiptTotal", "receipt total 16.56 is not the sum of "
	    "the line totals, 16.55");
	RED("RCPT038", "receiptTotal", "receipt total 16.56 is not the sum of "
	    "salesAmountWithTax, 16.55");
	RED("RCPT039", "receiptTotal", "receipt total 16.56 is not the sum of "
	    "the payments, 16.55");
	ONLY("RCPT019 RCPT038 RCPT039");

	/* Exclusive: total = lines + taxes. */
	r = good_excl();
	r->total = 1500;
	r->payments[0].amount = 1500;
	runf(r, &x);
	RED("RCPT037", "receiptTotal", "receipt total 15.00 is not line totals "
	    "15.00 + taxes 1.55 = 16.55");
	ONLY("RCPT037 RCPT038");
	/* ...also when the daemon computes the taxes. */
	r = good_excl();
	r->has_taxes = false;
	r->n_taxes = 0;
	r->total = 1500;
	r->payments[0].amount = 1500;
	runf(r, &x);
	ONLY("RCPT037 RCPT038");
	/* Inclusive receipts are not held to the exclusive sum. */
	r = good_fi();
	runf(r, &x);
	CHECK(!findings_has(&F, "RCPT037"), "RCPT037 on inclusive");

	/* salesAmountWithTax that do not add up to the total. */
	r = good_fi();
	r->taxes[0].sales_amount_with_tax = 400;
	runf(r, &x);
	RED("RCPT038", "receiptTotal", "sum of salesAmountWithTax, 15.55");
	RED("RCPT027", "receiptTaxes[0].salesAmountWithTax", NULL);
	ONLY("RCPT027 RCPT038");

	/* Payments. */
	r = good_fi();
	r->n_payments = 2;
	r->payments[0].amount = 1000;
	r->payments[1].money_type = MONEY_CARD;
	r->payments[1].amount = 600;
	runf(r, &x);
	RED("RCPT039", "receiptTotal", "sum of the payments, 16.00");
	ONLY("RCPT039");
	r = good_fi();
	r->n_payments = 2;
	r->payments[0].amount = 1755;
	r->payments[1].money_type = MONEY_CARD;
	r->payments[1].amount = -100;
	runf(r, &x);
	RED("RCPT028", "receiptPayments[1].paymentAmount", "payment -1.00 "
	    "(Card) on a fiscal invoice must be zero or positive");
	ONLY("RCPT028");
	r = good_cn();
	r->n_payments = 2;
	r->payments[0].amount = -1255;
	r->payments[1].amount = 100;
	runf(r, &x);
	RED("RCPT028", "receiptPayments[1].paymentAmount", "on a credit note "
	    "must be zero or negative");
	ONLY("RCPT028");
	r = good_cn();
	r->n_payments = 2;
	r->payments[1].amount = 0;
	runf(r, &x);
	CLEAN();
	r = good_dn();
	r->payments[0].amount = -200;
	runf(r, &x);
	RED("RCPT028", "receiptPayments[0].paymentAmount", "debit note");

	/* Total sign. */
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	add_line(r, LINE_DISCOUNT, -1 * UNIT, UNIT, -100, 517, 1550,
	    "87654321");
	finish(r);
	runf(r, &x);
	RED("RCPT040", "receiptTotal", "receipt total -1.00 of a fiscal "
	    "invoice must be zero or positive");
	ONLY("RCPT028 RCPT040");
	r = rnew(RECEIPT_CREDIT_NOTE, 1);
	add_line(r, LINE_DISCOUNT, UNIT, UNIT, 100, 517, 1550, "87654321");
	finish(r);
	runf(r, &x);
	RED("RCPT040", "receiptTotal", "of a credit note must be zero or "
	    "negative");
	/* Zero is fine for both. */
	r = good_cn();
	sale(r, 1155, 517, 1550)->type = LINE_DISCOUNT;
	finish(r);
	CHECK_INT(r->total, 0);
	runf(r, &x);
	CLEAN();
}

/* RCPT021 ---------------------------------------------------------------- */

static void
test_vat_payer(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	x.vat_payer = 0;
	runf(good_fi(), &x);
	RED("RCPT021", "receiptLines[1].taxPercent", "tax 517 at 15.50% is "
	    "VAT, but the taxpayer is not registered for VAT");
	ONLY("RCPT021");

	/* Withholding tax, zero-rated and exempt are not VAT. */
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 514, 500);
	sale(r, 1000, 2, 0);
	sale(r, 1000, 1, EXEMPT);
	finish(r);
	runf(r, &x);
	CLEAN();

	/* Once per tax, not per line. */
	r = good_fi();
	sale(r, 1155, 517, 1550);
	finish(r);
	runf(r, &x);
	ONLY("RCPT021");
	CHECK_INT(F.n, 1);

	x.vat_payer = 1;
	runf(good_fi(), &x);
	CLEAN();
	x.vat_payer = -1;
	runf(good_fi(), &x);
	CLEAN();
}

/* RCPT022, RCPT023, RCPT024 ---------------------------------------------- */

static void
test_line_amounts(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;
	struct receipt_line *l;

	/* Sale price sign. */
	r = good_fi();
	r->lines[0].price = -5 * UNIT;
	runf(r, &x);
	RED("RCPT022", "receiptLines[0].receiptLinePrice", "price -5.00 of a "
	    "sale line on a fiscal invoice must be positive");
	ONLY("RCPT022 RCPT024");
	r = good_fi();
	r->lines[0].price = 0;
	r->lines[0].has_price = true;
	runf(r, &x);
	ONLY("RCPT022 RCPT024");
	r = good_cn();
	r->lines[0].price = 11550000;
	runf(r, &x);
	RED("RCPT022", "receiptLines[0].receiptLinePrice", "sale line on a "
	    "credit note must be negative");
	r = good_dn();
	r->lines[0].price = -2 * UNIT;
	runf(r, &x);
	RED("RCPT022", "receiptLines[0].receiptLinePrice", "on a debit note "
	    "must be positive");

	/* Discount price sign: negative on FI/DN, positive on CN. */
	r = good_fi();
	add_line(r, LINE_DISCOUNT, -1 * UNIT, UNIT, -100, 517, 1550,
	    "87654321");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_fi();
	add_line(r, LINE_DISCOUNT, UNIT, UNIT, 100, 517, 1550, "87654321");
	finish(r);
	runf(r, &x);
	RED("RCPT022", "receiptLines[2].receiptLinePrice", "price 1.00 of a "
	    "discount line on a fiscal invoice must be negative");
	ONLY("RCPT022");
	r = good_cn();
	add_line(r, LINE_DISCOUNT, 100000, UNIT, 10, 517, 1550, "87654321");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_cn();
	add_line(r, LINE_DISCOUNT, -100000, UNIT, -10, 517, 1550, "87654321");
	finish(r);
	runf(r, &x);
	RED("RCPT022", "receiptLines[1].receiptLinePrice", "discount line on "
	    "a credit note must be positive");

	/* No price, no price rules ("3 for 1 USD"). */
	r = good_fi();
	r->lines[0].has_price = false;
	r->lines[0].price = -7;
	r->lines[0].quantity = 3 * UNIT;
	runf(r, &x);
	CLEAN();

	/* Quantity must be positive, on credit notes too. */
	r = good_fi();
	r->lines[0].quantity = 0;
	r->lines[0].has_price = false;
	runf(r, &x);
	RED("RCPT023", "receiptLines[0].receiptLineQuantity", "quantity 0 must "
	    "be more than 0");
	ONLY("RCPT023");
	r = good_cn();
	r->lines[0].quantity = -UNIT;
	r->lines[0].price = 11550000;
	runf(r, &x);
	RED("RCPT023", "receiptLines[0].receiptLineQuantity", "quantity -1 ");
	ONLY("RCPT022 RCPT023");
	r = good_fi();
	r->lines[0].quantity = UNIT / 2;
	r->lines[0].price = 10 * UNIT;
	runf(r, &x);
	CLEAN();

	/* Line total = price x quantity (fdms-reference's own example). */
	r = good_fi();
	l = add_line(r, LINE_SALE, 3 * UNIT, 3 * UNIT, 1000, 517, 1550,
	    "87654321");
	finish(r);
	runf(r, &x);
	RED("RCPT024", "receiptLines[2].receiptLineTotal", "line total 10.00 "
	    "is not price 3.00 x quantity 3 = 9.00");
	ONLY("RCPT024");
	r = good_fi();
	add_line(r, LINE_SALE, 3 * UNIT, 3 * UNIT, 900, 517, 1550, "87654321");
	finish(r);
	runf(r, &x);
	CLEAN();
	/* 0.333333 x 3 = 0.999999: 1.00 is it rounded; 0.99 is not. */
	r = good_fi();
	l = add_line(r, LINE_SALE, 333333, 3 * UNIT, 100, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_fi();
	l = add_line(r, LINE_SALE, 333333, 3 * UNIT, 99, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	RED("RCPT024", "receiptLines[2].receiptLineTotal", "line total 0.99 is "
	    "not price 0.333333 x quantity 3 = 0.999999");
	/* An exact half cent: either rounding is accepted. */
	r = good_fi();
	l = add_line(r, LINE_SALE, 5000, UNIT, 0, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_fi();
	l = add_line(r, LINE_SALE, 5000, UNIT, 1, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_fi();
	l = add_line(r, LINE_SALE, 5000, UNIT, 2, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	ONLY("RCPT024");
	/* 1.234567 x 2.5 = 3.0864175: 3.09 passes, 3.08 does not. */
	r = good_fi();
	l = add_line(r, LINE_SALE, 1234567, 2500000, 309, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	CLEAN();
	r = good_fi();
	l = add_line(r, LINE_SALE, 1234567, 2500000, 308, 517, 1550, "1234");
	finish(r);
	runf(r, &x);
	RED("RCPT024", "receiptLines[2].receiptLineTotal", "quantity 2.5 = "
	    "3.0864175");
	/* Credit note: negative price, negative total. */
	r = good_cn();
	r->lines[0].total = -1156;
	finish(r);
	runf(r, &x);
	RED("RCPT024", "receiptLines[0].receiptLineTotal", "line total -11.56 "
	    "is not price -11.55 x quantity 1 = -11.55");
	ONLY("RCPT024");
	/* The largest values the model holds: no overflow. */
	r = good_fi();
	l = add_line(r, LINE_SALE, MICRO_MAX, MICRO_MAX, CENTS_MAX, 517, 1550,
	    "1234");
	finish(r);
	runf(r, &x);
	RED("RCPT024", "receiptLines[2].receiptLineTotal",
	    "= 999999999999999998000000.000000000001");
	r = good_fi();
	l = add_line(r, LINE_SALE, INT64_MAX, INT64_MIN, INT64_MIN, 517, 1550,
	    "1234");
	run(r, &x);
	CHECK(findings_has(&F, "RCPT024"), "extreme product");
	receipt_free(r);
	(void)l;
}

/* RCPT025 ---------------------------------------------------------------- */

static void
test_tax_validity(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	/* Unknown taxID. */
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 9, 1550);
	sale(r, 1000, 9, 1550);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxID", "tax ID 9 is not one of the "
	    "taxpayer's applicable taxes");
	ONLY("RCPT025");
	CHECK_INT(F.n, 1);	/* once per tax, not per line */

	/* Exempt sent as 0%; zero-rated sent as exempt; wrong percent. */
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 1, 0);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxPercent", "tax 1 (Exempt) is "
	    "exempt: omit taxPercent instead of sending 0.00%");
	ONLY("RCPT025");
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 2, EXEMPT);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxPercent", "tax 2 (Zero rated 0%) "
	    "is 0.00%, but the line has no taxPercent");
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 517, 1500);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxPercent", "taxPercent 15.00% does "
	    "not match tax 517 (Standard rated 15.5%), which is 15.50%");
	ONLY("RCPT025");

	/* Validity: 15% till 2025-12-14 (whole day), 15.5% from 12-15. */
	x.day_opened = NULL;
	x.now = NULL;
	x.has_prev = false;
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	r->date = "2026-03-02T10:15:00";
	sale(r, 1000, 3, 1500);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxID", "tax 3 (Standard rated 15%) "
	    "is not valid on 2026-03-02T10:15:00: it was valid until "
	    "2025-12-14");
	ONLY("RCPT025");
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	r->date = "2025-12-14T23:59:59";
	sale(r, 1000, 3, 1500);
	finish(r);
	runf(r, &x);
	CLEAN();
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	r->date = "2025-12-14T23:59:59";
	sale(r, 1000, 517, 1550);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[0].taxID", "is not valid on "
	    "2025-12-14T23:59:59: it is valid from 2025-12-15T00:00:00");
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	r->date = "2025-12-15T00:00:00";
	sale(r, 1000, 517, 1550);
	finish(r);
	runf(r, &x);
	CLEAN();
	/* No receiptDate yet: the daemon will stamp now. */
	x.now = "2025-12-14T12:00:00";
	r = good_fi();
	r->date = NULL;
	runf(r, &x);
	RED("RCPT025", "receiptLines[1].taxID", "not valid on "
	    "2025-12-14T12:00:00");
	ONLY("RCPT025");
	/* Unparseable config dates count as open. */
	{
		struct tax_def odd[] = {
			{ 1, false, 0, "Exempt", "soon", "later" },
		};
		struct rules_ctx y = x;

		y.taxes = odd;
		y.n_taxes = 1;
		y.now = NULL;
		r = rnew(RECEIPT_FISCAL_INVOICE, 1);
		sale(r, 1000, 1, EXEMPT);
		finish(r);
		runf(r, &y);
		CLEAN();
	}

	/* One taxID, two rates in one receipt (no GetConfig needed). */
	x = good_ctx();
	x.taxes = NULL;
	x.n_taxes = 0;
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 517, 1550);
	sale(r, 1000, 517, 1500);
	sale(r, 1000, 517, 1550);
	sale(r, 1000, 517, EXEMPT);
	finish(r);
	runf(r, &x);
	RED("RCPT025", "receiptLines[1].taxPercent", "tax 517 is 15.00% here "
	    "but 15.50% on receiptLines[0]");
	RED("RCPT025", "receiptLines[3].taxPercent", "tax 517 is exempt here "
	    "but 15.50% on receiptLines[0]");
	ONLY("RCPT025");
	CHECK_INT(F.n, 2);
	/* Without GetConfig nothing else is checked. */
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 1000, 9, 1234);
	finish(r);
	runf(r, &x);
	CLEAN();
}

/* RCPT025..027 through receiptTaxes --------------------------------------- */

static void
test_receipt_taxes(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->taxes[1].tax_amount = 150;
	runf(r, &x);
	RED("RCPT026", "receiptTaxes[1].taxAmount", "taxAmount 1.50 should be "
	    "1.55");
	ONLY("RCPT026");
	r = good_fi();
	r->taxes[1].sales_amount_with_tax = 1150;
	r->taxes[0].sales_amount_with_tax = 505;
	runf(r, &x);
	RED("RCPT027", "receiptTaxes[1].salesAmountWithTax",
	    "salesAmountWithTax 11.50 should be 11.55");
	RED("RCPT027", "receiptTaxes[0].salesAmountWithTax", "5.05 should be "
	    "5.00");
	ONLY("RCPT027");
	r = good_fi();
	r->taxes[0].tax_id = 2;
	r->taxes[0].has_tax_percent = true;
	runf(r, &x);
	RED("RCPT025", "receiptTaxes[0].taxID", "no receipt line has tax 2 at "
	    "0.00%");
	RED("RCPT025", "receiptLines[0].taxID", "lines with tax 1 (exempt) "
	    "have no receiptTaxes entry");
	ONLY("RCPT025");
	/* Exclusive credit note. */
	r = rnew(RECEIPT_CREDIT_NOTE, 0);
	sale(r, -1000, 517, 1550);
	finish(r);
	runf(r, &x);
	CLEAN();
	r = rnew(RECEIPT_CREDIT_NOTE, 0);
	sale(r, -1000, 517, 1550);
	finish(r);
	r->taxes[0].tax_amount = -156;
	r->taxes[0].sales_amount_with_tax = -1156;
	r->total = -1156;
	r->payments[0].amount = -1156;
	runf(r, &x);
	RED("RCPT026", "receiptTaxes[0].taxAmount", "-1.56 should be -1.55");
	RED("RCPT027", "receiptTaxes[0].salesAmountWithTax", NULL);
	ONLY("RCPT026 RCPT027");
}

/* RCPT032, RCPT033, RCPT035, RCPT036, RCPT042, LOOKUP --------------------- */

static void
test_original(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	CB.rc = 0;
	runf(good_cn(), &x);
	RED("RCPT032", "creditDebitNote", "the original receipt (receiptID "
	    "991) was not found");
	ONLY("RCPT032");
	x = good_ctx();
	CB.rc = 0;
	runf(good_dn(), &x);
	RED("RCPT032", "creditDebitNote", "(device 12345, fiscal day 7, global "
	    "number 101)");
	x = good_ctx();
	CB.rc = -1;
	runf(good_cn(), &x);
	EXPECT("LOOKUP", COLOUR_NONE, "creditDebitNote", "not checked");
	ONLY("LOOKUP");
	x = good_ctx();
	x.lookup_original = NULL;
	CB.rc = 0;
	runf(good_cn(), &x);
	CLEAN();

	/* Currency. */
	x = good_ctx();
	CB.o.currency = "ZWG";
	runf(good_cn(), &x);
	RED("RCPT042", "receiptCurrency", "currency \"USD\" differs from the "
	    "original receipt's \"ZWG\"");
	ONLY("RCPT042");

	/* Age: 12 calendar months to the second. */
	x = good_ctx();
	CB.o.date = "2025-03-02T10:15:00";
	runf(good_cn(), &x);
	CLEAN();
	x = good_ctx();
	CB.o.date = "2025-03-02T10:14:59";
	runf(good_cn(), &x);
	RED("RCPT033", "creditDebitNote", "the original receipt is dated "
	    "2025-03-02T10:14:59, more than 12 months before "
	    "2026-03-02T10:15:00");
	ONLY("RCPT033");
	x = good_ctx();
	x.day_opened = NULL;
	x.now = NULL;
	x.has_prev = false;
	x.taxes = NULL;		/* 15.5% did not exist in 2025-02 */
	x.n_taxes = 0;
	CB.o.date = "2024-02-29T12:00:00";
	r = good_cn();
	r->date = "2025-02-28T12:00:00";
	runf(r, &x);
	CLEAN();
	r = good_cn();
	r->date = "2025-02-28T12:00:01";
	runf(r, &x);
	ONLY("RCPT033");
	/* Dateless note: compared with now. */
	x = good_ctx();
	x.now = "2027-01-01T00:00:00";
	CB.o.date = "2025-12-31T23:59:59";
	r = good_cn();
	r->date = NULL;
	runf(r, &x);
	RED("RCPT033", "creditDebitNote", "before 2027-01-01T00:00:00");
	x = good_ctx();
	CB.o.date = "last year";
	runf(good_cn(), &x);
	EXPECT("DATE", COLOUR_NONE, "creditDebitNote", "\"last year\"");
	ONLY("DATE");

	/* Credit limit: original 16.55 + earlier notes (adjusted). */
	x = good_ctx();
	CB.o.adjusted = -500;		/* 5.00 credited before: 11.55 left */
	runf(good_cn(), &x);
	CLEAN();
	x = good_ctx();
	CB.o.adjusted = -501;
	runf(good_cn(), &x);
	RED("RCPT035", "receiptTotal", "this credit note takes back 11.55 but "
	    "only 11.54 is left on the original (total 16.55, earlier credit "
	    "and debit notes -5.01)");
	ONLY("RCPT035");
	x = good_ctx();
	CB.o.adjusted = 200 - 701;	/* a 2.00 debit, 7.01 credited */
	runf(good_cn(), &x);
	ONLY("RCPT035");
	x = good_ctx();
	CB.o.adjusted = 200 - 700;
	runf(good_cn(), &x);
	CLEAN();
	x = good_ctx();
	CB.o.total = 100;		/* debit notes are not limited */
	runf(good_dn(), &x);
	CLEAN();

	/* Taxes not on the original. */
	x = good_ctx();
	r = good_cn();
	sale(r, -100, 2, 0);
	sale(r, -100, 2, 0);
	sale(r, -100, 1, EXEMPT);
	finish(r);
	runf(r, &x);
	RED("RCPT036", "receiptLines[1].taxID", "tax 2 at 0.00% is not one of "
	    "the original receipt's taxes");
	ONLY("RCPT036");
	CHECK_INT(F.n, 1);
	x = good_ctx();
	CB.o.n_taxes = 0;		/* unknown: not checked */
	r = good_cn();
	sale(r, -100, 2, 0);
	finish(r);
	runf(r, &x);
	CLEAN();
}

/* RCPT043 ---------------------------------------------------------------- */

static void
test_buyer(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->buyer.present = true;
	r->buyer.register_name = "Acme (Pvt) Ltd";
	r->buyer.tin = "2000123456";
	r->buyer.vat_number = "220012345";
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->buyer.present = true;
	r->buyer.register_name = "Acme (Pvt) Ltd";
	r->buyer.tin = "2000123456";
	r->buyer.vat_number = "";
	runf(r, &x);
	CLEAN();

	r = good_fi();
	r->buyer.present = true;
	r->buyer.trade_name = "Acme";
	runf(r, &x);
	RED("RCPT043", "buyerData.buyerRegisterName", "without the buyer's "
	    "registered name");
	RED("RCPT043", "buyerData.buyerTIN", "without the buyer's TIN");
	ONLY("RCPT043");
	CHECK_INT(F.n, 2);
	r = good_fi();
	r->buyer.present = true;
	r->buyer.register_name = "Acme (Pvt) Ltd";
	r->buyer.tin = "200012345";
	r->buyer.vat_number = "22001234";
	runf(r, &x);
	RED("RCPT043", "buyerData.buyerTIN", "buyer TIN \"200012345\" has 9 "
	    "characters; a TIN has exactly 10");
	RED("RCPT043", "buyerData.vatNumber", "buyer VAT number \"22001234\" "
	    "has 8 characters; a VAT number has exactly 9");
	CHECK_INT(F.n, 2);
	r = good_fi();
	r->buyer.present = true;
	r->buyer.register_name = "Acme (Pvt) Ltd";
	r->buyer.tin = "2000123456789";
	runf(r, &x);
	RED("RCPT043", "buyerData.buyerTIN", "has more than 10 characters");
	/* Fields without present (reader's flag) are not looked at. */
	r = good_fi();
	r->buyer.tin = "1";
	runf(r, &x);
	CLEAN();
}

/* RCPT047, RCPT048 ------------------------------------------------------- */

static void
test_hs_code(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->lines[1].hs_code = NULL;
	runf(r, &x);
	RED("RCPT047", "receiptLines[1].receiptLineHSCode", "no HS code");
	ONLY("RCPT047");
	r = good_fi();
	r->lines[1].hs_code = "";
	runf(r, &x);
	ONLY("RCPT047");
	x.vat_payer = 0;
	x.taxes = NULL;
	x.n_taxes = 0;
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 100, 1, EXEMPT)->hs_code = NULL;
	finish(r);
	runf(r, &x);
	CLEAN();
	x.vat_payer = -1;
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 100, 1, EXEMPT)->hs_code = NULL;
	finish(r);
	runf(r, &x);
	CLEAN();

	/* VAT payer: 4 or 8 with tax > 0, 8 when zero-rated or exempt. */
	x = good_ctx();
	r = good_fi();
	r->lines[1].hs_code = "8765";
	runf(r, &x);
	CLEAN();
	r = good_fi();
	r->lines[0].hs_code = "1234";
	runf(r, &x);
	RED("RCPT048", "receiptLines[0].receiptLineHSCode", "HS code \"1234\" "
	    "has 4 digits; a VAT-registered taxpayer needs 8 on an exempt "
	    "line");
	ONLY("RCPT048");
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 100, 2, 0)->hs_code = "1234";
	finish(r);
	runf(r, &x);
	RED("RCPT048", "receiptLines[0].receiptLineHSCode", "zero-rated");
	r = good_fi();
	r->lines[1].hs_code = "123456";
	runf(r, &x);
	RED("RCPT048", "receiptLines[1].receiptLineHSCode", "has 6 digits; it "
	    "must have 4 or 8");

	/* Not a VAT payer: 4 or 8 on any line. */
	x.vat_payer = 0;
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 100, 1, EXEMPT)->hs_code = "1234";
	sale(r, 100, 514, 500)->hs_code = "12345678";
	finish(r);
	runf(r, &x);
	CLEAN();
	r = rnew(RECEIPT_FISCAL_INVOICE, 1);
	sale(r, 100, 1, EXEMPT)->hs_code = "12345";
	finish(r);
	runf(r, &x);
	RED("RCPT048", "receiptLines[0].receiptLineHSCode", "has 5 digits");
	ONLY("RCPT048");

	/* Not digits, too long. */
	x = good_ctx();
	r = good_fi();
	r->lines[1].hs_code = "12AB5678";
	runf(r, &x);
	RED("RCPT048", "receiptLines[1].receiptLineHSCode", "\"12AB5678\" must "
	    "be 4 or 8 digits");
	r = good_fi();
	r->lines[1].hs_code = "1234567890123";
	runf(r, &x);
	RED("RCPT048", "receiptLines[1].receiptLineHSCode", "has more than 8 "
	    "digits");
}

/* LINE_NO, TAX_CODE ------------------------------------------------------ */

static void
test_ours(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;

	r = good_fi();
	r->lines[1].line_no = 3;
	runf(r, &x);
	EXPECT("LINE_NO", COLOUR_NONE, "receiptLines[1].receiptLineNo", "line "
	    "number 3 should be 2");
	ONLY("LINE_NO");
	r = good_fi();
	r->lines[0].line_no = 0;
	r->lines[1].has_line_no = false;
	runf(r, &x);
	EXPECT("LINE_NO", COLOUR_NONE, "receiptLines[0].receiptLineNo", NULL);
	CHECK_INT(F.n, 1);
	r = good_fi();
	r->lines[0].has_line_no = r->lines[1].has_line_no = false;
	runf(r, &x);
	CLEAN();

	r = good_fi();
	r->lines[0].tax_code = "A";
	r->taxes[0].tax_code = "A";
	runf(r, &x);
	EXPECT("TAX_CODE", COLOUR_NONE, "receiptLines[1].taxCode", "taxCode is "
	    "given on 1 of 2 lines");
	ONLY("TAX_CODE");
	r = good_fi();
	r->lines[1].tax_code = "B";
	r->taxes[1].tax_code = "B";
	runf(r, &x);
	EXPECT("TAX_CODE", COLOUR_NONE, "receiptLines[1].taxCode", NULL);
	r = good_fi();
	r->lines[0].tax_code = "A";
	r->lines[1].tax_code = "B";
	r->taxes[0].tax_code = "A";
	r->taxes[1].tax_code = "B";
	runf(r, &x);
	CLEAN();
}

/* Many faults: the list is bounded and nothing breaks. */
static void
test_bounded(void)
{
	struct rules_ctx x = good_ctx();
	struct receipt *r;
	size_t i;

	r = rnew_cap(RECEIPT_FISCAL_INVOICE, 1, RECEIPT_MAX_LINES);
	for (i = 0; i < RECEIPT_MAX_LINES; i++)
		add_line(r, LINE_SALE, UNIT, 0, 100, 517, 1550, "1");
	finish(r);
	runf(r, &x);
	CHECK_INT(F.n, FINDINGS_MAX);
	CHECK(F.dropped > 0, "dropped %zu", F.dropped);

	/* Extreme sums of a valid-range receipt stay exact. */
	r = rnew_cap(RECEIPT_FISCAL_INVOICE, 1, RECEIPT_MAX_LINES);
	for (i = 0; i < RECEIPT_MAX_LINES; i++)
		add_line(r, LINE_SALE, NOPRICE, UNIT, CENTS_MAX, 1, EXEMPT,
		    "12345678");
	finish(r);
	r->total = CENTS_MAX;
	runf(r, &x);
	RED("RCPT019", "receiptTotal", "receipt total 9999999999999.99 is not "
	    "the sum of the line totals, 9999999999999990.00");
}

int
main(void)
{
	test_good();
	test_currency();
	test_chain();
	test_invoice_no();
	test_dates();
	test_cdn();
	test_totals();
	test_vat_payer();
	test_line_amounts();
	test_tax_validity();
	test_receipt_taxes();
	test_original();
	test_buyer();
	test_hs_code();
	test_ours();
	test_bounded();
	return tap_done();
}

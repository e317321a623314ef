/*
 * rules.c - the FDMS receipt rules we can check before sending (see rules.h).
 *
 * Purpose.  Tell the shop, before FDMS does, what FDMS would object to: the
 * FDMS code with FDMS's colour (fdms-reference §6.6), the JSON path of the
 * value at fault (0-based indexes) and a message with the numbers compared.
 * A Red receipt stops the device from closing its fiscal day (only ZIMRA can
 * then), so where the reference leaves a choice we lean to reporting: a
 * false alarm costs a look, a miss costs a call to ZIMRA.
 *
 * Invariants.
 *  - Pure: no I/O and no state; the context's callbacks are the only way
 *    out.  lookup_original is called once, for a credit/debit note with a
 *    usable reference; invoice_used once, when there is an invoiceNo.
 *  - Exact: amounts are int64 cents, quantities and prices micro-units, and
 *    every sum or product is formed in __int128 (price x quantity reaches
 *    10^36), so no value the model can hold overflows.  No floating point.
 *  - One finding per fault: line rules that depend only on a line's tax
 *    (taxID, percent) report at the first line with that tax, so a bad tax
 *    on 500 lines is one finding, not 500 (the list is bounded anyway).
 *  - Dates are compared on the civil calendar through util/timeutil (no
 *    time zone, no DST): FDMS dates are local "YYYY-MM-DDTHH:MM:SS".
 *
 * Trust.  The receipt has the reader's syntactic guarantees (receipt.h) and
 * nothing more: strings may hold any bytes and go into messages only through
 * findings_safe_text(); a receiptDate that does not parse is a DATE finding and the
 * date rules are skipped.  The context is the journal's and GetConfig's word
 * and is believed; a context date that does not parse is reported (DATE,
 * empty path) and the rules needing it skipped.
 */
#include "fiscal/rules.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/tax.h"
#include "util/timeutil.h"

#define ORIGINAL_MAX_MONTHS	12	/* RCPT033 */
#define TEXT_BUF		(FINDINGS_TEXT_MAX + 4)
#define NUM_BUF			64	/* a signed __int128, 12 decimals */
#define PATH_BUF		64
#define CENT_UNITS		INT64_C(10000000000)	/* 10^-12 per cent */
#define HALF_CENT		(CENT_UNITS / 2)

/*
 * ISO 4217 codes of currencies in circulation (2025), one sorted table for
 * bsearch.  Left out on purpose: fund and accounting units (BOV, CHE, CHW,
 * CLF, COU, MXV, USN, UYI, UYW), metals and bond units (XAG, XAU, XBA..XBD,
 * XDR, XPD, XPT, XSU, XUA), XTS and XXX, and withdrawn codes (HRK, CUC,
 * SLL) - no receipt is denominated in those.  Kept: ZWL (legacy Zimbabwe
 * dollar, still seen on FDMS), ZWG (ZiG), ANG next to its successor XCG.
 * FDMS also checks validity at receiptDate; we do not track dates per code.
 */
static const char currencies[][4] = {
	"AED", "AFN", "ALL", "AMD", "ANG", "AOA", "ARS", "AUD", "AWG", "AZN",
	"BAM", "BBD", "BDT", "BGN", "BHD", "BIF", "BMD", "BND", "BOB", "BRL",
	"BSD", "BTN", "BWP", "BYN", "BZD", "CAD", "CDF", "CHF", "CLP", "CNY",
	"COP", "CRC", "CUP", "CVE", "CZK", "DJF", "DKK", "DOP", "DZD", "EGP",
	"ERN", "ETB", "EUR", "FJD", "FKP", "GBP", "GEL", "GHS", "GIP", "GMD",
	"GNF", "GTQ", "GYD", "HKD", "HNL", "HTG", "HUF", "IDR", "ILS", "INR",
	"IQD", "IRR", "ISK", "JMD", "JOD", "JPY", "KES", "KGS", "KHR", "KMF",
	"KPW", "KRW", "KWD", "KYD", "KZT", "LAK", "LBP", "LKR", "LRD", "LSL",
	"LYD", "MAD", "MDL", "MGA", "MKD", "MMK", "MNT", "MOP", "MRU", "MUR",
	"MVR", "MWK", "MXN", "MYR", "MZN", "NAD", "NGN", "NIO", "NOK", "NPR",
	"NZD", "OMR", "PAB", "PEN", "PGK", "PHP", "PKR", "PLN", "PYG", "QAR",
	"RON", "RSD", "RUB", "RWF", "SAR", "SBD", "SCR", "SDG", "SEK", "SGD",
	"SHP", "SLE", "SOS", "SRD", "SSP", "STN", "SVC", "SYP", "SZL", "THB",
	"TJS", "TMT", "TND", "TOP", "TRY", "TTD", "TWD", "TZS", "UAH", "UGX",
	"USD", "UYU", "UZS", "VED", "VES", "VND", "VUV", "WST", "XAF", "XCD",
	"XCG", "XOF", "XPF", "YER", "ZAR", "ZMW", "ZWG", "ZWL",
};

struct check {
	const struct receipt	*r;
	const struct rules_ctx	*ctx;
	struct findings		*f;
	/* Dates that parsed, else NULL. */
	const char		*date;		/* receiptDate */
	const char		*eff_date;	/* date, or now if absent */
	const char		*opened, *prev, *now;
	/* receiptTaxes as given, or as the daemon will compute them. */
	const struct receipt_tax *taxes;
	size_t			 n_taxes;
	bool			 taxes_known;
};

/*
 * v / 10^decimals in decimal, trailing fraction zeros dropped down to
 * min_decimals: prices "3.00", quantities "3" or "0.5", products "9.00".
 * Exact for any __int128; never "-0".
 */
static const char *
fmt_dec(__int128 v, int decimals, int min_decimals, char *buf, size_t len)
{
	char rev[48];
	unsigned __int128 mag;
	size_t n = 0, o = 0, i, lo = 0, dec = (size_t)decimals;

	mag = v < 0 ? -(unsigned __int128)v : (unsigned __int128)v;
	do {
		rev[n++] = (char)('0' + (int)(mag % 10));
		mag /= 10;
	} while (mag != 0 || n <= dec);
	while (lo < dec - (size_t)min_decimals && rev[lo] == '0')
		lo++;
	if (v < 0 && o + 1 < len)
		buf[o++] = '-';
	for (i = n; i > dec && o + 1 < len; i--)
		buf[o++] = rev[i - 1];
	if (lo < dec && o + 1 < len)
		buf[o++] = '.';
	for (i = dec; i > lo && o + 1 < len; i--)
		buf[o++] = rev[i - 1];
	buf[o] = '\0';
	return buf;
}

static const char *
cents(__int128 v, char *buf)
{
	return fmt_dec(v, 2, 2, buf, NUM_BUF);
}

static const char *
at(char *buf, const char *array, size_t i, const char *field)
{
	snprintf(buf, PATH_BUF, "%s[%zu].%s", array, i, field);
	return buf;
}

static int
blank(const char *s)
{
	if (s == NULL)
		return 1;
	for (; *s != '\0'; s++)
		if (*s != ' ' && *s != '\t' && *s != '\r' && *s != '\n')
			return 0;
	return 1;
}

static const char *
type_words(enum receipt_type t)
{
	switch (t) {
	case RECEIPT_FISCAL_INVOICE:	return "fiscal invoice";
	case RECEIPT_CREDIT_NOTE:	return "credit note";
	case RECEIPT_DEBIT_NOTE:	return "debit note";
	}
	return "receipt";
}

/* "tax 517 at 15.50%" or "tax 1 (exempt)". */
static const char *
tax_words(int64_t id, bool has_percent, int32_t percent, char *buf,
    size_t len)
{
	char pct[NUM_BUF];

	if (has_percent)
		snprintf(buf, len, "tax %" PRId64 " at %s%%", id,
		    fmt_dec(percent, 2, 2, pct, sizeof(pct)));
	else
		snprintf(buf, len, "tax %" PRId64 " (exempt)", id);
	return buf;
}

static const char *
rate_words(bool has_percent, int32_t percent, char *buf, size_t len)
{
	char pct[NUM_BUF];

	if (!has_percent)
		return "exempt";
	snprintf(buf, len, "%s%%", fmt_dec(percent, 2, 2, pct, sizeof(pct)));
	return buf;
}

static int
same_rate(bool hp_a, int32_t p_a, bool hp_b, int32_t p_b)
{
	return hp_a == hp_b && (!hp_a || p_a == p_b);
}

/* Line i is the first with its (taxID, percent or exempt). */
static int
first_with_tax(const struct receipt *r, size_t i)
{
	const struct receipt_line *l = &r->lines[i], *m;
	size_t j;

	for (j = 0; j < i; j++) {
		m = &r->lines[j];
		if (m->tax_id == l->tax_id && same_rate(m->has_tax_percent,
		    m->tax_percent, l->has_tax_percent, l->tax_percent))
			return 0;
	}
	return 1;
}

/* Dates ------------------------------------------------------------------ */

static int
is_date(const char *s)
{
	struct tm tm;

	return s != NULL && timeutil_parse_local(s, &tm) == 0;
}

/* a - b in seconds; both have passed is_date(). */
static int64_t
secs(const char *a, const char *b)
{
	return timeutil_diff_seconds(a, b);
}

/*
 * GetConfig validFrom/validTill: "YYYY-MM-DD", or a date-time whose first
 * 19 bytes are ours (a fraction or zone after them is ignored: the
 * taxpayer's local day is what the rate follows).  A bare date means its
 * first second for validFrom and its last second for validTill, so a rate
 * valid till 2025-12-14 still covers 2025-12-14T23:59:59.
 */
static int
config_date(const char *s, int end_of_day, char out[TIMEUTIL_LOCAL_LEN + 1])
{
	size_t n = strnlen(s, TIMEUTIL_LOCAL_LEN + 1);

	if (n == 10) {
		memcpy(out, s, 10);
		memcpy(out + 10, end_of_day ? "T23:59:59" : "T00:00:00", 9);
	} else if (n > TIMEUTIL_LOCAL_LEN - 1 && s[10] == 'T')
		memcpy(out, s, TIMEUTIL_LOCAL_LEN);
	else
		return -1;
	out[TIMEUTIL_LOCAL_LEN] = '\0';
	return is_date(out) ? 0 : -1;
}

/* A context date that parses, else NULL after saying so. */
static const char *
ctx_date(struct check *c, const char *s, const char *what)
{
	char txt[TEXT_BUF];

	if (s == NULL)
		return NULL;
	if (is_date(s))
		return s;
	findings_add(c->f, "DATE", COLOUR_NONE, "", "%s \"%s\" is not a "
	    "YYYY-MM-DDTHH:MM:SS date; the rules that need it were not "
	    "checked", what, findings_safe_text(s, txt, sizeof(txt)));
	return NULL;
}

/* Rules ------------------------------------------------------------------ */

static int
cmp_code(const void *a, const void *b)
{
	return strcmp(a, b);
}

/* RCPT010 */
static void
check_currency(struct check *c)
{
	const char *cur = c->r->currency;
	char txt[TEXT_BUF];

	if (cur == NULL || cur[0] == '\0') {
		findings_rcpt(c->f, "RCPT010", "receiptCurrency", "the receipt "
		    "has no currency (an ISO 4217 code such as USD or ZWG)");
		return;
	}
	findings_safe_text(cur, txt, sizeof(txt));
	if (strnlen(cur, 4) != 3 || cur[0] < 'A' || cur[0] > 'Z' ||
	    cur[1] < 'A' || cur[1] > 'Z' || cur[2] < 'A' || cur[2] > 'Z')
		findings_rcpt(c->f, "RCPT010", "receiptCurrency", "currency "
		    "\"%s\" is not three upper-case letters (an ISO 4217 code "
		    "such as USD or ZWG)", txt);
	else if (bsearch(cur, currencies, sizeof(currencies) /
	    sizeof(currencies[0]), sizeof(currencies[0]), cmp_code) == NULL)
		findings_rcpt(c->f, "RCPT010", "receiptCurrency", "currency "
		    "\"%s\" is not an ISO 4217 currency code", txt);
}

/* RCPT011, RCPT012 */
static void
check_chain(struct check *c)
{
	const struct rules_ctx *x = c->ctx;
	const struct receipt *r = c->r;
	int64_t want;

	if (!x->has_prev)
		return;
	if (r->has_counter) {
		if (x->prev_counter == 0 && r->counter != 1)
			findings_rcpt(c->f, "RCPT011", "receiptCounter",
			    "receipt counter %" PRId64 " should be 1: this is "
			    "the first receipt of the fiscal day", r->counter);
		else if (x->prev_counter != 0 &&
		    (__int128)r->counter != (__int128)x->prev_counter + 1) {
			want = x->prev_counter < INT64_MAX ?
			    x->prev_counter + 1 : INT64_MAX;
			findings_rcpt(c->f, "RCPT011", "receiptCounter",
			    "receipt counter %" PRId64 " should be %" PRId64
			    ": the previous receipt of the day was %" PRId64,
			    r->counter, want, x->prev_counter);
		}
	}
	if (r->has_global_no &&
	    (__int128)r->global_no != (__int128)x->prev_global_no + 1 &&
	    !(x->prev_counter == 0 && r->global_no == 1)) {
		want = x->prev_global_no < INT64_MAX ?
		    x->prev_global_no + 1 : INT64_MAX;
		if (x->prev_counter == 0)
			findings_rcpt(c->f, "RCPT012", "receiptGlobalNo",
			    "receipt global number %" PRId64 " should be %"
			    PRId64 " (the previous receipt's was %" PRId64
			    "), or 1 to restart on the first receipt of a day",
			    r->global_no, want, x->prev_global_no);
		else
			findings_rcpt(c->f, "RCPT012", "receiptGlobalNo",
			    "receipt global number %" PRId64 " should be %"
			    PRId64 ": the previous receipt's was %" PRId64,
			    r->global_no, want, x->prev_global_no);
	}
}

/* RCPT013 */
static void
check_invoice_no(struct check *c)
{
	char txt[TEXT_BUF];

	if (c->ctx->invoice_used == NULL || c->r->invoice_no == NULL)
		return;
	if (c->ctx->invoice_used(c->ctx->cb_arg, c->r->invoice_no) == 1)
		findings_rcpt(c->f, "RCPT013", "invoiceNo", "invoice number "
		    "\"%s\" was already used by this taxpayer",
		    findings_safe_text(c->r->invoice_no, txt, sizeof(txt)));
}

/* RCPT014, RCPT030, RCPT031, RCPT041 */
static void
check_dates(struct check *c)
{
	const char *d = c->date;
	int64_t s, max;

	if (d == NULL)
		return;
	/* fdms-reference §3.1: receiptDate must be > the day's opening. */
	if (c->opened != NULL && (s = secs(d, c->opened)) <= 0) {
		if (s == 0)
			findings_rcpt(c->f, "RCPT014", "receiptDate", "receipt "
			    "date %s is the very second the fiscal day opened; "
			    "it must be later", d);
		else
			findings_rcpt(c->f, "RCPT014", "receiptDate", "receipt "
			    "date %s is before the fiscal day opened (%s)", d,
			    c->opened);
	}
	/* Observed live: the same second counts as "not after". */
	if (c->prev != NULL && (s = secs(d, c->prev)) <= 0) {
		if (s == 0)
			findings_rcpt(c->f, "RCPT030", "receiptDate", "receipt "
			    "date %s is the same second as the previous "
			    "receipt's; it must be at least one second later",
			    d);
		else
			findings_rcpt(c->f, "RCPT030", "receiptDate", "receipt "
			    "date %s is before the previous receipt's (%s)", d,
			    c->prev);
	}
	if (c->now != NULL && (s = secs(d, c->now)) > RULES_FUTURE_SKEW_SECONDS)
		findings_rcpt(c->f, "RCPT031", "receiptDate", "receipt date %s "
		    "is %" PRId64 " s ahead of the clock (%s); at most %d s "
		    "are tolerated", d, s, c->now, RULES_FUTURE_SKEW_SECONDS);
	if (c->opened != NULL && c->ctx->day_max_hours > 0) {
		max = (int64_t)c->ctx->day_max_hours * 3600;
		if ((s = secs(d, c->opened)) > max)
			findings_rcpt(c->f, "RCPT041", "receiptDate", "receipt "
			    "date %s is %" PRId64 " h %02" PRId64 " min after "
			    "the fiscal day opened (%s); a day may last at "
			    "most %d hours", d, s / 3600, s % 3600 / 60,
			    c->opened, c->ctx->day_max_hours);
	}
}

static int
cdn_usable(const struct receipt_cdn *d)
{
	return d->has_receipt_id || (d->has_device_id && d->has_global_no &&
	    d->has_fiscal_day_no) || !blank(d->invoice_no);
}

static const char *
cdn_words(const struct receipt_cdn *d, char *buf, size_t len)
{
	char txt[TEXT_BUF];

	if (d->has_receipt_id)
		snprintf(buf, len, "receiptID %" PRId64, d->receipt_id);
	else if (d->has_device_id && d->has_global_no && d->has_fiscal_day_no)
		snprintf(buf, len, "device %" PRId64 ", fiscal day %" PRId64
		    ", global number %" PRId64, d->device_id, d->fiscal_day_no,
		    d->receipt_global_no);
	else
		snprintf(buf, len, "invoice \"%s\"",
		    findings_safe_text(d->invoice_no, txt, sizeof(txt)));
	return buf;
}

/* RCPT015, RCPT029, RCPT034 */
static void
check_cdn(struct check *c)
{
	const struct receipt *r = c->r;
	const char *what = type_words(r->type);

	if (r->type == RECEIPT_FISCAL_INVOICE) {
		if (r->cdn.present)
			findings_rcpt(c->f, "RCPT029", "creditDebitNote", "a "
			    "fiscal invoice must not carry creditDebitNote; "
			    "only credit and debit notes refer to an original");
		return;
	}
	if (!r->cdn.present)
		findings_rcpt(c->f, "RCPT015", "creditDebitNote", "a %s must "
		    "name its original receipt in creditDebitNote", what);
	else if (!cdn_usable(&r->cdn))
		findings_rcpt(c->f, "RCPT015", "creditDebitNote", "the %s's "
		    "creditDebitNote names no original: give receiptID, or "
		    "deviceID + receiptGlobalNo + fiscalDayNo, or invoiceNo",
		    what);
	if (blank(r->notes))
		findings_rcpt(c->f, "RCPT034", "receiptNotes", "a %s must say "
		    "in receiptNotes why it was issued", what);
}

/* RCPT021: the GetConfig name tells VAT from e.g. 514 "Non-VAT Withholding". */
static int
ci_contains(const char *hay, const char *needle)
{
	size_t i, j;
	int a, b;

	for (i = 0; hay[i] != '\0'; i++) {
		for (j = 0; needle[j] != '\0'; j++) {
			a = (unsigned char)hay[i + j];
			b = (unsigned char)needle[j];
			if (a >= 'A' && a <= 'Z')
				a += 'a' - 'A';
			if (a != b)
				break;
		}
		if (needle[j] == '\0')
			return 1;
	}
	return 0;
}

static int
tax_is_vat(const struct rules_ctx *x, int64_t tax_id)
{
	size_t i;

	for (i = 0; i < x->n_taxes; i++) {
		if (x->taxes[i].tax_id != tax_id || x->taxes[i].name == NULL)
			continue;
		if (ci_contains(x->taxes[i].name, "non-vat") ||
		    ci_contains(x->taxes[i].name, "withholding"))
			return 0;
	}
	return 1;
}

static void
check_vat_payer(struct check *c, const struct receipt_line *l, size_t i)
{
	char path[PATH_BUF], desc[NUM_BUF];

	if (c->ctx->vat_payer != 0 || !l->has_tax_percent ||
	    l->tax_percent <= 0 || !first_with_tax(c->r, i) ||
	    !tax_is_vat(c->ctx, l->tax_id))
		return;
	findings_rcpt(c->f, "RCPT021", at(path, "receiptLines", i,
	    "taxPercent"), "%s is VAT, but the taxpayer is not registered for "
	    "VAT (GetConfig has no vatNumber)", tax_words(l->tax_id, true,
	    l->tax_percent, desc, sizeof(desc)));
}

/* RCPT022: FI/DN sale > 0, discount < 0; credit notes the mirror image. */
static void
check_price_sign(struct check *c, const struct receipt_line *l, size_t i)
{
	char path[PATH_BUF], p[NUM_BUF];
	int want_positive;

	if (!l->has_price)
		return;
	want_positive = (c->r->type == RECEIPT_CREDIT_NOTE) ==
	    (l->type == LINE_DISCOUNT);
	if (want_positive ? l->price > 0 : l->price < 0)
		return;
	findings_rcpt(c->f, "RCPT022", at(path, "receiptLines", i,
	    "receiptLinePrice"), "price %s of a %s line on a %s must be %s",
	    fmt_dec(l->price, 6, 2, p, sizeof(p)),
	    l->type == LINE_DISCOUNT ? "discount" : "sale",
	    type_words(c->r->type), want_positive ? "positive" : "negative");
}

/* RCPT023 */
static void
check_quantity(struct check *c, const struct receipt_line *l, size_t i)
{
	char path[PATH_BUF], q[NUM_BUF];

	if (l->quantity > 0)
		return;
	findings_rcpt(c->f, "RCPT023", at(path, "receiptLines", i,
	    "receiptLineQuantity"), "quantity %s must be more than 0 (credit "
	    "notes too: the sign goes on the price)",
	    fmt_dec(l->quantity, 6, 0, q, sizeof(q)));
}

/*
 * RCPT024.  price (10^-6) x quantity (10^-6) is exact in 10^-12 units; the
 * total (10^-2) passes when it is that product rounded to the cent either
 * way at a tie: |total x 10^10 - product| <= half a cent.
 */
static void
check_line_total(struct check *c, const struct receipt_line *l, size_t i)
{
	char path[PATH_BUF], t[NUM_BUF], p[NUM_BUF], q[NUM_BUF], x[NUM_BUF];
	__int128 prod, diff;

	if (!l->has_price)
		return;
	prod = (__int128)l->price * l->quantity;
	diff = (__int128)l->total * CENT_UNITS - prod;
	if (diff <= HALF_CENT && diff >= -HALF_CENT)
		return;
	findings_rcpt(c->f, "RCPT024", at(path, "receiptLines", i,
	    "receiptLineTotal"), "line total %s is not price %s x quantity %s "
	    "= %s", cents(l->total, t), fmt_dec(l->price, 6, 2, p, sizeof(p)),
	    fmt_dec(l->quantity, 6, 0, q, sizeof(q)),
	    fmt_dec(prod, 12, 2, x, sizeof(x)));
}

/* A GetConfig tax valid at the receipt's date (unknown dates pass). */
static int
tax_valid_at(const struct check *c, const struct tax_def *d)
{
	char from[TIMEUTIL_LOCAL_LEN + 1], till[TIMEUTIL_LOCAL_LEN + 1];

	if (c->eff_date == NULL)
		return 1;
	if (d->valid_from != NULL && config_date(d->valid_from, 0, from) == 0 &&
	    secs(c->eff_date, from) < 0)
		return 0;
	if (d->valid_till != NULL && config_date(d->valid_till, 1, till) == 0 &&
	    secs(c->eff_date, till) > 0)
		return 0;
	return 1;
}

/* RCPT025 for one line: one rate per taxID, and the rate from GetConfig. */
static void
check_line_tax(struct check *c, const struct receipt_line *l, size_t i)
{
	const struct rules_ctx *x = c->ctx;
	const struct receipt_line *m;
	const struct tax_def *d, *first = NULL, *rate = NULL, *valid = NULL;
	char path[PATH_BUF], a[NUM_BUF], b[NUM_BUF], name[TEXT_BUF];
	char from[TEXT_BUF], till[TEXT_BUF];
	size_t j;

	if (!first_with_tax(c->r, i))
		return;
	for (j = 0; j < i; j++) {
		m = &c->r->lines[j];
		if (m->tax_id != l->tax_id)
			continue;
		findings_rcpt(c->f, "RCPT025", at(path, "receiptLines", i,
		    "taxPercent"), "tax %" PRId64 " is %s here but %s on "
		    "receiptLines[%zu]; one tax ID has one rate", l->tax_id,
		    rate_words(l->has_tax_percent, l->tax_percent, a,
		    sizeof(a)), rate_words(m->has_tax_percent, m->tax_percent,
		    b, sizeof(b)), j);
		return;
	}
	if (x->taxes == NULL || x->n_taxes == 0)
		return;
	for (j = 0; j < x->n_taxes && valid == NULL; j++) {
		d = &x->taxes[j];
		if (d->tax_id != l->tax_id)
			continue;
		if (first == NULL)
			first = d;
		if (!same_rate(d->has_percent, d->percent, l->has_tax_percent,
		    l->tax_percent))
			continue;
		rate = d;
		if (tax_valid_at(c, d))
			valid = d;
	}
	if (first == NULL) {
		findings_rcpt(c->f, "RCPT025", at(path, "receiptLines", i,
		    "taxID"), "tax ID %" PRId64 " is not one of the taxpayer's "
		    "applicable taxes (GetConfig)", l->tax_id);
		return;
	}
	if (rate == NULL) {
		findings_safe_text(first->name, name, sizeof(name));
		rate_words(first->has_percent, first->percent, b, sizeof(b));
		if (!first->has_percent)
			findings_rcpt(c->f, "RCPT025", at(path, "receiptLines",
			    i, "taxPercent"), "tax %" PRId64 " (%s) is exempt: "
			    "omit taxPercent instead of sending %s", l->tax_id,
			    name, rate_words(true, l->tax_percent, a,
			    sizeof(a)));
		else if (!l->has_tax_percent)
			findings_rcpt(c->f, "RCPT025", at(path, "receiptLines",
			    i, "taxPercent"), "tax %" PRId64 " (%s) is %s, but "
			    "the line has no taxPercent (that means exempt)",
			    l->tax_id, name, b);
		else
			findings_rcpt(c->f, "RCPT025", at(path, "receiptLines",
			    i, "taxPercent"), "taxPercent %s does not match "
			    "tax %" PRId64 " (%s), which is %s",
			    rate_words(true, l->tax_percent, a, sizeof(a)),
			    l->tax_id, name, b);
		return;
	}
	if (valid != NULL)
		return;
	findings_safe_text(rate->name, name, sizeof(name));
	findings_safe_text(rate->valid_from, from, sizeof(from));
	findings_safe_text(rate->valid_till, till, sizeof(till));
	at(path, "receiptLines", i, "taxID");
	if (rate->valid_from != NULL && rate->valid_till != NULL)
		findings_rcpt(c->f, "RCPT025", path, "tax %" PRId64 " (%s) is "
		    "not valid on %s: it is valid from %s until %s", l->tax_id,
		    name, c->eff_date, from, till);
	else if (rate->valid_from != NULL)
		findings_rcpt(c->f, "RCPT025", path, "tax %" PRId64 " (%s) is "
		    "not valid on %s: it is valid from %s", l->tax_id, name,
		    c->eff_date, from);
	else
		findings_rcpt(c->f, "RCPT025", path, "tax %" PRId64 " (%s) is "
		    "not valid on %s: it was valid until %s", l->tax_id, name,
		    c->eff_date, till);
}

/*
 * RCPT047, RCPT048 (fdms-reference §3.1): VAT payers must give an HS code;
 * it has 4 or 8 digits, and 8 on a VAT payer's zero-rated or exempt line.
 * An empty string is taken as absent.  With the payer unknown only the
 * 4-or-8 rule, which holds for everyone, is checked.
 */
static void
check_hs_code(struct check *c, const struct receipt_line *l, size_t i)
{
	const char *hs = l->hs_code;
	char path[PATH_BUF], txt[TEXT_BUF];
	size_t len, k;
	int vat = c->ctx->vat_payer;

	at(path, "receiptLines", i, "receiptLineHSCode");
	if (hs == NULL || hs[0] == '\0') {
		if (vat == 1)
			findings_rcpt(c->f, "RCPT047", path, "the line has no "
			    "HS code; VAT-registered taxpayers must give one");
		return;
	}
	findings_safe_text(hs, txt, sizeof(txt));
	len = strnlen(hs, 9);
	for (k = 0; k < len; k++)
		if (hs[k] < '0' || hs[k] > '9')
			break;
	if (k < len)
		findings_rcpt(c->f, "RCPT048", path, "HS code \"%s\" must be "
		    "4 or 8 digits", txt);
	else if (vat == 1 && (!l->has_tax_percent || l->tax_percent == 0) &&
	    len != 8)
		findings_rcpt(c->f, "RCPT048", path, "HS code \"%s\" has %zu "
		    "digits; a VAT-registered taxpayer needs 8 on %s line",
		    txt, len, l->has_tax_percent ? "a zero-rated" :
		    "an exempt");
	else if (len != 4 && len != 8)
		findings_rcpt(c->f, "RCPT048", path, "HS code \"%s\" has %s%zu "
		    "digits; it must have 4 or 8", txt, len > 8 ? "more than " :
		    "", len > 8 ? (size_t)8 : len);
}

/* LINE_NO (ours): receiptLineNo, where given, numbers the lines 1..n. */
static void
check_line_no(struct check *c, const struct receipt_line *l, size_t i)
{
	char path[PATH_BUF];

	if (!l->has_line_no || l->line_no == (int64_t)i + 1)
		return;
	findings_add(c->f, "LINE_NO", COLOUR_NONE, at(path, "receiptLines", i,
	    "receiptLineNo"), "line number %" PRId64 " should be %zu: lines "
	    "are numbered 1, 2, 3... in order", l->line_no, i + 1);
}

static int
has_code(const struct receipt_line *l)
{
	return l->tax_code != NULL && l->tax_code[0] != '\0';
}

/* TAX_CODE (ours): taxCode on every line or on none (an empty one is none). */
static void
check_tax_codes(struct check *c)
{
	const struct receipt *r = c->r;
	char path[PATH_BUF];
	size_t i, with = 0, odd = 0;

	for (i = 0; i < r->n_lines; i++)
		if (has_code(&r->lines[i]))
			with++;
	if (with == 0 || with == r->n_lines)
		return;
	/* Point at the first line that breaks the pattern line 0 sets. */
	for (odd = 1; odd < r->n_lines; odd++)
		if (has_code(&r->lines[odd]) != has_code(&r->lines[0]))
			break;
	findings_add(c->f, "TAX_CODE", COLOUR_NONE, at(path, "receiptLines",
	    odd, "taxCode"), "taxCode is given on %zu of %zu lines; give it "
	    "on every line or on none", with, r->n_lines);
}

static void
check_lines(struct check *c)
{
	const struct receipt_line *l;
	size_t i;

	for (i = 0; i < c->r->n_lines; i++) {
		l = &c->r->lines[i];
		check_line_no(c, l, i);
		check_vat_payer(c, l, i);	/* RCPT021 */
		check_price_sign(c, l, i);	/* RCPT022 */
		check_quantity(c, l, i);	/* RCPT023 */
		check_line_total(c, l, i);	/* RCPT024 */
		check_line_tax(c, l, i);	/* RCPT025 */
		check_hs_code(c, l, i);		/* RCPT047, RCPT048 */
	}
	check_tax_codes(c);
}

/* RCPT016..019, RCPT028, RCPT037..040 */
static void
check_totals(struct check *c)
{
	const struct receipt *r = c->r;
	const struct receipt_payment *p;
	char path[PATH_BUF], a[NUM_BUF], b[NUM_BUF], d[NUM_BUF], e[NUM_BUF];
	__int128 lines = 0, tax = 0, sales = 0, paid = 0;
	size_t i;
	int credit = r->type == RECEIPT_CREDIT_NOTE;

	if (r->n_lines == 0)
		findings_rcpt(c->f, "RCPT016", "receiptLines", "the receipt "
		    "has no lines");
	if (r->has_taxes && r->n_taxes == 0)
		findings_rcpt(c->f, "RCPT017", "receiptTaxes", "the receipt "
		    "has no receiptTaxes");
	if (r->n_payments == 0)
		findings_rcpt(c->f, "RCPT018", "receiptPayments", "the "
		    "receipt has no payments");
	for (i = 0; i < r->n_lines; i++)
		lines += r->lines[i].total;
	for (i = 0; c->taxes_known && i < c->n_taxes; i++) {
		tax += c->taxes[i].tax_amount;
		sales += c->taxes[i].sales_amount_with_tax;
	}
	cents(r->total, a);
	if (r->n_lines > 0 && r->taxes_inclusive && r->total != lines)
		findings_rcpt(c->f, "RCPT019", "receiptTotal", "receipt total "
		    "%s is not the sum of the line totals, %s", a,
		    cents(lines, b));
	if (r->n_lines > 0 && !r->taxes_inclusive && c->taxes_known &&
	    c->n_taxes > 0 && r->total != lines + tax)
		findings_rcpt(c->f, "RCPT037", "receiptTotal", "receipt total "
		    "%s is not line totals %s + taxes %s = %s", a,
		    cents(lines, b), cents(tax, d), cents(lines + tax, e));
	if (c->taxes_known && c->n_taxes > 0 && r->total != sales)
		findings_rcpt(c->f, "RCPT038", "receiptTotal", "receipt total "
		    "%s is not the sum of salesAmountWithTax, %s", a,
		    cents(sales, b));
	for (i = 0; i < r->n_payments; i++) {
		p = &r->payments[i];
		paid += p->amount;
		if (credit ? p->amount <= 0 : p->amount >= 0)
			continue;
		findings_rcpt(c->f, "RCPT028", at(path, "receiptPayments", i,
		    "paymentAmount"), "payment %s (%s) on a %s must be zero or "
		    "%s", cents(p->amount, b), money_type_name(p->money_type),
		    type_words(r->type), credit ? "negative" : "positive");
	}
	if (r->n_payments > 0 && r->total != paid)
		findings_rcpt(c->f, "RCPT039", "receiptTotal", "receipt total "
		    "%s is not the sum of the payments, %s", a, cents(paid, b));
	if (credit ? r->total > 0 : r->total < 0)
		findings_rcpt(c->f, "RCPT040", "receiptTotal", "receipt total "
		    "%s of a %s must be zero or %s", a, type_words(r->type),
		    credit ? "negative" : "positive");
}

/* RCPT025..RCPT027 against the lines, when the POS sent receiptTaxes. */
static void
check_receipt_taxes(struct check *c)
{
	/* No entries at all is RCPT017; listing every group again is noise. */
	if (!c->r->has_taxes || c->r->n_taxes == 0)
		return;
	if (tax_check(c->r, c->f) == -1)
		findings_add(c->f, "TOO_LARGE", COLOUR_NONE, "receiptTaxes",
		    "out of memory comparing receiptTaxes with the lines; "
		    "RCPT025..RCPT027 were not checked");
}

/* RCPT033: the original, plus 12 calendar months (29 Feb -> 28 Feb). */
static void
check_original_age(struct check *c, const struct original_receipt *o)
{
	char limit[80], txt[TEXT_BUF];	/* 80: what gcc can prove */
	struct tm tm;
	int y, mday;

	if (c->eff_date == NULL || o->date == NULL)
		return;
	if (timeutil_parse_local(o->date, &tm) == -1) {
		findings_add(c->f, "DATE", COLOUR_NONE, "creditDebitNote",
		    "the original receipt's date \"%s\" (from the journal) is "
		    "not a date; RCPT033 was not checked",
		    findings_safe_text(o->date, txt, sizeof(txt)));
		return;
	}
	y = tm.tm_year + 1900 + ORIGINAL_MAX_MONTHS / 12;
	if (y > 9999)
		return;
	/* The year after a leap year never is one. */
	mday = tm.tm_mon == 1 && tm.tm_mday == 29 ? 28 : tm.tm_mday;
	snprintf(limit, sizeof(limit), "%04d-%02d-%02dT%02d:%02d:%02d", y,
	    tm.tm_mon + 1, mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
	if (secs(c->eff_date, limit) > 0)
		findings_rcpt(c->f, "RCPT033", "creditDebitNote", "the "
		    "original receipt is dated %s, more than %d months before "
		    "%s",
		    o->date, ORIGINAL_MAX_MONTHS, c->eff_date);
}

/* RCPT035, credit notes: see rules.h for the definition of adjusted. */
static void
check_credit_limit(struct check *c, const struct original_receipt *o)
{
	char a[NUM_BUF], b[NUM_BUF], d[NUM_BUF], e[NUM_BUF];
	__int128 left = (__int128)o->total + o->adjusted;

	if (left + c->r->total >= 0)
		return;
	findings_rcpt(c->f, "RCPT035", "receiptTotal", "this credit note "
	    "takes back %s but only %s is left on the original (total %s, "
	    "earlier credit and debit notes %s)",
	    cents(-(__int128)c->r->total, a), cents(left, b),
	    cents(o->total, d), cents(o->adjusted, e));
}

/* RCPT036: every (taxID, rate) of the note is one of the original's. */
static void
check_original_taxes(struct check *c, const struct original_receipt *o)
{
	const struct receipt_line *l;
	char path[PATH_BUF], desc[NUM_BUF];
	size_t i, k;

	if (o->taxes == NULL || o->n_taxes == 0)
		return;
	for (i = 0; i < c->r->n_lines; i++) {
		l = &c->r->lines[i];
		if (!first_with_tax(c->r, i))
			continue;
		for (k = 0; k < o->n_taxes; k++)
			if (o->taxes[k].tax_id == l->tax_id &&
			    same_rate(o->taxes[k].has_percent,
			    o->taxes[k].percent, l->has_tax_percent,
			    l->tax_percent))
				break;
		if (k == o->n_taxes)
			findings_rcpt(c->f, "RCPT036", at(path, "receiptLines",
			    i, "taxID"), "%s is not one of the original "
			    "receipt's taxes", tax_words(l->tax_id,
			    l->has_tax_percent, l->tax_percent, desc,
			    sizeof(desc)));
	}
}

/* RCPT032, RCPT033, RCPT035, RCPT036, RCPT042 */
static void
check_original(struct check *c)
{
	const struct receipt *r = c->r;
	const struct rules_ctx *x = c->ctx;
	struct original_receipt o;
	char ref[96], a[TEXT_BUF], b[TEXT_BUF];
	int rc;

	if (r->type == RECEIPT_FISCAL_INVOICE || !r->cdn.present ||
	    !cdn_usable(&r->cdn) || x->lookup_original == NULL)
		return;
	cdn_words(&r->cdn, ref, sizeof(ref));
	memset(&o, 0, sizeof(o));
	if ((rc = x->lookup_original(x->cb_arg, &r->cdn, &o)) < 0) {
		findings_add(c->f, "LOOKUP", COLOUR_NONE, "creditDebitNote",
		    "the journal could not be searched for the original "
		    "receipt (%s); RCPT032, RCPT033, RCPT035, RCPT036 and "
		    "RCPT042 were not checked", ref);
		return;
	}
	if (rc == 0) {
		findings_rcpt(c->f, "RCPT032", "creditDebitNote", "the "
		    "original receipt (%s) was not found", ref);
		return;
	}
	if (o.currency != NULL && r->currency != NULL &&
	    strcmp(o.currency, r->currency) != 0)
		findings_rcpt(c->f, "RCPT042", "receiptCurrency", "currency "
		    "\"%s\" differs from the original receipt's \"%s\"",
		    findings_safe_text(r->currency, a, sizeof(a)),
		    findings_safe_text(o.currency, b, sizeof(b)));
	check_original_age(c, &o);
	if (r->type == RECEIPT_CREDIT_NOTE)
		check_credit_limit(c, &o);
	check_original_taxes(c, &o);
}

/* RCPT043: buyerData needs a registered name and a 10-character TIN. */
static void
check_buyer(struct check *c)
{
	const struct receipt_buyer *b = &c->r->buyer;
	char txt[TEXT_BUF];
	size_t len;

	if (!b->present)
		return;
	if (blank(b->register_name))
		findings_rcpt(c->f, "RCPT043", "buyerData.buyerRegisterName",
		    "buyer data is given without the buyer's registered name");
	if (blank(b->tin))
		findings_rcpt(c->f, "RCPT043", "buyerData.buyerTIN", "buyer "
		    "data is given without the buyer's TIN");
	else if ((len = strnlen(b->tin, 11)) != 10)
		findings_rcpt(c->f, "RCPT043", "buyerData.buyerTIN", "buyer "
		    "TIN \"%s\" has %s%zu characters; a TIN has exactly 10",
		    findings_safe_text(b->tin, txt, sizeof(txt)), len > 10 ?
		    "more than " : "", len > 10 ? (size_t)10 : len);
	/* Empty is absent, as GetConfig's own vatNumber "" (pitfall 18). */
	if (b->vat_number != NULL && b->vat_number[0] != '\0' &&
	    (len = strnlen(b->vat_number, 10)) != 9)
		findings_rcpt(c->f, "RCPT043", "buyerData.vatNumber", "buyer "
		    "VAT number \"%s\" has %s%zu characters; a VAT number has "
		    "exactly 9", findings_safe_text(b->vat_number, txt, sizeof(txt)),
		    len > 9 ? "more than " : "", len > 9 ? (size_t)9 : len);
}

void
rules_check(const struct receipt *r, const struct rules_ctx *ctx,
    struct findings *f)
{
	static const struct rules_ctx unknown = { .vat_payer = -1 };
	struct receipt_tax *g;
	struct check c;
	char txt[TEXT_BUF];
	long n;

	memset(&c, 0, sizeof(c));
	c.r = r;
	c.ctx = ctx != NULL ? ctx : &unknown;
	c.f = f;

	if (r->date != NULL && is_date(r->date))
		c.date = r->date;
	else if (r->date != NULL)
		findings_add(f, "DATE", COLOUR_NONE, "receiptDate", "receipt "
		    "date \"%s\" is not a YYYY-MM-DDTHH:MM:SS date; the date "
		    "rules were not checked", findings_safe_text(r->date, txt,
		    sizeof(txt)));
	c.opened = ctx_date(&c, c.ctx->day_opened, "the fiscal day opening");
	c.prev = c.ctx->has_prev ? ctx_date(&c, c.ctx->prev_date,
	    "the previous receipt's date") : NULL;
	c.now = ctx_date(&c, c.ctx->now, "the current time");
	/*
	 * An absent date will be stamped with the current time, so the rules
	 * that relate it to outside data (tax validity, original's age) can
	 * use now; a date that is present but bad stays unknown.
	 */
	c.eff_date = c.date != NULL ? c.date : r->date == NULL ? c.now : NULL;

	/* The receiptTaxes FDMS will see: the POS's, or ours (tax_apply). */
	if (r->has_taxes) {
		c.taxes = r->taxes;
		c.n_taxes = r->n_taxes;
		c.taxes_known = true;
	} else if ((n = tax_compute(r, &g)) >= 0) {
		c.taxes = g;
		c.n_taxes = (size_t)n;
		c.taxes_known = true;
	} else
		findings_add(f, "TOO_LARGE", COLOUR_NONE, "receiptTaxes", "out "
		    "of memory computing the receipt taxes; RCPT037 and "
		    "RCPT038 were not checked");

	check_currency(&c);		/* RCPT010 */
	check_chain(&c);		/* RCPT011, RCPT012 */
	check_invoice_no(&c);		/* RCPT013 */
	check_dates(&c);		/* RCPT014, RCPT030, RCPT031, RCPT041 */
	check_cdn(&c);			/* RCPT015, RCPT029, RCPT034 */
	check_lines(&c);		/* RCPT021..025, RCPT047, RCPT048 */
	check_receipt_taxes(&c);	/* RCPT025..027 */
	check_totals(&c);		/* RCPT016..019, 028, 037..040 */
	check_original(&c);		/* RCPT032, 033, 035, 036, 042 */
	check_buyer(&c);		/* RCPT043 */
}

/*
 * tax.c - receipt tax groups from receipt lines (see tax.h).
 *
 * Purpose.  FDMS recomputes receiptTaxes from the lines and rejects a receipt
 * whose groups or amounts differ (RCPT025..RCPT027), so we compute them the
 * way fdms-reference §3.1/§3.2 says FDMS does: one group per distinct
 * (taxID, taxPercent or exempt, taxCode), tax on the group sum (never per
 * line), rounded half to even on the magnitude, so a credit note's negative
 * group is the exact mirror of the invoice's positive one.
 *
 * Invariants.
 *  - A group key treats an absent taxCode and "" as the same code: the
 *    signature string renders both as "", so two such groups could not be
 *    told apart there.  Exempt (no percent) and 0% are different keys.
 *  - Groups come out in signature order: taxID ascending, then taxCode in
 *    byte order (empty first), then exempt before any percent, then percent
 *    ascending.  The last two only break ties FDMS leaves undefined (one
 *    taxID with two percents is itself an RCPT025), so the order is total
 *    and the output does not depend on line order.
 *  - Exempt and 0% groups have taxAmount 0 exactly; a zero is the integer 0,
 *    so nothing downstream can render "-0".
 *
 * Trust.  The receipt is the reader's: amounts within CENTS_MAX, at most
 * RECEIPT_MAX_LINES lines, percents within PERCENT_MAX.  Sums are still
 * formed in __int128 and saturated to +-INT64_MAX, so a model built by hand
 * outside those bounds yields absurd numbers (that then fail comparison),
 * never undefined behaviour.
 */
#include "fiscal/tax.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "util/arena.h"


struct key {
	int64_t		 tax_id;
	bool		 has_percent;
	int32_t		 percent;
	const char	*code;		/* never NULL: absent is "" */
};

static struct key
line_key(const struct receipt_line *l)
{
	struct key k;

	k.tax_id = l->tax_id;
	k.has_percent = l->has_tax_percent;
	k.percent = l->has_tax_percent ? l->tax_percent : 0;
	k.code = l->tax_code != NULL ? l->tax_code : "";
	return k;
}

static struct key
tax_key(const struct receipt_tax *t)
{
	struct key k;

	k.tax_id = t->tax_id;
	k.has_percent = t->has_tax_percent;
	k.percent = t->has_tax_percent ? t->tax_percent : 0;
	k.code = t->tax_code != NULL ? t->tax_code : "";
	return k;
}

/* Signature order; 0 exactly when the two keys name the same group. */
static int
key_cmp(const struct key *a, const struct key *b)
{
	int c;

	if (a->tax_id != b->tax_id)
		return a->tax_id < b->tax_id ? -1 : 1;
	/* strcmp compares as unsigned char: byte order, "" first. */
	if ((c = strcmp(a->code, b->code)) != 0)
		return c < 0 ? -1 : 1;
	if (a->has_percent != b->has_percent)
		return a->has_percent ? 1 : -1;
	if (a->percent != b->percent)
		return a->percent < b->percent ? -1 : 1;
	return 0;
}

static int64_t
sat64(__int128 v)
{
	if (v > INT64_MAX)
		return INT64_MAX;
	if (v < -INT64_MAX)
		return -INT64_MAX;
	return (int64_t)v;
}

/*
 * Exclusive tax can exceed its base (percent up to 999.99), so a group sum
 * beyond INT64_MAX / 10 could give a tax outside int64; money_tax_amount
 * would then narrow it.  Such sums only come from hand-built models; for
 * them saturate instead.  Everything the reader can produce takes the
 * money.h path.
 */
static int64_t
group_tax(int64_t sum, int32_t percent, int inclusive)
{
	__int128 num;

	if (inclusive || (sum <= INT64_MAX / 10 && sum >= -(INT64_MAX / 10)))
		return money_tax_amount(sum, percent, inclusive);
	num = (__int128)sum * percent;
	if (num / 10000 >= INT64_MAX || num / 10000 <= -INT64_MAX)
		return num > 0 ? INT64_MAX : -INT64_MAX;
	return money_div_half_even(num, 10000);
}

static void
group_amounts(struct receipt_tax *t, int64_t sum, int inclusive)
{
	int64_t tax = 0;

	if (t->has_tax_percent && t->tax_percent != 0)
		tax = group_tax(sum, t->tax_percent, inclusive);
	t->tax_amount = tax;
	if (inclusive)
		t->sales_amount_with_tax = sum;
	else
		t->sales_amount_with_tax = sat64((__int128)sum + tax);
}

/* Line i opens a group: no earlier line has its key. */
static int
opens_group(const struct receipt *r, size_t i)
{
	struct key ki = line_key(&r->lines[i]), kj;
	size_t j;

	for (j = 0; j < i; j++) {
		kj = line_key(&r->lines[j]);
		if (key_cmp(&ki, &kj) == 0)
			return 0;
	}
	return 1;
}

/* Insertion sort: stable, n <= RECEIPT_MAX_LINES, and no allocation. */
static void
sort_taxes(struct receipt_tax *t, size_t n)
{
	struct receipt_tax tmp;
	struct key kt, kj;
	size_t i, j;

	for (i = 1; i < n; i++) {
		tmp = t[i];
		kt = tax_key(&tmp);
		for (j = i; j > 0; j--) {
			kj = tax_key(&t[j - 1]);
			if (key_cmp(&kj, &kt) <= 0)
				break;
			t[j] = t[j - 1];
		}
		t[j] = tmp;
	}
}

long
tax_compute(const struct receipt *r, struct receipt_tax **out)
{
	struct receipt_tax *g;
	struct key ki, kj;
	__int128 sum;
	size_t i, j, n = 0;

	*out = NULL;
	/*
	 * Two passes of pairwise comparison, O(lines^2) = 10^6 key compares
	 * at most: cheaper than a hash table and it sizes the arena block
	 * exactly, which matters in a bump allocator.
	 */
	for (i = 0; i < r->n_lines; i++)
		if (opens_group(r, i))
			n++;
	if (n == 0)
		return 0;
	if ((g = arena_alloc(r->arena, n * sizeof(*g))) == NULL)
		return -1;
	n = 0;
	for (i = 0; i < r->n_lines; i++) {
		if (!opens_group(r, i))
			continue;
		ki = line_key(&r->lines[i]);
		sum = 0;
		for (j = i; j < r->n_lines; j++) {
			kj = line_key(&r->lines[j]);
			if (key_cmp(&ki, &kj) == 0)
				sum += r->lines[j].total;
		}
		g[n].tax_id = ki.tax_id;
		g[n].has_tax_percent = ki.has_percent;
		g[n].tax_percent = ki.percent;
		/* The first line's own pointer: NULL stays absent. */
		g[n].tax_code = r->lines[i].tax_code;
		group_amounts(&g[n], sat64(sum), r->taxes_inclusive);
		n++;
	}
	sort_taxes(g, n);
	*out = g;
	return (long)n;
}

void
tax_sort(struct receipt *r)
{
	sort_taxes(r->taxes, r->n_taxes);
}

/* "tax 517 at 15.50%", "tax 1 (exempt)", with ' code "A"' when given. */
static const char *
describe(const struct key *k, char *buf, size_t len)
{
	/* A taxCode is at most 3 bytes; of a longer one 16 are shown. */
	char pct[MONEY_BUFSZ], code[20];
	int n;

	if (k->has_percent)
		n = snprintf(buf, len, "tax %" PRId64 " at %s%%", k->tax_id,
		    money_format(k->percent, 2, pct, sizeof(pct)));
	else
		n = snprintf(buf, len, "tax %" PRId64 " (exempt)", k->tax_id);
	if (n >= 0 && (size_t)n < len && k->code[0] != '\0')
		snprintf(buf + n, len - (size_t)n, " code \"%s\"",
		    findings_safe_text(k->code, code, sizeof(code)));
	return buf;
}

static size_t
first_line_of(const struct receipt *r, const struct key *k)
{
	struct key kl;
	size_t i;

	for (i = 0; i < r->n_lines; i++) {
		kl = line_key(&r->lines[i]);
		if (key_cmp(&kl, k) == 0)
			return i;
	}
	return 0;
}

static void
check_one(const struct receipt_tax *t, const struct receipt_tax *g,
    size_t i, int inclusive, struct findings *f)
{
	char path[64], got[MONEY_BUFSZ], want[MONEY_BUFSZ];
	char pct[MONEY_BUFSZ], base[MONEY_BUFSZ], tax[MONEY_BUFSZ];
	__int128 base_sum;

	/* The lines' sum: inclusive it is sales, exclusive sales - tax. */
	base_sum = inclusive ? g->sales_amount_with_tax :
	    (__int128)g->sales_amount_with_tax - g->tax_amount;
	money_format(sat64(base_sum), 2, base, sizeof(base));
	if (t->tax_amount != g->tax_amount) {
		snprintf(path, sizeof(path), "receiptTaxes[%zu].taxAmount", i);
		money_format(t->tax_amount, 2, got, sizeof(got));
		money_format(g->tax_amount, 2, want, sizeof(want));
		if (!g->has_tax_percent)
			findings_rcpt(f, "RCPT026", path, "taxAmount %s should "
			    "be %s: tax %" PRId64 " is exempt", got, want,
			    g->tax_id);
		else
			findings_rcpt(f, "RCPT026", path, "taxAmount %s should "
			    "be %s: %s%% %s line totals %s, rounded half to "
			    "even", got, want,
			    money_format(g->tax_percent, 2, pct, sizeof(pct)),
			    inclusive ? "included in" : "on", base);
	}
	if (t->sales_amount_with_tax != g->sales_amount_with_tax) {
		snprintf(path, sizeof(path),
		    "receiptTaxes[%zu].salesAmountWithTax", i);
		money_format(t->sales_amount_with_tax, 2, got, sizeof(got));
		money_format(g->sales_amount_with_tax, 2, want, sizeof(want));
		if (inclusive)
			findings_rcpt(f, "RCPT027", path, "salesAmountWithTax "
			    "%s should be %s, the sum of the line totals of "
			    "tax %" PRId64, got, want, g->tax_id);
		else
			findings_rcpt(f, "RCPT027", path, "salesAmountWithTax "
			    "%s should be %s: line totals %s + tax %s", got,
			    want, base, money_format(g->tax_amount, 2, tax,
			    sizeof(tax)));
	}
}

int
tax_check(const struct receipt *r, struct findings *f)
{
	struct receipt_tax *g;
	struct key kt, kj, kg;
	char path[64], desc[96];
	size_t i, j, k;
	long n;
	int dup;

	if ((n = tax_compute(r, &g)) < 0)
		return -1;
	for (i = 0; i < r->n_taxes; i++) {
		kt = tax_key(&r->taxes[i]);
		snprintf(path, sizeof(path), "receiptTaxes[%zu].taxID", i);
		for (dup = 0, j = 0; j < i && !dup; j++) {
			kj = tax_key(&r->taxes[j]);
			dup = key_cmp(&kt, &kj) == 0;
		}
		if (dup) {
			findings_rcpt(f, "RCPT025", path, "%s is listed twice "
			    "in receiptTaxes (first at receiptTaxes[%zu])",
			    describe(&kt, desc, sizeof(desc)), j - 1);
			continue;
		}
		for (k = 0; k < (size_t)n; k++) {
			kg = tax_key(&g[k]);
			if (key_cmp(&kt, &kg) == 0)
				break;
		}
		if (k == (size_t)n) {
			findings_rcpt(f, "RCPT025", path, "no receipt line has "
			    "%s", describe(&kt, desc, sizeof(desc)));
			continue;
		}
		check_one(&r->taxes[i], &g[k], i, r->taxes_inclusive, f);
	}
	for (k = 0; k < (size_t)n; k++) {
		kg = tax_key(&g[k]);
		for (i = 0; i < r->n_taxes; i++) {
			kt = tax_key(&r->taxes[i]);
			if (key_cmp(&kt, &kg) == 0)
				break;
		}
		if (i < r->n_taxes)
			continue;
		snprintf(path, sizeof(path), "receiptLines[%zu].taxID",
		    first_line_of(r, &kg));
		findings_rcpt(f, "RCPT025", path, "lines with %s have no "
		    "receiptTaxes entry", describe(&kg, desc, sizeof(desc)));
	}
	return 0;
}

int
tax_apply(struct receipt *r, struct findings *f)
{
	struct receipt_tax *g;
	long n;

	if (r->has_taxes)
		return tax_check(r, f);
	if ((n = tax_compute(r, &g)) < 0)
		return -1;
	r->taxes = g;
	r->n_taxes = (size_t)n;
	return 0;
}

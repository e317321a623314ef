/*
 * test_counters.c - fiscal day counters from receipts: the seven types,
 * credit notes negative, zero counters omitted, canonical order over several
 * currencies, JSON order = string order (one array serves both).
 */
#include <stdlib.h>
#include <string.h>

#include "fiscal/counters.h"
#include "fiscal/receipt.h"
#include "fiscal/sigstr.h"
#include "tap.h"
#include "util/buf.h"

struct tx {
	int64_t	 id;
	int	 has_pct;
	int32_t	 pct;
	int64_t	 amount, sales;
};

struct pay {
	enum money_type	 mt;
	int64_t		 amount;
};

static struct receipt *
mk(enum receipt_type type, const char *cur, const struct tx *tx, size_t ntx,
    const struct pay *p, size_t np)
{
	struct receipt *r = receipt_new(1 << 16);
	size_t i;

	r->type = type;
	r->currency = cur;
	r->taxes = calloc(ntx, sizeof(*r->taxes));
	r->n_taxes = ntx;
	for (i = 0; i < ntx; i++) {
		r->taxes[i].tax_id = tx[i].id;
		r->taxes[i].has_tax_percent = tx[i].has_pct;
		r->taxes[i].tax_percent = tx[i].pct;
		r->taxes[i].tax_amount = tx[i].amount;
		r->taxes[i].sales_amount_with_tax = tx[i].sales;
	}
	r->payments = calloc(np, sizeof(*r->payments));
	r->n_payments = np;
	for (i = 0; i < np; i++) {
		r->payments[i].money_type = p[i].mt;
		r->payments[i].amount = p[i].amount;
	}
	return r;
}

static void
add(struct counters *c, struct receipt *r)
{
	CHECK(counters_add_receipt(c, r) == 0, "add receipt");
	free(r->taxes);
	free(r->payments);
	receipt_free(r);
}

static void
test_two_currency_day(void)
{
	/* USD and ZWG invoices, a USD credit note, a ZWG debit note. */
	static const struct tx usd_fi[] = {
		{ 1, 0, 0, 0, 500 },			/* exempt */
		{ 2, 1, 0, 0, 300 },			/* zero-rated */
		{ 517, 1, 1550, 155, 1155 },
	};
	static const struct pay usd_fi_p[] = {
		{ MONEY_CARD, 955 }, { MONEY_CASH, 1000 } };
	static const struct tx usd_cn[] = { { 517, 1, 1550, -155, -1155 } };
	static const struct pay usd_cn_p[] = { { MONEY_CASH, -1155 } };
	static const struct tx zwg_fi[] = { { 517, 1, 1550, 1550, 11550 } };
	static const struct pay zwg_fi_p[] = { { MONEY_MOBILE_WALLET, 11550 } };
	static const struct tx zwg_dn[] = { { 517, 1, 1550, 155, 1155 } };
	static const struct pay zwg_dn_p[] = { { MONEY_BANK_TRANSFER, 1155 } };
	struct counters c;
	struct buf b;

	counters_init(&c);
	/* Added ZWG first, CN before FI: the order must not depend on it. */
	add(&c, mk(RECEIPT_DEBIT_NOTE, "ZWG", zwg_dn, 1, zwg_dn_p, 1));
	add(&c, mk(RECEIPT_FISCAL_INVOICE, "ZWG", zwg_fi, 1, zwg_fi_p, 1));
	add(&c, mk(RECEIPT_CREDIT_NOTE, "USD", usd_cn, 1, usd_cn_p, 1));
	add(&c, mk(RECEIPT_FISCAL_INVOICE, "USD", usd_fi, 3, usd_fi_p, 2));
	add(&c, mk(RECEIPT_FISCAL_INVOICE, "USD", usd_fi, 3, usd_fi_p, 2));
	counters_finish(&c);
	buf_init(&b, 8192);
	CHECK(sigstr_day(99, 3, "2026-03-02T08:00:00", &c, &b) == 0, "render");
	/*
	 * Type in enum order; currency A-Z; taxID ascending; money type in
	 * enum order (Cash before Card, not alphabetical). Exempt and
	 * zero-rated SaleTaxByTax are zero and absent. The USD cash balance is
	 * 2 x 10.00 - 11.55 = 8.45.
	 */
	CHECK_STR(buf_str(&b), "9932026-03-02"
	    "SALEBYTAXUSD1000SALEBYTAXUSD0.00600SALEBYTAXUSD15.502310"
	    "SALEBYTAXZWG15.5011550"
	    "SALETAXBYTAXUSD15.50310SALETAXBYTAXZWG15.501550"
	    "CREDITNOTEBYTAXUSD15.50-1155CREDITNOTETAXBYTAXUSD15.50-155"
	    "DEBITNOTEBYTAXZWG15.501155DEBITNOTETAXBYTAXZWG15.50155"
	    "BALANCEBYMONEYTYPEUSDCASH845BALANCEBYMONEYTYPEUSDCARD1910"
	    "BALANCEBYMONEYTYPEZWGMOBILEWALLET11550"
	    "BALANCEBYMONEYTYPEZWGBANKTRANSFER1155");
	CHECK_INT(c.n, 14);
	CHECK(c.v[0].type == COUNTER_SALE_BY_TAX && c.v[0].tax_id == 1 &&
	    !c.v[0].has_percent, "first counter is the exempt USD sale");
	buf_free(&b);
	counters_free(&c);
}

static void
test_cancel_to_zero(void)
{
	static const struct tx fi[] = { { 3, 1, 1500, 150, 1150 } };
	static const struct pay fp[] = { { MONEY_CASH, 1150 } };
	static const struct tx cn[] = { { 3, 1, 1500, -150, -1150 } };
	static const struct pay cp[] = { { MONEY_CASH, -1150 } };
	struct counters c;
	size_t i;

	/* An invoice fully credited: the balance nets to zero and vanishes,
	 * the sale and credit-note counters stay (they are different types). */
	counters_init(&c);
	add(&c, mk(RECEIPT_FISCAL_INVOICE, "USD", fi, 1, fp, 1));
	add(&c, mk(RECEIPT_CREDIT_NOTE, "USD", cn, 1, cp, 1));
	counters_finish(&c);
	CHECK_INT(c.n, 4);
	for (i = 0; i < c.n; i++)
		CHECK(c.v[i].type != COUNTER_BALANCE_BY_MONEY_TYPE,
		    "zero balance kept");
	CHECK(c.v[2].type == COUNTER_CREDIT_NOTE_BY_TAX && c.v[2].value == -1150,
	    "credit note counter negative once, not negated twice");
	counters_free(&c);
}

static void
test_exempt_vs_zero_same_id(void)
{
	static const struct tx t[] = {
		{ 2, 0, 0, 0, 100 }, { 2, 1, 0, 0, 200 } };
	static const struct pay p[] = { { MONEY_CASH, 300 } };
	struct counters c;
	struct buf b;

	counters_init(&c);
	add(&c, mk(RECEIPT_FISCAL_INVOICE, "usd", t, 2, p, 1));
	counters_finish(&c);
	buf_init(&b, 1024);
	CHECK(sigstr_day(1, 1, "2026-01-01", &c, &b) == 0, "render");
	CHECK_STR(buf_str(&b), "112026-01-01SALEBYTAXUSD100SALEBYTAXUSD0.00200"
	    "BALANCEBYMONEYTYPEUSDCASH300");
	buf_free(&b);
	counters_free(&c);
}

static void
test_errors(void)
{
	static const struct tx t[] = { { 1, 0, 0, 0, INT64_MAX } };
	static const struct pay p[] = { { MONEY_CASH, 1 } };
	struct counters c;
	struct receipt *r;
	enum counter_type ct;

	counters_init(&c);
	r = mk(RECEIPT_FISCAL_INVOICE, "US", t, 1, p, 1);
	CHECK(counters_add_receipt(&c, r) == -1, "bad currency accepted");
	r->currency = "USD";
	CHECK(counters_add_receipt(&c, r) == 0, "first");
	CHECK(counters_add_receipt(&c, r) == -1, "overflow accepted");
	free(r->taxes);
	free(r->payments);
	receipt_free(r);
	counters_free(&c);
	CHECK(counter_type_parse("CreditNoteTaxByTax", &ct) == 0 &&
	    ct == COUNTER_CREDIT_NOTE_TAX_BY_TAX, "parse");
	CHECK(counter_type_parse("creditnotetaxbytax", &ct) == -1, "case");
	CHECK_STR(counter_type_name(COUNTER_BALANCE_BY_MONEY_TYPE),
	    "BalanceByMoneyType");
}

int
main(void)
{
	test_two_currency_day();
	test_cancel_to_zero();
	test_exempt_vs_zero_same_id();
	test_errors();
	return tap_done();
}

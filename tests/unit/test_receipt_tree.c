/*
 * test_receipt_tree.c - documents into the receipt model: exact amounts
 * from JSON numbers and decimal strings (never through double), wrapper
 * form, every field, and clear PARSE findings with paths on wrong types.
 */
#include <string.h>

#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"
#include "tap.h"

static struct receipt *
build(const char *json, struct findings *f)
{
	cJSON *t;
	struct receipt *r;

	findings_clear(f);
	if ((t = jsonrx_parse(json, strlen(json), JSONRX_MAX_SIZE, f)) == NULL)
		return NULL;
	r = receipt_from_tree(t, f);
	cJSON_Delete(t);
	return r;
}

#define HEAD "{\"receiptType\":\"FiscalInvoice\",\"receiptCurrency\":\"USD\"," \
	"\"invoiceNo\":\"A1\",\"receiptLinesTaxInclusive\":true,"
#define LINE(price, qty, total) "\"receiptLines\":[{\"receiptLineType\":" \
	"\"Sale\",\"receiptLineName\":\"x\",\"receiptLinePrice\":" price \
	",\"receiptLineQuantity\":" qty ",\"receiptLineTotal\":" total \
	",\"taxID\":1}],"
#define PAY(a) "\"receiptPayments\":[{\"moneyTypeCode\":\"Cash\"," \
	"\"paymentAmount\":" a "}],"

static void
amount(const char *total_text, int ok, int64_t want)
{
	char doc[1024];
	struct findings f;
	struct receipt *r;

	snprintf(doc, sizeof(doc), HEAD LINE("1", "1", "1") PAY("1")
	    "\"receiptTotal\":%s}", total_text);
	r = build(doc, &f);
	if (ok) {
		CHECK(r != NULL, "%s refused: %s", total_text,
		    f.n ? f.v[0].message : "");
		if (r != NULL)
			CHECK(r->total == want, "%s -> %lld, want %lld",
			    total_text, (long long)r->total, (long long)want);
	} else {
		CHECK(r == NULL, "%s accepted", total_text);
		CHECK(f.n > 0 && strcmp(f.v[0].code, "PARSE") == 0 &&
		    strcmp(f.v[0].path, "receiptTotal") == 0,
		    "%s: finding %s at %s", total_text, f.n ? f.v[0].code : "-",
		    f.n ? f.v[0].path : "-");
	}
	receipt_free(r);
}

static void
test_amounts(void)
{
	amount("0.29", 1, 29);			/* 0.28999999999999998 as double */
	amount("\"0.29\"", 1, 29);
	amount("9999999999999.99", 1, INT64_C(999999999999999));
	amount("\"9999999999999.99\"", 1, INT64_C(999999999999999));
	amount("1.10", 1, 110);
	amount("-0", 1, 0);
	amount("1.005", 0, 0);
	amount("\"1.005\"", 0, 0);
	amount("1e2", 0, 0);			/* exponent: not a plain decimal */
	amount("1e400", 0, 0);
	amount("9007199254740993", 0, 0);	/* past 2^53, and over the cap */
	amount("10000000000000", 0, 0);
	amount("\"NaN\"", 0, 0);
	amount("\" 1\"", 0, 0);
	amount("true", 0, 0);
	amount("null", 0, 0);			/* required */
}

static void
test_fields(void)
{
	struct findings f;
	struct receipt *r;

	r = build("{\"deviceID\":321,\"previousReceiptHash\":\"abc=\",\"receipt\":"
	    HEAD "\"receiptDate\":\"2026-03-02T10:15:00\",\"receiptNotes\":\"n\","
	    "\"receiptCounter\":3,\"receiptGlobalNo\":103,"
	    "\"buyerData\":{\"buyerRegisterName\":\"ACME\",\"buyerTIN\":"
	    "\"1234567890\",\"buyerContacts\":{\"email\":\"a@b\"},"
	    "\"buyerAddress\":{\"city\":\"Harare\"}},"
	    "\"creditDebitNote\":{\"deviceID\":1,\"receiptGlobalNo\":2,"
	    "\"fiscalDayNo\":3},"
	    "\"receiptLines\":[{\"receiptLineType\":\"Discount\",\"receiptLineNo\":"
	    "1,\"receiptLineHSCode\":\"1234\",\"receiptLineName\":\"d\","
	    "\"receiptLinePrice\":\"-0.333333\",\"receiptLineQuantity\":3,"
	    "\"receiptLineTotal\":-1.00,\"taxCode\":\"A\",\"taxPercent\":0,"
	    "\"taxID\":2}],"
	    "\"receiptTaxes\":[{\"taxID\":2,\"taxPercent\":\"0.00\",\"taxCode\":"
	    "\"A\",\"taxAmount\":0,\"salesAmountWithTax\":-1}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"MobileWallet\","
	    "\"paymentAmount\":-1}],\"receiptTotal\":-1,"
	    "\"receiptPrintForm\":\"InvoiceA4\",\"receiptDeviceSignature\":"
	    "{\"hash\":\"h\",\"signature\":\"s\"}}}", &f);
	CHECK(r != NULL, "full receipt: %s %s", f.n ? f.v[0].path : "",
	    f.n ? f.v[0].message : "");
	if (r == NULL)
		return;
	CHECK(r->has_device_id && r->device_id == 321, "deviceID");
	CHECK_STR(r->previous_hash, "abc=");
	CHECK(r->has_counter && r->counter == 3 && r->global_no == 103, "numbers");
	CHECK_STR(r->notes, "n");
	CHECK(r->buyer.present && r->buyer.has_contacts && r->buyer.has_address,
	    "buyer");
	CHECK_STR(r->buyer.tin, "1234567890");
	CHECK_STR(r->buyer.city, "Harare");
	CHECK(r->cdn.present && !r->cdn.has_receipt_id && r->cdn.has_device_id &&
	    r->cdn.receipt_global_no == 2 && r->cdn.fiscal_day_no == 3, "cdn");
	CHECK(r->n_lines == 1 && r->lines[0].type == LINE_DISCOUNT, "line");
	CHECK_INT(r->lines[0].price, -333333);
	CHECK_INT(r->lines[0].quantity, 3000000);
	CHECK_INT(r->lines[0].total, -100);
	CHECK(r->lines[0].has_tax_percent && r->lines[0].tax_percent == 0,
	    "zero-rated keeps its percent");
	CHECK_STR(r->lines[0].tax_code, "A");
	CHECK_STR(r->lines[0].hs_code, "1234");
	CHECK(r->has_taxes && r->n_taxes == 1 && r->taxes[0].sales_amount_with_tax
	    == -100, "taxes");
	CHECK(r->payments[0].money_type == MONEY_MOBILE_WALLET, "money type");
	CHECK(r->has_print_form && r->print_form == PRINT_INVOICE_A4, "form");
	CHECK_STR(r->sig_hash, "h");
	receipt_free(r);

	/* Exempt: no taxPercent at all. Taxes absent: has_taxes false. */
	r = build(HEAD LINE("\"2.50\"", "\"2\"", "5") PAY("5")
	    "\"receiptTotal\":5}", &f);
	CHECK(r != NULL, "minimal");
	if (r != NULL) {
		CHECK(!r->lines[0].has_tax_percent, "exempt has no percent");
		CHECK(!r->has_taxes && r->n_taxes == 0, "no taxes");
		CHECK(r->date == NULL && !r->has_global_no, "daemon-owned absent");
		CHECK_INT(r->lines[0].price, 2500000);
	}
	receipt_free(r);
}

static void
expect_bad(const char *doc, const char *path)
{
	struct findings f;
	struct receipt *r = build(doc, &f);
	size_t i;
	int found = 0;

	CHECK(r == NULL, "accepted: %s", doc);
	receipt_free(r);
	for (i = 0; i < f.n; i++)
		if (strcmp(f.v[i].path, path) == 0 &&
		    strcmp(f.v[i].code, "PARSE") == 0)
			found = 1;
	CHECK(found, "no PARSE finding at %s (first: %s %s)", path,
	    f.n ? f.v[0].path : "-", f.n ? f.v[0].message : "-");
}

static void
test_bad_types(void)
{
	expect_bad("[]", "");
	expect_bad("{\"receipt\":[]}", "receipt");
	expect_bad("{\"receiptType\":\"Invoice\",\"receiptCurrency\":\"USD\"}",
	    "receiptType");
	expect_bad("{\"receiptType\":5}", "receiptType");
	expect_bad(HEAD "\"receiptLines\":{}," PAY("1") "\"receiptTotal\":1}",
	    "receiptLines");
	expect_bad(HEAD "\"receiptLines\":[7]," PAY("1") "\"receiptTotal\":1}",
	    "receiptLines[0]");
	expect_bad(HEAD LINE("1", "1.0000001", "1") PAY("1")
	    "\"receiptTotal\":1}", "receiptLines[0].receiptLineQuantity");
	expect_bad(HEAD LINE("1", "1", "1") "\"receiptPayments\":[{"
	    "\"moneyTypeCode\":\"cash\",\"paymentAmount\":1}],"
	    "\"receiptTotal\":1}", "receiptPayments[0].moneyTypeCode");
	expect_bad(HEAD LINE("1", "1", "1") PAY("1") "\"receiptTotal\":1,"
	    "\"creditDebitNote\":{\"receiptID\":1.5}}", "creditDebitNote.receiptID");
	expect_bad("{\"receiptType\":\"FiscalInvoice\",\"invoiceNo\":\"A\","
	    "\"receiptLinesTaxInclusive\":\"true\"}", "receiptLinesTaxInclusive");
}

int
main(void)
{
	test_amounts();
	test_fields();
	test_bad_types();
	return tap_done();
}

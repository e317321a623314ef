/*
 * test_fdms_codec.c - the FDMS client without a network: request bodies
 * for every endpoint, replies parsed from good and hostile bodies, error
 * bodies mapped and classified, transport failures classified, the wire
 * receipt builder (§8 example round trip), and backoff bounds.
 */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "fdms/fdms.h"
#include "fdms/fdms_int.h"
#include "fdms/wire.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "fiscal/sigstr.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"
#include "tap.h"
#include "util/buf.h"

#define CSR "-----BEGIN CERTIFICATE REQUEST-----\nMIIBAAA=\n" \
	"-----END CERTIFICATE REQUEST-----\n"
#define CSR_JSON "-----BEGIN CERTIFICATE REQUEST-----\\nMIIBAAA=\\n" \
	"-----END CERTIFICATE REQUEST-----\\n"
#define CERT "-----BEGIN CERTIFICATE-----\nMIIBAAA=\n" \
	"-----END CERTIFICATE-----\n"
#define CERT_JSON "-----BEGIN CERTIFICATE-----\\nMIIBAAA=\\n" \
	"-----END CERTIFICATE-----\\n"
#define HASH "rl6bOnDDq/hVX5BIUeC6q5w+xRkKpCvqzYrVRfZtZKU="
#define SIG "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+P0BBQkNERQ=="

/* ---- helpers ---- */

static void
raw_http(struct fdms_raw *raw, long status, const char *body, long ra)
{
	memset(raw, 0, sizeof(*raw));
	raw->status = status;
	raw->body = body;
	raw->body_len = body ? strlen(body) : 0;
	raw->retry_after_s = ra;
}

static enum fdms_class
decode(enum fdms_op op, long status, const char *body, struct fdms_reply *rp)
{
	struct fdms_raw raw;

	raw_http(&raw, status, body, -1);
	fdms_reply_init(rp, op);
	fdms_decode(op, &raw, rp);
	return rp->res.cls;
}

/* A 200 body that must be refused as unusable: RETRY, in doubt. */
static void
bad200(enum fdms_op op, const char *body, const char *why)
{
	struct fdms_reply rp;

	decode(op, 200, body, &rp);
	CHECK(rp.res.cls == FDMS_RETRY && rp.res.in_doubt &&
	    rp.res.fail == FDMS_FAIL_RESPONSE, "%s: %s accepted (%s)", why,
	    fdms_op_name(op), rp.res.message);
	CHECK(rp.arena == NULL, "%s: arena kept", why);
	fdms_reply_free(&rp);
}

/* ---- requests ---- */

static void
test_requests(void)
{
	struct fdms_request rq;
	struct fdms_open_day_args od;
	struct fdms_file_query q;
	const char *wire = "{ \"receiptType\" : \"FiscalInvoice\",\n"
	    "  \"receiptTotal\": 16.550 }";
	char *big;

	fdms_request_init(&rq);

	CHECK_INT(fdms_req_verify_taxpayer(&rq, 187, "ABC12345", "SN: 001"), 0);
	CHECK_STR(buf_str(&rq.target), "/Public/v1/187/VerifyTaxpayerInformation");
	CHECK_STR(buf_str(&rq.body), "{\"activationKey\":\"ABC12345\","
	    "\"deviceSerialNo\":\"SN: 001\"}");
	CHECK(!fdms_op_mtls(rq.op), "public endpoint");
	CHECK_INT(fdms_req_verify_taxpayer(&rq, 187, "123456789", "x"), -1);
	CHECK(strstr(rq.err, "activation key") != NULL, "err %s", rq.err);
	CHECK_INT(fdms_req_verify_taxpayer(&rq, 0, "A", "x"), -1);
	CHECK_INT(fdms_req_verify_taxpayer(&rq, INT64_C(2147483648), "A", "x"),
	    -1);
	CHECK_INT(rq.target.len, 0);
	CHECK_INT(fdms_req_verify_taxpayer(&rq, 1, "A", "bad\nserial"), -1);

	CHECK_INT(fdms_req_register(&rq, 187, "abc12345", CSR), 0);
	CHECK_STR(buf_str(&rq.target), "/Public/v1/187/RegisterDevice");
	CHECK_STR(buf_str(&rq.body), "{\"activationKey\":\"abc12345\","
	    "\"certificateRequest\":\"" CSR_JSON "\"}");
	CHECK_INT(fdms_req_register(&rq, 187, "abc12345", CERT), -1);

	CHECK_INT(fdms_req_server_cert(&rq, NULL), 0);
	CHECK_STR(buf_str(&rq.target), "/Public/v1/GetServerCertificate");
	CHECK_INT(rq.body.len, 0);
	CHECK_INT(fdms_req_server_cert(&rq, "0a1B2c3D4e5F60718293a4b5c6d7e8f901234567"),
	    0);
	CHECK_STR(buf_str(&rq.target), "/Public/v1/GetServerCertificate"
	    "?thumbprint=0a1B2c3D4e5F60718293a4b5c6d7e8f901234567");
	CHECK_INT(fdms_req_server_cert(&rq, "zz"), -1);
	CHECK_INT(fdms_req_server_cert(&rq, "&x=1"), -1);
	CHECK_INT(fdms_req_server_cert(&rq, ""), -1);

	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_CONFIG, 12345), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/GetConfig");
	CHECK(fdms_op_mtls(rq.op), "device endpoint");
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_STATUS, 12345), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/GetStatus");
	CHECK_INT(fdms_req_simple(&rq, FDMS_PING, 12345), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/Ping");
	CHECK_INT(rq.body.len, 0);
	CHECK(fdms_opinfo(FDMS_PING)->ctype == NULL, "Ping has no body");
	CHECK_INT(fdms_req_simple(&rq, FDMS_OPEN_DAY, 12345), -1);

	od.has_day_no = true;
	od.day_no = 7;
	od.opened = "2026-03-02T08:00:00";
	CHECK_INT(fdms_req_open_day(&rq, 12345, &od), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/OpenDay");
	CHECK_STR(buf_str(&rq.body), "{\"fiscalDayNo\":7,"
	    "\"fiscalDayOpened\":\"2026-03-02T08:00:00\"}");
	od.has_day_no = false;
	CHECK_INT(fdms_req_open_day(&rq, 12345, &od), 0);
	CHECK_STR(buf_str(&rq.body), "{\"fiscalDayOpened\":\"2026-03-02T08:00:00\"}");
	od.opened = "2026-02-30T08:00:00";
	CHECK_INT(fdms_req_open_day(&rq, 12345, &od), -1);
	od.opened = "2026-03-02 08:00:00";
	CHECK_INT(fdms_req_open_day(&rq, 12345, &od), -1);
	od.opened = "2026-03-02T08:00:00";
	od.has_day_no = true;
	od.day_no = 0;
	CHECK_INT(fdms_req_open_day(&rq, 12345, &od), -1);

	/* SubmitReceipt wraps the journaled bytes exactly, spaces and all. */
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, wire, strlen(wire)), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/SubmitReceipt");
	CHECK(rq.body.len == strlen(wire) + 12 &&
	    memcmp(rq.body.p, "{\"receipt\":", 11) == 0 &&
	    memcmp(rq.body.p + 11, wire, strlen(wire)) == 0 &&
	    rq.body.p[rq.body.len - 1] == '}', "wrapped: %s", buf_str(&rq.body));
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "{\"receipt\":{}}", 14), -1);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "[1]", 3), -1);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "{\"a\":1", 6), -1);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "{\"a\":1}x", 8), -1);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "{\"a\":1,\"a\":2}", 13),
	    -1);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, "", 0), -1);

	CHECK_INT(fdms_req_issue_cert(&rq, 12345, CSR), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/IssueCertificate");
	CHECK_STR(buf_str(&rq.body), "{\"certificateRequest\":\"" CSR_JSON "\"}");
	CHECK_INT(fdms_req_issue_cert(&rq, 12345, "junk"), -1);

	CHECK_INT(fdms_req_submit_file(&rq, 12345, "{\"header\":{}}", 13), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/SubmitFile");
	CHECK_STR(buf_str(&rq.body), "{\"header\":{}}");
	CHECK_STR(fdms_opinfo(FDMS_SUBMIT_FILE)->ctype, "text/plain");
	big = malloc(FDMS_MAX_FILE + 2);
	if (big != NULL) {
		memset(big, ' ', FDMS_MAX_FILE + 1);
		big[0] = '{';
		big[FDMS_MAX_FILE] = '}';
		CHECK_INT(fdms_req_submit_file(&rq, 12345, big, FDMS_MAX_FILE + 1),
		    -1);
		CHECK(strstr(rq.err, "FILE01") != NULL, "err %s", rq.err);
		free(big);
	}

	memset(&q, 0, sizeof(q));
	q.from = "2026-03-01T00:00:00";
	q.till = "2026-03-31T23:59:59";
	q.offset = 0;
	q.limit = 50;
	q.operation_id = "0HMPH9AF0QKKE:00000005";
	q.sort = "FileUploadDate";
	q.order = "desc";
	q.oper = "And";
	CHECK_INT(fdms_req_file_list(&rq, 12345, &q), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/SubmittedFileList"
	    "?FileUploadedFrom=2026-03-01T00%3A00%3A00"
	    "&FileUploadedTill=2026-03-31T23%3A59%3A59&Offset=0&Limit=50"
	    "&OperationID=0HMPH9AF0QKKE%3A00000005&Sort=FileUploadDate"
	    "&Order=desc&Operator=And");
	q.sort = "Name; DROP";
	CHECK_INT(fdms_req_file_list(&rq, 12345, &q), -1);
	q.sort = NULL;
	q.limit = 0;
	CHECK_INT(fdms_req_file_list(&rq, 12345, &q), -1);

	fdms_request_free(&rq);
}

/* The §8 receipt, parsed as the daemon would (wrapper form). */
static struct receipt *
section8(void)
{
	static const char doc[] =
	    "{ \"deviceID\": 12345, \"receipt\": {"
	    "\"receiptType\": \"FiscalInvoice\", \"receiptCurrency\": \"USD\","
	    "\"receiptCounter\": 1, \"receiptGlobalNo\": 101,"
	    "\"invoiceNo\": \"INV-000101\","
	    "\"receiptDate\": \"2026-03-02T10:15:00\","
	    "\"receiptLinesTaxInclusive\": true,"
	    "\"receiptLines\": ["
	    "{ \"receiptLineType\": \"Sale\", \"receiptLineNo\": 1,"
	    "\"receiptLineHSCode\": \"12345678\", \"receiptLineName\": \"Bread\","
	    "\"receiptLinePrice\": 5.00, \"receiptLineQuantity\": 1,"
	    "\"receiptLineTotal\": 5.00, \"taxID\": 1 },"
	    "{ \"receiptLineType\": \"Sale\", \"receiptLineNo\": 2,"
	    "\"receiptLineHSCode\": \"87654321\", \"receiptLineName\": \"Soap\","
	    "\"receiptLinePrice\": 11.55, \"receiptLineQuantity\": 1,"
	    "\"receiptLineTotal\": 11.55, \"taxPercent\": 15.5, \"taxID\": 517 } ],"
	    "\"receiptTaxes\": ["
	    "{ \"taxID\": 1, \"taxAmount\": 0.00, \"salesAmountWithTax\": 5.00 },"
	    "{ \"taxID\": 517, \"taxPercent\": 15.5, \"taxAmount\": 1.55,"
	    "\"salesAmountWithTax\": 11.55 } ],"
	    "\"receiptPayments\": [ { \"moneyTypeCode\": \"Cash\","
	    "\"paymentAmount\": 16.55 } ],"
	    "\"receiptTotal\": 16.55, \"receiptPrintForm\": \"Receipt48\","
	    "\"receiptDeviceSignature\": { \"hash\": \"" HASH "\","
	    "\"signature\": \"" SIG "\" } } }";
	struct findings f;
	struct receipt *r;
	cJSON *t;

	findings_clear(&f);
	if ((t = jsonrx_parse(doc, strlen(doc), JSONRX_MAX_SIZE, &f)) == NULL)
		return NULL;
	r = receipt_from_tree(t, &f);
	cJSON_Delete(t);
	return r;
}

static void
test_close_day(void)
{
	struct fdms_close_day_args a;
	struct fdms_request rq;
	struct counters c, bad;
	struct counter z;
	struct receipt *r = section8();
	struct buf s;

	CHECK(r != NULL, "section 8 receipt");
	if (r == NULL)
		return;
	fdms_request_init(&rq);
	counters_init(&c);
	CHECK_INT(counters_add_receipt(&c, r), 0);
	counters_finish(&c);
	memset(&a, 0, sizeof(a));
	a.day_no = 7;
	a.counters = &c;
	a.hash = "ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=";
	a.signature = SIG;
	a.receipt_counter = 1;
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), 0);
	CHECK_STR(buf_str(&rq.target), "/Device/v1/12345/CloseDay");
	/* §8: the JSON array in the same order as the signed string. */
	CHECK_STR(buf_str(&rq.body), "{\"fiscalDayNo\":7,\"fiscalDayCounters\":["
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterTaxID\":1,\"fiscalCounterValue\":5.00},"
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":15.50,"
	    "\"fiscalCounterValue\":11.55},"
	    "{\"fiscalCounterType\":\"SaleTaxByTax\",\"fiscalCounterCurrency\":"
	    "\"USD\",\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":15.50,"
	    "\"fiscalCounterValue\":1.55},"
	    "{\"fiscalCounterType\":\"BalanceByMoneyType\",\"fiscalCounterCurrency\":"
	    "\"USD\",\"fiscalCounterMoneyType\":\"Cash\",\"fiscalCounterValue\":16.55}],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":"
	    "\"ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=\",\"signature\":\""
	    SIG "\"},\"receiptCounter\":1}");
	/* The string signed for that day matches §8's hash input. */
	buf_init(&s, 4096);
	CHECK_INT(sigstr_day(12345, 7, "2026-03-02T08:00:00", &c, &s), 0);
	CHECK_STR(buf_str(&s), "1234572026-03-02SALEBYTAXUSD500SALEBYTAXUSD15.501155"
	    "SALETAXBYTAXUSD15.50155BALANCEBYMONEYTYPEUSDCASH1655");
	buf_free(&s);

	/* Empty day: [] and receiptCounter 0. */
	a.counters = NULL;
	a.receipt_counter = 0;
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), 0);
	CHECK(strstr(buf_str(&rq.body), "\"fiscalDayCounters\":[],") != NULL &&
	    strstr(buf_str(&rq.body), "\"receiptCounter\":0}") != NULL,
	    "empty day: %s", buf_str(&rq.body));

	/* A zero counter is refused, not silently dropped. */
	counters_init(&bad);
	memset(&z, 0, sizeof(z));
	z.type = COUNTER_SALE_BY_TAX;
	memcpy(z.currency, "USD", 4);
	z.tax_id = 1;
	z.value = 0;
	bad.v = &z;
	bad.n = 1;
	a.counters = &bad;
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), -1);
	CHECK(strstr(rq.err, "zero") != NULL, "err %s", rq.err);
	z.value = -69975;
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), 0);
	CHECK(strstr(buf_str(&rq.body), "\"fiscalCounterValue\":-699.75") != NULL,
	    "negative: %s", buf_str(&rq.body));
	memcpy(z.currency, "us$", 4);
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), -1);
	a.counters = &c;
	a.hash = "not base64";
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), -1);
	a.hash = "aGFzaA==";	/* base64, but not 32 bytes */
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), -1);
	a.hash = HASH;
	a.signature = "";
	CHECK_INT(fdms_req_close_day(&rq, 12345, &a), -1);

	counters_free(&c);
	fdms_request_free(&rq);
	receipt_free(r);
}

/* ---- the wire receipt ---- */

static void
same_receipt(const struct receipt *a, const struct receipt *b)
{
	size_t i;

	CHECK_INT(b->type, a->type);
	CHECK_STR(b->currency, a->currency);
	CHECK_INT(b->counter, a->counter);
	CHECK_INT(b->global_no, a->global_no);
	CHECK_STR(b->invoice_no, a->invoice_no);
	CHECK_STR(b->date, a->date);
	CHECK_INT(b->taxes_inclusive, a->taxes_inclusive);
	CHECK_INT(b->total, a->total);
	CHECK_INT(b->n_lines, a->n_lines);
	CHECK_INT(b->n_taxes, a->n_taxes);
	CHECK_INT(b->n_payments, a->n_payments);
	CHECK_INT(b->buyer.present, a->buyer.present);
	CHECK_INT(b->cdn.present, a->cdn.present);
	CHECK(a->notes == NULL ? b->notes == NULL :
	    b->notes != NULL && strcmp(a->notes, b->notes) == 0, "notes");
	for (i = 0; i < a->n_lines && i < b->n_lines; i++) {
		const struct receipt_line *x = &a->lines[i], *y = &b->lines[i];

		CHECK_INT(y->type, x->type);
		CHECK_INT(y->line_no, x->line_no);
		CHECK_STR(y->name, x->name);
		CHECK_INT(y->has_price, x->has_price);
		CHECK_INT(y->price, x->price);
		CHECK_INT(y->quantity, x->quantity);
		CHECK_INT(y->total, x->total);
		CHECK_INT(y->has_tax_percent, x->has_tax_percent);
		CHECK_INT(y->tax_percent, x->tax_percent);
		CHECK_INT(y->tax_id, x->tax_id);
		CHECK(x->hs_code == NULL ? y->hs_code == NULL :
		    y->hs_code != NULL && strcmp(x->hs_code, y->hs_code) == 0,
		    "hs code %zu", i);
	}
	for (i = 0; i < a->n_taxes && i < b->n_taxes; i++) {
		CHECK_INT(b->taxes[i].has_tax_percent, a->taxes[i].has_tax_percent);
		CHECK_INT(b->taxes[i].tax_percent, a->taxes[i].tax_percent);
		CHECK_INT(b->taxes[i].tax_id, a->taxes[i].tax_id);
		CHECK_INT(b->taxes[i].tax_amount, a->taxes[i].tax_amount);
		CHECK_INT(b->taxes[i].sales_amount_with_tax,
		    a->taxes[i].sales_amount_with_tax);
	}
	for (i = 0; i < a->n_payments && i < b->n_payments; i++) {
		CHECK_INT(b->payments[i].money_type, a->payments[i].money_type);
		CHECK_INT(b->payments[i].amount, a->payments[i].amount);
	}
	CHECK_STR(b->sig_hash, a->sig_hash);
	CHECK_STR(b->sig_signature, a->sig_signature);
}

static struct receipt *
reparse(const struct buf *w)
{
	struct findings f;
	struct receipt *r;
	cJSON *t;

	findings_clear(&f);
	t = jsonrx_parse(w->p, w->len, JSONRX_MAX_SIZE, &f);
	CHECK(t != NULL, "wire JSON does not parse: %s", f.n ? f.v[0].message : "");
	if (t == NULL)
		return NULL;
	r = receipt_from_tree(t, &f);
	cJSON_Delete(t);
	CHECK(r != NULL, "wire JSON is not a receipt: %s %s",
	    f.n ? f.v[0].path : "", f.n ? f.v[0].message : "");
	return r;
}

static void
test_wire(void)
{
	struct receipt *r = section8(), *r2, *cn;
	struct buf w, s1, s2;
	struct fdms_request rq;
	char err[160];
	const char *cn_doc =
	    "{\"receiptType\":\"CreditNote\",\"receiptCurrency\":\"ZWG\","
	    "\"receiptCounter\":3,\"receiptGlobalNo\":88,\"invoiceNo\":\"CN-\\\"9\\\"\","
	    "\"buyerData\":{\"buyerRegisterName\":\"Acme \\u00c9lan\","
	    "\"buyerTIN\":\"1234567890\",\"vatNumber\":\"123456789\","
	    "\"buyerContacts\":{\"phoneNo\":\"+263 77\",\"email\":\"a@b.zw\"},"
	    "\"buyerAddress\":{\"city\":\"Harare\",\"houseNo\":\"1\"}},"
	    "\"receiptNotes\":\"returned\\nbroken\","
	    "\"receiptDate\":\"2026-03-02T11:00:00\","
	    "\"creditDebitNote\":{\"deviceID\":12345,\"receiptGlobalNo\":87,"
	    "\"fiscalDayNo\":7},\"receiptLinesTaxInclusive\":false,"
	    "\"receiptLines\":[{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1,"
	    "\"receiptLineName\":\"Nails\",\"receiptLinePrice\":-0.123456,"
	    "\"receiptLineQuantity\":2.5,\"receiptLineTotal\":-0.31,"
	    "\"taxCode\":\"A\",\"taxPercent\":0,\"taxID\":2}],"
	    "\"receiptTaxes\":[{\"taxCode\":\"A\",\"taxPercent\":0,\"taxID\":2,"
	    "\"taxAmount\":0,\"salesAmountWithTax\":-0.31}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"MobileWallet\","
	    "\"paymentAmount\":-0.31}],\"receiptTotal\":-0.31,"
	    "\"receiptDeviceSignature\":{\"hash\":\"" HASH "\",\"signature\":\""
	    SIG "\"}}";
	struct findings f;
	cJSON *t;

	CHECK(r != NULL, "section 8");
	if (r == NULL)
		return;
	buf_init(&w, FDMS_MAX_REQUEST);
	CHECK_INT(fdms_wire_receipt(r, &w, err, sizeof(err)), 0);
	/* Stable order, amounts from cents, no taxPercent for exempt. */
	CHECK_STR(buf_str(&w), "{\"receiptType\":\"FiscalInvoice\","
	    "\"receiptCurrency\":\"USD\",\"receiptCounter\":1,"
	    "\"receiptGlobalNo\":101,\"invoiceNo\":\"INV-000101\","
	    "\"receiptDate\":\"2026-03-02T10:15:00\","
	    "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1,"
	    "\"receiptLineHSCode\":\"12345678\",\"receiptLineName\":\"Bread\","
	    "\"receiptLinePrice\":5.00,\"receiptLineQuantity\":1.00,"
	    "\"receiptLineTotal\":5.00,\"taxID\":1},"
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":2,"
	    "\"receiptLineHSCode\":\"87654321\",\"receiptLineName\":\"Soap\","
	    "\"receiptLinePrice\":11.55,\"receiptLineQuantity\":1.00,"
	    "\"receiptLineTotal\":11.55,\"taxPercent\":15.50,\"taxID\":517}],"
	    "\"receiptTaxes\":[{\"taxID\":1,\"taxAmount\":0.00,"
	    "\"salesAmountWithTax\":5.00},{\"taxPercent\":15.50,\"taxID\":517,"
	    "\"taxAmount\":1.55,\"salesAmountWithTax\":11.55}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"Cash\","
	    "\"paymentAmount\":16.55}],\"receiptTotal\":16.55,"
	    "\"receiptPrintForm\":\"Receipt48\",\"receiptDeviceSignature\":"
	    "{\"hash\":\"" HASH "\",\"signature\":\"" SIG "\"}}");
	/* Values round-trip exactly, and so does the signed string. */
	if ((r2 = reparse(&w)) != NULL) {
		same_receipt(r, r2);
		buf_init(&s1, 4096);
		buf_init(&s2, 4096);
		CHECK_INT(sigstr_receipt(r, 12345, NULL, &s1), 0);
		CHECK_INT(sigstr_receipt(r2, 12345, NULL, &s2), 0);
		CHECK_STR(buf_str(&s2), buf_str(&s1));
		CHECK_STR(buf_str(&s1),
		    "12345FISCALINVOICEUSD1012026-03-02T10:15:001655050015.501551155");
		buf_free(&s1);
		buf_free(&s2);
		receipt_free(r2);
	}
	/* What is journaled is what goes out, inside the wrapper. */
	fdms_request_init(&rq);
	CHECK_INT(fdms_req_submit_receipt(&rq, 12345, w.p, w.len), 0);
	CHECK(rq.body.len == w.len + 12 && memcmp(rq.body.p + 11, w.p, w.len) == 0,
	    "wrapper changed the bytes");
	fdms_request_free(&rq);

	/* A credit note with buyer, reference, escapes, negatives, micro units. */
	findings_clear(&f);
	t = jsonrx_parse(cn_doc, strlen(cn_doc), JSONRX_MAX_SIZE, &f);
	cn = t != NULL ? receipt_from_tree(t, &f) : NULL;
	cJSON_Delete(t);
	CHECK(cn != NULL, "credit note: %s", f.n ? f.v[0].message : "");
	if (cn != NULL) {
		CHECK_INT(fdms_wire_receipt(cn, &w, err, sizeof(err)), 0);
		CHECK(strstr(buf_str(&w), "\"receiptLinePrice\":-0.123456,"
		    "\"receiptLineQuantity\":2.50,") != NULL, "micro: %s",
		    buf_str(&w));
		CHECK(strstr(buf_str(&w), "\"taxPercent\":0.00,\"taxID\":2") != NULL,
		    "zero-rated keeps 0.00: %s", buf_str(&w));
		CHECK(strstr(buf_str(&w), "\"invoiceNo\":\"CN-\\\"9\\\"\"") != NULL &&
		    strstr(buf_str(&w), "returned\\nbroken") != NULL,
		    "escapes: %s", buf_str(&w));
		CHECK(strstr(buf_str(&w), "\"creditDebitNote\":{\"deviceID\":12345,"
		    "\"receiptGlobalNo\":87,\"fiscalDayNo\":7}") != NULL,
		    "cdn: %s", buf_str(&w));
		if ((r2 = reparse(&w)) != NULL) {
			same_receipt(cn, r2);
			CHECK_STR(r2->buyer.register_name, "Acme \xc3\x89lan");
			CHECK_STR(r2->buyer.city, "Harare");
			CHECK_STR(r2->buyer.phone_no, "+263 77");
			CHECK_INT(r2->cdn.receipt_global_no, 87);
			receipt_free(r2);
		}
		/* An unresolved invoiceNo reference, an unsigned receipt. */
		cn->cdn.has_device_id = false;
		cn->cdn.invoice_no = "INV-1";
		CHECK_INT(fdms_wire_receipt(cn, &w, err, sizeof(err)), -1);
		CHECK_INT(w.len, 0);
		cn->cdn.has_device_id = true;
		cn->sig_signature = NULL;
		CHECK_INT(fdms_wire_receipt(cn, &w, err, sizeof(err)), -1);
		CHECK(strstr(err, "signed") != NULL, "err %s", err);
		cn->sig_signature = SIG;
		cn->invoice_no = "bad \xff utf8";
		CHECK_INT(fdms_wire_receipt(cn, &w, err, sizeof(err)), -1);
		receipt_free(cn);
	}
	buf_free(&w);
	receipt_free(r);
}

/* ---- replies ---- */

static void
test_verify_reply(void)
{
	struct fdms_reply rp;
	const char *b;

	b = "{\"operationID\":\"0HMPH9AF0QKKE:00000005\",\"taxPayerName\":\"ACME"
	    " (PVT) LTD\",\"taxPayerTIN\":\"2000123456\",\"vatNumber\":\"220012345\","
	    "\"deviceBranchName\":\"Head office\",\"deviceBranchAddress\":{"
	    "\"province\":\"Harare\",\"city\":\"Harare\",\"street\":\"Samora\","
	    "\"houseNo\":\"12\",\"district\":null},\"deviceBranchContacts\":{"
	    "\"phoneNo\":\"+263242\",\"email\":\"x@acme.co.zw\"}}";
	CHECK_INT(decode(FDMS_VERIFY_TAXPAYER, 200, b, &rp), FDMS_OK);
	CHECK_STR(rp.res.operation_id, "0HMPH9AF0QKKE:00000005");
	CHECK_STR(rp.u.taxpayer.name, "ACME (PVT) LTD");
	CHECK_STR(rp.u.taxpayer.tin, "2000123456");
	CHECK(rp.u.taxpayer.is_vat_payer, "VAT payer");
	CHECK_STR(rp.u.taxpayer.vat_number, "220012345");
	CHECK_STR(rp.u.taxpayer.branch_address.house_no, "12");
	CHECK(rp.u.taxpayer.branch_address.district == NULL, "null district");
	CHECK_STR(rp.u.taxpayer.branch_contacts.email, "x@acme.co.zw");
	fdms_reply_free(&rp);

	/* vatNumber absent, null, "": not a VAT payer. */
	CHECK_INT(decode(FDMS_VERIFY_TAXPAYER, 200,
	    "{\"taxPayerName\":\"A\",\"taxPayerTIN\":\"1\"}", &rp), FDMS_OK);
	CHECK(!rp.u.taxpayer.is_vat_payer && rp.u.taxpayer.vat_number == NULL,
	    "absent");
	CHECK(!rp.u.taxpayer.has_branch_address, "no address");
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_VERIFY_TAXPAYER, 200, "{\"taxPayerName\":\"A\","
	    "\"taxPayerTIN\":\"1\",\"vatNumber\":null}", &rp), FDMS_OK);
	CHECK(!rp.u.taxpayer.is_vat_payer, "null");
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_VERIFY_TAXPAYER, 200, "{\"taxPayerName\":\"A\","
	    "\"taxPayerTIN\":\"1\",\"vatNumber\":\"\"}", &rp), FDMS_OK);
	CHECK(!rp.u.taxpayer.is_vat_payer && rp.u.taxpayer.vat_number == NULL,
	    "empty");
	fdms_reply_free(&rp);

	bad200(FDMS_VERIFY_TAXPAYER, "{\"taxPayerName\":\"A\",\"taxPayerTIN\":1}",
	    "TIN as number");
	bad200(FDMS_VERIFY_TAXPAYER, "{\"taxPayerTIN\":\"1\"}", "name missing");
	bad200(FDMS_VERIFY_TAXPAYER, "{\"taxPayerName\":\"A\",\"taxPayerTIN\":"
	    "\"1\",\"deviceBranchAddress\":\"Harare\"}", "address as string");
	bad200(FDMS_VERIFY_TAXPAYER, "{\"taxPayerName\":\"A\",\"taxPayerTIN\":"
	    "\"1\",\"vatNumber\":220012345}", "vat as number");
}

static const char config_body[] =
    "{\"operationID\":\"0HN1:00000002\",\"taxPayerName\":\"ACME\","
    "\"taxPayerTIN\":\"2000123456\",\"vatNumber\":\"220012345\","
    "\"deviceSerialNo\":\"SN: 001\",\"deviceBranchName\":\"HQ\","
    "\"deviceBranchAddress\":{\"province\":\"Harare\",\"city\":\"Harare\","
    "\"street\":\"Samora Machel\",\"houseNo\":\"1\"},"
    "\"deviceOperatingMode\":\"Online\",\"taxPayerDayMaxHrs\":24,"
    "\"taxpayerDayEndNotificationHrs\":2,"
    "\"applicableTaxes\":["
    "{\"taxID\":1,\"taxName\":\"Exempt\",\"validFrom\":\"2023-01-01T00:00:00\"},"
    "{\"taxID\":2,\"taxPercent\":0,\"taxName\":\"Zero rated 0%\"},"
    "{\"taxID\":514,\"taxPercent\":5.00,\"taxName\":\"Non-VAT Withholding Tax\"},"
    "{\"taxID\":517,\"taxPercent\":15.5,\"taxName\":\"Standard rated 15.5%\","
    "\"validFrom\":\"2025-12-15T00:00:00\",\"validTill\":null},"
    "{\"taxID\":3,\"taxPercent\":15.499999999999999,\"taxName\":\"float\","
    "\"taxValidFrom\":\"2020-01-01\",\"taxValidTill\":\"2025-12-14\"},"
    "{\"taxID\":4,\"taxPercent\":null,\"taxName\":\"null is exempt\"}],"
    "\"certificateValidTill\":\"2027-03-01T00:00:00\","
    "\"qrUrl\":\"https://fdmstest.zimra.co.zw\"}";

static void
test_config_reply(void)
{
	struct fdms_reply rp;
	const struct fdms_config *c = &rp.u.config;
	char body[2048];

	CHECK_INT(decode(FDMS_GET_CONFIG, 200, config_body, &rp), FDMS_OK);
	CHECK_STR(rp.res.operation_id, "0HN1:00000002");
	CHECK_STR(c->taxpayer.tin, "2000123456");
	CHECK(c->taxpayer.is_vat_payer, "vat");
	CHECK_STR(c->device_serial_no, "SN: 001");
	CHECK_INT(c->mode, FDMS_MODE_ONLINE);
	CHECK(c->has_day_max_hrs && c->day_max_hrs == 24, "max hrs");
	CHECK(c->has_day_end_notification_hrs &&
	    c->day_end_notification_hrs == 2, "notification hrs");
	CHECK_STR(c->qr_url, "https://fdmstest.zimra.co.zw");
	CHECK_STR(c->certificate_valid_till, "2027-03-01T00:00:00");
	CHECK_INT(c->n_taxes, 6);
	if (c->n_taxes == 6) {
		CHECK(c->taxes[0].tax_id == 1 && !c->taxes[0].has_percent,
		    "exempt");
		CHECK_STR(c->taxes[0].valid_from, "2023-01-01T00:00:00");
		CHECK(c->taxes[0].valid_till == NULL, "open ended");
		CHECK(c->taxes[1].has_percent && c->taxes[1].percent == 0,
		    "zero rated");
		CHECK_INT(c->taxes[2].percent, 500);
		CHECK(c->taxes[3].tax_id == 517 && c->taxes[3].percent == 1550,
		    "15.5");
		CHECK(c->taxes[3].valid_till == NULL, "null validTill");
		/* A float rendering is rounded to hundredths, from its text. */
		CHECK_INT(c->taxes[4].percent, 1550);
		CHECK_STR(c->taxes[4].valid_from, "2020-01-01");	/* PDF name */
		CHECK_STR(c->taxes[4].valid_till, "2025-12-14");
		CHECK(!c->taxes[5].has_percent, "null percent is exempt");
		CHECK_STR(c->taxes[3].name, "Standard rated 15.5%");
	}
	fdms_reply_free(&rp);

	/* Non-VAT payer ("" seen live), Offline, PascalCase names. */
	CHECK_INT(decode(FDMS_GET_CONFIG, 200, "{\"VatNumber\":\"\","
	    "\"DeviceOperatingMode\":\"offline\",\"ApplicableTaxes\":[],"
	    "\"QrUrl\":\"https://x\"}", &rp), FDMS_OK);
	CHECK(!c->taxpayer.is_vat_payer, "empty vat");
	CHECK_INT(c->mode, FDMS_MODE_OFFLINE);
	CHECK_INT(c->n_taxes, 0);
	CHECK(!c->has_day_max_hrs, "absent max hrs");
	fdms_reply_free(&rp);

	/* The message names the field and what is wrong with it. */
	decode(FDMS_GET_CONFIG, 200, "{\"applicableTaxes\":[{\"taxID\":1},"
	    "{\"taxID\":\"2\"}],\"qrUrl\":\"https://x\"}", &rp);
	CHECK_STR(rp.res.message, "HTTP 200 with an unusable body: "
	    "applicableTaxes[1].taxID: is a string, not a number");
	fdms_reply_free(&rp);
	decode(FDMS_GET_CONFIG, 200, "{", &rp);
	CHECK(strncmp(rp.res.message, "HTTP 200 with an unusable body: ", 32)
	    == 0 && rp.res.message[32] != ':', "msg %s", rp.res.message);
	fdms_reply_free(&rp);

	bad200(FDMS_GET_CONFIG, "{\"qrUrl\":\"https://x\"}", "no taxes");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[]}", "no qrUrl");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":{},\"qrUrl\":\"https://x\"}",
	    "taxes not array");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":\"1\"}],"
	    "\"qrUrl\":\"https://x\"}", "taxID string");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":1,"
	    "\"taxPercent\":\"15\"}],\"qrUrl\":\"https://x\"}", "percent string");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":1,"
	    "\"taxPercent\":1e400}],\"qrUrl\":\"https://x\"}", "percent 1e400");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":1,"
	    "\"taxPercent\":-1}],\"qrUrl\":\"https://x\"}", "negative percent");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":1,"
	    "\"taxPercent\":1000}],\"qrUrl\":\"https://x\"}", "percent 1000");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":1.5}],"
	    "\"qrUrl\":\"https://x\"}", "fractional taxID");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[{\"taxID\":"
	    "99999999999999999999999}],\"qrUrl\":\"https://x\"}", "huge taxID");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[7],\"qrUrl\":\"https://x\"}",
	    "tax not object");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":"
	    "\"https://x/ y\"}", "qrUrl with space");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"\"}",
	    "empty qrUrl");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"https://x\","
	    "\"taxPayerDayMaxHrs\":\"24\"}", "hours as string");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"https://x\","
	    "\"deviceOperatingMode\":true}", "mode as bool");
	/* A duplicate member is refused (jsonrx), never "first wins". */
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"https://a\","
	    "\"qrUrl\":\"https://b\"}", "duplicate qrUrl");
	/* Deep nesting, invalid UTF-8, trailing junk, not an object. */
	memset(body, '[', 100);
	body[100] = '1';
	memset(body + 101, ']', 100);
	body[201] = '\0';
	bad200(FDMS_GET_CONFIG, body, "deep");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"https://\xc3"
	    "\"}", "bad UTF-8");
	bad200(FDMS_GET_CONFIG, "{\"applicableTaxes\":[],\"qrUrl\":\"https://x\"}"
	    " junk", "trailing junk");
	bad200(FDMS_GET_CONFIG, "[]", "array");
	bad200(FDMS_GET_CONFIG, "null", "null");
	bad200(FDMS_GET_CONFIG, "", "empty body");
	bad200(FDMS_GET_CONFIG, "<html>OK</html>", "html");
}

static void
test_status_reply(void)
{
	struct fdms_reply rp;
	const struct fdms_status *s = &rp.u.status;

	CHECK_INT(decode(FDMS_GET_STATUS, 200, "{\"operationID\":\"op\","
	    "\"fiscalDayStatus\":\"FiscalDayOpened\",\"lastReceiptGlobalNo\":101,"
	    "\"lastFiscalDayNo\":7}", &rp), FDMS_OK);
	CHECK_INT(s->day_status, FDMS_DAY_OPENED);
	CHECK(s->has_last_global_no && s->last_global_no == 101, "global");
	CHECK(s->has_last_day_no && s->last_day_no == 7, "day");
	CHECK_INT(s->n_counters, 0);
	fdms_reply_free(&rp);

	/* A brand-new device: no numbers at all (absent or null). */
	CHECK_INT(decode(FDMS_GET_STATUS, 200, "{\"fiscalDayStatus\":"
	    "\"FiscalDayClosed\",\"lastReceiptGlobalNo\":null}", &rp), FDMS_OK);
	CHECK(!s->has_last_global_no && !s->has_last_day_no, "absent numbers");
	CHECK_INT(s->day_status, FDMS_DAY_CLOSED);
	fdms_reply_free(&rp);

	/* Manual close with the OAS spelling, enum as index, unknown type. */
	CHECK_INT(decode(FDMS_GET_STATUS, 200, "{\"fiscalDayStatus\":0,"
	    "\"fiscalDayReconciliationMode\":\"Manual\","
	    "\"fiscalDayClosed\":\"2026-03-02T22:21:14\","
	    "\"fiscalDayServerSignature\":{\"hash\":\"aGFzaA==\","
	    "\"signature\":\"c2ln\",\"certificateThumbprint\":\"ABCDEF\"},"
	    "\"fiscalDayCounter\":["
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":\"usd\","
	    "\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":15.5,"
	    "\"fiscalCounterValue\":11.55},"
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterTaxID\":1,\"fiscalCounterValue\":5},"
	    "{\"fiscalCounterType\":\"PayoutByTax\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterTaxID\":1,\"fiscalCounterValue\":1},"
	    "{\"fiscalCounterType\":\"BalanceByMoneyType\","
	    "\"fiscalCounterCurrency\":\"USD\",\"fiscalCounterMoneyType\":1,"
	    "\"fiscalCounterValue\":-699.75}],"
	    "\"fiscalDayDocumentQuantities\":[{\"receiptType\":\"CreditNote\","
	    "\"receiptCurrency\":\"USD\",\"receiptQuantity\":2,"
	    "\"receiptTotalAmount\":-10.5}]}", &rp), FDMS_OK);
	CHECK_INT(s->day_status, FDMS_DAY_CLOSED);
	CHECK_INT(s->recon, FDMS_RECON_MANUAL);
	CHECK(s->has_server_signature, "server signature");
	CHECK_STR(s->server_signature.thumbprint, "ABCDEF");
	CHECK_STR(s->day_closed, "2026-03-02T22:21:14");
	CHECK_INT(s->n_counters, 3);
	CHECK_INT(s->counters_unknown, 1);
	if (s->n_counters == 3) {
		CHECK_STR(s->counters[0].currency, "USD");
		CHECK(s->counters[0].has_percent && s->counters[0].percent == 1550,
		    "percent");
		CHECK_INT(s->counters[0].value, 1155);
		CHECK(!s->counters[1].has_percent && s->counters[1].value == 500,
		    "exempt counter");
		CHECK_INT(s->counters[2].type, COUNTER_BALANCE_BY_MONEY_TYPE);
		CHECK_INT(s->counters[2].money_type, MONEY_CARD);
		CHECK_INT(s->counters[2].value, -69975);
	}
	CHECK_INT(s->n_docs, 1);
	if (s->n_docs == 1) {
		CHECK_INT(s->docs[0].type, RECEIPT_CREDIT_NOTE);
		CHECK_INT(s->docs[0].quantity, 2);
		CHECK_INT(s->docs[0].total, -1050);
	}
	fdms_reply_free(&rp);

	/* The PDF spelling; CloseFailed with its reason. */
	CHECK_INT(decode(FDMS_GET_STATUS, 200, "{\"fiscalDayStatus\":"
	    "\"fiscalDayCloseFailed\",\"fiscalDayClosingErrorCode\":"
	    "\"CountersMismatch\",\"fiscalDayCounters\":[{\"fiscalCounterType\":"
	    "\"BalanceByMoneyType\",\"fiscalCounterCurrency\":\"ZWG\","
	    "\"fiscalCounterMoneyType\":\"bankTransfer\",\"fiscalCounterValue\":"
	    "1234567890123.45}]}", &rp), FDMS_OK);
	CHECK_INT(s->day_status, FDMS_DAY_CLOSE_FAILED);
	CHECK_INT(s->closing_error, FDMS_CLOSE_ERR_COUNTERS_MISMATCH);
	CHECK_INT(s->n_counters, 1);
	if (s->n_counters == 1) {
		CHECK_INT(s->counters[0].money_type, MONEY_BANK_TRANSFER);
		CHECK_INT(s->counters[0].value, INT64_C(123456789012345));
	}
	fdms_reply_free(&rp);

	/* Unknown status and closing error: kept as unknown, not refused. */
	CHECK_INT(decode(FDMS_GET_STATUS, 200, "{\"fiscalDayStatus\":"
	    "\"FiscalDaySuspended\",\"fiscalDayClosingErrorCode\":\"Gremlins\"}",
	    &rp), FDMS_OK);
	CHECK_INT(s->day_status, FDMS_DAY_UNKNOWN);
	CHECK_INT(s->closing_error, FDMS_CLOSE_ERR_OTHER);
	CHECK_STR(s->closing_error_text, "Gremlins");
	fdms_reply_free(&rp);

	bad200(FDMS_GET_STATUS, "{}", "no status");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":9}", "status index 9");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayOpened\","
	    "\"lastReceiptGlobalNo\":\"101\"}", "global as string");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayOpened\","
	    "\"lastReceiptGlobalNo\":-1}", "negative global");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayOpened\","
	    "\"lastReceiptGlobalNo\":99999999999999999999}", "global > int64");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayOpened\","
	    "\"lastFiscalDayNo\":1.5}", "fractional day");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayCounters\":[{\"fiscalCounterType\":\"SaleByTax\","
	    "\"fiscalCounterCurrency\":\"USD\",\"fiscalCounterValue\":1.005}]}",
	    "counter with 3 decimals");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayCounters\":[{\"fiscalCounterType\":\"SaleByTax\","
	    "\"fiscalCounterCurrency\":\"US\",\"fiscalCounterValue\":1}]}",
	    "2-letter currency");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayCounters\":[{\"fiscalCounterType\":\"BalanceByMoneyType\","
	    "\"fiscalCounterCurrency\":\"USD\",\"fiscalCounterValue\":1}]}",
	    "balance without money type");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayCounter\":\"none\"}", "counters as string");
	bad200(FDMS_GET_STATUS, "{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayServerSignature\":[]}", "signature as array");
}

static void
test_other_replies(void)
{
	struct fdms_reply rp;
	struct fdms_raw raw;
	const struct fdms_submitted *s = &rp.u.submitted;

	CHECK_INT(decode(FDMS_OPEN_DAY, 200, "{\"operationID\":\"x\","
	    "\"fiscalDayNo\":8}", &rp), FDMS_OK);
	CHECK_INT(rp.u.day_no, 8);
	fdms_reply_free(&rp);
	bad200(FDMS_OPEN_DAY, "{\"operationID\":\"x\"}", "no day");
	bad200(FDMS_OPEN_DAY, "{\"fiscalDayNo\":0}", "day 0");
	bad200(FDMS_OPEN_DAY, "{\"fiscalDayNo\":\"8\"}", "day as string");

	CHECK_INT(decode(FDMS_SUBMIT_RECEIPT, 200, "{\"operationID\":\"0HN:5\","
	    "\"receiptID\":9007199254740993,\"serverDate\":\"2026-03-02T10:15:03\","
	    "\"receiptServerSignature\":{\"hash\":\"aA==\",\"signature\":\"cw==\","
	    "\"certificateThumbprint\":\"AB12\"},\"validationErrors\":["
	    "{\"validationErrorCode\":\"RCPT020\",\"validationErrorColor\":\"Red\","
	    "\"validationErrorDescription\":\"Invoice signature is not valid\"},"
	    "{\"validationErrorCode\":\"RCPT011\",\"validationErrorColor\":\"Gray\"},"
	    "{\"validationErrorCode\":\"RCPT031\",\"validationErrorColor\":\"yellow\"},"
	    "{\"validationErrorCode\":\"RCPT099\",\"validationErrorColor\":\"Blue\"}]}",
	    &rp), FDMS_OK);
	/* Above 2^53: a double would have made it ...992. */
	CHECK_INT(s->receipt_id, INT64_C(9007199254740993));
	CHECK_STR(s->server_date, "2026-03-02T10:15:03");
	CHECK_STR(s->server_signature.thumbprint, "AB12");
	CHECK_INT(s->n_verrs, 4);
	if (s->n_verrs == 4) {
		CHECK_INT(s->verrs[0].colour, COLOUR_RED);
		CHECK_STR(s->verrs[0].description, "Invoice signature is not valid");
		CHECK_INT(s->verrs[1].colour, COLOUR_GREY);
		CHECK_INT(s->verrs[2].colour, COLOUR_YELLOW);
		CHECK_INT(s->verrs[3].colour, COLOUR_NONE);
		CHECK_STR(s->verrs[3].colour_text, "Blue");
	}
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_SUBMIT_RECEIPT, 200, "{\"receiptID\":1,"
	    "\"validationErrors\":null}", &rp), FDMS_OK);
	CHECK(s->n_verrs == 0 && s->server_date == NULL, "minimal");
	fdms_reply_free(&rp);
	bad200(FDMS_SUBMIT_RECEIPT, "{\"serverDate\":\"2026-03-02T10:15:03\"}",
	    "no receiptID");
	bad200(FDMS_SUBMIT_RECEIPT, "{\"receiptID\":\"1\"}", "id as string");
	bad200(FDMS_SUBMIT_RECEIPT, "{\"receiptID\":-5}", "negative id");
	bad200(FDMS_SUBMIT_RECEIPT, "{\"receiptID\":1,\"validationErrors\":"
	    "[{\"validationErrorColor\":\"Red\"}]}", "error without code");
	bad200(FDMS_SUBMIT_RECEIPT, "{\"receiptID\":1,\"validationErrors\":{}}",
	    "errors as object");

	CHECK_INT(decode(FDMS_CLOSE_DAY, 200, "{\"operationID\":\"0HN:9\"}", &rp),
	    FDMS_OK);
	CHECK_STR(rp.res.operation_id, "0HN:9");
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_CLOSE_DAY, 200, "", &rp), FDMS_OK);
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_SUBMIT_FILE, 200, "{\"operationID\":\"f\"}", &rp),
	    FDMS_OK);
	fdms_reply_free(&rp);

	CHECK_INT(decode(FDMS_PING, 200, "{\"operationID\":\"p\","
	    "\"reportingFrequency\":5}", &rp), FDMS_OK);
	CHECK_INT(rp.u.reporting_frequency, 5);
	fdms_reply_free(&rp);
	bad200(FDMS_PING, "{\"reportingFrequency\":5.5}", "fractional minutes");

	CHECK_INT(decode(FDMS_REGISTER_DEVICE, 200, "{\"operationID\":\"r\","
	    "\"certificate\":\"" CERT_JSON "\"}", &rp), FDMS_OK);
	CHECK_STR(rp.u.certificate, CERT);
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_ISSUE_CERT, 200, "{\"certificate\":\"" CERT_JSON
	    "\"}", &rp), FDMS_OK);
	fdms_reply_free(&rp);
	bad200(FDMS_REGISTER_DEVICE, "{\"certificate\":\"MIIB\"}", "not PEM");
	bad200(FDMS_ISSUE_CERT, "{\"certificate\":null}", "null certificate");
	bad200(FDMS_REGISTER_DEVICE, "{\"certificate\":[\"" CERT_JSON "\"]}",
	    "certificate as array");

	CHECK_INT(decode(FDMS_GET_SERVER_CERT, 200, "{\"certificate\":[\""
	    CERT_JSON "\",\"" CERT_JSON "\"],\"certificateValidTill\":"
	    "\"2030-01-01T00:00:00\"}", &rp), FDMS_OK);
	CHECK_INT(rp.u.server_cert.n_chain, 2);
	CHECK_STR(rp.u.server_cert.valid_till, "2030-01-01T00:00:00");
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_GET_SERVER_CERT, 200, "{\"certificate\":\""
	    CERT_JSON "\"}", &rp), FDMS_OK);
	CHECK_INT(rp.u.server_cert.n_chain, 1);
	fdms_reply_free(&rp);
	bad200(FDMS_GET_SERVER_CERT, "{\"certificate\":[]}", "empty chain");
	bad200(FDMS_GET_SERVER_CERT, "{\"certificate\":[1]}", "number in chain");

	CHECK_INT(decode(FDMS_FILE_LIST, 200, "{\"total\":3,\"rows\":["
	    "{\"fileName\":\"a.json\",\"deviceId\":12345,\"dayNo\":7,"
	    "\"fileSequence\":1,\"fileProcessingStatus\":\"CompleteSuccessful\","
	    "\"hasFooter\":true,\"operationId\":\"o1\"},"
	    "{\"fileName\":\"b.json\",\"fileProcessingStatus\":"
	    "\"FileProcessingWithErrors\",\"invoiceWithValidationErrors\":["
	    "{\"receiptCounter\":2,\"receiptGlobalNo\":102,\"validationErrors\":"
	    "[{\"validationErrorCode\":\"RCPT026\",\"validationErrorColor\":"
	    "\"Red\"}]}]},"
	    "{\"fileProcessingStatus\":\"WaitingForPreviousFile\"}]}", &rp),
	    FDMS_OK);
	CHECK_INT(rp.u.files.total, 3);
	CHECK_INT(rp.u.files.n_rows, 3);
	if (rp.u.files.n_rows == 3) {
		CHECK_INT(rp.u.files.rows[0].status, FDMS_FILE_SUCCESSFUL);
		CHECK(rp.u.files.rows[0].has_footer, "footer");
		CHECK_INT(rp.u.files.rows[0].device_id, 12345);
		CHECK_INT(rp.u.files.rows[1].status, FDMS_FILE_WITH_ERRORS);
		CHECK_INT(rp.u.files.rows[1].n_invoices, 1);
		CHECK_INT(rp.u.files.rows[1].invoices[0].global_no, 102);
		CHECK_INT(rp.u.files.rows[1].invoices[0].n_verrs, 1);
		CHECK_INT(rp.u.files.rows[2].status, FDMS_FILE_WAITING);
	}
	fdms_reply_free(&rp);
	CHECK_INT(decode(FDMS_FILE_LIST, 200, "{\"rows\":[{"
	    "\"fileProcessingStatus\":\"FileProcessingIsSuccessful\"},{"
	    "\"fileProcessingStatus\":\"InProgress\"},{"
	    "\"fileProcessingStatus\":\"FileProcessingInProgress\"}]}", &rp),
	    FDMS_OK);
	CHECK(rp.u.files.n_rows == 3 &&
	    rp.u.files.rows[0].status == FDMS_FILE_SUCCESSFUL &&
	    rp.u.files.rows[1].status == FDMS_FILE_IN_PROGRESS &&
	    rp.u.files.rows[2].status == FDMS_FILE_IN_PROGRESS,
	    "both spellings");
	fdms_reply_free(&rp);
	bad200(FDMS_FILE_LIST, "{\"rows\":[{\"hasFooter\":\"yes\"}]}",
	    "hasFooter as string");

	/* operationId header when the body has none; the body wins otherwise. */
	raw_http(&raw, 200, "{\"fiscalDayNo\":3}", -1);
	raw.operation_id = "HDR:1";
	fdms_reply_init(&rp, FDMS_OPEN_DAY);
	fdms_decode(FDMS_OPEN_DAY, &raw, &rp);
	CHECK_STR(rp.res.operation_id, "HDR:1");
	fdms_reply_free(&rp);
	raw_http(&raw, 200, "{\"operationID\":\"BODY:1\",\"fiscalDayNo\":3}", -1);
	raw.operation_id = "HDR:1";
	fdms_reply_init(&rp, FDMS_OPEN_DAY);
	fdms_decode(FDMS_OPEN_DAY, &raw, &rp);
	CHECK_STR(rp.res.operation_id, "BODY:1");
	fdms_reply_free(&rp);
	/* Control characters in an operation ID never reach a log line raw. */
	raw_http(&raw, 200, "{\"operationID\":\"A\\nB\",\"fiscalDayNo\":3}", -1);
	fdms_reply_init(&rp, FDMS_OPEN_DAY);
	fdms_decode(FDMS_OPEN_DAY, &raw, &rp);
	CHECK_STR(rp.res.operation_id, "A?B");
	fdms_reply_free(&rp);
}

/* A body far above the cap: refused by jsonrx, not parsed. */
static void
test_huge(void)
{
	size_t n = FDMS_MAX_BODY + 100, i;
	char *b = malloc(n + 1);

	if (b == NULL)
		return;
	memcpy(b, "{\"qrUrl\":\"", 10);
	for (i = 10; i < n - 2; i++)
		b[i] = 'a';
	memcpy(b + n - 2, "\"}", 3);
	bad200(FDMS_GET_CONFIG, b, "huge body");
	free(b);
}

/* ---- errors ---- */

static void
http_case(enum fdms_op op, long st, const char *body, long ra,
    enum fdms_class cls, bool doubt, struct fdms_reply *rp)
{
	struct fdms_raw raw;

	raw_http(&raw, st, body, ra);
	fdms_reply_init(rp, op);
	fdms_decode(op, &raw, rp);
	CHECK(rp->res.cls == cls && rp->res.in_doubt == doubt,
	    "HTTP %ld: %s%s, want %s%s (%s)", st, fdms_class_name(rp->res.cls),
	    rp->res.in_doubt ? " in doubt" : "", fdms_class_name(cls),
	    doubt ? " in doubt" : "", rp->res.message);
	CHECK_INT(rp->res.http_status, st);
	CHECK(rp->arena == NULL, "error reply has an arena");
}

static void
test_errors(void)
{
	static const char *const codes[] = { "DEV01", "DEV02", "DEV03", "DEV04",
	    "DEV05", "DEV06", "RCPT01", "RCPT02", "FISC01", "FISC03", "FISC04",
	    "FILE01", "FILE02", "FILE03", "FILE04", "FILE05" };
	struct fdms_reply rp;
	char body[512];
	size_t i;

	http_case(FDMS_CLOSE_DAY, 400, "{\"type\":\"https://tools.ietf.org/html/"
	    "rfc7231#section-6.5.1\",\"title\":\"One or more validation errors "
	    "occurred.\",\"status\":400,\"traceId\":\"00-abc-01\",\"errors\":{"
	    "\"fiscalDayCounters[2].FiscalCounterValue\":[\"provided value "
	    "FiscalCounterValue do not satisfy decimal(21,2).\"],\"receiptCounter\":"
	    "[\"a\",\"b\"]}}", -1, FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.fail, FDMS_FAIL_HTTP);
	CHECK_INT(rp.res.n_errors, 3);
	CHECK_STR(rp.res.errors[0].field, "fiscalDayCounters[2].FiscalCounterValue");
	CHECK_STR(rp.res.errors[0].message, "provided value FiscalCounterValue do "
	    "not satisfy decimal(21,2).");
	CHECK_STR(rp.res.errors[2].message, "b");
	CHECK_STR(rp.res.title, "One or more validation errors occurred.");
	CHECK(strstr(rp.res.message, "FiscalCounterValue") != NULL, "message %s",
	    rp.res.message);
	fdms_reply_free(&rp);

	http_case(FDMS_GET_CONFIG, 401, "", -1, FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.code, FDMS_EC_NONE);
	fdms_reply_free(&rp);

	/* The live FISC01 body of §6.8. */
	http_case(FDMS_OPEN_DAY, 422, "{\"type\":\"https://httpstatuses.io/422\","
	    "\"title\":\"Unprocessable Entity\",\"status\":422,\"detail\":\"Open new "
	    "fiscal day is not possible while current fiscal day is not closed.\","
	    "\"errorCode\":\"FISC01\",\"operationID\":\"0HNHM698NJVMT:00000001\"}",
	    -1, FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.code, FDMS_EC_FISC01);
	CHECK_STR(rp.res.code_text, "FISC01");
	CHECK_STR(rp.res.operation_id, "0HNHM698NJVMT:00000001");
	CHECK(strstr(rp.res.detail, "Open new fiscal day") != NULL, "detail");
	CHECK_STR(rp.res.message, "HTTP 422 FISC01: Unprocessable Entity: Open new "
	    "fiscal day is not possible while current fiscal day is not closed.");
	fdms_reply_free(&rp);

	for (i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		snprintf(body, sizeof(body), "{\"status\":422,\"errorCode\":\"%s\"}",
		    codes[i]);
		http_case(FDMS_SUBMIT_RECEIPT, 422, body, -1, FDMS_REJECTED, false,
		    &rp);
		CHECK_INT(rp.res.code, FDMS_EC_DEV01 + (int)i);
		CHECK_STR(fdms_errcode_name(rp.res.code), codes[i]);
		fdms_reply_free(&rp);
	}
	http_case(FDMS_SUBMIT_RECEIPT, 422, "{\"errorCode\":\"DEV99\"}", -1,
	    FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.code, FDMS_EC_OTHER);
	CHECK_STR(rp.res.code_text, "DEV99");
	fdms_reply_free(&rp);
	http_case(FDMS_SUBMIT_RECEIPT, 422, "{\"errorCode\":\"fisc01\"}", -1,
	    FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.code, FDMS_EC_OTHER);
	fdms_reply_free(&rp);
	http_case(FDMS_SUBMIT_RECEIPT, 422, "{\"errorCode\":42,\"title\":[]}", -1,
	    FDMS_REJECTED, false, &rp);
	CHECK_INT(rp.res.code, FDMS_EC_NONE);
	fdms_reply_free(&rp);

	http_case(FDMS_SUBMIT_RECEIPT, 429, "{\"title\":\"Too Many Requests\"}",
	    7, FDMS_RETRY, false, &rp);
	CHECK_INT(rp.res.retry_after_s, 7);
	CHECK(fdms_retry_delay_ms(&rp.res, 0, 0) == 7000, "Retry-After honoured");
	CHECK(fdms_retry_delay_ms(&rp.res, 30, UINT64_MAX) >= 7000, "not below");
	fdms_reply_free(&rp);
	http_case(FDMS_SUBMIT_RECEIPT, 429, "", 999999, FDMS_RETRY, false, &rp);
	CHECK_INT(fdms_retry_delay_ms(&rp.res, 0, 0), FDMS_RETRY_AFTER_MAX_S * 1000);
	fdms_reply_free(&rp);

	http_case(FDMS_SUBMIT_RECEIPT, 500, "{\"title\":\"Internal Server Error\"}",
	    -1, FDMS_RETRY, true, &rp);
	fdms_reply_free(&rp);
	http_case(FDMS_SUBMIT_RECEIPT, 502, "<html><body>Bad\r\nGateway</body>"
	    "</html>", -1, FDMS_RETRY, true, &rp);
	CHECK(strstr(rp.res.detail, "Bad??Gateway") != NULL, "hint %s",
	    rp.res.detail);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 503, NULL, 30, FDMS_RETRY, true, &rp);
	CHECK_INT(rp.res.retry_after_s, 30);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 301, "", -1, FDMS_REJECTED, false, &rp);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 404, "", -1, FDMS_REJECTED, false, &rp);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 405, "", -1, FDMS_REJECTED, false, &rp);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 408, "", -1, FDMS_RETRY, false, &rp);
	fdms_reply_free(&rp);
	http_case(FDMS_GET_STATUS, 103, "", -1, FDMS_RETRY, true, &rp);
	CHECK_INT(rp.res.fail, FDMS_FAIL_RESPONSE);
	fdms_reply_free(&rp);
	/* Hostile error body: huge strings are cut, never overflow. */
	{
		size_t n = 100000;
		char *b = malloc(n + 64);

		if (b != NULL) {
			memcpy(b, "{\"title\":\"", 10);
			memset(b + 10, 'T', n);
			memcpy(b + 10 + n, "\",\"errorCode\":\"FISC01FISC01FISC01\"}",
			    36);
			http_case(FDMS_OPEN_DAY, 422, b, -1, FDMS_REJECTED, false,
			    &rp);
			CHECK_INT(strlen(rp.res.title), sizeof(rp.res.title) - 1);
			CHECK_INT(rp.res.code, FDMS_EC_OTHER);
			fdms_reply_free(&rp);
			free(b);
		}
	}
	/* More field errors than we keep. */
	{
		struct buf b;

		buf_init(&b, 65536);
		buf_adds(&b, "{\"errors\":{");
		for (i = 0; i < 40; i++)
			buf_printf(&b, "%s\"f%zu\":[\"m\"]", i ? "," : "", i);
		buf_adds(&b, "}}");
		http_case(FDMS_CLOSE_DAY, 400, buf_str(&b), -1, FDMS_REJECTED,
		    false, &rp);
		CHECK_INT(rp.res.n_errors, FDMS_FIELD_ERRORS_MAX);
		CHECK_INT(rp.res.errors_dropped, 40 - FDMS_FIELD_ERRORS_MAX);
		fdms_reply_free(&rp);
		buf_free(&b);
	}
}

static void
transport_case(enum fdms_fail f, bool sent, enum fdms_class cls, bool doubt)
{
	struct fdms_reply rp;
	struct fdms_raw raw;

	memset(&raw, 0, sizeof(raw));
	raw.transport_fail = f;
	raw.sent = sent;
	raw.transport_code = 99;
	raw.transport_msg = "boom";
	raw.retry_after_s = -1;
	fdms_reply_init(&rp, FDMS_SUBMIT_RECEIPT);
	fdms_decode(FDMS_SUBMIT_RECEIPT, &raw, &rp);
	CHECK(rp.res.cls == cls && rp.res.in_doubt == doubt,
	    "%s sent=%d: %s%s", fdms_fail_name(f), sent,
	    fdms_class_name(rp.res.cls), rp.res.in_doubt ? " in doubt" : "");
	CHECK_INT(rp.res.http_status, 0);
	CHECK_INT(rp.res.transport_code, 99);
	CHECK(strstr(rp.res.message, "boom") != NULL, "msg %s", rp.res.message);
	fdms_reply_free(&rp);
}

static void
test_transport_classes(void)
{
	transport_case(FDMS_FAIL_LOCAL, false, FDMS_LOCAL, false);
	transport_case(FDMS_FAIL_CONNECT, false, FDMS_RETRY, false);
	transport_case(FDMS_FAIL_TLS, false, FDMS_RETRY, false);
	transport_case(FDMS_FAIL_TIMEOUT, false, FDMS_RETRY, false);
	transport_case(FDMS_FAIL_TIMEOUT, true, FDMS_RETRY, true);
	transport_case(FDMS_FAIL_NETWORK, false, FDMS_RETRY, false);
	transport_case(FDMS_FAIL_NETWORK, true, FDMS_RETRY, true);
	transport_case(FDMS_FAIL_RESPONSE, true, FDMS_RETRY, true);

	CHECK_INT(fdms_curl_fail(CURLE_OK), FDMS_FAIL_NONE);
	CHECK_INT(fdms_curl_fail(CURLE_COULDNT_CONNECT), FDMS_FAIL_CONNECT);
	CHECK_INT(fdms_curl_fail(CURLE_COULDNT_RESOLVE_HOST), FDMS_FAIL_CONNECT);
	CHECK_INT(fdms_curl_fail(CURLE_PEER_FAILED_VERIFICATION), FDMS_FAIL_TLS);
	CHECK_INT(fdms_curl_fail(CURLE_SSL_CONNECT_ERROR), FDMS_FAIL_TLS);
	CHECK_INT(fdms_curl_fail(CURLE_OPERATION_TIMEDOUT), FDMS_FAIL_TIMEOUT);
	CHECK_INT(fdms_curl_fail(CURLE_GOT_NOTHING), FDMS_FAIL_NETWORK);
	CHECK_INT(fdms_curl_fail(CURLE_RECV_ERROR), FDMS_FAIL_NETWORK);
	CHECK_INT(fdms_curl_fail(CURLE_SEND_ERROR), FDMS_FAIL_NETWORK);
	CHECK_INT(fdms_curl_fail(CURLE_PARTIAL_FILE), FDMS_FAIL_NETWORK);
	CHECK_INT(fdms_curl_fail(CURLE_UNSUPPORTED_PROTOCOL), FDMS_FAIL_LOCAL);
	CHECK_INT(fdms_curl_fail(CURLE_SSL_CERTPROBLEM), FDMS_FAIL_LOCAL);
	CHECK_INT(fdms_curl_fail(CURLE_SSL_CACERT_BADFILE), FDMS_FAIL_LOCAL);
	CHECK_INT(fdms_curl_fail(CURLE_WRITE_ERROR), FDMS_FAIL_RESPONSE);
}

/* ---- numbers and policy ---- */

static void
test_percent(void)
{
	static const struct {
		const char	*text;
		int		 ok;
		int32_t		 want;
	} v[] = {
		{ "15.5", 1, 1550 }, { "15.50", 1, 1550 }, { "0", 1, 0 },
		{ "15.499999999999999", 1, 1550 }, { "15.4949", 1, 1549 },
		{ "0.005", 1, 0 }, { "0.015", 1, 2 }, { "0.0150001", 1, 2 },
		{ "0.025", 1, 2 }, { "0.0250", 1, 2 }, { "999.99", 1, 99999 },
		{ "999.995", 0, 0 }, { "1000", 0, 0 }, { "-1", 0, 0 },
		{ "1e2", 0, 0 }, { "01.5", 0, 0 }, { "", 0, 0 }, { "15.", 0, 0 },
		{ ".5", 0, 0 }, { "15.5x", 0, 0 },
	};
	size_t i;
	int32_t p;

	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		p = -7;
		CHECK((fdms_parse_percent(v[i].text, &p) == 0) == v[i].ok &&
		    (!v[i].ok || p == v[i].want), "percent \"%s\" -> %d",
		    v[i].text, p);
	}
}

static void
test_backoff(void)
{
	static const uint64_t rnds[] = { 0, 1, 999, 1000, 1001, 123456789,
	    UINT64_C(0x9e3779b97f4a7c15), UINT64_MAX };
	uint64_t ceiling, x = 88172645463325252ULL;
	unsigned a;
	size_t i;
	uint32_t d, hi;
	struct fdms_result r;

	for (a = 0; a < 70; a++) {
		ceiling = a < 20 ? (uint64_t)FDMS_BACKOFF_BASE_MS << a :
		    FDMS_BACKOFF_CAP_MS;
		if (ceiling > FDMS_BACKOFF_CAP_MS)
			ceiling = FDMS_BACKOFF_CAP_MS;
		for (i = 0; i < sizeof(rnds) / sizeof(rnds[0]); i++) {
			d = fdms_backoff_ms(a, rnds[i]);
			CHECK(d <= ceiling, "attempt %u: %u > %" PRIu64, a, d,
			    ceiling);
			CHECK(d == rnds[i] % (ceiling + 1), "pure function");
		}
		/* Full jitter reaches most of the range. */
		hi = 0;
		for (i = 0; i < 2000; i++) {
			x ^= x << 13;
			x ^= x >> 7;
			x ^= x << 17;
			d = fdms_backoff_ms(a, x);
			if (d > hi)
				hi = d;
		}
		CHECK(hi > ceiling * 9 / 10, "attempt %u: max %u of %" PRIu64, a,
		    hi, ceiling);
	}
	CHECK_INT(fdms_backoff_ms(0, 1000), 1000);
	CHECK_INT(fdms_backoff_ms(0, 1001), 0);
	CHECK_INT(fdms_backoff_ms(8, 255999), 255999);
	CHECK_INT(fdms_backoff_ms(9, 512000), 512000 % 300001);
	CHECK(fdms_backoff_ms(UINT32_MAX, UINT64_MAX) <= FDMS_BACKOFF_CAP_MS,
	    "huge attempt");
	memset(&r, 0, sizeof(r));
	r.retry_after_s = -1;
	CHECK_INT(fdms_retry_delay_ms(&r, 3, 5), fdms_backoff_ms(3, 5));
	CHECK_INT(fdms_retry_delay_ms(NULL, 3, 5), fdms_backoff_ms(3, 5));
	r.retry_after_s = 0;
	CHECK_INT(fdms_retry_delay_ms(&r, 3, 5), 5);
}

/* Client construction and local refusals: no network needed. */
static void
test_client_local(void)
{
	static const char *const bad[] = { "http://127.0.0.1:1",
	    "ftp://fdms", "https://a b", "https://user:pw@fdms",
	    "https://fdms/?x=1", "https://fdms/#f", "", "fdmsapi.zimra.co.zw",
	    "https://fdms\n" };
	struct fdms_client_opts o;
	struct fdms_client *cl;
	struct fdms_device dev;
	struct fdms_request rq;
	struct fdms_reply rp;
	char err[256];
	size_t i;

	memset(&o, 0, sizeof(o));
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		o.base_url = bad[i];
		cl = fdms_client_new(&o, err, sizeof(err));
		CHECK(cl == NULL, "accepted base URL \"%s\"", bad[i]);
		fdms_client_free(cl);
	}
	o.base_url = NULL;
	CHECK(fdms_client_new(&o, err, sizeof(err)) == NULL, "NULL URL");
	/* http:// only with the development flag. */
	o.base_url = "http://127.0.0.1:1";
	o.allow_http = true;
	cl = fdms_client_new(&o, err, sizeof(err));
	CHECK(cl != NULL, "allow_http: %s", err);
	fdms_client_free(cl);

	o.base_url = "HTTPS://fdmsapitest.zimra.co.zw/";
	o.allow_http = false;
	cl = fdms_client_new(&o, err, sizeof(err));
	CHECK(cl != NULL, "https: %s", err);
	if (cl == NULL)
		return;
	memset(&dev, 0, sizeof(dev));
	dev.model_name = "Server";
	dev.model_version = "v1";
	fdms_request_init(&rq);
	/* A request whose builder refused: LOCAL at once, nothing sent. */
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_CONFIG, 0), -1);
	CHECK_INT(fdms_call(cl, &dev, &rq, &rp), FDMS_LOCAL);
	CHECK(!rp.res.in_doubt && strstr(rp.res.message, "device ID") != NULL,
	    "local: %s", rp.res.message);
	fdms_reply_free(&rp);
	/* Header injection through the model name is refused. */
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_CONFIG, 1), 0);
	dev.model_name = "Server\r\nX-Evil: 1";
	CHECK_INT(fdms_call(cl, &dev, &rq, &rp), FDMS_LOCAL);
	fdms_reply_free(&rp);
	CHECK_INT(fdms_in_flight(cl), 0);
	CHECK_INT(fdms_take_done(cl, &rp, NULL), 0);
	CHECK_INT(fdms_timeout_ms(cl), -1);
	CHECK_INT(fdms_pollfds(cl, NULL, 0), 0);
	fdms_request_free(&rq);
	fdms_client_free(cl);
}

int
main(void)
{
	test_requests();
	test_close_day();
	test_wire();
	test_verify_reply();
	test_config_reply();
	test_status_reply();
	test_other_replies();
	test_huge();
	test_errors();
	test_transport_classes();
	test_percent();
	test_backoff();
	test_client_local();
	return tap_done();
}

/*
 * test_dayclose.c - the close-day logic (lib/spool/dayclose) and the
 * SubmitFile documents (lib/spool/dayfile) without FDMS: a real SQLite
 * journal in a trash directory, devices with generated keys and
 * self-signed certificates, and an FDMS address where nothing listens, so
 * every run that gets as far as sending ends with 75 and everything
 * before the send can be checked in the journal:
 *  - dayfile: content split across documents under a small limit, every
 *    document within it and valid JSON, receipts byte for byte and in
 *    order, fileSequence 1..n, the footer unsplit in the last document
 *    (or alone), the empty day, no footer, a receipt too large, the same
 *    bytes on every build; the footer format; the footer of a CloseDay
 *    body;
 *  - the close request of the fdms-reference §8 day: counters in the
 *    canonical order, JSON as expected, the hash of §8 (a known answer),
 *    a signature that verifies with the certificate over the opening
 *    date's string; journaled before the send; a re-run does not build a
 *    new request (ECDSA signatures differ every time: the journaled one
 *    must not change);
 *  - refusals that journal nothing: no day, receipts not submitted, Red
 *    and Grey receipts (Yellow is fine), running totals that disagree
 *    with the receipts (both values named), the lock held; a closed day
 *    is "already closed" (0); the empty day's request;
 *  - an Offline device: the footer journaled as the request, the
 *    documents rebuilt from the journal identical to a second build.
 */
#define _XOPEN_SOURCE 700	/* nftw */
#define _DEFAULT_SOURCE 1

#include "spool/dayclose.h"

#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "daemon/config.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "fiscal/sign.h"
#include "io/document.h"
#include "spool/dayfile.h"
#include "spool/devadmin.h"
#include "store/store.h"
#include "tap.h"
#include "testcert.h"
#include "util/buf.h"
#include "util/fsutil.h"

static char trash[] = "/tmp/test_dayclose.XXXXXX";
static char *certs[8];
static int ncerts;

/* ---- dayfile --------------------------------------------------------- */

struct docs {
	int	 n;
	char	*v[64];
	size_t	 len[64];
	int64_t	 seq[64];
};

static int
keep_cb(int64_t seq, const char *doc, size_t len, void *arg)
{
	struct docs *d = arg;

	if (d->n >= 64)
		return 1;
	d->v[d->n] = strndup(doc, len);
	d->len[d->n] = len;
	d->seq[d->n] = seq;
	d->n++;
	return 0;
}

static void
docs_free(struct docs *d)
{
	int i;

	for (i = 0; i < d->n; i++)
		free(d->v[i]);
	memset(d, 0, sizeof(*d));
}

/* A made-up receipt of about len bytes (dayfile does not read receipts). */
static char *
fake_receipt(int n, size_t len)
{
	char *r = malloc(len + 64);
	size_t k;

	k = (size_t)snprintf(r, len + 64, "{\"receiptCounter\":%d,\"pad\":\"", n);
	while (k < len)
		r[k++] = 'a' + n % 26;
	snprintf(r + k, 64, "\"}");
	return r;
}

static void
test_dayfile_split(void)
{
	static const char footer[] = "{\"fiscalDayCounters\":[],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":\"H\",\"signature\":\"S\"},"
	    "\"receiptCounter\":7,\"fiscalDayClosed\":\"2026-03-02T20:00:00\"}";
	struct dayfile d;
	struct docs a, b;
	char *rc[7], *p;
	const char *at;
	cJSON *o, *h, *c;
	int i, k, found;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	for (i = 0; i < 7; i++)
		rc[i] = fake_receipt(i + 1, 300);
	/* Limit 1000: three receipts (about 300 bytes each) fit per document. */
	CHECK_INT(dayfile_begin(&d, 321, 84, "2026-03-02T08:00:00", footer, 1000,
	    keep_cb, &a), 0);
	for (i = 0; i < 7; i++)
		CHECK_INT(dayfile_add(&d, rc[i], strlen(rc[i])), 0);
	CHECK_INT(dayfile_end(&d), 0);
	dayfile_free(&d);
	CHECK(a.n >= 3, "documents: %d", a.n);
	found = 0;
	for (k = 0; k < a.n; k++) {
		CHECK(a.len[k] <= 1000, "document %d is %zu bytes", k, a.len[k]);
		CHECK_INT(a.seq[k], k + 1);
		o = cJSON_Parse(a.v[k]);
		CHECK(o != NULL, "document %d is JSON: %s", k, a.v[k]);
		h = cJSON_GetObjectItemCaseSensitive(o, "header");
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(h, "deviceID")->
		    valuedouble, 321);
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(h, "fiscalDayNo")->
		    valuedouble, 84);
		CHECK_STR(cJSON_GetObjectItemCaseSensitive(h,
		    "fiscalDayOpened")->valuestring, "2026-03-02T08:00:00");
		CHECK_INT(cJSON_GetObjectItemCaseSensitive(h, "fileSequence")->
		    valuedouble, k + 1);
		/* The footer only in the last document, unsplit. */
		CHECK((cJSON_GetObjectItemCaseSensitive(o, "footer") != NULL) ==
		    (k == a.n - 1), "footer in document %d of %d", k + 1, a.n);
		c = cJSON_GetObjectItemCaseSensitive(o, "content");
		if (c != NULL)
			found += cJSON_GetArraySize(
			    cJSON_GetObjectItemCaseSensitive(c, "receipts"));
		cJSON_Delete(o);
	}
	CHECK_INT(found, 7);
	CHECK(strstr(a.v[a.n - 1], footer) != NULL, "footer byte for byte");
	/* Every receipt byte for byte, in order across the documents. */
	for (i = 0, k = 0, at = a.v[0]; i < 7 && k < a.n; ) {
		if ((p = strstr(at, rc[i])) != NULL) {
			at = p + strlen(rc[i]);
			i++;
		} else if (++k < a.n)
			at = a.v[k];
	}
	CHECK_INT(i, 7);

	/* The same inputs, the same bytes. */
	dayfile_begin(&d, 321, 84, "2026-03-02T08:00:00", footer, 1000, keep_cb,
	    &b);
	for (i = 0; i < 7; i++)
		dayfile_add(&d, rc[i], strlen(rc[i]));
	dayfile_end(&d);
	dayfile_free(&d);
	CHECK_INT(b.n, a.n);
	for (k = 0; k < a.n && k < b.n; k++)
		CHECK(strcmp(a.v[k], b.v[k]) == 0, "document %d differs", k);
	docs_free(&a);
	docs_free(&b);

	/* A last document too full for the footer: the footer alone. */
	dayfile_begin(&d, 321, 84, "2026-03-02T08:00:00", footer, 800, keep_cb,
	    &a);
	for (i = 0; i < 2; i++)
		dayfile_add(&d, rc[i], strlen(rc[i]));
	CHECK_INT(dayfile_end(&d), 0);
	dayfile_free(&d);
	CHECK_INT(a.n, 2);
	if (a.n == 2) {
		CHECK(strstr(a.v[0], "footer") == NULL, "first: no footer");
		CHECK(strstr(a.v[1], "\"content\"") == NULL &&
		    strstr(a.v[1], footer) != NULL, "second: footer alone: %s",
		    a.v[1]);
		CHECK(a.len[0] <= 800 && a.len[1] <= 800, "sizes");
	}
	docs_free(&a);

	/* The empty day: one document, header and footer. */
	dayfile_begin(&d, 321, 84, "2026-03-02T08:00:00", footer, 0, keep_cb,
	    &a);
	CHECK_INT(dayfile_end(&d), 0);
	dayfile_free(&d);
	CHECK_INT(a.n, 1);
	if (a.n == 1)
		CHECK_STR(a.v[0], "{\"header\":{\"deviceID\":321,\"fiscalDayNo\":"
		    "84,\"fiscalDayOpened\":\"2026-03-02T08:00:00\","
		    "\"fileSequence\":1},\"footer\":{\"fiscalDayCounters\":[],"
		    "\"fiscalDayDeviceSignature\":{\"hash\":\"H\",\"signature\":"
		    "\"S\"},\"receiptCounter\":7,\"fiscalDayClosed\":"
		    "\"2026-03-02T20:00:00\"}}");
	docs_free(&a);

	/* No footer (an open day's export). */
	dayfile_begin(&d, 1, 2, "2026-03-02T08:00:00", NULL, 0, keep_cb, &a);
	dayfile_add(&d, "{\"x\":1}", 7);
	dayfile_add(&d, "{\"x\":2}", 7);
	CHECK_INT(dayfile_end(&d), 0);
	dayfile_free(&d);
	CHECK_INT(a.n, 1);
	if (a.n == 1)
		CHECK_STR(a.v[0], "{\"header\":{\"deviceID\":1,\"fiscalDayNo\":2,"
		    "\"fiscalDayOpened\":\"2026-03-02T08:00:00\","
		    "\"fileSequence\":1},\"content\":{\"receipts\":[{\"x\":1},"
		    "{\"x\":2}]}}");
	docs_free(&a);

	/* A receipt that cannot fit: an error, never a document too large. */
	dayfile_begin(&d, 321, 84, "2026-03-02T08:00:00", footer, 300, keep_cb,
	    &a);
	CHECK_INT(dayfile_add(&d, rc[0], strlen(rc[0])), -1);
	CHECK(strstr(d.err, "does not fit") != NULL, "err: %s", d.err);
	dayfile_free(&d);
	CHECK_INT(a.n, 0);
	docs_free(&a);
	for (i = 0; i < 7; i++)
		free(rc[i]);
}

static void
test_footer(void)
{
	struct counters c;
	struct counter k;
	struct store_day day;
	struct buf b;

	counters_init(&c);
	memset(&k, 0, sizeof(k));
	k.type = COUNTER_SALE_BY_TAX;
	memcpy(k.currency, "USD", 4);
	k.tax_id = 517;
	k.has_percent = true;
	k.percent = 1550;
	k.value = 1155;
	counters_add(&c, &k);
	k.type = COUNTER_BALANCE_BY_MONEY_TYPE;
	k.tax_id = 0;
	k.has_percent = false;
	k.percent = 0;
	k.money_type = MONEY_CASH;
	k.value = -1655;
	counters_add(&c, &k);
	counters_finish(&c);
	buf_init(&b, 4096);
	CHECK_INT(dayfile_footer(&b, &c, "H=", "S=", 3, "2026-03-02T20:00:00"),
	    0);
	CHECK_STR(b.p, "{\"fiscalDayCounters\":[{\"fiscalCounterType\":"
	    "\"SaleByTax\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":15.50,"
	    "\"fiscalCounterValue\":11.55},{\"fiscalCounterType\":"
	    "\"BalanceByMoneyType\",\"fiscalCounterCurrency\":\"USD\","
	    "\"fiscalCounterMoneyType\":\"Cash\",\"fiscalCounterValue\":-16.55}],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":\"H=\",\"signature\":\"S=\"},"
	    "\"receiptCounter\":3,\"fiscalDayClosed\":\"2026-03-02T20:00:00\"}");
	CHECK(dayfile_is_footer(b.p), "a footer");
	CHECK(!dayfile_is_footer("{\"fiscalDayNo\":1}"), "a CloseDay body");

	/* The footer of a day closed with CloseDay: its body, FDMS's time. */
	memset(&day, 0, sizeof(day));
	day.status = STORE_DAY_CLOSED;
	day.close_request = "{\"fiscalDayNo\":7,\"fiscalDayCounters\":[],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":\"H\",\"signature\":\"S\"},"
	    "\"receiptCounter\":0}";
	day.closed = "2026-03-02T21:00:00";
	buf_reset(&b);
	CHECK_INT(dayfile_day_footer(&day, &b), 1);
	CHECK_STR(buf_str(&b), "{\"fiscalDayCounters\":[],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":\"H\",\"signature\":\"S\"},"
	    "\"receiptCounter\":0,\"fiscalDayClosed\":\"2026-03-02T21:00:00\"}");
	day.status = STORE_DAY_CLOSE_FAILED;
	buf_reset(&b);
	CHECK_INT(dayfile_day_footer(&day, &b), 0);
	buf_free(&b);
	counters_free(&c);
}

/* ---- a journal with devices ----------------------------------------- */

/* A self-signed P-256 certificate and its key (tests/unit/testcert.h). */
static char *
make_cert(char **key_pem)
{
	return testcert_p256("ZIMRA-SN-1-0000000001", key_pem);
}

static const char online_config[] =
    "{\"taxPayerName\":\"T\",\"taxPayerTIN\":\"1234567890\","
    "\"vatNumber\":\"123456789\",\"deviceOperatingMode\":\"Online\","
    "\"applicableTaxes\":[{\"taxID\":1,\"taxName\":\"Exempt\"},"
    "{\"taxID\":517,\"taxPercent\":15.50,\"taxName\":\"VAT\"}],"
    "\"qrUrl\":\"https://fdmstest.zimra.co.zw\"}";
static const char offline_config[] =
    "{\"taxPayerName\":\"T\",\"taxPayerTIN\":\"1234567890\","
    "\"vatNumber\":\"123456789\",\"deviceOperatingMode\":\"Offline\","
    "\"applicableTaxes\":[{\"taxID\":1,\"taxName\":\"Exempt\"},"
    "{\"taxID\":517,\"taxPercent\":15.50,\"taxName\":\"VAT\"}],"
    "\"qrUrl\":\"https://fdmstest.zimra.co.zw\"}";

static void
add_device(struct store *s, int64_t id, const char *config)
{
	struct store_device d;
	char *key = NULL, serial[32];

	snprintf(serial, sizeof(serial), "SN-%lld", (long long)id);
	memset(&d, 0, sizeof(d));
	d.device_id = id;
	d.serial_no = serial;
	d.model_name = "Server";
	d.model_version = "v1";
	d.env = "development";
	d.base_url = "https://127.0.0.1:1";
	CHECK(store_device_put(s, &d) == STORE_OK, "device: %s",
	    store_errmsg(s));
	certs[ncerts] = make_cert(&key);
	CHECK(certs[ncerts] != NULL && key != NULL, "certificate");
	CHECK(store_key_put(s, id, key, strlen(key), NULL) == STORE_OK, "key");
	CHECK(store_cert_put(s, id, certs[ncerts], NULL) == STORE_OK, "cert");
	ncerts++;
	free(key);
	CHECK(store_config_put(s, id, config, NULL) == STORE_OK, "config");
}

static void
open_day(struct store *s, int64_t id, int64_t day_no, const char *opened)
{
	struct store_day_update u;

	CHECK(store_day_open(s, id, day_no, opened) == STORE_OK, "day open: %s",
	    store_errmsg(s));
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_OPEN;
	u.open_operation_id = "op-open";
	CHECK(store_day_update(s, id, day_no, &u) == STORE_OK, "day confirm");
}

/* The §8 sale (bread exempt 5.00, soap 15.5% 11.55, 16.55 cash). */
static void
receipt_text(char *doc, size_t len, int64_t counter, int64_t global,
    const char *invoice, const char *date)
{
	snprintf(doc, len,
	    "{\"receiptType\":\"FiscalInvoice\",\"receiptCurrency\":\"USD\","
	    "\"receiptCounter\":%lld,\"receiptGlobalNo\":%lld,"
	    "\"invoiceNo\":\"%s\",\"receiptDate\":\"%s\","
	    "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1,"
	    "\"receiptLineHSCode\":\"12345678\",\"receiptLineName\":\"Bread\","
	    "\"receiptLinePrice\":5.00,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":5.00,\"taxID\":1},"
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":2,"
	    "\"receiptLineHSCode\":\"87654321\",\"receiptLineName\":\"Soap\","
	    "\"receiptLinePrice\":11.55,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":11.55,\"taxPercent\":15.50,\"taxID\":517}],"
	    "\"receiptTaxes\":[{\"taxID\":1,\"taxAmount\":0.00,"
	    "\"salesAmountWithTax\":5.00},{\"taxID\":517,\"taxPercent\":15.50,"
	    "\"taxAmount\":1.55,\"salesAmountWithTax\":11.55}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"Cash\","
	    "\"paymentAmount\":16.55}],\"receiptTotal\":16.55,"
	    "\"receiptPrintForm\":\"Receipt48\"}", (long long)counter,
	    (long long)global, invoice, date);
}

/*
 * Journal the next receipt of the device's open day, as the pipeline does;
 * extra_cash: cents added to its counters (the store takes the counters
 * it is given: close-day must notice when they disagree with receipts).
 */
static void
add_receipt(struct store *s, int64_t id, const char *date, int64_t extra_cash)
{
	struct store_device sd;
	struct store_day day;
	struct store_receipt r;
	struct findings f;
	struct counters c;
	struct receipt *rc;
	const char *stage;
	char doc[4096], inv[32], hash[SHA256_B64_LEN + 1], src[65];
	size_t i;

	CHECK(store_device_get(s, id, &sd) == STORE_OK, "device get");
	CHECK(store_day_get(s, id, 0, &day) == STORE_OK, "day get");
	snprintf(inv, sizeof(inv), "INV-%lld-%lld", (long long)id,
	    (long long)sd.last_global_no + 1);
	receipt_text(doc, sizeof(doc), day.receipt_counter + 1,
	    sd.last_global_no + 1, inv, date);
	findings_clear(&f);
	rc = doc_read(doc, strlen(doc), DOC_JSON, NULL, 0, &f, &stage);
	CHECK(rc != NULL, "receipt parses");
	counters_init(&c);
	CHECK(rc != NULL && counters_add_receipt(&c, rc) == 0, "counters");
	if (extra_cash != 0) {
		struct counter k;

		memset(&k, 0, sizeof(k));
		k.type = COUNTER_BALANCE_BY_MONEY_TYPE;
		memcpy(k.currency, "USD", 4);
		k.money_type = MONEY_CASH;
		k.value = extra_cash;
		counters_add(&c, &k);
	}
	sign_sha256_b64(doc, strlen(doc), hash);
	for (i = 0; i < 64; i++)
		src[i] = "0123456789abcdef"[(unsigned char)hash[i % 44] % 16];
	src[64] = '\0';
	memset(&r, 0, sizeof(r));
	r.device_id = id;
	r.global_no = sd.last_global_no + 1;
	r.day_no = day.day_no;
	r.counter = day.receipt_counter + 1;
	r.invoice_no = inv;
	r.type = RECEIPT_FISCAL_INVOICE;
	r.currency = "USD";
	r.date = date;
	r.total = 1655;
	r.wire_json = doc;
	r.wire_len = strlen(doc);
	r.hash = hash;
	r.signature = "c2ln";
	r.prev_hash = day.last_hash;
	r.source_name = inv;
	r.source_sha256 = src;
	CHECK(store_receipt_insert(s, &r, &c) == STORE_OK, "insert: %s",
	    store_errmsg(s));
	counters_free(&c);
	receipt_free(rc);
	store_day_free(&day);
	store_device_free(&sd);
}

/* FDMS's answer for receipt global_no; verrs NULL: accepted cleanly. */
static void
answer(struct store *s, int64_t id, int64_t global_no, const char *verrs)
{
	struct store_answer a;

	memset(&a, 0, sizeof(a));
	a.receipt_id = 100000 + global_no;
	a.server_date = "2026-03-02T10:15:01";
	a.server_signature = "{}";
	a.validation_errors = verrs;
	a.operation_id = "op";
	a.flagged = verrs != NULL;
	CHECK(store_receipt_attempt(s, id, global_no) == STORE_OK, "attempt: %s",
	    store_errmsg(s));
	CHECK(store_receipt_answer(s, id, global_no, &a) == STORE_OK,
	    "answer: %s", store_errmsg(s));
}

static const char *
day_status(struct store *s, int64_t id)
{
	static char st[32];
	struct store_day d;

	if (store_day_get(s, id, 0, &d) != STORE_OK)
		return "none";
	snprintf(st, sizeof(st), "%s", store_day_status_name(d.status));
	store_day_free(&d);
	return st;
}

/* Run close-day for the device named; stderr captured into err. */
static int
close_day(struct devadmin *a, const char *name, char *err, size_t errlen)
{
	struct dayclose_opts o;
	char path[512];
	FILE *fp;
	size_t i, n;
	int saved, fd, rc;

	memset(&o, 0, sizeof(o));
	o.poll_ms = 10;
	o.timeout_s = 2;
	o.file_max = 2500;
	for (i = 0; i < a->cfg->ndevices; i++)
		if (strcmp(a->cfg->devices[i].name, name) == 0)
			devadmin_select(a, i);
	snprintf(path, sizeof(path), "%s/stderr", trash);
	fflush(stderr);
	saved = dup(2);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	dup2(fd, 2);
	close(fd);
	fp = fopen("/dev/null", "w");
	rc = dayclose_run(a, &o, fp);
	fclose(fp);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	err[0] = '\0';
	if ((fp = fopen(path, "r")) != NULL) {
		n = fread(err, 1, errlen - 1, fp);
		err[n] = '\0';
		fclose(fp);
	}
	return rc;
}

#define DEV_A	12345		/* the §8 day */
#define DEV_B	222		/* refusals: pending, Red */
#define DEV_C	333		/* Grey */
#define DEV_D	444		/* Offline; 555 counters, 666 empty day */

static void
test_close(void)
{
	static const char s8_hash[] =
	    "ZHBVa2irjfWJRF5b70fM6xd7ValdwNqqXy+Ees5usxU=";
	static const char s8_string[] = "1234572026-03-02SALEBYTAXUSD500"
	    "SALEBYTAXUSD15.501155SALETAXBYTAXUSD15.50155"
	    "BALANCEBYMONEYTYPEUSDCASH1655";
	struct devadmin a;
	struct store *s;
	struct store_day day;
	struct sigkey *pub;
	struct docs x, y;
	char conf[512], err[8192], want[2048], *req = NULL, *sig = NULL;
	char lock[512], ferr[256];
	FILE *fp;
	int lfd = -1, n1, n2;

	snprintf(conf, sizeof(conf), "%s/spoold.conf", trash);
	fp = fopen(conf, "w");
	fprintf(fp, "[global]\nenv = development\n"
	    "fdms_base_url = https://127.0.0.1:1\n"
	    "database = %s/db.sqlite3\nlogs_dir = %s/logs\nspool_dir = %s/spool\n"
	    "[device a]\ndevice_id = %d\nserial_no = SN-A\n"
	    "[device b]\ndevice_id = %d\nserial_no = SN-B\n"
	    "[device c]\ndevice_id = %d\nserial_no = SN-C\n"
	    "[device d]\ndevice_id = %d\nserial_no = SN-D\n"
	    "[device e]\ndevice_id = 555\nserial_no = SN-E\n"
	    "[device f]\ndevice_id = 666\nserial_no = SN-F\n",
	    trash, trash, trash, DEV_A, DEV_B, DEV_C, DEV_D);
	fclose(fp);
	setenv("SPOOLD_FDMS_TIMEOUT_MS", "2000", 1);
	if (devadmin_open(&a, conf, "a", false) != 0) {
		CHECK(0, "devadmin_open");
		return;
	}
	s = a.store;
	add_device(s, DEV_A, online_config);
	add_device(s, DEV_B, online_config);
	add_device(s, DEV_C, online_config);
	add_device(s, DEV_D, offline_config);
	add_device(s, 555, online_config);
	add_device(s, 666, online_config);

	/* -- the §8 day: one receipt, flagged Yellow only -- */
	open_day(s, DEV_A, 7, "2026-03-02T08:00:00");
	add_receipt(s, DEV_A, "2026-03-02T10:15:00", 0);
	answer(s, DEV_A, 1, "[{\"validationErrorCode\":\"RCPT031\","
	    "\"validationErrorColor\":\"Yellow\"}]");
	CHECK_INT(close_day(&a, "a", err, sizeof(err)), 75);
	CHECK(strstr(err, "FDMS unreachable") != NULL, "75 says why: %s", err);
	CHECK_STR(day_status(s, DEV_A), "close_requested");
	CHECK(store_day_get(s, DEV_A, 7, &day) == STORE_OK, "day 7");
	CHECK_STR(day.close_hash, s8_hash);
	snprintf(want, sizeof(want), "{\"fiscalDayNo\":7,\"fiscalDayCounters\":["
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":"
	    "\"USD\",\"fiscalCounterTaxID\":1,\"fiscalCounterValue\":5.00},"
	    "{\"fiscalCounterType\":\"SaleByTax\",\"fiscalCounterCurrency\":"
	    "\"USD\",\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":"
	    "15.50,\"fiscalCounterValue\":11.55},"
	    "{\"fiscalCounterType\":\"SaleTaxByTax\",\"fiscalCounterCurrency\":"
	    "\"USD\",\"fiscalCounterTaxID\":517,\"fiscalCounterTaxPercent\":"
	    "15.50,\"fiscalCounterValue\":1.55},"
	    "{\"fiscalCounterType\":\"BalanceByMoneyType\","
	    "\"fiscalCounterCurrency\":\"USD\",\"fiscalCounterMoneyType\":"
	    "\"Cash\",\"fiscalCounterValue\":16.55}],"
	    "\"fiscalDayDeviceSignature\":{\"hash\":\"%s\",\"signature\":\"%s\"},"
	    "\"receiptCounter\":1}", s8_hash, day.close_signature ?
	    day.close_signature : "");
	CHECK_STR(day.close_request, want);
	CHECK(day.close_operation_id == NULL, "not accepted by FDMS");
	pub = sigkey_load_public(certs[0], strlen(certs[0]), ferr,
	    sizeof(ferr));
	CHECK(pub != NULL && sign_verify_b64(pub, s8_string,
	    strlen(s8_string), day.close_signature) == 1,
	    "the signature verifies over the opening date's string");
	sigkey_free(pub);
	req = strdup(day.close_request);
	sig = strdup(day.close_signature);
	store_day_free(&day);
	/* A re-run follows that request up: no new one (new ECDSA signature). */
	CHECK_INT(close_day(&a, "a", err, sizeof(err)), 75);
	CHECK(store_day_get(s, DEV_A, 7, &day) == STORE_OK, "day 7");
	CHECK_STR(day.close_request, req);
	CHECK_STR(day.close_signature, sig);
	store_day_free(&day);
	free(req);
	free(sig);

	/* -- refusals: no day, pending, Red -- */
	CHECK_INT(close_day(&a, "b", err, sizeof(err)), 1);
	CHECK(strstr(err, "no fiscal day is open") != NULL, "%s", err);
	open_day(s, DEV_B, 1, "2026-03-02T08:00:00");
	add_receipt(s, DEV_B, "2026-03-02T10:00:00", 0);
	add_receipt(s, DEV_B, "2026-03-02T10:00:01", 0);
	answer(s, DEV_B, 1, NULL);
	CHECK_INT(close_day(&a, "b", err, sizeof(err)), 1);
	CHECK(strstr(err, "spoold has not submitted 1 receipts yet (the first "
	    "is receipt 2)") != NULL, "%s", err);
	CHECK_STR(day_status(s, DEV_B), "open");
	answer(s, DEV_B, 2, "[{\"validationErrorCode\":\"RCPT031\","
	    "\"validationErrorColor\":\"Yellow\"},{\"validationErrorCode\":"
	    "\"RCPT025\",\"validationErrorColor\":\"Red\"}]");
	CHECK_INT(close_day(&a, "b", err, sizeof(err)), 1);
	CHECK(strstr(err, "FDMS flagged receipt 2 (receiptCounter 2) Red "
	    "RCPT025") != NULL, "%s", err);
	CHECK_STR(day_status(s, DEV_B), "open");

	/* -- Grey, counters, the lock, the empty day, a closed day -- */
	open_day(s, DEV_C, 3, "2026-03-01T08:00:00");
	add_receipt(s, DEV_C, "2026-03-01T09:00:00", 0);
	answer(s, DEV_C, 1, "[{\"validationErrorCode\":\"RCPT011\","
	    "\"validationErrorColor\":\"Grey\"}]");
	CHECK_INT(close_day(&a, "c", err, sizeof(err)), 1);
	CHECK(strstr(err, "Grey RCPT011") != NULL, "%s", err);

	open_day(s, 555, 1, "2026-03-01T08:00:00");
	add_receipt(s, 555, "2026-03-01T09:00:00", 0);
	answer(s, 555, 1, NULL);
	add_receipt(s, 555, "2026-03-01T09:00:01", 1);
	answer(s, 555, 2, NULL);
	CHECK_INT(close_day(&a, "e", err, sizeof(err)), 1);
	CHECK(strstr(err, "counter BalanceByMoneyType USD Cash: the journal's "
	    "running total is 33.11, recomputed from the day's receipts it is "
	    "33.10") != NULL, "%s", err);
	CHECK_STR(day_status(s, 555), "open");

	/* The lock: a second close-day of the device refuses. */
	snprintf(lock, sizeof(lock), "%s/spool/.close-day-%d.lock", trash,
	    DEV_A);
	CHECK(fsutil_lock(lock, &lfd, ferr, sizeof(ferr)) == FSUTIL_OK,
	    "take the lock: %s", ferr);
	CHECK_INT(close_day(&a, "a", err, sizeof(err)), 1);
	CHECK(strstr(err, "another spoolctl close-day is running") != NULL, "%s",
	    err);
	close(lfd);

	/* The empty day: counters [] and receiptCounter 0. */
	open_day(s, 666, 4, "2026-02-28T23:00:00");
	CHECK_INT(close_day(&a, "f", err, sizeof(err)), 75);
	CHECK(store_day_get(s, 666, 4, &day) == STORE_OK, "day 4");
	CHECK(day.close_request != NULL && strncmp(day.close_request,
	    "{\"fiscalDayNo\":4,\"fiscalDayCounters\":[],", 40) == 0 &&
	    strstr(day.close_request, "\"receiptCounter\":0}") != NULL,
	    "empty day request: %s", day.close_request);
	{
		char h[SHA256_B64_LEN + 1];

		/* deviceID, day, the OPENING date: nothing else. */
		sign_sha256_b64("66642026-02-28", 14, h);
		CHECK_STR(day.close_hash, h);
	}
	store_day_free(&day);

	/* A closed day: "already closed", 0, nothing changed. */
	{
		struct store_day_update u;

		memset(&u, 0, sizeof(u));
		u.status = STORE_DAY_CLOSED;
		u.closed = "2026-03-01T20:00:00";
		CHECK(store_day_update(s, 666, 4, &u) == STORE_OK, "close");
	}
	CHECK_INT(close_day(&a, "f", err, sizeof(err)), 0);

	/* -- Offline: the footer is the request; documents rebuilt alike -- */
	open_day(s, DEV_D, 2, "2026-03-02T07:00:00");
	add_receipt(s, DEV_D, "2026-03-02T09:00:00", 0);
	add_receipt(s, DEV_D, "2026-03-02T09:00:01", 0);
	add_receipt(s, DEV_D, "2026-03-02T09:00:02", 0);
	/* Offline receipts stay "signed": not a reason to refuse. */
	CHECK_INT(close_day(&a, "d", err, sizeof(err)), 75);
	CHECK(strstr(err, "SubmitFile") != NULL, "%s", err);
	CHECK_STR(day_status(s, DEV_D), "close_requested");
	CHECK(store_day_get(s, DEV_D, 2, &day) == STORE_OK, "offline day");
	CHECK(dayfile_is_footer(day.close_request), "footer journaled: %s",
	    day.close_request);
	CHECK(strstr(day.close_request, "\"receiptCounter\":3,"
	    "\"fiscalDayClosed\":\"") != NULL, "footer: %s", day.close_request);
	req = strdup(day.close_request);
	memset(&x, 0, sizeof(x));
	memset(&y, 0, sizeof(y));
	n1 = dayfile_build(s, &day, day.close_request, 2500, keep_cb, &x, ferr,
	    sizeof(ferr));
	n2 = dayfile_build(s, &day, day.close_request, 2500, keep_cb, &y, ferr,
	    sizeof(ferr));
	CHECK(n1 >= 2 && n1 == n2, "documents: %d, %d", n1, n2);
	for (n2 = 0; n2 < x.n && n2 < y.n; n2++)
		CHECK(strcmp(x.v[n2], y.v[n2]) == 0, "rebuild of %d", n2);
	CHECK(x.n > 0 && strstr(x.v[x.n - 1], req) != NULL, "footer last");
	docs_free(&x);
	docs_free(&y);
	store_day_free(&day);
	CHECK_INT(close_day(&a, "d", err, sizeof(err)), 75);
	CHECK(store_day_get(s, DEV_D, 2, &day) == STORE_OK, "offline day");
	CHECK_STR(day.close_request, req);
	store_day_free(&day);
	free(req);
	/* Filed: every receipt of the day leaves the queue, FDMS gives no ID. */
	{
		struct store_stats st;
		struct store_receipt r;
		int64_t n = 0;

		CHECK(store_receipts_filed(s, DEV_D, 2, "op-file", &n) ==
		    STORE_OK, "filed: %s", store_errmsg(s));
		CHECK_INT(n, 3);
		CHECK(store_stats(s, DEV_D, NULL, &st) == STORE_OK, "stats");
		CHECK_INT(st.pending, 0);
		CHECK(store_receipt_by_global(s, DEV_D, 2, &r) == STORE_OK, "r");
		CHECK_INT(r.state, STORE_R_SUBMITTED);
		CHECK(r.has_fdms_receipt_id && r.fdms_receipt_id == 0, "id 0");
		CHECK_STR(r.operation_id, "op-file");
		store_receipt_free(&r);
	}
	/* A close request from close_requested is refused by the store. */
	CHECK_INT(store_day_request_close(s, DEV_D, 2, "{}", "h", "s"),
	    STORE_REFUSED);
	devadmin_close(&a);
}

static int
rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int
main(void)
{
	int i;

	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_dayfile_split();
	test_footer();
	test_close();
	for (i = 0; i < ncerts; i++)
		free(certs[i]);
	nftw(trash, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	return tap_done();
}

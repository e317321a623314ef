/*
 * mkjournal.h - build a real, signed journal through the store API, for
 * the audit's unit test (tests/unit/test_audit.c) and benchmark
 * (tests/bench/bench_audit.c).
 *
 * Every receipt goes the daemon's way (lib/spool/pipeline.c): an input
 * document parsed into the model, numbered, dated, its signature string
 * built (sigstr_receipt) and signed (sign_b64, ECDSA P-256 or RSA made at
 * run time), the wire JSON rendered (fdms_wire_receipt), and journaled
 * with its counters in one store_receipt_insert.  A closed day carries
 * the CloseDay body fdms_req_close_day builds, over counters and a day
 * string signed the same way (what spoolctl close-day journals).  With a
 * done/ directory each receipt's input bytes land there with a result
 * file, named as the daemon names them.
 *
 * Header-only (static functions): included by one program each.
 */
#ifndef TESTS_BENCH_MKJOURNAL_H
#define TESTS_BENCH_MKJOURNAL_H

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/sha.h>
#include <openssl/x509.h>
#include <sqlite3.h>

#include "fdms/fdms.h"
#include "fdms/wire.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/sign.h"
#include "fiscal/sigstr.h"
#include "io/document.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"

/* Each program uses some of these. */
#define MKJ_FN		static __attribute__((unused))

#define MKJ_START	INT64_C(1772438400)	/* 2026-03-02T08:00:00 "local" */

struct mkj {
	struct store	*s;
	int64_t		 device_id;
	struct sigkey	*key;		/* the device's current key */
	int64_t		 cert_id;
	int64_t		 global_no;
	int64_t		 day_no;	/* the open day, 0: none */
	int64_t		 last_day;
	char		 opened[20];
	char		*last_hash;	/* of the open day, NULL: none */
	int64_t		 counter;
	int64_t		 clock;		/* next receiptDate, seconds */
	char		 done_dir[4096];	/* "": no files */
	struct findings	*f;
	char		 err[512];
};

MKJ_FN int
mkj_fail(struct mkj *m, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

MKJ_FN int
mkj_fail(struct mkj *m, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(m->err, sizeof(m->err), fmt, ap);
	va_end(ap);
	return -1;
}

MKJ_FN void
mkj_date(int64_t t, char out[20])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	strftime(out, 20, "%Y-%m-%dT%H:%M:%S", &tm);
}

/* A self-signed certificate for k's public key, PEM (malloc'd). */
MKJ_FN char *
mkj_cert_pem(const struct sigkey *k, int64_t device_id)
{
	static long serial = 1;
	EVP_PKEY *pk = sigkey_evp(k);
	X509 *x = X509_new();
	X509_NAME *n;
	BIO *b = NULL;
	char cn[64], *out = NULL, *p;
	long len;

	if (x == NULL)
		return NULL;
	snprintf(cn, sizeof(cn), "ZIMRA-SN-%" PRId64 "-%010" PRId64, device_id,
	    device_id);
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), serial++);
	/* Valid since yesterday: rows get "now" as their journal time. */
	X509_gmtime_adj(X509_getm_notBefore(x), -86400);
	X509_gmtime_adj(X509_getm_notAfter(x), 365L * 86400);
	X509_set_pubkey(x, pk);
	n = X509_get_subject_name(x);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
	    (const unsigned char *)cn, -1, -1, 0);
	X509_set_issuer_name(x, n);
	if (X509_sign(x, pk, EVP_sha256()) != 0 &&
	    (b = BIO_new(BIO_s_mem())) != NULL &&
	    PEM_write_bio_X509(b, x) == 1 &&
	    (len = BIO_get_mem_data(b, &p)) > 0 &&
	    (out = malloc((size_t)len + 1)) != NULL) {
		memcpy(out, p, (size_t)len);
		out[len] = '\0';
	}
	BIO_free(b);
	X509_free(x);
	return out;
}

/* A new key and certificate become the device's current ones. */
MKJ_FN int
mkj_new_key(struct mkj *m, enum sigkey_type type)
{
	char e[256], *pem;
	int rc;

	sigkey_free(m->key);
	if ((m->key = sigkey_generate(type, e, sizeof(e))) == NULL)
		return mkj_fail(m, "key: %s", e);
	if ((pem = mkj_cert_pem(m->key, m->device_id)) == NULL)
		return mkj_fail(m, "certificate");
	rc = store_cert_put(m->s, m->device_id, pem, &m->cert_id);
	free(pem);
	if (rc != STORE_OK)
		return mkj_fail(m, "cert: %s", store_errmsg(m->s));
	return 0;
}

MKJ_FN void
mkj_free(struct mkj *m)
{
	store_close(m->s);
	sigkey_free(m->key);
	free(m->last_hash);
	free(m->f);
	memset(m, 0, sizeof(*m));
}

/* A new journal at path (must not exist) for device_id. */
MKJ_FN int
mkj_create(struct mkj *m, const char *path, int64_t device_id,
    enum sigkey_type type, const char *done_dir)
{
	struct store_device d;
	enum store_rc rc;
	char serial[32];

	memset(m, 0, sizeof(*m));
	m->device_id = device_id;
	m->clock = MKJ_START;
	if (done_dir != NULL)
		snprintf(m->done_dir, sizeof(m->done_dir), "%s", done_dir);
	if ((m->f = calloc(1, sizeof(*m->f))) == NULL)
		return mkj_fail(m, "out of memory");
	if ((m->s = store_open(path, STORE_OPEN_CREATE, &rc, m->err,
	    sizeof(m->err))) == NULL)
		return -1;
	memset(&d, 0, sizeof(d));
	snprintf(serial, sizeof(serial), "SN-%" PRId64, device_id);
	d.device_id = device_id;
	d.serial_no = serial;
	d.model_name = "Server";
	d.model_version = "v1";
	d.env = "development";
	d.base_url = "https://127.0.0.1:1";
	if (store_device_put(m->s, &d) != STORE_OK)
		return mkj_fail(m, "device: %s", store_errmsg(m->s));
	return mkj_new_key(m, type);
}

MKJ_FN int
mkj_open_day(struct mkj *m)
{
	m->day_no = ++m->last_day;
	mkj_date(m->clock, m->opened);
	m->clock += 60;
	m->counter = 0;
	free(m->last_hash);
	m->last_hash = NULL;
	if (store_day_open(m->s, m->device_id, m->day_no, m->opened) !=
	    STORE_OK)
		return mkj_fail(m, "open day: %s", store_errmsg(m->s));
	return 0;
}

MKJ_FN int
mkj_write(const char *dir, const char *name, const char *data, size_t len)
{
	char path[8192];
	FILE *fp;
	int ok;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	if ((fp = fopen(path, "wb")) == NULL)
		return -1;
	ok = fwrite(data, 1, len, fp) == len;
	return fclose(fp) == 0 && ok ? 0 : -1;
}

MKJ_FN void
mkj_sha256_hex(const char *p, size_t len, char out[65])
{
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)p, len, md);
	for (i = 0; i < sizeof(md); i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
}

/*
 * The input document of one receipt: an exempt line (tax 1) of `exempt`
 * cents and a 15.5% line (tax 517) of `taxed` cents, tax inclusive, paid
 * in `money` ("Cash", "Card", ...).  Credit notes take negative amounts
 * and name receipt 1 of day 1 as their original.
 */
MKJ_FN void
mkj_input(struct mkj *m, struct buf *b, const char *currency,
    enum receipt_type type, int64_t exempt, int64_t taxed, const char *money)
{
	char a[MONEY_BUFSZ], t[MONEY_BUFSZ], x[MONEY_BUFSZ], tot[MONEY_BUFSZ];
	int64_t sign = type == RECEIPT_CREDIT_NOTE ? -1 : 1;
	int64_t tax = money_tax_amount(sign * taxed, 1550, 1);

	money_format(sign * exempt, 2, a, sizeof(a));
	money_format(sign * taxed, 2, t, sizeof(t));
	money_format(tax, 2, x, sizeof(x));
	money_format(sign * (exempt + taxed), 2, tot, sizeof(tot));
	buf_reset(b);
	buf_printf(b, "{\"receiptType\":\"%s\",\"receiptCurrency\":\"%s\","
	    "\"invoiceNo\":\"INV-%" PRId64 "-%" PRId64 "\",",
	    receipt_type_name(type), currency, m->device_id, m->global_no + 1);
	if (type != RECEIPT_FISCAL_INVOICE)
		buf_printf(b, "\"receiptNotes\":\"adjustment\","
		    "\"creditDebitNote\":{\"deviceID\":%" PRId64 ","
		    "\"receiptGlobalNo\":1,\"fiscalDayNo\":1},", m->device_id);
	buf_printf(b, "\"receiptLinesTaxInclusive\":true,\"receiptLines\":["
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":1,"
	    "\"receiptLineHSCode\":\"12345678\",\"receiptLineName\":\"Bread\","
	    "\"receiptLinePrice\":%s,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":%s,\"taxID\":1},"
	    "{\"receiptLineType\":\"Sale\",\"receiptLineNo\":2,"
	    "\"receiptLineHSCode\":\"87654321\",\"receiptLineName\":\"Soap\","
	    "\"receiptLinePrice\":%s,\"receiptLineQuantity\":1,"
	    "\"receiptLineTotal\":%s,\"taxPercent\":15.5,\"taxID\":517}],"
	    "\"receiptTaxes\":[{\"taxID\":1,\"taxAmount\":0,"
	    "\"salesAmountWithTax\":%s},{\"taxID\":517,\"taxPercent\":15.5,"
	    "\"taxAmount\":%s,\"salesAmountWithTax\":%s}],"
	    "\"receiptPayments\":[{\"moneyTypeCode\":\"%s\","
	    "\"paymentAmount\":%s}],\"receiptTotal\":%s}\n",
	    a, a, t, t, a, x, t, money, tot, tot);
}

/*
 * One receipt in the open day, signed with `signer` (NULL: the device's
 * key; another key makes a receipt the audit must refuse).
 */
MKJ_FN int
mkj_receipt(struct mkj *m, const char *currency, enum receipt_type type,
    int64_t exempt, int64_t taxed, const char *money,
    const struct sigkey *signer)
{
	struct store_receipt nr;
	struct counters c;
	struct receipt *r;
	struct buf in, sb, wire;
	const char *stage;
	char date[20], hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1];
	char name[64], rname[96], sha[65], e[256];
	int rc = -1;

	buf_init(&in, 1 << 20);
	buf_init(&sb, 1 << 16);
	buf_init(&wire, 1 << 20);
	counters_init(&c);
	mkj_input(m, &in, currency, type, exempt, taxed, money);
	findings_clear(m->f);
	if ((r = doc_read(in.p, in.len, DOC_JSON, NULL, 0, m->f, &stage)) ==
	    NULL) {
		mkj_fail(m, "input: %s", m->f->n ? m->f->v[0].message : "?");
		goto out;
	}
	mkj_date(m->clock++, date);
	r->has_counter = r->has_global_no = true;
	r->counter = m->counter + 1;
	r->global_no = m->global_no + 1;
	r->date = arena_strdup(r->arena, date);
	if (r->date == NULL || sigstr_receipt(r, m->device_id, m->last_hash,
	    &sb) == -1) {
		mkj_fail(m, "signature string");
		goto out;
	}
	sign_sha256_b64(sb.p, sb.len, hash);
	if (sign_b64(signer ? signer : m->key, sb.p, sb.len, sig, sizeof(sig),
	    e, sizeof(e)) == -1) {
		mkj_fail(m, "sign: %s", e);
		goto out;
	}
	r->sig_hash = hash;
	r->sig_signature = sig;
	if (fdms_wire_receipt(r, &wire, e, sizeof(e)) == -1 ||
	    counters_add_receipt(&c, r) == -1) {
		mkj_fail(m, "wire: %s", e);
		goto out;
	}
	snprintf(name, sizeof(name), "r%07" PRId64 ".json", r->global_no);
	mkj_sha256_hex(in.p, in.len, sha);
	memset(&nr, 0, sizeof(nr));
	nr.device_id = m->device_id;
	nr.global_no = r->global_no;
	nr.day_no = m->day_no;
	nr.counter = r->counter;
	nr.invoice_no = r->invoice_no;
	nr.type = r->type;
	nr.currency = r->currency;
	nr.date = r->date;
	nr.total = r->total;
	nr.wire_json = wire.p;
	nr.wire_len = wire.len;
	nr.hash = hash;
	nr.signature = sig;
	nr.prev_hash = m->last_hash;
	nr.cert_id = m->cert_id;
	nr.source_name = name;
	nr.source_sha256 = sha;
	if (store_receipt_insert(m->s, &nr, &c) != STORE_OK) {
		mkj_fail(m, "insert: %s", store_errmsg(m->s));
		goto out;
	}
	m->global_no++;
	m->counter++;
	free(m->last_hash);
	if ((m->last_hash = strdup(hash)) == NULL) {
		mkj_fail(m, "out of memory");
		goto out;
	}
	if (m->done_dir[0] != '\0') {
		char res[256];
		int n;

		snprintf(rname, sizeof(rname), "%s.result.json", name);
		n = snprintf(res, sizeof(res), "{\"file\":\"%s\",\"status\":"
		    "\"signed\",\"deviceID\":%" PRId64 ",\"fiscalDayNo\":%"
		    PRId64 ",\"receiptCounter\":%" PRId64 ",\"receiptGlobalNo\":%"
		    PRId64 ",\"receiptHash\":\"%s\"}\n", name, m->device_id,
		    m->day_no, r->counter, r->global_no, hash);
		if (mkj_write(m->done_dir, name, in.p, in.len) == -1 ||
		    mkj_write(m->done_dir, rname, res, (size_t)n) == -1) {
			mkj_fail(m, "writing done/%s", name);
			goto out;
		}
	}
	rc = 0;
out:
	receipt_free(r);
	counters_free(&c);
	buf_free(&in);
	buf_free(&sb);
	buf_free(&wire);
	return rc;
}

/* Close the open day the way close-day journals it: CloseDay body, signed. */
MKJ_FN int
mkj_close_day(struct mkj *m)
{
	struct store_day_update u;
	struct fdms_close_day_args args;
	struct fdms_request req;
	struct store_day d;
	struct counters c;
	struct buf sb;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], e[256];
	char closed[20];
	int rc = -1;
	size_t i;

	counters_init(&c);
	buf_init(&sb, 1 << 16);
	fdms_request_init(&req);
	if (store_day_get(m->s, m->device_id, m->day_no, &d) != STORE_OK)
		return mkj_fail(m, "day: %s", store_errmsg(m->s));
	for (i = 0; i < d.counters.n; i++)
		if (counters_add(&c, &d.counters.v[i]) == -1)
			goto out;
	counters_finish(&c);
	if (sigstr_day(m->device_id, m->day_no, d.opened, &c, &sb) == -1)
		goto out;
	sign_sha256_b64(sb.p, sb.len, hash);
	if (sign_b64(m->key, sb.p, sb.len, sig, sizeof(sig), e,
	    sizeof(e)) == -1)
		goto out;
	memset(&args, 0, sizeof(args));
	args.day_no = m->day_no;
	args.counters = &c;
	args.hash = hash;
	args.signature = sig;
	args.receipt_counter = d.receipt_counter;
	if (fdms_req_close_day(&req, m->device_id, &args) == -1) {
		mkj_fail(m, "close request: %s", req.err);
		goto out;
	}
	mkj_date(m->clock, closed);
	m->clock += 3600;
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSED;
	u.close_request = buf_str(&req.body);
	u.close_hash = hash;
	u.close_signature = sig;
	u.close_operation_id = "sim-op-1";
	u.closed = closed;
	if (store_day_update(m->s, m->device_id, m->day_no, &u) != STORE_OK) {
		mkj_fail(m, "close: %s", store_errmsg(m->s));
		goto out;
	}
	m->day_no = 0;
	rc = 0;
out:
	if (rc == -1 && m->err[0] == '\0')
		mkj_fail(m, "closing day %" PRId64, m->day_no);
	store_day_free(&d);
	counters_free(&c);
	buf_free(&sb);
	fdms_request_free(&req);
	return rc;
}

#endif

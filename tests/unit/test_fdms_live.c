/*
 * test_fdms_live.c - the FDMS client against the simulator over real TLS.
 *
 * With FDMS_SIM_URL and FDMS_SIM_CA set, uses that simulator; otherwise
 * starts tests/fdms-sim/fdms-sim itself (fork + execvp, READY line read
 * from a pipe), in a fresh state directory, and stops it at the end.  A
 * missing or failing simulator is a FAILURE, never a skip.
 *
 * Covers: VerifyTaxpayerInformation + RegisterDevice with ECDSA and RSA
 * keys (CSR from lib/fdms/csr), then GetConfig, GetStatus, OpenDay, Ping,
 * GetServerCertificate, SubmitReceipt, CloseDay (empty day, polled to
 * FiscalDayClosed) and IssueCertificate (and the switch to the new
 * certificate) over mutual TLS; keep-alive
 * reuse; the non-blocking API driving two devices from one poll loop; TLS
 * refusals (wrong CA, no client certificate, another device's certificate,
 * http:// refused by the client); faults injected through POST /_sim/fault
 * (500, 429 + Retry-After, drop after sending, timeout, commit-then-drop
 * and the identical resend answered with the same receiptID, the bytes
 * FDMS stored equal to the bytes journaled).
 */
#define _XOPEN_SOURCE 700	/* nftw */

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <curl/curl.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "fdms/csr.h"
#include "fdms/fdms.h"
#include "fdms/wire.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/receipt.h"
#include "fiscal/sign.h"
#include "fiscal/sigstr.h"
#include "io/jsonrx.h"
#include "io/receipt_tree.h"
#include "simctl.h"
#include "tap.h"
#include "util/buf.h"
#include "util/log.h"
#include "util/timeutil.h"

#define ACTIVATION_KEY	"TESTKEY1"
#define MODEL_NAME	"Server"
#define MODEL_VERSION	"v1"

struct dev {
	int64_t			 id;
	char			 serial[32];
	struct sigkey		*key;
	char			*cert;
	struct fdms_identity	*ident;
	struct fdms_device	 d;
	char			 prev_hash[SHA256_B64_LEN + 1];
	int64_t			 global, counter;
	time_t			 last_date;
	char			 opened[20];
};


/* ---- devices ---- */

static enum fdms_class
call_simple(struct fdms_client *cl, const struct dev *d, enum fdms_op op,
    struct fdms_reply *rp)
{
	struct fdms_request rq;
	enum fdms_class c;

	fdms_request_init(&rq);
	CHECK_INT(fdms_req_simple(&rq, op, d->id), 0);
	c = fdms_call(cl, &d->d, &rq, rp);
	fdms_request_free(&rq);
	return c;
}

static int
register_device(struct fdms_client *cl, struct dev *d, enum sigkey_type kt)
{
	char err[256], cn[FDMS_CN_MAX + 1], got[80], na[20];
	struct fdms_request rq;
	struct fdms_reply rp;
	char *csr;

	d->d.name = kt == SIGKEY_ECDSA ? "ecdsa" : "rsa";
	d->d.model_name = MODEL_NAME;
	d->d.model_version = MODEL_VERSION;
	fdms_request_init(&rq);

	CHECK_INT(fdms_req_verify_taxpayer(&rq, d->id, ACTIVATION_KEY,
	    d->serial), 0);
	CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_OK);
	CHECK(rp.res.cls != FDMS_OK || (rp.u.taxpayer.name != NULL &&
	    rp.u.taxpayer.tin != NULL), "taxpayer");
	CHECK(rp.res.operation_id[0] != '\0', "operationID");
	if (rp.res.cls != FDMS_OK)
		fprintf(stderr, "verify: %s\n", rp.res.message);
	fdms_reply_free(&rp);

	d->key = sigkey_generate(kt, err, sizeof(err));
	CHECK(d->key != NULL, "keygen %s", err);
	csr = d->key ? fdms_csr_pem(d->key, d->serial, d->id, err,
	    sizeof(err)) : NULL;
	CHECK(csr != NULL, "csr %s", err);
	if (csr == NULL) {
		fdms_request_free(&rq);
		return -1;
	}
	CHECK_INT(fdms_req_register(&rq, d->id, ACTIVATION_KEY, csr), 0);
	free(csr);
	CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_OK);
	fdms_request_free(&rq);
	if (rp.res.cls != FDMS_OK) {
		fprintf(stderr, "register: %s\n", rp.res.message);
		fdms_reply_free(&rp);
		return -1;
	}
	d->cert = strdup(rp.u.certificate);
	fdms_reply_free(&rp);
	if (d->cert == NULL)
		return -1;
	CHECK_INT(fdms_cert_matches_key(d->cert, strlen(d->cert), d->key), 1);
	fdms_csr_cn(d->serial, d->id, cn, sizeof(cn));
	CHECK_INT(fdms_cert_cn(d->cert, strlen(d->cert), got, sizeof(got)), 0);
	CHECK_STR(got, cn);
	CHECK_INT(fdms_cert_not_after(d->cert, strlen(d->cert), na), 0);
	d->ident = fdms_identity_new(d->cert, strlen(d->cert), d->key, err,
	    sizeof(err));
	CHECK(d->ident != NULL, "identity %s", err);
	d->d.identity = d->ident;
	return d->ident != NULL ? 0 : -1;
}

static void
dev_free(struct dev *d)
{
	fdms_identity_free(d->ident);
	free(d->cert);
	sigkey_free(d->key);
}

/* Config, status, open day, ping: the daily round over mTLS. */
static void
daily_round(struct fdms_client *cl, struct dev *d)
{
	struct fdms_open_day_args od;
	struct fdms_request rq;
	struct fdms_reply rp;
	char opened[20];
	size_t i;
	bool has517 = false, has1 = false;

	CHECK_INT(call_simple(cl, d, FDMS_GET_CONFIG, &rp), FDMS_OK);
	if (rp.res.cls == FDMS_OK) {
		for (i = 0; i < rp.u.config.n_taxes; i++) {
			if (rp.u.config.taxes[i].tax_id == 517 &&
			    rp.u.config.taxes[i].has_percent &&
			    rp.u.config.taxes[i].percent == 1550)
				has517 = true;
			if (rp.u.config.taxes[i].tax_id == 1 &&
			    !rp.u.config.taxes[i].has_percent)
				has1 = true;
		}
		CHECK(has517 && has1, "default taxes 1 exempt and 517 15.5%%");
		CHECK_STR(rp.u.config.qr_url, "https://fdmstest.zimra.co.zw");
		CHECK_INT(rp.u.config.mode, FDMS_MODE_ONLINE);
		CHECK(rp.u.config.taxpayer.is_vat_payer, "VAT payer");
		CHECK_STR(rp.u.config.device_serial_no, d->serial);
	} else
		fprintf(stderr, "GetConfig: %s\n", rp.res.message);
	fdms_reply_free(&rp);

	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_OK);
	CHECK_INT(rp.u.status.day_status, FDMS_DAY_CLOSED);
	CHECK(!rp.u.status.has_last_global_no, "new device has no receipts");
	fdms_reply_free(&rp);

	/* Opened ten minutes ago, local Harare time. */
	timeutil_format_local(time(NULL) - 600, opened);
	memcpy(d->opened, opened, sizeof(opened));
	memset(&od, 0, sizeof(od));
	od.opened = opened;
	fdms_request_init(&rq);
	CHECK_INT(fdms_req_open_day(&rq, d->id, &od), 0);
	CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_OK);
	CHECK_INT(rp.u.day_no, 1);
	if (rp.res.cls != FDMS_OK)
		fprintf(stderr, "OpenDay: %s\n", rp.res.message);
	fdms_reply_free(&rp);
	/* A second OpenDay: FISC01, rejected, never retried. */
	CHECK_INT(fdms_req_open_day(&rq, d->id, &od), 0);
	CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_REJECTED);
	CHECK_INT(rp.res.http_status, 422);
	CHECK_INT(rp.res.code, FDMS_EC_FISC01);
	CHECK(!rp.res.in_doubt, "FISC01 in doubt");
	CHECK(rp.res.operation_id[0] != '\0', "operationID on error");
	fdms_reply_free(&rp);
	fdms_request_free(&rq);

	CHECK_INT(call_simple(cl, d, FDMS_PING, &rp), FDMS_OK);
	CHECK_INT(rp.u.reporting_frequency, 5);
	fdms_reply_free(&rp);

	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_OK);
	CHECK_INT(rp.u.status.day_status, FDMS_DAY_OPENED);
	CHECK(rp.u.status.has_last_day_no && rp.u.status.last_day_no == 1,
	    "lastFiscalDayNo");
	fdms_reply_free(&rp);
}

/*
 * The next receipt of d (the §8 sale), numbered, dated, chained, signed;
 * wire gets the bytes to journal and send.
 */
static int
next_receipt(struct dev *d, struct buf *wire)
{
	char doc[4096], date[20], hash[SHA256_B64_LEN + 1], err[200];
	char sig[SIG_B64_MAX + 1];
	struct findings f;
	struct receipt *r;
	struct buf s;
	time_t now = time(NULL);
	cJSON *t;
	int rc = -1;

	/* Strictly later than the previous receipt (RCPT030). */
	if (now <= d->last_date)
		now = d->last_date + 1;
	d->last_date = now;
	timeutil_format_local(now, date);
	{
		char inv[64];

		snprintf(inv, sizeof(inv), "INV-%" PRId64 "-%" PRId64, d->id,
		    d->global + 1);
		sim_test_receipt(doc, sizeof(doc), d->counter + 1, d->global + 1,
		    inv, date, "5.00");
	}
	findings_clear(&f);
	if ((t = jsonrx_parse(doc, strlen(doc), JSONRX_MAX_SIZE, &f)) == NULL)
		return -1;
	r = receipt_from_tree(t, &f);
	cJSON_Delete(t);
	if (r == NULL)
		return -1;
	buf_init(&s, 65536);
	if (sigstr_receipt(r, d->id, d->counter == 0 ? NULL : d->prev_hash,
	    &s) == -1)
		goto out;
	sign_sha256_b64(s.p, s.len, hash);
	if (sign_b64(d->key, s.p, s.len, sig, sizeof(sig), err,
	    sizeof(err)) == -1)
		goto out;
	r->sig_hash = hash;
	r->sig_signature = sig;
	if (fdms_wire_receipt(r, wire, err, sizeof(err)) == -1)
		goto out;
	memcpy(d->prev_hash, hash, sizeof(hash));
	d->counter++;
	d->global++;
	rc = 0;
out:
	buf_free(&s);
	receipt_free(r);
	return rc;
}

static enum fdms_class
submit(struct fdms_client *cl, const struct dev *d, const struct buf *wire,
    struct fdms_reply *rp)
{
	struct fdms_request rq;
	enum fdms_class c;

	fdms_request_init(&rq);
	CHECK_INT(fdms_req_submit_receipt(&rq, d->id, wire->p, wire->len), 0);
	c = fdms_call(cl, &d->d, &rq, rp);
	fdms_request_free(&rq);
	return c;
}

/* How many receipts FDMS holds for d, and whether the last was sent as wire. */
static long
ledger(const struct dev *d, const struct buf *wire, int64_t *last_id)
{
	char path[64];
	struct buf b, want;
	cJSON *root, *arr, *last, *rb, *id;
	long n = -1;

	buf_init(&b, 8 * 1024 * 1024);
	buf_init(&want, 8 * 1024 * 1024);
	snprintf(path, sizeof(path), "/_sim/ledger/%" PRId64, d->id);
	CHECK_INT(sim_http("GET", path, NULL, &b), 200);
	root = cJSON_ParseWithLength(b.p, b.len);
	arr = root ? cJSON_GetObjectItemCaseSensitive(root, "receipts") : NULL;
	if (cJSON_IsArray(arr)) {
		n = cJSON_GetArraySize(arr);
		last = cJSON_GetArrayItem(arr, (int)n - 1);
		rb = cJSON_GetObjectItemCaseSensitive(last, "requestBody");
		id = cJSON_GetObjectItemCaseSensitive(last, "receiptID");
		if (last_id != NULL && cJSON_IsNumber(id))
			*last_id = (int64_t)id->valuedouble;
		if (wire != NULL) {
			buf_adds(&want, "{\"receipt\":");
			buf_add(&want, wire->p, wire->len);
			buf_adds(&want, "}");
			CHECK(cJSON_IsString(rb) &&
			    strcmp(rb->valuestring, buf_str(&want)) == 0,
			    "FDMS stored other bytes than we journaled");
		}
	}
	cJSON_Delete(root);
	buf_free(&b);
	buf_free(&want);
	return n;
}

static void
receipts(struct fdms_client *cl, struct dev *d)
{
	struct fdms_reply rp, rp2;
	struct buf w;
	int64_t id1, last = -1;
	size_t i;

	buf_init(&w, FDMS_MAX_REQUEST);
	CHECK_INT(next_receipt(d, &w), 0);
	CHECK_INT(submit(cl, d, &w, &rp), FDMS_OK);
	if (rp.res.cls != FDMS_OK)
		fprintf(stderr, "SubmitReceipt: %s\n", rp.res.message);
	CHECK(rp.u.submitted.receipt_id > 0, "receiptID");
	CHECK(rp.u.submitted.server_date != NULL, "serverDate");
	CHECK(rp.u.submitted.server_signature.signature != NULL,
	    "server signature");
	CHECK_INT(rp.u.submitted.n_verrs, 0);
	for (i = 0; i < rp.u.submitted.n_verrs; i++)
		fprintf(stderr, "  %s %s %s\n", rp.u.submitted.verrs[i].code,
		    rp.u.submitted.verrs[i].colour_text ?
		    rp.u.submitted.verrs[i].colour_text : "",
		    rp.u.submitted.verrs[i].description ?
		    rp.u.submitted.verrs[i].description : "");
	id1 = rp.u.submitted.receipt_id;
	fdms_reply_free(&rp);
	CHECK_INT(ledger(d, &w, &last), 1);
	CHECK_INT(last, id1);

	/* Nth request 500, not processed: RETRY; the resend goes through. */
	{
		char spec[64];

		CHECK_INT(next_receipt(d, &w), 0);
		snprintf(spec, sizeof(spec), "SubmitReceipt@%" PRId64 ":1=500",
		    d->id);
		fault(spec);
		CHECK_INT(submit(cl, d, &w, &rp), FDMS_RETRY);
		CHECK(rp.res.in_doubt, "500 is in doubt");
		CHECK_INT(rp.res.http_status, 500);
		fdms_reply_free(&rp);
		CHECK_INT(submit(cl, d, &w, &rp), FDMS_OK);
		CHECK_INT(ledger(d, &w, &last), 2);
		CHECK_INT(last, rp.u.submitted.receipt_id);
		fdms_reply_free(&rp);
		faults_clear();

		/*
		 * Commit, then drop before the answer: in doubt.  The range
		 * also covers curl's own one resend on a reused connection.
		 */
		CHECK_INT(next_receipt(d, &w), 0);
		snprintf(spec, sizeof(spec), "SubmitReceipt@%" PRId64
		    ":1-2=commit-drop", d->id);
		fault(spec);
		CHECK_INT(submit(cl, d, &w, &rp), FDMS_RETRY);
		CHECK(rp.res.in_doubt, "commit-drop not in doubt: %s",
		    rp.res.message);
		CHECK_INT(rp.res.http_status, 0);
		fdms_reply_free(&rp);
		faults_clear();
		CHECK_INT(ledger(d, NULL, &last), 3);	/* stored once */
		/* The identical bytes again: the original receiptID. */
		CHECK_INT(submit(cl, d, &w, &rp), FDMS_OK);
		CHECK_INT(rp.u.submitted.receipt_id, last);
		CHECK_INT(submit(cl, d, &w, &rp2), FDMS_OK);
		CHECK_INT(rp2.u.submitted.receipt_id, last);
		CHECK(strcmp(rp.res.operation_id, rp2.res.operation_id) != 0,
		    "a new operationID for each answer");
		fdms_reply_free(&rp);
		fdms_reply_free(&rp2);
		CHECK_INT(ledger(d, &w, NULL), 3);
	}
	buf_free(&w);
}

/*
 * An empty day closed (signature over deviceID, day, opening date only),
 * then a new certificate for the same key, and the switch to it.
 */
static void
close_and_renew(struct fdms_client *cl, struct dev *d)
{
	struct fdms_close_day_args ca;
	struct fdms_request rq;
	struct fdms_reply rp;
	struct counters none;
	struct buf s;
	struct fdms_identity *id2;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], err[256];
	char *csr, *cert2 = NULL;
	int i, closed = 0;

	counters_init(&none);
	buf_init(&s, 4096);
	CHECK_INT(sigstr_day(d->id, 1, d->opened, &none, &s), 0);
	sign_sha256_b64(s.p, s.len, hash);
	CHECK_INT(sign_b64(d->key, s.p, s.len, sig, sizeof(sig), err,
	    sizeof(err)), 0);
	buf_free(&s);
	memset(&ca, 0, sizeof(ca));
	ca.day_no = 1;
	ca.counters = &none;
	ca.hash = hash;
	ca.signature = sig;
	ca.receipt_counter = 0;
	fdms_request_init(&rq);
	CHECK_INT(fdms_req_close_day(&rq, d->id, &ca), 0);
	CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_OK);
	if (rp.res.cls != FDMS_OK)
		fprintf(stderr, "CloseDay: %s\n", rp.res.message);
	fdms_reply_free(&rp);
	/* Asynchronous: poll GetStatus. */
	for (i = 0; i < 50 && !closed; i++) {
		CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_OK);
		if (rp.u.status.day_status == FDMS_DAY_CLOSED) {
			closed = 1;
			CHECK_INT(rp.u.status.recon, FDMS_RECON_AUTO);
			CHECK(rp.u.status.has_server_signature &&
			    rp.u.status.server_signature.signature != NULL,
			    "fiscalDayServerSignature");
			CHECK(rp.u.status.day_closed != NULL, "fiscalDayClosed");
		} else if (rp.u.status.day_status == FDMS_DAY_CLOSE_FAILED) {
			fprintf(stderr, "close failed: %s\n",
			    rp.u.status.closing_error_text ?
			    rp.u.status.closing_error_text : "?");
			i = 50;
		} else
			usleep(100000);
		fdms_reply_free(&rp);
	}
	CHECK(closed, "day not closed");
	counters_free(&none);

	/* IssueCertificate, mTLS with the current certificate. */
	csr = fdms_csr_pem(d->key, d->serial, d->id, err, sizeof(err));
	CHECK(csr != NULL, "csr %s", err);
	if (csr != NULL) {
		CHECK_INT(fdms_req_issue_cert(&rq, d->id, csr), 0);
		CHECK_INT(fdms_call(cl, &d->d, &rq, &rp), FDMS_OK);
		if (rp.res.cls == FDMS_OK)
			cert2 = strdup(rp.u.certificate);
		fdms_reply_free(&rp);
		free(csr);
	}
	fdms_request_free(&rq);
	CHECK(cert2 != NULL && strcmp(cert2, d->cert) != 0, "a new certificate");
	if (cert2 == NULL)
		return;
	id2 = fdms_identity_new(cert2, strlen(cert2), d->key, err, sizeof(err));
	CHECK(id2 != NULL, "new identity %s", err);
	if (id2 != NULL) {
		/* Switch over: new connections carry the new certificate. */
		fdms_identity_free(d->ident);
		free(d->cert);
		d->ident = id2;
		d->cert = cert2;
		d->d.identity = id2;
		CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_OK);
		fdms_reply_free(&rp);
	} else
		free(cert2);
}

/* Transport faults on GetStatus / Ping. */
static void
transport_faults(struct fdms_client *cl, struct dev *d)
{
	struct fdms_client_opts o;
	struct fdms_client *quick;
	struct fdms_reply rp;
	char spec[96], err[256];
	int64_t t0;

	snprintf(spec, sizeof(spec), "GetStatus@%" PRId64 ":1=500", d->id);
	fault(spec);
	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_RETRY);
	CHECK(rp.res.in_doubt && rp.res.http_status == 500, "500: %s",
	    rp.res.message);
	fdms_reply_free(&rp);
	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_OK);
	fdms_reply_free(&rp);
	faults_clear();

	snprintf(spec, sizeof(spec), "Ping@%" PRId64 ":1=429/3", d->id);
	fault(spec);
	CHECK_INT(call_simple(cl, d, FDMS_PING, &rp), FDMS_RETRY);
	CHECK(!rp.res.in_doubt, "429 in doubt");
	CHECK_INT(rp.res.http_status, 429);
	CHECK_INT(rp.res.retry_after_s, 3);
	CHECK(fdms_retry_delay_ms(&rp.res, 0, 0) >= 3000, "Retry-After");
	fdms_reply_free(&rp);
	faults_clear();

	/* Dropped after the request was read: in doubt. */
	snprintf(spec, sizeof(spec), "GetStatus@%" PRId64 ":1-2=drop", d->id);
	fault(spec);
	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_RETRY);
	CHECK(rp.res.in_doubt && rp.res.fail == FDMS_FAIL_NETWORK,
	    "drop: %s %s", fdms_fail_name(rp.res.fail), rp.res.message);
	fdms_reply_free(&rp);
	faults_clear();
	snprintf(spec, sizeof(spec), "GetStatus@%" PRId64 ":1-2=reset", d->id);
	fault(spec);
	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &rp), FDMS_RETRY);
	CHECK(rp.res.in_doubt, "reset: %s", rp.res.message);
	fdms_reply_free(&rp);
	faults_clear();

	/* A hung server and a short client timeout: in doubt, on time. */
	memset(&o, 0, sizeof(o));
	o.base_url = sim.url;
	o.ca_file = sim.ca;
	o.timeout_ms = 1500;
	quick = fdms_client_new(&o, err, sizeof(err));
	CHECK(quick != NULL, "client %s", err);
	if (quick != NULL) {
		snprintf(spec, sizeof(spec), "GetStatus@%" PRId64 ":1=hang/4000",
		    d->id);
		fault(spec);
		t0 = (int64_t)time(NULL);
		CHECK_INT(call_simple(quick, d, FDMS_GET_STATUS, &rp),
		    FDMS_RETRY);
		CHECK(rp.res.in_doubt && rp.res.fail == FDMS_FAIL_TIMEOUT,
		    "timeout: %s %s", fdms_fail_name(rp.res.fail),
		    rp.res.message);
		CHECK((int64_t)time(NULL) - t0 <= 3, "timeout took too long");
		fdms_reply_free(&rp);
		faults_clear();
		fdms_client_free(quick);
	}
}

/* Nothing listening; an answer over the cap; a client freed mid-call. */
static void
transport_edges(struct dev *d)
{
	struct fdms_client_opts o;
	struct fdms_client *c2;
	struct fdms_request rq;
	struct fdms_reply rp;
	char err[256];
	int i;

	memset(&o, 0, sizeof(o));
	o.base_url = "https://127.0.0.1:1";
	o.ca_file = sim.ca;
	if ((c2 = fdms_client_new(&o, err, sizeof(err))) != NULL) {
		CHECK_INT(call_simple(c2, d, FDMS_GET_STATUS, &rp), FDMS_RETRY);
		CHECK(rp.res.fail == FDMS_FAIL_CONNECT && !rp.res.in_doubt,
		    "refused: %s %s", fdms_fail_name(rp.res.fail),
		    rp.res.message);
		fdms_reply_free(&rp);
		fdms_client_free(c2);
	}
	o.base_url = sim.url;
	o.max_body = 64;
	if ((c2 = fdms_client_new(&o, err, sizeof(err))) != NULL) {
		CHECK_INT(call_simple(c2, d, FDMS_GET_CONFIG, &rp), FDMS_RETRY);
		CHECK(rp.res.fail == FDMS_FAIL_RESPONSE && rp.res.in_doubt,
		    "over the cap: %s %s", fdms_fail_name(rp.res.fail),
		    rp.res.message);
		fdms_reply_free(&rp);
		fdms_client_free(c2);
	}
	/* Calls in flight and finished-but-untaken ones are freed too. */
	o.max_body = 0;
	if ((c2 = fdms_client_new(&o, err, sizeof(err))) != NULL) {
		fdms_request_init(&rq);
		for (i = 0; i < 3; i++) {
			CHECK_INT(fdms_req_simple(&rq, FDMS_PING, d->id), 0);
			CHECK_INT(fdms_start(c2, &d->d, &rq, NULL), 0);
		}
		CHECK_INT(fdms_req_simple(&rq, FDMS_PING, -1), -1);
		CHECK_INT(fdms_start(c2, &d->d, &rq, NULL), 0);
		CHECK_INT(fdms_in_flight(c2), 3);
		fdms_perform(c2, NULL, 0);
		fdms_request_free(&rq);
		fdms_client_free(c2);
	}
}

static char *
foreign_ca(void)
{
	static char path[PATH_MAX];
	char err[200];
	struct sigkey *k = sigkey_generate(SIGKEY_ECDSA, err, sizeof(err));
	X509 *x = X509_new();
	X509_NAME *n = X509_NAME_new();
	FILE *fp;

	snprintf(path, sizeof(path), "%s/foreign-ca.pem",
	    sim.dir[0] ? sim.dir : "/tmp");
	if (k == NULL || x == NULL || n == NULL)
		goto fail;
	X509_set_version(x, 2);
	ASN1_INTEGER_set(X509_get_serialNumber(x), 7);
	X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_UTF8,
	    (const unsigned char *)"Not the FDMS CA", -1, -1, 0);
	X509_set_subject_name(x, n);
	X509_set_issuer_name(x, n);
	X509_gmtime_adj(X509_getm_notBefore(x), 0);
	X509_gmtime_adj(X509_getm_notAfter(x), 86400);
	X509_set_pubkey(x, sigkey_evp(k));
	X509_sign(x, sigkey_evp(k), EVP_sha256());
	if ((fp = fopen(path, "w")) == NULL)
		goto fail;
	PEM_write_X509(fp, x);
	fclose(fp);
	X509_free(x);
	X509_NAME_free(n);
	sigkey_free(k);
	return path;
fail:
	X509_free(x);
	X509_NAME_free(n);
	sigkey_free(k);
	return NULL;
}

static void
tls_refusals(struct fdms_client *cl, struct dev *a, struct dev *b)
{
	struct fdms_client_opts o;
	struct fdms_client *c2;
	struct fdms_reply rp;
	struct dev anon, swapped;
	char err[256], http_url[sizeof(sim.url) + 8];
	const char *ca;

	/* A CA that did not sign the server: TLS failure, nothing sent. */
	memset(&o, 0, sizeof(o));
	o.base_url = sim.url;
	o.ca_file = ca = foreign_ca();
	CHECK(ca != NULL, "foreign CA");
	c2 = ca != NULL ? fdms_client_new(&o, err, sizeof(err)) : NULL;
	if (c2 != NULL) {
		CHECK_INT(call_simple(c2, a, FDMS_GET_STATUS, &rp), FDMS_RETRY);
		CHECK_INT(rp.res.fail, FDMS_FAIL_TLS);
		CHECK(!rp.res.in_doubt, "TLS failure in doubt");
		CHECK_INT(rp.res.http_status, 0);
		fdms_reply_free(&rp);
		fdms_client_free(c2);
	}
	/* The system store does not know the simulator's CA either. */
	o.ca_file = NULL;
	if ((c2 = fdms_client_new(&o, err, sizeof(err))) != NULL) {
		CHECK_INT(call_simple(c2, a, FDMS_PING, &rp), FDMS_RETRY);
		CHECK_INT(rp.res.fail, FDMS_FAIL_TLS);
		fdms_reply_free(&rp);
		fdms_client_free(c2);
	}

	/* No client certificate on a Device endpoint: 401, never retried. */
	anon = *a;
	anon.d.identity = NULL;
	CHECK_INT(call_simple(cl, &anon, FDMS_GET_CONFIG, &rp), FDMS_REJECTED);
	CHECK_INT(rp.res.http_status, 401);
	CHECK(!rp.res.in_doubt, "401 in doubt");
	fdms_reply_free(&rp);

	/* Device A's certificate on device B's path: 401. */
	swapped = *b;
	swapped.d.identity = a->ident;
	CHECK_INT(call_simple(cl, &swapped, FDMS_GET_STATUS, &rp),
	    FDMS_REJECTED);
	CHECK_INT(rp.res.http_status, 401);
	fdms_reply_free(&rp);
	/* ...and B's own still works on the same client (no mix-up). */
	CHECK_INT(call_simple(cl, b, FDMS_GET_STATUS, &rp), FDMS_OK);
	fdms_reply_free(&rp);

	/* http:// is refused by the client itself. */
	snprintf(http_url, sizeof(http_url), "http://%.240s",
	    strncmp(sim.url, "https://", 8) == 0 ? sim.url + 8 : sim.url);
	o.base_url = http_url;
	o.ca_file = sim.ca;
	c2 = fdms_client_new(&o, err, sizeof(err));
	CHECK(c2 == NULL && strstr(err, "https") != NULL,
	    "http:// accepted (%s)", err);
	fdms_client_free(c2);
	o.base_url = "https://user@127.0.0.1:1";
	c2 = fdms_client_new(&o, err, sizeof(err));
	CHECK(c2 == NULL, "userinfo in URL accepted");
	fdms_client_free(c2);
}

/* Keep-alive: two calls on one connection (operationId conn:request). */
static void
reuse(struct fdms_client *cl, struct dev *d)
{
	struct fdms_reply r1, r2;
	const char *c1, *c2;

	CHECK_INT(call_simple(cl, d, FDMS_GET_STATUS, &r1), FDMS_OK);
	CHECK_INT(call_simple(cl, d, FDMS_PING, &r2), FDMS_OK);
	c1 = strchr(r1.res.operation_id, ':');
	c2 = strchr(r2.res.operation_id, ':');
	CHECK(c1 != NULL && c2 != NULL &&
	    c1 - r1.res.operation_id == c2 - r2.res.operation_id &&
	    strncmp(r1.res.operation_id, r2.res.operation_id,
	    (size_t)(c1 - r1.res.operation_id)) == 0,
	    "connection not reused: %s then %s", r1.res.operation_id,
	    r2.res.operation_id);
	fdms_reply_free(&r1);
	fdms_reply_free(&r2);
}

/* Two devices, one poll loop, no threads. */
static void
nonblocking(struct fdms_client *cl, struct dev *a, struct dev *b)
{
	struct fdms_request rq;
	struct fdms_reply rp;
	struct pollfd pfd[16];
	void *ud;
	int seen_a = 0, seen_b = 0, t, guard = 0;
	size_t n;

	fdms_request_init(&rq);
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_STATUS, a->id), 0);
	CHECK_INT(fdms_start(cl, &a->d, &rq, a), 0);
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_CONFIG, b->id), 0);
	CHECK_INT(fdms_start(cl, &b->d, &rq, b), 0);
	CHECK_INT(rq.target.len, 0);	/* buffers moved into the calls */
	CHECK_INT(fdms_in_flight(cl), 2);
	while ((seen_a + seen_b < 2) && guard++ < 10000) {
		n = fdms_pollfds(cl, pfd, 16);
		if (n > 16)
			n = 16;
		t = fdms_timeout_ms(cl);
		if (t < 0 || t > 500)
			t = 500;
		poll(pfd, (nfds_t)n, t);
		fdms_perform(cl, pfd, n);
		while (fdms_take_done(cl, &rp, &ud)) {
			if (ud == a) {
				seen_a++;
				CHECK_INT(rp.op, FDMS_GET_STATUS);
				CHECK_INT(rp.res.cls, FDMS_OK);
			} else if (ud == b) {
				seen_b++;
				CHECK_INT(rp.op, FDMS_GET_CONFIG);
				CHECK_INT(rp.res.cls, FDMS_OK);
			}
			fdms_reply_free(&rp);
		}
	}
	CHECK(seen_a == 1 && seen_b == 1, "done a=%d b=%d", seen_a, seen_b);
	CHECK_INT(fdms_in_flight(cl), 0);

	/* A refusal also arrives through the done list. */
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_STATUS, 0), -1);
	CHECK_INT(fdms_start(cl, &a->d, &rq, a), 0);
	CHECK_INT(fdms_take_done(cl, &rp, &ud), 1);
	CHECK(ud == a && rp.res.cls == FDMS_LOCAL, "local refusal: %s",
	    rp.res.message);
	fdms_reply_free(&rp);
	fdms_request_free(&rq);
}

int
main(void)
{
	struct fdms_client_opts o;
	struct fdms_client *cl = NULL;
	struct dev a, b;
	struct fdms_reply rp;
	struct fdms_request rq;
	char err[256];
	int64_t base;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	/* FDMS_LIVE_VERBOSE=1: the client's debug log on stderr. */
	if (getenv("FDMS_LIVE_VERBOSE") != NULL)
		log_init(NULL, 1, 1);
	if (timeutil_set_zone(TIMEUTIL_DEFAULT_ZONE) == -1)
		fprintf(stderr, "warning: no Africa/Harare zone\n");
	if (sim_start() == -1) {
		CHECK(0, "the FDMS simulator could not be started");
		sim_stop();
		return tap_done();
	}
	fprintf(stderr, "# simulator %s ca=%s\n", sim.url, sim.ca);
	memset(&o, 0, sizeof(o));
	o.base_url = sim.url;
	o.ca_file = sim.ca;
	cl = fdms_client_new(&o, err, sizeof(err));
	CHECK(cl != NULL, "client: %s", err);
	if (cl == NULL)
		goto out;

	/* Fresh IDs even against a long-running external simulator. */
	base = 100000 + (int64_t)(getpid() % 100000) * 10;
	a.id = base + 1;
	b.id = base + 2;
	snprintf(a.serial, sizeof(a.serial), "SN: %03" PRId64, a.id % 1000);
	snprintf(b.serial, sizeof(b.serial), "RSA-%" PRId64, b.id);

	if (register_device(cl, &a, SIGKEY_ECDSA) == -1 ||
	    register_device(cl, &b, SIGKEY_RSA) == -1) {
		CHECK(0, "registration failed");
		goto out;
	}
	daily_round(cl, &a);
	daily_round(cl, &b);

	fdms_request_init(&rq);
	CHECK_INT(fdms_req_server_cert(&rq, NULL), 0);
	CHECK_INT(fdms_call(cl, &a.d, &rq, &rp), FDMS_OK);
	CHECK(rp.u.server_cert.n_chain >= 1, "server chain");
	fdms_reply_free(&rp);
	fdms_request_free(&rq);

	reuse(cl, &a);
	nonblocking(cl, &a, &b);
	receipts(cl, &a);
	transport_faults(cl, &b);
	transport_edges(&b);
	close_and_renew(cl, &b);
	tls_refusals(cl, &a, &b);
out:
	fdms_client_free(cl);
	dev_free(&a);
	dev_free(&b);
	sim_stop();
	return tap_done();
}

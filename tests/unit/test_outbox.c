/*
 * test_outbox.c - the outbox (lib/spool/outbox) against the FDMS simulator
 * over real mutual TLS.
 *
 * The simulator is started as test_fdms_live.c does (fork + exec, READY
 * line read from a pipe; FDMS_SIM_URL and FDMS_SIM_CA select a running
 * one).  Receipts are journaled by hand: the §8 sale built as a receipt
 * model, chained and signed with the device key (fiscal/sigstr, sign),
 * printed by fdms/wire and inserted with store_receipt_insert, which is
 * what the pipeline does.  Then the outbox is driven from a poll loop like
 * the daemon's.
 *
 * Covers: the day confirmed (GetConfig, OpenDay) before the first receipt;
 * receipts submitted in order with results rewritten in done/; FDMS down
 * (503s, dropped connections) and back: everything submitted in order,
 * nothing twice (the simulator's ledger); commit-then-drop: exactly one
 * receipt at FDMS; a 4xx refusal does not advance; an in-doubt receipt
 * resent after a "restart" byte-identical and answered with the original
 * receiptID; a Red receipt stops the device (journal block, survives a
 * restart and spoolctl resync, later receipts not sent) until an admin
 * lifts the block (device_flag_lift); an in-doubt OpenDay settled by
 * GetStatus; --once gives up after the first failure; Ping; the
 * certificate renewed when it expires within 14 days.
 */
#define _XOPEN_SOURCE 700	/* nftw, open_memstream */

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

#include <cJSON.h>
#include <curl/curl.h>

#include "daemon/config.h"
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
#include "spool/devadmin.h"
#include "spool/device.h"
#include "spool/outbox.h"
#include "spool/pipeline.h"
#include "store/store.h"
#include "simctl.h"
#include "tap.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/timeutil.h"

#define ACTIVATION_KEY	"TESTKEY1"

/* A device as the test sees it: identity, chain head, journal handle. */
struct tdev {
	int64_t			 id;
	char			 serial[32];
	struct sigkey		*key;
	int64_t			 cert_id;
	char			 done[PATH_MAX];
	struct config_device	 conf;
	struct device		 rt;	/* what the outbox uses */
	struct pipeline_device	 pd;	/* result files in done/ */
	bool			 loaded, pd_loaded;
	char			 prev_hash[SHA256_B64_LEN + 1];
	int64_t			 global, counter, day;
	time_t			 last_date;
	char			 opened[20];
};

static char tmp[64];
static struct store *st;
static struct fdms_client *cl;

static cJSON *
sim_json(const char *what, int64_t id)
{
	char path[128];
	struct buf b;
	cJSON *j = NULL;

	buf_init(&b, 16 * 1024 * 1024);
	snprintf(path, sizeof(path), "/_sim/%s/%" PRId64, what, id);
	if (sim_http("GET", path, NULL, &b) == 200)
		j = cJSON_ParseWithLength(b.p, b.len);
	buf_free(&b);
	return j;
}

/*
 * The simulator's ledger of d: the number of receipts, and whether their
 * global numbers are exactly 1..n in storage order (each once, in order).
 */
static long
ledger(const struct tdev *d, bool *in_order)
{
	cJSON *root = sim_json("ledger", d->id), *arr, *e, *g;
	long n = -1, i = 0;

	*in_order = true;
	arr = cJSON_GetObjectItemCaseSensitive(root, "receipts");
	if (cJSON_IsArray(arr)) {
		n = cJSON_GetArraySize(arr);
		cJSON_ArrayForEach(e, arr) {
			g = cJSON_GetObjectItemCaseSensitive(e,
			    "receiptGlobalNo");
			i++;
			if (!cJSON_IsNumber(g) || (long)g->valuedouble != i)
				*in_order = false;
		}
	}
	cJSON_Delete(root);
	return n;
}

/* receiptID and request body the simulator stored for global number g. */
static int64_t
ledger_entry(const struct tdev *d, int64_t g, char **body)
{
	cJSON *root = sim_json("ledger", d->id), *arr, *e, *x;
	int64_t id = -1;

	if (body != NULL)
		*body = NULL;
	arr = cJSON_GetObjectItemCaseSensitive(root, "receipts");
	cJSON_ArrayForEach(e, arr) {
		x = cJSON_GetObjectItemCaseSensitive(e, "receiptGlobalNo");
		if (!cJSON_IsNumber(x) || (int64_t)x->valuedouble != g)
			continue;
		x = cJSON_GetObjectItemCaseSensitive(e, "receiptID");
		if (cJSON_IsNumber(x))
			id = (int64_t)x->valuedouble;
		x = cJSON_GetObjectItemCaseSensitive(e, "requestBody");
		if (body != NULL && cJSON_IsString(x))
			*body = strdup(x->valuestring);
	}
	cJSON_Delete(root);
	return id;
}

/* ---- devices, journaled by hand ---- */

static int
register_device(struct tdev *d, enum sigkey_type kt)
{
	struct fdms_device fd;
	struct fdms_request rq;
	struct fdms_reply rp;
	struct store_device sd;
	char err[256], *csr, *pem;
	int rc = -1;

	memset(&fd, 0, sizeof(fd));
	fd.model_name = "Server";
	fd.model_version = "v1";
	fdms_request_init(&rq);
	d->key = sigkey_generate(kt, err, sizeof(err));
	if (d->key == NULL)
		return -1;
	csr = fdms_csr_pem(d->key, d->serial, d->id, err, sizeof(err));
	if (csr == NULL || fdms_req_register(&rq, d->id, ACTIVATION_KEY,
	    csr) == -1) {
		free(csr);
		return -1;
	}
	free(csr);
	if (fdms_call(cl, &fd, &rq, &rp) != FDMS_OK) {
		fprintf(stderr, "register: %s\n", rp.res.message);
		goto out;
	}
	memset(&sd, 0, sizeof(sd));
	sd.device_id = d->id;
	sd.serial_no = d->serial;
	sd.model_name = "Server";
	sd.model_version = "v1";
	sd.env = "development";
	sd.base_url = sim.url;
	CHECK_INT(store_device_put(st, &sd), STORE_OK);
	pem = sigkey_private_pem(d->key, NULL);
	CHECK_INT(store_key_put(st, d->id, pem, strlen(pem), NULL), STORE_OK);
	free(pem);
	CHECK_INT(store_cert_put(st, d->id, rp.u.certificate, &d->cert_id),
	    STORE_OK);
	rc = 0;
out:
	fdms_reply_free(&rp);
	fdms_request_free(&rq);
	return rc;
}

/* GetConfig into the journal, the day opened locally, the runtime loaded. */
static int
setup_device(struct tdev *d, int64_t id, enum sigkey_type kt)
{
	struct fdms_request rq;
	struct fdms_reply rp;
	char err[256];

	memset(d, 0, sizeof(*d));
	d->id = id;
	snprintf(d->serial, sizeof(d->serial), "OB-%" PRId64, id);
	snprintf(d->done, sizeof(d->done), "%s/done-%" PRId64, tmp, id);
	if (mkdir(d->done, 0750) == -1)
		return -1;
	d->conf.name = d->serial;
	d->conf.device_id = id;
	d->conf.serial_no = d->serial;
	d->conf.model_name = "Server";
	d->conf.model_version = "v1";
	d->conf.done_dir = d->done;
	if (register_device(d, kt) == -1)
		return -1;
	if (device_load(&d->rt, st, &d->conf, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "device_load: %s\n", err);
		return -1;
	}
	d->loaded = true;
	fdms_request_init(&rq);
	CHECK_INT(fdms_req_simple(&rq, FDMS_GET_CONFIG, id), 0);
	CHECK_INT(fdms_call(cl, &d->rt.fdms, &rq, &rp), FDMS_OK);
	if (rp.res.cls == FDMS_OK)
		CHECK_INT(device_config_put(st, id, &rp.u.config), STORE_OK);
	fdms_reply_free(&rp);
	fdms_request_free(&rq);
	CHECK_INT(device_config_reload(&d->rt, st), 0);
	CHECK(d->rt.has_config, "config loaded");
	d->pd.device_id = id;
	d->pd.name = d->serial;
	d->pd.store = st;
	d->pd.work_fd = d->pd.error_fd = -1;
	d->pd.done_fd = fsutil_open_dir(d->done, 0);
	CHECK(d->pd.done_fd >= 0, "done/");
	if (pipeline_device_load(&d->pd, NULL, err, sizeof(err)) == -1) {
		fprintf(stderr, "pipeline_device_load: %s\n", err);
		return -1;
	}
	d->pd_loaded = true;

	/* Opened locally ten minutes ago; FDMS is told by the outbox. */
	timeutil_format_local(time(NULL) - 600, d->opened);
	d->day = 1;
	CHECK_INT(store_day_open(st, id, 1, d->opened), STORE_OK);
	return 0;
}

static void
tdev_free(struct tdev *d)
{
	if (d->pd_loaded)
		pipeline_device_unload(&d->pd);
	if (d->pd.done_fd > 0)
		close(d->pd.done_fd);
	if (d->loaded)
		device_free(&d->rt);
	sigkey_free(d->key);
}

/*
 * Journal d's next receipt (the §8 sale; bad: a line total that is not
 * price x quantity, which FDMS flags RCPT024 Red).  Returns the global no.
 */
static int64_t
journal_receipt(struct tdev *d, bool bad)
{
	char doc[4096], date[20], hash[SHA256_B64_LEN + 1], err[200];
	char sig[SIG_B64_MAX + 1], name[64], sha[65], inv[64];
	struct findings f;
	struct receipt *r;
	struct store_receipt sr;
	struct counters k;
	struct buf s, w;
	time_t now = time(NULL);
	cJSON *t;
	int64_t rc = -1;

	if (now <= d->last_date)
		now = d->last_date + 1;
	d->last_date = now;
	timeutil_format_local(now, date);
	snprintf(inv, sizeof(inv), "OB-%" PRId64 "-%" PRId64, d->id,
	    d->global + 1);
	sim_test_receipt(doc, sizeof(doc), d->counter + 1, d->global + 1, inv,
	    date, bad ? "6.00" : "5.00");
	findings_clear(&f);
	if ((t = jsonrx_parse(doc, strlen(doc), JSONRX_MAX_SIZE, &f)) == NULL)
		return -1;
	r = receipt_from_tree(t, &f);
	cJSON_Delete(t);
	if (r == NULL)
		return -1;
	buf_init(&s, 65536);
	buf_init(&w, FDMS_MAX_REQUEST);
	counters_init(&k);
	if (sigstr_receipt(r, d->id, d->counter == 0 ? NULL : d->prev_hash,
	    &s) == -1)
		goto out;
	sign_sha256_b64(s.p, s.len, hash);
	if (sign_b64(d->key, s.p, s.len, sig, sizeof(sig), err,
	    sizeof(err)) == -1)
		goto out;
	r->sig_hash = hash;
	r->sig_signature = sig;
	if (fdms_wire_receipt(r, &w, err, sizeof(err)) == -1 ||
	    counters_add_receipt(&k, r) == -1)
		goto out;
	snprintf(name, sizeof(name), "sale-%" PRId64 ".json", d->global + 1);
	snprintf(sha, sizeof(sha), "%064" PRIx64, (uint64_t)(d->id * 100000 +
	    d->global + 1));
	memset(&sr, 0, sizeof(sr));
	sr.device_id = d->id;
	sr.global_no = d->global + 1;
	sr.day_no = d->day;
	sr.counter = d->counter + 1;
	sr.invoice_no = inv;
	sr.type = RECEIPT_FISCAL_INVOICE;
	sr.currency = "USD";
	sr.date = date;
	sr.total = r->total;
	sr.wire_json = w.p;
	sr.wire_len = w.len;
	sr.hash = hash;
	sr.signature = sig;
	sr.prev_hash = d->counter == 0 ? NULL : d->prev_hash;
	sr.cert_id = d->cert_id;
	sr.source_name = name;
	sr.source_sha256 = sha;
	if (store_receipt_insert(st, &sr, &k) != STORE_OK) {
		fprintf(stderr, "insert: %s\n", store_errmsg(st));
		goto out;
	}
	memcpy(d->prev_hash, hash, sizeof(hash));
	d->counter++;
	d->global++;
	rc = d->global;
out:
	counters_free(&k);
	buf_free(&s);
	buf_free(&w);
	receipt_free(r);
	return rc;
}

/* ---- driving the outbox like the daemon's loop ---- */

static int64_t
mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t
pending(struct outbox *ob)
{
	int64_t n = -1;

	CHECK_INT(outbox_pending(ob, &n), 0);
	return n;
}

enum until { UNTIL_DRAINED, UNTIL_SETTLED, UNTIL_TIME };

/* Run ob until the condition holds or max_ms pass; 0 when it held. */
static int
drive(struct outbox *ob, enum until u, int max_ms)
{
	struct pollfd pfd[64];
	struct fdms_reply rep;
	void *ud;
	int64_t t0 = mono_ms();
	size_t n;
	int t, ft;

	for (;;) {
		if (outbox_run(ob, &t) == -1)
			return -2;
		if (u == UNTIL_DRAINED && outbox_in_flight(ob) == 0 &&
		    pending(ob) == 0)
			return 0;
		if (u == UNTIL_SETTLED && outbox_settled(ob))
			return 0;
		if (mono_ms() - t0 > max_ms)
			return u == UNTIL_TIME ? 0 : -1;
		n = fdms_pollfds(cl, pfd, 64);
		if (n > 64)
			n = 64;
		ft = fdms_timeout_ms(cl);
		if (ft >= 0 && (t < 0 || ft < t))
			t = ft;
		if (t < 0 || t > 50)
			t = 50;
		(void)poll(pfd, (nfds_t)n, t);
		fdms_perform(cl, pfd, n);
		while (fdms_take_done(cl, &rep, &ud))
			if (outbox_done(ob, &rep, ud) == -1)
				return -2;
	}
}

static struct outbox *
new_outbox(struct tdev *d, bool once)
{
	struct outbox_opts o;
	struct outbox *ob;

	memset(&o, 0, sizeof(o));
	o.once = once;
	o.retry_cap_ms = 200;
	o.reject_backoff_ms = 300;
	ob = outbox_new(st, cl, &o);
	CHECK(ob != NULL, "outbox_new");
	if (ob != NULL && d != NULL)
		CHECK_INT(outbox_add(ob, &d->rt, &d->pd), 0);
	return ob;
}

static enum store_receipt_state
rstate(const struct tdev *d, int64_t g, int64_t *attempts, int64_t *fdms_id)
{
	struct store_receipt r;
	enum store_receipt_state s = (enum store_receipt_state)-1;

	if (store_receipt_by_global(st, d->id, g, &r) == STORE_OK) {
		s = r.state;
		if (attempts != NULL)
			*attempts = r.attempts;
		if (fdms_id != NULL)
			*fdms_id = r.has_fdms_receipt_id ? r.fdms_receipt_id :
			    -1;
		store_receipt_free(&r);
	}
	return s;
}

/* The result file of receipt g contains want (e.g. "submitted"). */
static bool
result_says(const struct tdev *d, int64_t g, const char *want)
{
	char path[PATH_MAX + 64], buf[16384];
	FILE *fp;
	size_t n;

	snprintf(path, sizeof(path), "%s/sale-%" PRId64 ".json.result.json",
	    d->done, g);
	if ((fp = fopen(path, "r")) == NULL)
		return false;
	n = fread(buf, 1, sizeof(buf) - 1, fp);
	fclose(fp);
	buf[n] = '\0';
	return strstr(buf, want) != NULL;
}

/* ---- the cases ---- */

/* Day confirmed, then receipts in order; Ping; result files rewritten. */
static void
in_order(struct tdev *d)
{
	struct outbox *ob;
	struct store_day day;
	bool ordered;
	int64_t i;
	cJSON *s, *x;

	for (i = 0; i < 3; i++)
		CHECK(journal_receipt(d, false) > 0, "journal");
	ob = new_outbox(d, false);
	CHECK_INT(pending(ob), 3);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	CHECK_INT(ledger(d, &ordered), 3);
	CHECK(ordered, "ledger in order");
	CHECK_INT(store_day_get(st, d->id, 1, &day), STORE_OK);
	CHECK(day.open_operation_id != NULL, "day confirmed at FDMS");
	store_day_free(&day);
	for (i = 1; i <= 3; i++) {
		CHECK_INT(rstate(d, i, NULL, NULL), STORE_R_SUBMITTED);
		CHECK(result_says(d, i, "\"submitted\""), "result %" PRId64
		    " submitted", i);
		CHECK(result_says(d, i, "\"receiptID\""), "fdms block");
	}
	s = sim_json("state", d->id);
	x = cJSON_GetObjectItemCaseSensitive(s, "lastPing");
	CHECK(x != NULL && !cJSON_IsNull(x), "the outbox pinged");
	cJSON_Delete(s);
	outbox_free(ob);
}

/* FDMS down (503 with Retry-After, then dropped connections), then back. */
static void
outage(struct tdev *d)
{
	struct outbox *ob;
	char spec[96];
	bool ordered;
	long before;
	int64_t i, attempts = 0;

	before = ledger(d, &ordered);
	for (i = 0; i < 4; i++)
		CHECK(journal_receipt(d, false) > 0, "journal");
	snprintf(spec, sizeof(spec), "SubmitReceipt@%" PRId64 ":1-3=503",
	    d->id);
	fault(spec);
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	CHECK_INT(rstate(d, d->global - 3, &attempts, NULL), STORE_R_SUBMITTED);
	CHECK_INT(attempts, 4);		/* three 503s, then accepted */
	faults_clear();

	/* Unreachable: every request dropped, for a while. */
	for (i = 0; i < 3; i++)
		CHECK(journal_receipt(d, false) > 0, "journal");
	snprintf(spec, sizeof(spec), "@%" PRId64 ":*=drop", d->id);
	fault(spec);
	outbox_kick(ob, d->id);		/* what the daemon does after filing */
	CHECK_INT(drive(ob, UNTIL_TIME, 1500), 0);
	CHECK_INT(pending(ob), 3);
	faults_clear();
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	CHECK_INT(ledger(d, &ordered), before + 7);
	CHECK(ordered, "every receipt once, in order, after the outage");
	outbox_free(ob);
}

/* Committed at FDMS, the answer lost: resent, stored exactly once. */
static void
commit_drop(struct tdev *d)
{
	struct outbox *ob;
	char spec[96];
	bool ordered;
	long before;
	int64_t g, attempts = 0, id = -1;

	before = ledger(d, &ordered);
	g = journal_receipt(d, false);
	/* 1-2: curl's own resend on a reused connection is covered too. */
	snprintf(spec, sizeof(spec), "SubmitReceipt@%" PRId64
	    ":1-2=commit-drop", d->id);
	fault(spec);
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	faults_clear();
	CHECK_INT(ledger(d, &ordered), before + 1);
	CHECK(ordered, "in order");
	CHECK_INT(rstate(d, g, &attempts, &id), STORE_R_SUBMITTED);
	CHECK(attempts >= 2, "attempts %" PRId64, attempts);
	CHECK_INT(id, ledger_entry(d, g, NULL));
	outbox_free(ob);
}

/* A 4xx does not advance; once FDMS takes it, the queue goes on. */
static void
refused(struct tdev *d)
{
	struct outbox *ob;
	char spec[96];
	bool ordered;
	long before;
	int64_t g1, g2, attempts = 0;

	before = ledger(d, &ordered);
	g1 = journal_receipt(d, false);
	g2 = journal_receipt(d, false);
	snprintf(spec, sizeof(spec), "SubmitReceipt@%" PRId64 ":1=422",
	    d->id);
	fault(spec);
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_TIME, 150), 0);
	CHECK_INT(pending(ob), 2);	/* neither sent past the refusal */
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	faults_clear();
	CHECK_INT(ledger(d, &ordered), before + 2);
	CHECK(ordered, "in order after the refusal");
	CHECK_INT(rstate(d, g1, &attempts, NULL), STORE_R_SUBMITTED);
	CHECK_INT(attempts, 2);
	CHECK_INT(rstate(d, g2, &attempts, NULL), STORE_R_SUBMITTED);
	CHECK_INT(attempts, 1);
	outbox_free(ob);
}

/*
 * In doubt at a "crash": the attempt journaled and the bytes sent (the
 * answer never arrived), and a second one journaled but never sent.  A new
 * outbox resends both; FDMS holds each once, the first with the receiptID
 * it gave the lost answer, and what it stored is what was journaled.
 */
static void
in_doubt_restart(struct tdev *d)
{
	struct fdms_request rq;
	struct fdms_reply rp;
	struct store_receipt r;
	struct outbox *ob;
	struct buf want;
	char *body = NULL;
	bool ordered;
	long before;
	int64_t g1, g2, lost_id = -1, id = -1;

	before = ledger(d, &ordered);
	g1 = journal_receipt(d, false);
	g2 = journal_receipt(d, false);
	CHECK_INT(store_receipt_attempt(st, d->id, g1), STORE_OK);
	CHECK_INT(store_receipt_by_global(st, d->id, g1, &r), STORE_OK);
	fdms_request_init(&rq);
	CHECK_INT(fdms_req_submit_receipt(&rq, d->id, r.wire_json, r.wire_len),
	    0);
	CHECK_INT(fdms_call(cl, &d->rt.fdms, &rq, &rp), FDMS_OK);
	lost_id = rp.u.submitted.receipt_id;	/* "lost": never journaled */
	fdms_reply_free(&rp);
	fdms_request_free(&rq);
	CHECK_INT(rstate(d, g1, NULL, NULL), STORE_R_SUBMITTING);

	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	CHECK_INT(ledger(d, &ordered), before + 2);
	CHECK(ordered, "in order");
	CHECK_INT(rstate(d, g1, NULL, &id), STORE_R_SUBMITTED);
	CHECK_INT(id, lost_id);
	CHECK_INT(rstate(d, g2, NULL, NULL), STORE_R_SUBMITTED);
	CHECK_INT(ledger_entry(d, g1, &body), lost_id);
	buf_init(&want, FDMS_MAX_REQUEST);
	buf_adds(&want, "{\"receipt\":");
	buf_add(&want, r.wire_json, r.wire_len);
	buf_adds(&want, "}");
	CHECK(body != NULL && strcmp(body, buf_str(&want)) == 0,
	    "FDMS stored other bytes than journaled");
	buf_free(&want);
	free(body);
	store_receipt_free(&r);
	outbox_free(ob);
}

/* A Red receipt stops the device, across a restart, until lifted. */
static void
red_stops(struct tdev *d)
{
	struct store_device sd;
	struct devadmin a;
	struct outbox *ob;
	char reason[512], *text = NULL;
	size_t len = 0;
	FILE *out;
	bool ordered;
	long before;
	int64_t g_bad, g_next;

	before = ledger(d, &ordered);
	g_bad = journal_receipt(d, true);
	g_next = journal_receipt(d, false);
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_TIME, 1500), 0);
	CHECK_INT(ledger(d, &ordered), before + 1);
	CHECK_INT(rstate(d, g_bad, NULL, NULL), STORE_R_FLAGGED);
	CHECK_INT(rstate(d, g_next, NULL, NULL), STORE_R_SIGNED);
	CHECK(result_says(d, g_bad, "\"flagged\""), "flagged result");
	CHECK(result_says(d, g_bad, "RCPT024"), "validation error in result");
	CHECK_INT(store_device_get(st, d->id, &sd), STORE_OK);
	CHECK(sd.signing_blocked && sd.block_reason != NULL &&
	    strncmp(sd.block_reason, DEVICE_BLOCK_FLAGGED,
	    strlen(DEVICE_BLOCK_FLAGGED)) == 0, "device blocked: %s",
	    sd.block_reason ? sd.block_reason : "(none)");
	store_device_free(&sd);
	CHECK(outbox_settled(ob), "a stopped device is settled");
	outbox_free(ob);

	/* A restart does not resume it. */
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_TIME, 500), 0);
	CHECK_INT(ledger(d, &ordered), before + 1);
	CHECK_INT(rstate(d, g_next, NULL, NULL), STORE_R_SIGNED);

	/* resync finds the journal and FDMS agreeing, and still keeps it. */
	memset(&a, 0, sizeof(a));
	a.dev = &d->conf;
	a.store = st;
	a.client = cl;
	if ((out = open_memstream(&text, &len)) != NULL) {
		CHECK_INT(devadmin_resync(&a, out), 1);
		fclose(out);
		CHECK(text != NULL && strstr(text, "BLOCKED by spoold") != NULL,
		    "resync names the block: %s", text ? text : "");
		free(text);
	}
	CHECK_INT(store_device_get(st, d->id, &sd), STORE_OK);
	CHECK(sd.signing_blocked, "resync lifted the flagged block");
	store_device_free(&sd);
	CHECK_INT(drive(ob, UNTIL_TIME, 200), 0);
	CHECK_INT(rstate(d, g_next, NULL, NULL), STORE_R_SIGNED);

	/* An admin lifts the block: submission resumes. */
	CHECK_INT(device_flag_lift(st, d->id, reason, sizeof(reason)), 1);
	CHECK(strncmp(reason, DEVICE_BLOCK_FLAGGED,
	    strlen(DEVICE_BLOCK_FLAGGED)) == 0, "reason %s", reason);
	CHECK_INT(device_flag_lift(st, d->id, reason, sizeof(reason)), 0);
	outbox_kick(ob, d->id);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	CHECK_INT(ledger(d, &ordered), before + 2);
	CHECK_INT(rstate(d, g_next, NULL, NULL), STORE_R_SUBMITTED);
	outbox_free(ob);
}

/* --once: one try per device, then settled with receipts pending. */
static void
once_gives_up(struct tdev *d)
{
	struct outbox *ob;
	char spec[96];

	CHECK(journal_receipt(d, false) > 0, "journal");
	snprintf(spec, sizeof(spec), "@%" PRId64 ":*=503", d->id);
	fault(spec);
	ob = new_outbox(d, true);
	CHECK_INT(drive(ob, UNTIL_SETTLED, 10000), 0);
	CHECK_INT(pending(ob), 1);
	faults_clear();
	outbox_free(ob);
	ob = new_outbox(d, true);
	CHECK_INT(drive(ob, UNTIL_SETTLED, 10000), 0);
	CHECK_INT(pending(ob), 0);
	outbox_free(ob);
}

/*
 * A second device: its OpenDay is committed but the answer lost; the
 * outbox asks GetStatus, finds its day open, and goes on.  Its
 * certificate expires in 10 days: renewed at start.
 */
static void
open_day_in_doubt_and_renewal(struct tdev *d)
{
	struct outbox *ob;
	struct store_day day;
	struct buf b;
	char spec[96];
	bool ordered;
	int64_t old_cert;

	buf_init(&b, 65536);
	CHECK_INT(sim_http("POST", "/_sim/settings",
	    "{\"certValiditySeconds\": 864000}", &b), 200);
	buf_reset(&b);
	if (setup_device(d, d->id, SIGKEY_RSA) == -1) {
		CHECK(0, "second device");
		buf_free(&b);
		return;
	}
	CHECK_INT(sim_http("POST", "/_sim/settings",
	    "{\"certValiditySeconds\": 31536000}", &b), 200);
	buf_free(&b);
	old_cert = d->rt.cert_id;
	CHECK(journal_receipt(d, false) > 0, "journal");
	snprintf(spec, sizeof(spec), "OpenDay@%" PRId64 ":1-2=commit-drop",
	    d->id);
	fault(spec);
	ob = new_outbox(d, false);
	CHECK_INT(drive(ob, UNTIL_DRAINED, 20000), 0);
	faults_clear();
	CHECK_INT(ledger(d, &ordered), 1);
	CHECK_INT(store_day_get(st, d->id, 1, &day), STORE_OK);
	CHECK(day.open_operation_id != NULL, "day confirmed via GetStatus");
	store_day_free(&day);
	/* The renewal ran first (side task at start). */
	CHECK(d->rt.cert_id != old_cert, "certificate renewed: %" PRId64
	    " -> %" PRId64, old_cert, d->rt.cert_id);
	CHECK(d->rt.cert_not_after[0] != '\0', "new expiry known");
	outbox_free(ob);
}

int
main(void)
{
	struct fdms_client_opts o;
	char err[256], path[PATH_MAX];
	struct tdev a, b;
	enum store_rc rc;
	int64_t base;

	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (getenv("OUTBOX_VERBOSE") != NULL)
		log_init(NULL, 1, 1);
	else
		log_init(NULL, 0, 0);
	if (timeutil_set_zone(TIMEUTIL_DEFAULT_ZONE) == -1)
		fprintf(stderr, "warning: no Africa/Harare zone\n");
	if (sim_start() == -1) {
		CHECK(0, "the FDMS simulator could not be started");
		sim_stop();
		return tap_done();
	}
	snprintf(tmp, sizeof(tmp), "/tmp/outbox-XXXXXX");
	CHECK(mkdtemp(tmp) != NULL, "mkdtemp");
	snprintf(path, sizeof(path), "%s/db.sqlite3", tmp);
	st = store_open(path, STORE_OPEN_CREATE, &rc, err, sizeof(err));
	CHECK(st != NULL, "store: %s", err);
	memset(&o, 0, sizeof(o));
	o.base_url = sim.url;
	o.ca_file = sim.ca;
	o.timeout_ms = o.connect_timeout_ms = 5000;
	cl = fdms_client_new(&o, err, sizeof(err));
	CHECK(cl != NULL, "client: %s", err);
	if (st == NULL || cl == NULL)
		goto out;

	base = 200000 + (int64_t)(getpid() % 100000) * 10;
	if (setup_device(&a, base + 1, SIGKEY_ECDSA) == -1) {
		CHECK(0, "device setup");
		goto out;
	}
	in_order(&a);
	outage(&a);
	commit_drop(&a);
	refused(&a);
	in_doubt_restart(&a);
	once_gives_up(&a);
	red_stops(&a);
	b.id = base + 2;
	open_day_in_doubt_and_renewal(&b);
out:
	tdev_free(&a);
	tdev_free(&b);
	fdms_client_free(cl);
	store_close(st);
	sim_stop();
	if (tmp[0] != '\0')
		nftw(tmp, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	log_close();
	return tap_done();
}

/*
 * audit.c - verify the journal (see audit.h; docs/audit.md).
 *
 * Flow for one device (audit_device):
 *  1. Snapshot: the device row (its global-number high-water mark) and
 *     every fiscal day (status, head, running counters, close request),
 *     read BEFORE the receipts.  spoold may keep writing while we read:
 *     receipts that arrive after the snapshot are still verified one by
 *     one, but a day's sums only take the receipts its snapshot knew
 *     (counter <= the day's head), so a running daemon never makes a
 *     clean journal look bad.
 *  2. Stream (main thread, store_receipts_each, one row in memory): the
 *     sequential checks that need only the row's columns and the previous
 *     row (counter, global number, chain link, day head, done/ file), the
 *     signing certificate (parsed once per cert_id), then the row is
 *     copied into a batch.  Full batches go through a bounded queue to the
 *     workers; with one thread the main thread checks each batch itself.
 *  3. Workers (check_receipt): parse the stored wire bytes into the
 *     receipt model, compare them with the row's columns, rebuild the
 *     signature input string (sigstr_receipt, with the row's previous
 *     hash), hash it, compare with the journaled hash, verify the
 *     signature over that hash with the certificate's public key (one
 *     EVP_PKEY_CTX per worker and key: no re-parsing, no re-init), and add
 *     the receipt's counters into the worker's own per-day sums.
 *  4. While the workers finish, the main thread lists done/ and looks up
 *     every file the journal might not know.
 *  5. Join; merge the workers' tallies and sums; per day: the head, the
 *     running counters against the sums, and for a closed (or close
 *     requested) day the close request: fiscalDayNo, receiptCounter,
 *     counters against the sums, the hash of the day string over the
 *     request's counters (sigstr_day), the signature.
 *
 * Determinism: every finding goes through note(), which counts it and
 * keeps the lowest (global number, day, counter, file name) per kind; a
 * receipt yields at most one finding per kind, so ties cannot occur and
 * the merge order of the workers does not matter.
 *
 * Memory: bounded by the queue (2 x threads + 1 batches of BATCH_JOBS
 * rows) plus per day one snapshot and one counter set; never by the
 * number of receipts or files.
 *
 * Trust: every column and the wire bytes are checked, never believed;
 * the certificates in the journal are the device's keys.  Text from the
 * journal or from done/ reaches output only through the printers, which
 * escape it.
 */
#include "spool/audit.h"

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>
#include <openssl/rsa.h>
#include <openssl/sha.h>

#include "daemon/config.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/sign.h"
#include "fiscal/sigstr.h"
#include "io/document.h"
#include "io/jsonrx.h"
#include "store/store.h"
#include "util/base64.h"
#include "util/buf.h"
#include "util/fsutil.h"

#define BATCH_JOBS	64		/* rows per batch handed to a worker */
#define BATCH_TEXT_MAX	(256u * 1024 * 1024)	/* a batch's strings */
#define MAX_THREADS	64
#define SIGSTR_MAX	(64 * 1024)
#define CLOSE_MAX	(4 * 1024 * 1024)	/* a close request's JSON */
#define VCTX_MAX	16		/* keys a worker keeps contexts for */
#define STOP_ERROR	1000		/* callback stop: distinct from store_rc */
#define NO_OFF		SIZE_MAX
#define CERT_SLACK_S	3600	/* clock skew allowed, our host vs FDMS */

static const char result_json[] = ".result.json";
static const char result_xml[] = ".result.xml";

static const char *const kind_names[AUDIT_KIND_COUNT] = {
	[AUDIT_WIRE] = "wire",
	[AUDIT_HASH] = "hash",
	[AUDIT_SIGNATURE] = "signature",
	[AUDIT_CHAIN] = "chain",
	[AUDIT_COUNTER] = "counter",
	[AUDIT_GLOBAL_NO] = "global-number",
	[AUDIT_DAY_COUNTERS] = "day-counters",
	[AUDIT_CLOSE_COUNTERS] = "close-counters",
	[AUDIT_CLOSE_SIGNATURE] = "close-signature",
	[AUDIT_FILE_MISSING] = "file-missing",
	[AUDIT_FILE_EXTRA] = "file-extra",
};

const char *
audit_kind_name(enum audit_kind k)
{
	return (unsigned)k < AUDIT_KIND_COUNT ? kind_names[k] : "?";
}

/* ---- findings ------------------------------------------------------- */

/* Counts and first records, one per thread until merged. */
struct tally {
	int64_t			 count[AUDIT_KIND_COUNT];
	struct audit_finding	 first[AUDIT_KIND_COUNT];
};

/* The order "first" means: global number, then day, counter, file. */
static int
finding_cmp(const struct audit_finding *a, const struct audit_finding *b)
{
	int64_t ga = a->global_no > 0 ? a->global_no : INT64_MAX;
	int64_t gb = b->global_no > 0 ? b->global_no : INT64_MAX;

	if (ga != gb)
		return ga < gb ? -1 : 1;
	if (a->day_no != b->day_no)
		return a->day_no < b->day_no ? -1 : 1;
	if (a->counter != b->counter)
		return a->counter < b->counter ? -1 : 1;
	return strcmp(a->file, b->file);
}

struct where {
	int64_t		 day_no, counter, global_no;
	const char	*file;
};

static void
note(struct tally *t, enum audit_kind k, const struct where *w,
    const char *expected, const char *found, const char *fmt, ...)
    __attribute__((format(printf, 6, 7)));

static void
note(struct tally *t, enum audit_kind k, const struct where *w,
    const char *expected, const char *found, const char *fmt, ...)
{
	struct audit_finding f;
	va_list ap;

	t->count[k]++;
	memset(&f, 0, sizeof(f));
	f.set = true;
	f.day_no = w->day_no;
	f.counter = w->counter;
	f.global_no = w->global_no;
	snprintf(f.file, sizeof(f.file), "%s", w->file ? w->file : "");
	if (t->first[k].set && finding_cmp(&f, &t->first[k]) >= 0)
		return;
	snprintf(f.expected, sizeof(f.expected), "%s",
	    expected ? expected : "");
	snprintf(f.found, sizeof(f.found), "%s", found ? found : "");
	va_start(ap, fmt);
	vsnprintf(f.message, sizeof(f.message), fmt, ap);
	va_end(ap);
	t->first[k] = f;
}

static void
tally_merge(struct tally *into, const struct tally *from)
{
	int k;

	for (k = 0; k < AUDIT_KIND_COUNT; k++) {
		into->count[k] += from->count[k];
		if (from->first[k].set && (!into->first[k].set ||
		    finding_cmp(&from->first[k], &into->first[k]) < 0))
			into->first[k] = from->first[k];
	}
}

/* ---- small renderings ------------------------------------------------ */

static const char *
cents(int64_t v, char *buf, size_t len)
{
	return money_format(v, 2, buf, len);
}

static const char *
i64(int64_t v, char *buf, size_t len)
{
	snprintf(buf, len, "%" PRId64, v);
	return buf;
}

/* "SaleByTax USD tax 517 15.50%", "... tax 1 exempt", "... USD Cash". */
static const char *
counter_label(const struct counter *c, char *buf, size_t len)
{
	char pct[MONEY_BUFSZ];

	if (c->type == COUNTER_BALANCE_BY_MONEY_TYPE)
		snprintf(buf, len, "%s %s %s", counter_type_name(c->type),
		    c->currency, money_type_name(c->money_type));
	else if (c->has_percent)
		snprintf(buf, len, "%s %s tax %" PRId64 " %s%%",
		    counter_type_name(c->type), c->currency, c->tax_id,
		    money_format(c->percent, 2, pct, sizeof(pct)));
	else
		snprintf(buf, len, "%s %s tax %" PRId64 " exempt",
		    counter_type_name(c->type), c->currency, c->tax_id);
	return buf;
}

static bool
counter_same_key(const struct counter *a, const struct counter *b)
{
	if (a->type != b->type || strcmp(a->currency, b->currency) != 0)
		return false;
	if (a->type == COUNTER_BALANCE_BY_MONEY_TYPE)
		return a->money_type == b->money_type;
	return a->tax_id == b->tax_id && a->has_percent == b->has_percent &&
	    (!a->has_percent || a->percent == b->percent);
}

static const struct counter *
counter_find(const struct counters *c, const struct counter *k, size_t *at)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (counter_same_key(&c->v[i], k)) {
			if (at != NULL)
				*at = i;
			return &c->v[i];
		}
	return NULL;
}

static void
counter_text(const struct counter *c, char *out, size_t len)
{
	char l[128], v[MONEY_BUFSZ];

	snprintf(out, len, "%s = %s", counter_label(c, l, sizeof(l)),
	    cents(c->value, v, sizeof(v)));
}

/*
 * Compare counters: want finished (canonical order, no zeros), got as
 * journaled or as signed.  The values first (a counter missing, extra,
 * repeated or of another value), then the order (the signed string and
 * the JSON array follow it).  0 equal; else 1 with the first difference
 * in exp/fnd.  Quadratic in the number of counters (tens per day).
 */
static int
counters_diff(const struct counters *want, const struct counters *got,
    char *exp, size_t explen, char *fnd, size_t fndlen)
{
	const struct counter *x;
	char l[128];
	size_t i, at;

	for (i = 0; i < want->n; i++) {
		x = counter_find(got, &want->v[i], NULL);
		if (x != NULL && x->value == want->v[i].value)
			continue;
		counter_text(&want->v[i], exp, explen);
		if (x != NULL)
			counter_text(x, fnd, fndlen);
		else
			snprintf(fnd, fndlen, "%s: none", counter_label(
			    &want->v[i], l, sizeof(l)));
		return 1;
	}
	for (i = 0; i < got->n; i++) {
		if (counter_find(want, &got->v[i], NULL) != NULL &&
		    counter_find(got, &got->v[i], &at) != NULL && at == i)
			continue;
		/* Unknown, or the second of a repeated key. */
		snprintf(exp, explen, "%s: none", counter_label(&got->v[i], l,
		    sizeof(l)));
		counter_text(&got->v[i], fnd, fndlen);
		if (counter_find(want, &got->v[i], NULL) != NULL)
			snprintf(exp, explen, "%s once", counter_label(
			    &got->v[i], l, sizeof(l)));
		return 1;
	}
	for (i = 0; i < want->n && i < got->n; i++) {
		if (counter_same_key(&want->v[i], &got->v[i]))
			continue;
		snprintf(exp, explen, "counter %zu: %s", i + 1,
		    counter_label(&want->v[i], l, sizeof(l)));
		snprintf(fnd, fndlen, "counter %zu: %s", i + 1,
		    counter_label(&got->v[i], l, sizeof(l)));
		return 1;
	}
	return 0;
}

static int
counters_copy(struct counters *to, const struct counters *from)
{
	size_t i;

	for (i = 0; i < from->n; i++)
		if (counters_add(to, &from->v[i]) == -1)
			return -1;
	return 0;
}

/* ---- signature verification ----------------------------------------- */

/* A worker's verification context for one key (created once, reused). */
struct vctx {
	const struct sigkey	*key;
	EVP_PKEY_CTX		*ctx;
};

struct verifier {
	struct vctx	 v[VCTX_MAX];
	size_t		 n;
};

static void
verifier_free(struct verifier *vf)
{
	size_t i;

	for (i = 0; i < vf->n; i++)
		EVP_PKEY_CTX_free(vf->v[i].ctx);
	vf->n = 0;
}

static EVP_PKEY_CTX *
new_vctx(const struct sigkey *k)
{
	EVP_PKEY_CTX *ctx;

	if ((ctx = EVP_PKEY_CTX_new_from_pkey(NULL, sigkey_evp(k), NULL)) ==
	    NULL)
		return NULL;
	/* What sign_b64 makes: SHA-256, PKCS#1 v1.5 for RSA, DER ECDSA. */
	if (EVP_PKEY_verify_init(ctx) != 1 ||
	    (sigkey_type(k) == SIGKEY_RSA &&
	    EVP_PKEY_CTX_set_rsa_padding(ctx, RSA_PKCS1_PADDING) != 1) ||
	    EVP_PKEY_CTX_set_signature_md(ctx, EVP_sha256()) != 1) {
		EVP_PKEY_CTX_free(ctx);
		return NULL;
	}
	return ctx;
}

/*
 * Does sig_b64 sign the SHA-256 digest md with k?  1 yes, 0 no, -1 the
 * signature is not base64 of at most SIG_MAX_BYTES, -2 no context (out
 * of memory).  The digest is the one the hash check computed, so the
 * string is hashed once.
 */
static int
verify_digest(struct verifier *vf, const struct sigkey *k,
    const unsigned char md[SHA256_DIGEST_LENGTH], const char *sig_b64)
{
	unsigned char sig[SIG_MAX_BYTES];
	EVP_PKEY_CTX *ctx = NULL;
	long n;
	size_t i;
	int rc;

	if (sig_b64 == NULL ||
	    (n = base64_decode(sig_b64, strlen(sig_b64), sig, sizeof(sig))) <= 0)
		return -1;
	for (i = 0; i < vf->n; i++)
		if (vf->v[i].key == k)
			ctx = vf->v[i].ctx;
	if (ctx == NULL) {
		if ((ctx = new_vctx(k)) == NULL)
			return -2;
		if (vf->n == VCTX_MAX) {
			/* Many certificates: recycle the oldest context. */
			EVP_PKEY_CTX_free(vf->v[0].ctx);
			memmove(&vf->v[0], &vf->v[1],
			    (VCTX_MAX - 1) * sizeof(vf->v[0]));
			vf->n--;
		}
		vf->v[vf->n].key = k;
		vf->v[vf->n++].ctx = ctx;
	}
	rc = EVP_PKEY_verify(ctx, sig, (size_t)n, md, SHA256_DIGEST_LENGTH);
	return rc == 1 ? 1 : 0;
}

/* ---- batches and workers ---------------------------------------------- */

/* One journal row, as a worker needs it; strings are offsets in text. */
struct job {
	int64_t			 day_no, counter, global_no, total, cert_id;
	enum receipt_type	 type;
	bool			 sum;		/* counts in its day's sums */
	const struct sigkey	*key;		/* NULL: not verified */
	size_t			 wire, wire_len, hash, signature, prev_hash;
	size_t			 invoice_no, currency, date;
};

struct batch {
	size_t		 n;
	struct job	 jobs[BATCH_JOBS];
	struct buf	 text;
};

/* A worker's sums for one day. */
struct daysum {
	int64_t		 day_no;
	struct counters	 c;
};

struct worker {
	struct audit		*a;
	pthread_t		 tid;
	bool			 started;
	struct tally		 tally;
	struct daysum		*sums;
	size_t			 nsums, capsums;
	struct verifier		 vf;
	struct findings		*f;		/* doc_read's scratch */
	struct buf		 sb;		/* signature input */
	bool			 failed;	/* out of memory */
};

/* One day of the snapshot. */
struct dayinfo {
	struct store_day	 d;
	int64_t			 last_counter;	/* of the journal rows seen */
	int64_t			 last_cert_id;
	bool			 head_seen;	/* row counter == head counter */
	struct counters		 sum;		/* of the rows in the snapshot */
};

/* A certificate's public key, parsed once. */
struct certent {
	int64_t		 asked;		/* the row's cert_id (0: current) */
	int64_t		 cert_id;	/* 0: none found */
	struct sigkey	*key;		/* NULL: unusable, see why */
	char		 not_before[STORE_TIME_LEN + 1];
	char		 not_after[STORE_TIME_LEN + 1];
	char		 why[AUDIT_TEXT_MAX];
};

struct audit {
	struct store			*store;
	int64_t				 device_id;
	int64_t				 day_no;	/* filter, 0: all */
	struct audit_device_report	*rep;
	const struct audit_opts		*opts;
	struct tally			 tally;		/* main thread's */

	struct dayinfo			*days;
	size_t				 ndays, cur;
	int64_t				 dev_last_global;
	bool				 dev_last_seen;

	bool				 have_prev;
	int64_t				 prev_day, prev_counter, prev_global;
	char				*prev_hash;

	struct certent			*certs;
	size_t				 ncerts;

	int				 done_fd;	/* -1: no files */

	/* The pool (nworkers 1: inline, no threads). */
	struct worker			*w;
	size_t				 nworkers;
	bool				 threaded;
	pthread_mutex_t			 mu;
	pthread_cond_t			 cv_work, cv_space;
	struct batch			**queue;	/* ring of full batches */
	size_t				 qcap, qhead, qlen;
	struct batch			**spare;
	size_t				 nspare, nalloc;
	bool				 closing;
	struct batch			*cur_batch;

	struct verifier			 vf;		/* main thread's */
	bool				 failed;
	char				 error[AUDIT_TEXT_MAX];
};

static void
fail(struct audit *a, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fail(struct audit *a, const char *fmt, ...)
{
	va_list ap;

	if (a->failed)
		return;
	a->failed = true;
	va_start(ap, fmt);
	vsnprintf(a->error, sizeof(a->error), fmt, ap);
	va_end(ap);
}

static struct daysum *
worker_daysum(struct worker *w, int64_t day_no)
{
	struct daysum *s;
	size_t i, cap;

	/* Rows come in journal order: the day is nearly always the last. */
	for (i = w->nsums; i > 0; i--)
		if (w->sums[i - 1].day_no == day_no)
			return &w->sums[i - 1];
	if (w->nsums == w->capsums) {
		cap = w->capsums ? w->capsums * 2 : 8;
		if ((s = realloc(w->sums, cap * sizeof(*s))) == NULL)
			return NULL;
		w->sums = s;
		w->capsums = cap;
	}
	s = &w->sums[w->nsums++];
	s->day_no = day_no;
	counters_init(&s->c);
	return s;
}

static const char *
jtext(const struct batch *b, size_t off)
{
	return off == NO_OFF ? NULL : b->text.p + off;
}

/* The wire receipt against its row: the first field that differs. */
static bool
wire_differs(const struct receipt *r, const struct batch *b,
    const struct job *j, char *exp, size_t explen, char *fnd, size_t fndlen,
    const char **field)
{
	char x[MONEY_BUFSZ], y[MONEY_BUFSZ];
	const char *s;

#define DIFF(name, e, f) do { *field = (name); \
	snprintf(exp, explen, "%s", (e)); snprintf(fnd, fndlen, "%s", (f)); \
	return true; } while (0)
	if (!r->has_counter || r->counter != j->counter)
		DIFF("receiptCounter", i64(j->counter, x, sizeof(x)),
		    r->has_counter ? i64(r->counter, y, sizeof(y)) : "none");
	if (!r->has_global_no || r->global_no != j->global_no)
		DIFF("receiptGlobalNo", i64(j->global_no, x, sizeof(x)),
		    r->has_global_no ? i64(r->global_no, y, sizeof(y)) : "none");
	if (r->type != j->type)
		DIFF("receiptType", receipt_type_name(j->type),
		    receipt_type_name(r->type));
	s = jtext(b, j->currency);
	if (r->currency == NULL || strcmp(r->currency, s) != 0)
		DIFF("receiptCurrency", s, r->currency ? r->currency : "none");
	s = jtext(b, j->invoice_no);
	if (r->invoice_no == NULL || strcmp(r->invoice_no, s) != 0)
		DIFF("invoiceNo", s, r->invoice_no ? r->invoice_no : "none");
	s = jtext(b, j->date);
	if (r->date == NULL || strcmp(r->date, s) != 0)
		DIFF("receiptDate", s, r->date ? r->date : "none");
	if (r->total != j->total)
		DIFF("receiptTotal", cents(j->total, x, sizeof(x)),
		    cents(r->total, y, sizeof(y)));
	s = jtext(b, j->hash);
	if (r->sig_hash == NULL || strcmp(r->sig_hash, s) != 0)
		DIFF("receiptDeviceSignature.hash", s,
		    r->sig_hash ? r->sig_hash : "none");
	s = jtext(b, j->signature);
	if (r->sig_signature == NULL || strcmp(r->sig_signature, s) != 0)
		DIFF("receiptDeviceSignature.signature", s,
		    r->sig_signature ? r->sig_signature : "none");
#undef DIFF
	return false;
}

static void
check_receipt(struct worker *w, const struct batch *b, const struct job *j)
{
	struct audit *a = w->a;
	struct where at = { j->day_no, j->counter, j->global_no, NULL };
	unsigned char md[SHA256_DIGEST_LENGTH];
	char hash[SHA256_B64_LEN + 1];
	char exp[AUDIT_VALUE_MAX], fnd[AUDIT_VALUE_MAX];
	const char *stage = NULL, *field = NULL, *stored;
	struct receipt *r;
	struct daysum *ds;
	int v;

	findings_clear(w->f);
	r = doc_read(b->text.p + j->wire, j->wire_len, DOC_JSON, NULL, 0, w->f,
	    &stage);
	if (r == NULL) {
		note(&w->tally, AUDIT_WIRE, &at, NULL, NULL, "the stored wire "
		    "receipt cannot be read (%s): %s%s%s", stage ? stage : "?",
		    w->f->n ? w->f->v[0].path : "", w->f->n &&
		    w->f->v[0].path[0] ? ": " : "",
		    w->f->n ? w->f->v[0].message : "no reason given");
		return;
	}
	if (wire_differs(r, b, j, exp, sizeof(exp), fnd, sizeof(fnd), &field))
		note(&w->tally, AUDIT_WIRE, &at, exp, fnd, "%s in the stored "
		    "wire receipt differs from the journal row", field);

	buf_reset(&w->sb);
	if (sigstr_receipt(r, a->device_id, jtext(b, j->prev_hash), &w->sb) ==
	    -1) {
		note(&w->tally, AUDIT_HASH, &at, NULL, NULL, "the signature "
		    "input string cannot be built from the stored wire "
		    "receipt");
		goto sums;
	}
	SHA256((const unsigned char *)w->sb.p, w->sb.len, md);
	base64_encode(md, sizeof(md), hash);
	stored = jtext(b, j->hash);
	if (strcmp(hash, stored) != 0)
		note(&w->tally, AUDIT_HASH, &at, hash, stored, "the signature "
		    "input rebuilt from the stored wire receipt hashes to "
		    "something else than the journaled hash");
	if (j->key != NULL) {
		v = verify_digest(&w->vf, j->key, md, jtext(b, j->signature));
		if (v == 0)
			note(&w->tally, AUDIT_SIGNATURE, &at, NULL, NULL,
			    "the signature does not verify over the signature "
			    "input with certificate %" PRId64, j->cert_id);
		else if (v == -1)
			note(&w->tally, AUDIT_SIGNATURE, &at, NULL, NULL,
			    "the signature is not base64 of at most %d bytes",
			    SIG_MAX_BYTES);
		else if (v == -2)
			w->failed = true;
	}
sums:
	if (j->sum) {
		if ((ds = worker_daysum(w, j->day_no)) == NULL)
			w->failed = true;
		else if (counters_add_receipt(&ds->c, r) == -1)
			note(&w->tally, AUDIT_WIRE, &at, NULL, NULL, "the "
			    "receipt's taxes and payments cannot be added to "
			    "the day's counters (currency or overflow)");
	}
	receipt_free(r);
}

static void
check_batch(struct worker *w, const struct batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		check_receipt(w, b, &b->jobs[i]);
}

static void *
worker_main(void *arg)
{
	struct worker *w = arg;
	struct audit *a = w->a;
	struct batch *b;

	for (;;) {
		pthread_mutex_lock(&a->mu);
		while (a->qlen == 0 && !a->closing)
			pthread_cond_wait(&a->cv_work, &a->mu);
		if (a->qlen == 0) {
			pthread_mutex_unlock(&a->mu);
			break;
		}
		b = a->queue[a->qhead];
		a->qhead = (a->qhead + 1) % a->qcap;
		a->qlen--;
		pthread_mutex_unlock(&a->mu);

		check_batch(w, b);

		pthread_mutex_lock(&a->mu);
		a->spare[a->nspare++] = b;
		pthread_cond_signal(&a->cv_space);
		pthread_mutex_unlock(&a->mu);
	}
	/* The contexts were this thread's. */
	verifier_free(&w->vf);
	return NULL;
}

static void
batch_free(struct batch *b)
{
	if (b == NULL)
		return;
	buf_free(&b->text);
	free(b);
}

static struct batch *
batch_new(void)
{
	struct batch *b;

	if ((b = calloc(1, sizeof(*b))) == NULL)
		return NULL;
	buf_init(&b->text, BATCH_TEXT_MAX);
	return b;
}

/* An empty batch: a spare one, a new one, or wait for a worker's. */
static struct batch *
batch_get(struct audit *a)
{
	struct batch *b = NULL;

	if (!a->threaded) {
		if (a->nspare > 0)
			b = a->spare[--a->nspare];
		else if ((b = batch_new()) != NULL)
			a->nalloc++;
	} else {
		pthread_mutex_lock(&a->mu);
		while (a->nspare == 0 && a->nalloc == a->qcap)
			pthread_cond_wait(&a->cv_space, &a->mu);
		if (a->nspare > 0)
			b = a->spare[--a->nspare];
		else if ((b = batch_new()) != NULL)
			a->nalloc++;
		pthread_mutex_unlock(&a->mu);
	}
	if (b != NULL) {
		b->n = 0;
		buf_reset(&b->text);
	}
	return b;
}

static void
batch_submit(struct audit *a, struct batch *b)
{
	if (!a->threaded) {
		check_batch(&a->w[0], b);
		a->spare[a->nspare++] = b;
		return;
	}
	pthread_mutex_lock(&a->mu);
	/* At most qcap batches exist, so the ring always has room. */
	a->queue[(a->qhead + a->qlen) % a->qcap] = b;
	a->qlen++;
	pthread_cond_signal(&a->cv_work);
	pthread_mutex_unlock(&a->mu);
}

static int
pool_start(struct audit *a, int threads)
{
	size_t i;

	if (threads < 1)
		threads = 1;
	if (threads > MAX_THREADS)
		threads = MAX_THREADS;
	a->nworkers = (size_t)threads;
	a->qcap = 2 * a->nworkers + 1;
	if ((a->w = calloc(a->nworkers, sizeof(*a->w))) == NULL ||
	    (a->queue = calloc(a->qcap, sizeof(*a->queue))) == NULL ||
	    (a->spare = calloc(a->qcap, sizeof(*a->spare))) == NULL)
		return -1;
	for (i = 0; i < a->nworkers; i++) {
		a->w[i].a = a;
		buf_init(&a->w[i].sb, SIGSTR_MAX);
		if ((a->w[i].f = calloc(1, sizeof(*a->w[i].f))) == NULL)
			return -1;
	}
	if (a->nworkers == 1)
		return 0;
	if (pthread_mutex_init(&a->mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&a->cv_work, NULL) != 0) {
		pthread_mutex_destroy(&a->mu);
		return -1;
	}
	if (pthread_cond_init(&a->cv_space, NULL) != 0) {
		pthread_cond_destroy(&a->cv_work);
		pthread_mutex_destroy(&a->mu);
		return -1;
	}
	a->threaded = true;
	for (i = 0; i < a->nworkers; i++) {
		if (pthread_create(&a->w[i].tid, NULL, worker_main, &a->w[i]) !=
		    0)
			break;
		a->w[i].started = true;
	}
	if (i == 0) {
		/* No thread at all: check in this one. */
		pthread_cond_destroy(&a->cv_space);
		pthread_cond_destroy(&a->cv_work);
		pthread_mutex_destroy(&a->mu);
		a->threaded = false;
	}
	return 0;
}

/* Let the workers drain the queue and end; join them. */
static void
pool_finish(struct audit *a)
{
	size_t i;

	if (!a->threaded)
		return;
	pthread_mutex_lock(&a->mu);
	a->closing = true;
	pthread_cond_broadcast(&a->cv_work);
	pthread_mutex_unlock(&a->mu);
	for (i = 0; i < a->nworkers; i++)
		if (a->w[i].started) {
			(void)pthread_join(a->w[i].tid, NULL);
			a->w[i].started = false;
		}
	pthread_cond_destroy(&a->cv_space);
	pthread_cond_destroy(&a->cv_work);
	pthread_mutex_destroy(&a->mu);
	a->threaded = false;
}

static void
pool_free(struct audit *a)
{
	size_t i, j;

	pool_finish(a);
	for (i = 0; a->w != NULL && i < a->nworkers; i++) {
		struct worker *w = &a->w[i];

		for (j = 0; j < w->nsums; j++)
			counters_free(&w->sums[j].c);
		free(w->sums);
		verifier_free(&w->vf);
		buf_free(&w->sb);
		free(w->f);
	}
	free(a->w);
	a->w = NULL;
	batch_free(a->cur_batch);
	a->cur_batch = NULL;
	for (i = 0; a->spare != NULL && i < a->nspare; i++)
		batch_free(a->spare[i]);
	for (i = 0; a->queue != NULL && i < a->qlen; i++)
		batch_free(a->queue[(a->qhead + i) % a->qcap]);
	free(a->spare);
	free(a->queue);
	a->spare = a->queue = NULL;
}

/* ---- the main thread: certificates ------------------------------------ */

static struct certent *
cert_load(struct audit *a, int64_t asked)
{
	struct store_cert c;
	struct certent *e, *v;
	char err[160];
	size_t i;
	int rc;

	for (i = 0; i < a->ncerts; i++)
		if (a->certs[i].asked == asked)
			return &a->certs[i];
	if ((v = realloc(a->certs, (a->ncerts + 1) * sizeof(*v))) == NULL) {
		fail(a, "out of memory");
		return NULL;
	}
	a->certs = v;
	e = &a->certs[a->ncerts++];
	memset(e, 0, sizeof(*e));
	e->asked = asked;
	rc = store_cert_get(a->store, a->device_id, asked > 0 ? asked :
	    STORE_CERT_CURRENT, &c);
	if (rc == STORE_NOTFOUND) {
		if (asked > 0)
			snprintf(e->why, sizeof(e->why), "certificate %" PRId64
			    " is not in the journal", asked);
		else
			snprintf(e->why, sizeof(e->why), "no certificate is "
			    "recorded for the receipt and the device has none");
		return e;
	}
	if (rc != STORE_OK) {
		fail(a, "journal: %s", store_errmsg(a->store));
		return NULL;
	}
	e->cert_id = c.cert_id;
	snprintf(e->not_before, sizeof(e->not_before), "%s", c.not_before);
	snprintf(e->not_after, sizeof(e->not_after), "%s", c.not_after);
	if ((e->key = sigkey_load_public(c.pem, strlen(c.pem), err,
	    sizeof(err))) == NULL)
		snprintf(e->why, sizeof(e->why), "certificate %" PRId64
		    " cannot be used: %s", c.cert_id, err);
	store_cert_free(&c);
	return e;
}

/* ---- the main thread: days ---------------------------------------------- */

static void
days_free(struct audit *a)
{
	size_t i;

	for (i = 0; i < a->ndays; i++) {
		store_day_free(&a->days[i].d);
		counters_free(&a->days[i].sum);
	}
	free(a->days);
	a->days = NULL;
	a->ndays = 0;
}

static int
day_push(struct audit *a, int64_t day_no)
{
	struct dayinfo *v;
	int rc;

	if ((v = realloc(a->days, (a->ndays + 1) * sizeof(*v))) == NULL) {
		fail(a, "out of memory");
		return -1;
	}
	a->days = v;
	memset(&v[a->ndays], 0, sizeof(v[0]));
	rc = store_day_get(a->store, a->device_id, day_no, &v[a->ndays].d);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK) {
		fail(a, "journal: %s", store_errmsg(a->store));
		return -1;
	}
	counters_init(&v[a->ndays].sum);
	a->ndays++;
	return 0;
}

/* The days to audit, in ascending order, read before any receipt. */
static int
days_load(struct audit *a)
{
	struct store_day last;
	int64_t d, i;
	int rc;

	if (a->day_no > 0)
		return day_push(a, a->day_no);
	rc = store_day_get(a->store, a->device_id, 0, &last);
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK) {
		fail(a, "journal: %s", store_errmsg(a->store));
		return -1;
	}
	d = last.day_no;
	store_day_free(&last);
	/* Day numbers are consecutive in practice; a gap costs a lookup. */
	for (i = 1; i <= d; i++)
		if (day_push(a, i) == -1)
			return -1;
	return 0;
}

static struct dayinfo *
day_find(struct audit *a, int64_t day_no)
{
	size_t lo = 0, hi = a->ndays, mid;

	while (lo < hi) {
		mid = lo + (hi - lo) / 2;
		if (a->days[mid].d.day_no == day_no)
			return &a->days[mid];
		if (a->days[mid].d.day_no < day_no)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* ---- the main thread: the stream --------------------------------------- */

static int
text_add(struct batch *b, const char *s, size_t *off)
{
	if (s == NULL) {
		*off = NO_OFF;
		return 0;
	}
	*off = b->text.len;
	/* Each string NUL-terminated inside the batch's text. */
	return buf_add(&b->text, s, strlen(s) + 1);
}

static int
enqueue(struct audit *a, const struct store_receipt *r, bool sum,
    const struct sigkey *key)
{
	struct batch *b;
	struct job *j;

	if (a->cur_batch == NULL && (a->cur_batch = batch_get(a)) == NULL) {
		fail(a, "out of memory");
		return -1;
	}
	b = a->cur_batch;
	j = &b->jobs[b->n];
	memset(j, 0, sizeof(*j));
	j->day_no = r->day_no;
	j->counter = r->counter;
	j->global_no = r->global_no;
	j->total = r->total;
	j->cert_id = r->cert_id;
	j->type = r->type;
	j->sum = sum;
	j->key = key;
	j->wire = b->text.len;
	j->wire_len = r->wire_len;
	if (buf_add(&b->text, r->wire_json ? r->wire_json : "", r->wire_len) ==
	    -1 || buf_add(&b->text, "", 1) == -1 ||
	    text_add(b, r->hash ? r->hash : "", &j->hash) == -1 ||
	    text_add(b, r->signature ? r->signature : "", &j->signature) ==
	    -1 || text_add(b, r->prev_hash, &j->prev_hash) == -1 ||
	    text_add(b, r->invoice_no ? r->invoice_no : "", &j->invoice_no) ==
	    -1 || text_add(b, r->currency ? r->currency : "", &j->currency) ==
	    -1 || text_add(b, r->date ? r->date : "", &j->date) == -1) {
		fail(a, "out of memory (receipt %" PRId64 ")", r->global_no);
		return -1;
	}
	if (++b->n == BATCH_JOBS) {
		a->cur_batch = NULL;
		batch_submit(a, b);
	}
	return 0;
}

/* --day N: the first receipt's predecessor is in an earlier day. */
static void
check_first_global(struct audit *a, const struct store_receipt *r,
    const struct where *at)
{
	struct store_receipt p;
	struct store_day d;
	char x[32], y[32];
	int64_t i;
	int rc;

	if (a->day_no == 0 || r->global_no <= 1)
		return;
	rc = store_receipt_by_global(a->store, a->device_id, r->global_no - 1,
	    &p);
	if (rc == STORE_OK) {
		if (p.day_no >= r->day_no)
			note(&a->tally, AUDIT_GLOBAL_NO, at, NULL, NULL,
			    "receiptGlobalNo %" PRId64 " comes before the day's "
			    "first, but is in day %" PRId64, p.global_no,
			    p.day_no);
		store_receipt_free(&p);
		return;
	}
	if (rc != STORE_NOTFOUND) {
		fail(a, "journal: %s", store_errmsg(a->store));
		return;
	}
	/* No predecessor: fine only if no earlier day holds a receipt. */
	for (i = r->day_no - 1; i > 0; i--) {
		rc = store_day_get(a->store, a->device_id, i, &d);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK) {
			fail(a, "journal: %s", store_errmsg(a->store));
			return;
		}
		rc = d.receipt_counter > 0;
		store_day_free(&d);
		if (rc) {
			note(&a->tally, AUDIT_GLOBAL_NO, at,
			    i64(r->global_no - 1, x, sizeof(x)), "none",
			    "receiptGlobalNo %s is not in the journal (gap "
			    "before receipt %s)", x, i64(r->global_no, y,
			    sizeof(y)));
			return;
		}
	}
}

static void
check_files_of(struct audit *a, const struct store_receipt *r,
    const struct where *at)
{
	const char *s = r->source_name;
	char res[AUDIT_NAME_MAX + 16];
	enum fsentry_type t;

	if (a->done_fd == -1)
		return;
	t = fsutil_entry_type(a->done_fd, s ? s : "");
	if (t != FSENTRY_REGULAR) {
		note(&a->tally, AUDIT_FILE_MISSING, at, NULL, NULL,
		    "done/%s: %s", s ? s : "",
		    t == FSENTRY_NONE ? "no such file" : t == FSENTRY_OTHER ?
		    "not a regular file" : strerror(errno));
		return;
	}
	snprintf(res, sizeof(res), "%s%s", s, result_json);
	if (fsutil_entry_type(a->done_fd, res) == FSENTRY_REGULAR)
		return;
	snprintf(res, sizeof(res), "%s%s", s, result_xml);
	if (fsutil_entry_type(a->done_fd, res) == FSENTRY_REGULAR)
		return;
	note(&a->tally, AUDIT_FILE_MISSING, at, NULL, NULL, "done/%s has no "
	    "result file (%s or %s)", s, result_json, result_xml);
}

/* "YYYY-MM-DDTHH:MM:SSZ" (the store's UTC times) to seconds; -1 bad. */
static int
utc_seconds(const char *s, int64_t *out)
{
	struct tm tm;
	int n = 0;

	memset(&tm, 0, sizeof(tm));
	if (s == NULL || sscanf(s, "%4d-%2d-%2dT%2d:%2d:%2dZ%n", &tm.tm_year,
	    &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min, &tm.tm_sec,
	    &n) != 6 || n != STORE_TIME_LEN || s[n] != '\0')
		return -1;
	tm.tm_year -= 1900;
	tm.tm_mon -= 1;
	*out = (int64_t)timegm(&tm);
	return 0;
}

/*
 * Was the receipt journaled (created_at, our clock) while the certificate
 * was valid (its dates, FDMS's clock)?  CERT_SLACK_S absorbs the skew
 * between the two clocks, so a receipt signed right after a renewal on a
 * host a little behind FDMS is not called forged.
 */
static bool
within_validity(const char *t, const struct certent *e)
{
	int64_t at, nb, na;

	if (utc_seconds(t, &at) == -1 || utc_seconds(e->not_before, &nb) ==
	    -1 || utc_seconds(e->not_after, &na) == -1)
		return false;
	return at >= nb - CERT_SLACK_S && at <= na + CERT_SLACK_S;
}

/* The certificate the receipt claims, usable at the time it was signed. */
static const struct sigkey *
receipt_key(struct audit *a, const struct store_receipt *r,
    const struct where *at)
{
	struct certent *e;
	const char *t = r->created_at;

	if ((e = cert_load(a, r->cert_id > 0 ? r->cert_id : 0)) == NULL)
		return NULL;		/* the audit failed */
	if (e->key == NULL) {
		note(&a->tally, AUDIT_SIGNATURE, at, NULL, NULL, "%s", e->why);
		return NULL;
	}
	if (!within_validity(t, e)) {
		note(&a->tally, AUDIT_SIGNATURE, at, NULL, NULL, "signed at %s, "
		    "outside the validity of certificate %" PRId64 " (%s to %s)",
		    t ? t : "(unknown)", e->cert_id, e->not_before, e->not_after);
		return NULL;
	}
	return e->key;
}

static int
stream_cb(const struct store_receipt *r, void *arg)
{
	struct audit *a = arg;
	struct where at = { r->day_no, r->counter, r->global_no, NULL };
	struct dayinfo *di = NULL;
	const struct sigkey *key;
	bool in_day, chain_bad, sum = false;
	char x[32], y[32];

	a->rep->receipts++;
	while (a->cur < a->ndays && a->days[a->cur].d.day_no < r->day_no)
		a->cur++;
	if (a->cur < a->ndays && a->days[a->cur].d.day_no == r->day_no)
		di = &a->days[a->cur];

	/* Counter and chain: within the day, against the previous row. */
	in_day = a->have_prev && a->prev_day == r->day_no;
	if (in_day && r->counter != a->prev_counter + 1)
		note(&a->tally, AUDIT_COUNTER, &at, i64(a->prev_counter + 1, x,
		    sizeof(x)), i64(r->counter, y, sizeof(y)), "receiptCounter "
		    "%s follows %" PRId64 " in the day", y, a->prev_counter);
	else if (!in_day && r->counter != 1)
		note(&a->tally, AUDIT_COUNTER, &at, "1", i64(r->counter, y,
		    sizeof(y)), "the first receipt of the day has "
		    "receiptCounter %s", y);
	chain_bad = true;
	if (!in_day && r->prev_hash != NULL)
		note(&a->tally, AUDIT_CHAIN, &at, "none", r->prev_hash,
		    "the first receipt of the day names a previous hash");
	else if (in_day && (r->prev_hash == NULL ||
	    strcmp(r->prev_hash, a->prev_hash) != 0))
		note(&a->tally, AUDIT_CHAIN, &at, a->prev_hash, r->prev_hash ?
		    r->prev_hash : "none", "the previous hash is not the hash "
		    "of receipt %" PRId64 " before it", a->prev_global);
	else
		chain_bad = false;

	/* Global numbers: one more than the row before, across days. */
	if (a->have_prev && r->global_no != a->prev_global + 1)
		note(&a->tally, AUDIT_GLOBAL_NO, &at, i64(a->prev_global + 1, x,
		    sizeof(x)), i64(r->global_no, y, sizeof(y)),
		    r->global_no > a->prev_global + 1 ? "receiptGlobalNo jumps "
		    "from %" PRId64 " to %s" : "receiptGlobalNo goes from %"
		    PRId64 " back to %s", a->prev_global, y);
	else if (!a->have_prev)
		check_first_global(a, r, &at);
	if (r->global_no == a->dev_last_global)
		a->dev_last_seen = true;

	/* The day's head and its sums (what the snapshot knew). */
	if (di != NULL) {
		di->last_counter = r->counter;
		di->last_cert_id = r->cert_id;
		if (r->counter <= di->d.receipt_counter)
			sum = true;
		else if (di->d.status == STORE_DAY_CLOSED)
			note(&a->tally, AUDIT_COUNTER, &at,
			    i64(di->d.receipt_counter, x, sizeof(x)),
			    i64(r->counter, y, sizeof(y)), "receipt after the "
			    "last one of closed day %" PRId64, r->day_no);
		if (r->counter == di->d.receipt_counter) {
			di->head_seen = true;
			/* One chain finding per receipt at most. */
			if (!chain_bad && (di->d.last_hash == NULL ||
			    strcmp(di->d.last_hash, r->hash) != 0))
				note(&a->tally, AUDIT_CHAIN, &at, r->hash,
				    di->d.last_hash ? di->d.last_hash : "none",
				    "the day's last hash is not the hash of its "
				    "last receipt");
		}
	}

	check_files_of(a, r, &at);
	key = receipt_key(a, r, &at);

	a->have_prev = true;
	a->prev_day = r->day_no;
	a->prev_counter = r->counter;
	a->prev_global = r->global_no;
	free(a->prev_hash);
	if ((a->prev_hash = strdup(r->hash ? r->hash : "")) == NULL)
		fail(a, "out of memory");
	if (a->failed || enqueue(a, r, sum, key) == -1)
		return STOP_ERROR;
	return 0;
}

/* ---- the main thread: done/ -------------------------------------------- */

static bool
has_suffix(const char *s, const char *sfx, size_t *stem)
{
	size_t n = strlen(s), m = strlen(sfx);

	if (n <= m || strcmp(s + n - m, sfx) != 0)
		return false;
	*stem = n - m;
	return true;
}

/* The receiptGlobalNo a result file names; 0 when it names none. */
static int64_t
result_global_no(const char *text, size_t len, bool xml)
{
	struct findings *f;
	const char *p, *lit;
	cJSON *root, *n;
	char *end;
	long long v = 0;

	if (xml) {
		if ((p = strstr(text, "<receiptGlobalNo>")) == NULL)
			return 0;
		p += strlen("<receiptGlobalNo>");
		errno = 0;
		v = strtoll(p, &end, 10);
		return errno == 0 && end != p && *end == '<' && v > 0 ? v : 0;
	}
	if ((f = calloc(1, sizeof(*f))) == NULL)
		return 0;
	root = jsonrx_parse(text, len, JSONRX_MAX_SIZE, f);
	free(f);
	if (root == NULL)
		return 0;
	n = cJSON_GetObjectItemCaseSensitive(root, "receiptGlobalNo");
	if ((lit = jsonrx_number_text(n)) != NULL) {
		errno = 0;
		v = strtoll(lit, &end, 10);
		if (errno != 0 || *end != '\0' || v < 0)
			v = 0;
	}
	cJSON_Delete(root);
	return v;
}

struct scan {
	struct audit	*a;
	size_t		 max;
};

static void
sha256_hex(const char *p, size_t len, char out[65])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[SHA256_DIGEST_LENGTH];
	size_t i;

	SHA256((const unsigned char *)p, len, md);
	for (i = 0; i < sizeof(md); i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[64] = '\0';
}

/* A result file: its receipt file is there, or it is a journaled one's. */
static void
scan_result(struct audit *a, const char *name, size_t stem, bool xml,
    size_t max)
{
	struct where at = { 0, 0, 0, name };
	struct store_receipt row;
	char base[AUDIT_NAME_MAX], e[256], *text = NULL;
	size_t len;
	int64_t g = 0;
	bool known = false;

	snprintf(base, sizeof(base), "%.*s", (int)stem, name);
	if (fsutil_entry_type(a->done_fd, base) == FSENTRY_REGULAR)
		return;
	/* Its receipt file is gone: already a file-missing if journaled. */
	if (fsutil_read_at(a->done_fd, name, max, &text, &len, e,
	    sizeof(e)) == FSREAD_OK)
		g = result_global_no(text, len, xml);
	free(text);
	if (g > 0 && store_receipt_by_global(a->store, a->device_id, g,
	    &row) == STORE_OK) {
		known = row.source_name != NULL &&
		    strcmp(row.source_name, base) == 0;
		store_receipt_free(&row);
	}
	if (!known)
		note(&a->tally, AUDIT_FILE_EXTRA, &at, NULL, NULL, "done/%s: "
		    "a result file without its receipt file, for no journaled "
		    "receipt", name);
}

/* What a done/ file is, as the journal sees it. */
static void
scan_file(struct audit *a, const char *name, size_t max)
{
	struct where at = { 0, 0, 0, name };
	struct store_receipt row;
	struct findings *f;
	struct receipt *r = NULL;
	enum fsread_status st;
	const char *stage;
	char hex[65], e[256], *text = NULL;
	size_t len;
	int rc;

	st = fsutil_read_at(a->done_fd, name, max, &text, &len, e, sizeof(e));
	if (st == FSREAD_RESOURCE) {
		fail(a, "done/%s", e);
		return;
	}
	if (st != FSREAD_OK) {
		note(&a->tally, AUDIT_FILE_EXTRA, &at, NULL, NULL, "done/%s "
		    "(not a receipt the journal knows)", e);
		return;
	}
	sha256_hex(text, len, hex);
	rc = store_receipt_by_source(a->store, a->device_id, hex, &row);
	if (rc == STORE_OK) {
		/* The journaled file, or a byte-identical re-drop's copy. */
		store_receipt_free(&row);
		free(text);
		return;
	}
	if (rc != STORE_NOTFOUND) {
		fail(a, "journal: %s", store_errmsg(a->store));
		free(text);
		return;
	}
	/* A re-drop of the same content in other bytes keeps its invoice. */
	rc = STORE_NOTFOUND;
	if ((f = calloc(1, sizeof(*f))) != NULL) {
		r = doc_read(text, len, doc_detect(name, text, len), NULL, 0, f,
		    &stage);
		free(f);
	}
	free(text);
	if (r != NULL && r->invoice_no != NULL)
		rc = store_receipt_by_invoice(a->store, a->device_id,
		    r->invoice_no, &row);
	receipt_free(r);
	if (rc == STORE_OK) {
		if (row.source_name != NULL &&
		    strcmp(row.source_name, name) == 0) {
			/* The journal's own file, with other bytes. */
			struct where rw = { row.day_no, row.counter,
			    row.global_no, name };

			note(&a->tally, AUDIT_FILE_MISSING, &rw,
			    row.source_sha256, hex, "done/%s is not the file "
			    "that was journaled (its SHA-256 differs)", name);
		}
		store_receipt_free(&row);
		return;
	}
	if (rc != STORE_NOTFOUND) {
		fail(a, "journal: %s", store_errmsg(a->store));
		return;
	}
	note(&a->tally, AUDIT_FILE_EXTRA, &at, NULL, NULL, "done/%s is not "
	    "in the journal", name);
}

static int
scan_cb(const char *name, void *arg)
{
	struct scan *sc = arg;
	struct audit *a = sc->a;
	struct where at = { 0, 0, 0, name };
	size_t stem;

	if (strncmp(name, FSUTIL_TMP_PREFIX, sizeof(FSUTIL_TMP_PREFIX) - 1) ==
	    0)
		return 0;	/* an atomic write in progress */
	a->rep->files++;
	if (has_suffix(name, result_json, &stem))
		scan_result(a, name, stem, false, sc->max);
	else if (has_suffix(name, result_xml, &stem))
		scan_result(a, name, stem, true, sc->max);
	else if (fsutil_entry_type(a->done_fd, name) != FSENTRY_REGULAR)
		note(&a->tally, AUDIT_FILE_EXTRA, &at, NULL, NULL, "done/%s "
		    "is not a regular file", name);
	else
		scan_file(a, name, sc->max);
	return a->failed ? STOP_ERROR : 0;
}

static void
scan_done(struct audit *a)
{
	struct scan sc = { a, a->opts->max_file_size ? a->opts->max_file_size :
	    DOC_MAX_SIZE };
	char err[256];

	if (fsutil_each_entry(a->done_fd, scan_cb, &sc, err, sizeof(err)) ==
	    -1)
		fail(a, "done/: %s", err);
}

/* ---- the main thread: days at the end ---------------------------------- */

static bool
json_int(const cJSON *n, int64_t *out)
{
	const char *lit = jsonrx_number_text(n);
	char *end;
	long long v;

	if (lit == NULL)
		return false;
	errno = 0;
	v = strtoll(lit, &end, 10);
	if (errno != 0 || *end != '\0' || end == lit)
		return false;
	*out = v;
	return true;
}

static const char *
json_str(const cJSON *o, const char *name)
{
	const cJSON *n = cJSON_GetObjectItemCaseSensitive(o, name);

	return cJSON_IsString(n) ? n->valuestring : NULL;
}

/* One fiscalDayCounters entry as a struct counter; -1 when malformed. */
static int
parse_counter(const cJSON *o, struct counter *c, const char **why)
{
	const char *s, *lit;
	const cJSON *n;
	enum money_status ms;

	memset(c, 0, sizeof(*c));
	*why = "fiscalCounterType";
	if ((s = json_str(o, "fiscalCounterType")) == NULL ||
	    counter_type_parse(s, &c->type) == -1)
		return -1;
	*why = "fiscalCounterCurrency";
	if ((s = json_str(o, "fiscalCounterCurrency")) == NULL ||
	    strlen(s) != 3)
		return -1;
	memcpy(c->currency, s, 4);
	if (c->type == COUNTER_BALANCE_BY_MONEY_TYPE) {
		*why = "fiscalCounterMoneyType";
		if ((s = json_str(o, "fiscalCounterMoneyType")) == NULL ||
		    money_type_parse(s, &c->money_type) == -1)
			return -1;
	} else {
		*why = "fiscalCounterTaxID";
		if (!json_int(cJSON_GetObjectItemCaseSensitive(o,
		    "fiscalCounterTaxID"), &c->tax_id))
			return -1;
		*why = "fiscalCounterTaxPercent";
		n = cJSON_GetObjectItemCaseSensitive(o,
		    "fiscalCounterTaxPercent");
		if (n != NULL) {
			if ((lit = jsonrx_number_text(n)) == NULL ||
			    money_parse_percent(lit, strlen(lit), &c->percent) !=
			    MONEY_OK)
				return -1;
			c->has_percent = true;
		}
	}
	*why = "fiscalCounterValue";
	lit = jsonrx_number_text(cJSON_GetObjectItemCaseSensitive(o,
	    "fiscalCounterValue"));
	if (lit == NULL)
		return -1;
	ms = money_parse_cents(lit, strlen(lit), &c->value);
	return ms == MONEY_OK ? 0 : -1;
}

struct close_req {
	int64_t		 day_no, receipt_counter;
	struct counters	 c;		/* in the order signed */
	const char	*hash, *signature;
};

/* Read the journaled CloseDay body; NULL root when unusable (why set). */
static cJSON *
parse_close(const char *json, struct close_req *q, char *why, size_t len)
{
	struct findings *f;
	const cJSON *arr, *it, *sig;
	struct counter c;
	const char *bad;
	cJSON *root;
	size_t i = 0;

	memset(q, 0, sizeof(*q));
	counters_init(&q->c);
	if ((f = calloc(1, sizeof(*f))) == NULL) {
		snprintf(why, len, "out of memory");
		return NULL;
	}
	root = jsonrx_parse(json, strlen(json), CLOSE_MAX, f);
	if (root == NULL) {
		snprintf(why, len, "not JSON: %s",
		    f->n ? f->v[0].message : "?");
		free(f);
		return NULL;
	}
	free(f);
	if (!json_int(cJSON_GetObjectItemCaseSensitive(root, "fiscalDayNo"),
	    &q->day_no) || !json_int(cJSON_GetObjectItemCaseSensitive(root,
	    "receiptCounter"), &q->receipt_counter)) {
		snprintf(why, len, "fiscalDayNo or receiptCounter missing");
		goto bad;
	}
	sig = cJSON_GetObjectItemCaseSensitive(root,
	    "fiscalDayDeviceSignature");
	q->hash = json_str(sig, "hash");
	q->signature = json_str(sig, "signature");
	if (q->hash == NULL || q->signature == NULL) {
		snprintf(why, len, "fiscalDayDeviceSignature incomplete");
		goto bad;
	}
	arr = cJSON_GetObjectItemCaseSensitive(root, "fiscalDayCounters");
	if (!cJSON_IsArray(arr)) {
		snprintf(why, len, "fiscalDayCounters is not an array");
		goto bad;
	}
	cJSON_ArrayForEach(it, arr) {
		/* Not counters_add: a repeated key must stay visible. */
		struct counter *v;

		if (parse_counter(it, &c, &bad) == -1) {
			snprintf(why, len, "fiscalDayCounters[%zu].%s is "
			    "malformed", i, bad);
			goto bad;
		}
		if (q->c.n == COUNTERS_MAX) {
			snprintf(why, len, "too many counters");
			goto bad;
		}
		if (q->c.n == q->c.cap) {
			size_t cap = q->c.cap ? q->c.cap * 2 : 16;

			if ((v = realloc(q->c.v, cap * sizeof(*v))) == NULL) {
				snprintf(why, len, "out of memory");
				goto bad;
			}
			q->c.v = v;
			q->c.cap = cap;
		}
		q->c.v[q->c.n++] = c;
		i++;
	}
	return root;
bad:
	counters_free(&q->c);
	cJSON_Delete(root);
	return NULL;
}

/* Does the close signature verify with one of the device's certificates? */
static bool
close_signed(struct audit *a, const struct dayinfo *di,
    const unsigned char md[SHA256_DIGEST_LENGTH], const char *sig,
    int64_t *cert_used)
{
	int64_t tries[3] = { di->last_cert_id, 0, STORE_CERT_PREVIOUS };
	struct store_cert c;
	struct certent *e;
	size_t i;

	for (i = 0; i < 3; i++) {
		if (i == 0 && tries[0] <= 0)
			continue;
		if (tries[i] == STORE_CERT_PREVIOUS) {
			/* The one before the current: by its id. */
			if (store_cert_get(a->store, a->device_id,
			    STORE_CERT_PREVIOUS, &c) != STORE_OK)
				continue;
			tries[i] = c.cert_id;
			store_cert_free(&c);
		}
		if ((e = cert_load(a, tries[i])) == NULL || e->key == NULL)
			continue;
		if (verify_digest(&a->vf, e->key, md, sig) == 1) {
			*cert_used = e->cert_id;
			return true;
		}
	}
	return false;
}

/* Did FDMS report the day closed with reconciliation Manual (GetStatus)? */
static bool
closed_manually(const char *fdms_answer)
{
	struct findings *f;
	const char *mode;
	cJSON *root;
	bool manual;

	if (fdms_answer == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return false;
	root = jsonrx_parse(fdms_answer, strlen(fdms_answer), CLOSE_MAX, f);
	free(f);
	mode = json_str(root, "fiscalDayReconciliationMode");
	manual = mode != NULL && strcmp(mode, "Manual") == 0;
	cJSON_Delete(root);
	return manual;
}

static void
check_close(struct audit *a, struct dayinfo *di, const struct counters *sums)
{
	struct where at = { di->d.day_no, 0, 0, NULL };
	unsigned char md[SHA256_DIGEST_LENGTH];
	char why[AUDIT_TEXT_MAX], exp[AUDIT_VALUE_MAX], fnd[AUDIT_VALUE_MAX];
	char hash[SHA256_B64_LEN + 1], x[32], y[32];
	struct close_req q;
	struct buf b;
	cJSON *root;
	int64_t used = 0;

	if (di->d.close_request == NULL) {
		if (closed_manually(di->d.fdms_answer))
			return;		/* ZIMRA closed it: nothing we signed */
		note(&a->tally, AUDIT_CLOSE_COUNTERS, &at, NULL, NULL,
		    "day %" PRId64 " is %s but no close request is journaled",
		    di->d.day_no, store_day_status_name(di->d.status));
		return;
	}
	if ((root = parse_close(di->d.close_request, &q, why, sizeof(why))) ==
	    NULL) {
		note(&a->tally, AUDIT_CLOSE_COUNTERS, &at, NULL, NULL,
		    "the journaled close request cannot be read: %s", why);
		return;
	}
	at.counter = q.receipt_counter;
	if (q.day_no != di->d.day_no)
		note(&a->tally, AUDIT_CLOSE_COUNTERS, &at, i64(di->d.day_no, x,
		    sizeof(x)), i64(q.day_no, y, sizeof(y)), "the close request "
		    "of day %s names fiscalDayNo %s", x, y);
	else if (q.receipt_counter != di->last_counter)
		note(&a->tally, AUDIT_CLOSE_COUNTERS, &at, i64(di->last_counter,
		    x, sizeof(x)), i64(q.receipt_counter, y, sizeof(y)),
		    "the close request's receiptCounter is %s, the day's last "
		    "receipt in the journal is %s", y, x);
	else if (counters_diff(sums, &q.c, exp, sizeof(exp), fnd,
	    sizeof(fnd)))
		note(&a->tally, AUDIT_CLOSE_COUNTERS, &at, exp, fnd, "the close "
		    "request's fiscalDayCounters are not the sums of the day's "
		    "receipts");

	/* What was signed: the day string over the counters as sent. */
	buf_init(&b, SIGSTR_MAX);
	if (sigstr_day(a->device_id, di->d.day_no, di->d.opened, &q.c, &b) ==
	    -1) {
		note(&a->tally, AUDIT_CLOSE_SIGNATURE, &at, NULL, NULL,
		    "the day signature string cannot be built");
		goto out;
	}
	SHA256((const unsigned char *)b.p, b.len, md);
	base64_encode(md, sizeof(md), hash);
	if (strcmp(hash, q.hash) != 0)
		note(&a->tally, AUDIT_CLOSE_SIGNATURE, &at, hash, q.hash,
		    "the close request's hash is not the hash of the day "
		    "string over its counters");
	else if (di->d.close_hash != NULL && strcmp(di->d.close_hash, q.hash))
		note(&a->tally, AUDIT_CLOSE_SIGNATURE, &at, q.hash,
		    di->d.close_hash, "the journaled close hash differs from "
		    "the close request's");
	else if (di->d.close_signature != NULL &&
	    strcmp(di->d.close_signature, q.signature) != 0)
		note(&a->tally, AUDIT_CLOSE_SIGNATURE, &at, q.signature,
		    di->d.close_signature, "the journaled close signature "
		    "differs from the close request's");
	else if (!close_signed(a, di, md, q.signature, &used))
		note(&a->tally, AUDIT_CLOSE_SIGNATURE, &at, NULL, NULL,
		    "the close signature does not verify with the device's "
		    "certificates");
out:
	buf_free(&b);
	counters_free(&q.c);
	cJSON_Delete(root);
}

static void
check_days(struct audit *a)
{
	struct counters stored, sums;
	char exp[AUDIT_VALUE_MAX], fnd[AUDIT_VALUE_MAX], x[32], y[32];
	size_t i;

	for (i = 0; i < a->ndays && !a->failed; i++) {
		struct dayinfo *di = &a->days[i];
		struct where at = { di->d.day_no, di->d.receipt_counter, 0,
		    NULL };

		a->rep->days++;
		if (di->d.status == STORE_DAY_CLOSED)
			a->rep->closed_days++;
		if (di->d.receipt_counter > 0 && !di->head_seen)
			note(&a->tally, AUDIT_COUNTER, &at,
			    i64(di->d.receipt_counter, x, sizeof(x)),
			    i64(di->last_counter, y, sizeof(y)),
			    "day %" PRId64 " ends at receiptCounter %s, but the "
			    "journal has no such receipt (last: %s)",
			    di->d.day_no, x, y);
		counters_init(&stored);
		counters_init(&sums);
		if (counters_copy(&stored, &di->d.counters) == -1 ||
		    counters_copy(&sums, &di->sum) == -1) {
			fail(a, "out of memory");
			counters_free(&stored);
			counters_free(&sums);
			break;
		}
		counters_finish(&stored);
		counters_finish(&sums);
		at.counter = 0;
		if (counters_diff(&sums, &stored, exp, sizeof(exp), fnd,
		    sizeof(fnd)))
			note(&a->tally, AUDIT_DAY_COUNTERS, &at, exp, fnd,
			    "the journal's running counters of day %" PRId64
			    " are not the sums of its receipts", di->d.day_no);
		if (di->d.status == STORE_DAY_CLOSED ||
		    di->d.status == STORE_DAY_CLOSE_REQUESTED)
			check_close(a, di, &sums);
		counters_free(&stored);
		counters_free(&sums);
	}
}

/* The workers' findings and sums into the main thread's. */
static void
merge_workers(struct audit *a)
{
	struct dayinfo *di;
	size_t i, j;

	for (i = 0; i < a->nworkers; i++) {
		struct worker *w = &a->w[i];

		if (w->failed)
			fail(a, "out of memory verifying receipts");
		tally_merge(&a->tally, &w->tally);
		for (j = 0; j < w->nsums; j++) {
			if ((di = day_find(a, w->sums[j].day_no)) == NULL)
				continue;
			if (counters_copy(&di->sum, &w->sums[j].c) == -1)
				fail(a, "out of memory");
		}
	}
}

static int
online_cpus(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > MAX_THREADS ? MAX_THREADS : (int)n;
}

int
audit_device(struct store *s, int64_t device_id, const char *done_dir,
    int64_t day_no, const struct audit_opts *opts,
    struct audit_device_report *rep)
{
	static const struct audit_opts defaults;
	struct store_device dev;
	struct audit a;
	char x[32], y[32];
	int rc, k;

	memset(rep, 0, sizeof(*rep));
	rep->device_id = device_id;
	memset(&a, 0, sizeof(a));
	a.store = s;
	a.device_id = device_id;
	a.day_no = day_no;
	a.rep = rep;
	a.opts = opts != NULL ? opts : &defaults;
	a.done_fd = -1;

	rc = store_device_get(s, device_id, &dev);
	if (rc == STORE_NOTFOUND)
		return 0;		/* nothing journaled: nothing wrong */
	if (rc != STORE_OK) {
		snprintf(rep->error, sizeof(rep->error), "journal: %s",
		    store_errmsg(s));
		return -1;
	}
	rep->in_journal = true;
	a.dev_last_global = dev.last_global_no;
	store_device_free(&dev);

	if (days_load(&a) == -1)
		goto out;
	if (day_no > 0 && a.ndays == 0) {
		rep->day_missing = true;
		goto out;
	}
	if (done_dir != NULL && !a.opts->skip_files) {
		if ((a.done_fd = fsutil_open_dir(done_dir, 0)) == -1) {
			if (errno != ENOENT) {
				fail(&a, "%s: %s", done_dir, strerror(errno));
				goto out;
			}
			/* No done/ yet: every journaled file is missing. */
		}
		rep->files_checked = true;
	}
	if (pool_start(&a, a.opts->threads > 0 ? a.opts->threads :
	    online_cpus()) == -1) {
		fail(&a, "out of memory starting the audit");
		goto out;
	}

	rc = store_receipts_each(s, device_id, day_no, stream_cb, &a);
	if (rc != STORE_OK && !a.failed)
		fail(&a, "journal: %s", store_errmsg(s));
	if (!a.failed && a.cur_batch != NULL && a.cur_batch->n > 0) {
		struct batch *b = a.cur_batch;

		a.cur_batch = NULL;
		batch_submit(&a, b);
	}
	/* The workers go on while done/ is listed. */
	if (!a.failed && a.done_fd != -1 && day_no == 0)
		scan_done(&a);
	pool_finish(&a);
	if (a.failed)
		goto out;
	merge_workers(&a);
	if (rep->files_checked && a.done_fd == -1 && rep->receipts > 0)
		note(&a.tally, AUDIT_FILE_MISSING, &(struct where){ 0, 0, 0,
		    NULL }, NULL, NULL, "%s does not exist", done_dir);
	if (day_no == 0 && a.dev_last_global > 0 && !a.dev_last_seen)
		note(&a.tally, AUDIT_GLOBAL_NO,
		    &(struct where){ 0, 0, 0, NULL },
		    i64(a.dev_last_global, x, sizeof(x)), a.have_prev ?
		    i64(a.prev_global, y, sizeof(y)) : "none", "the device's "
		    "last receiptGlobalNo is %s, but the journal has no such "
		    "receipt", x);
	check_days(&a);
out:
	pool_free(&a);
	for (k = 0; k < AUDIT_KIND_COUNT; k++) {
		rep->count[k] = a.tally.count[k];
		rep->first[k] = a.tally.first[k];
	}
	if (a.failed)
		snprintf(rep->error, sizeof(rep->error), "%s", a.error);
	days_free(&a);
	for (size_t i = 0; i < a.ncerts; i++)
		sigkey_free(a.certs[i].key);
	free(a.certs);
	verifier_free(&a.vf);
	free(a.prev_hash);
	if (a.done_fd != -1)
		(void)close(a.done_fd);		/* a directory: read only */
	if (a.failed)
		return -1;
	return audit_device_passed(rep) ? 0 : 1;
}

bool
audit_device_passed(const struct audit_device_report *r)
{
	int k;

	if (r->error[0] != '\0' || r->day_missing)
		return false;
	for (k = 0; k < AUDIT_KIND_COUNT; k++)
		if (r->count[k] > 0)
			return false;
	return true;
}

int
audit_run(struct store *s, const struct config *cfg, const char *device_name,
    int64_t day_no, const struct audit_opts *opts, struct audit_report *rep)
{
	struct audit_opts o = opts != NULL ? *opts : (struct audit_opts){ 0 };
	size_t i, n = 0;
	int rc, worst = 0;

	memset(rep, 0, sizeof(*rep));
	rep->day_no = day_no;
	if (o.threads <= 0)
		o.threads = online_cpus();
	if (o.max_file_size == 0 && cfg->max_file_size > 0)
		o.max_file_size = (size_t)cfg->max_file_size;
	rep->threads = o.threads;
	if ((rep->devices = calloc(cfg->ndevices ? cfg->ndevices : 1,
	    sizeof(*rep->devices))) == NULL)
		return -1;
	for (i = 0; i < cfg->ndevices; i++) {
		const struct config_device *d = &cfg->devices[i];
		struct audit_device_report *dr = &rep->devices[n];

		if (device_name != NULL && strcmp(d->name, device_name) != 0)
			continue;
		n++;
		rc = audit_device(s, d->device_id, d->done_dir, day_no, &o, dr);
		snprintf(dr->name, sizeof(dr->name), "%s", d->name);
		if (rc == -1)
			worst = -1;
		else if (rc == 1 && worst == 0)
			worst = 1;
	}
	rep->ndevices = n;
	return worst;
}

void
audit_report_free(struct audit_report *rep)
{
	free(rep->devices);
	rep->devices = NULL;
	rep->ndevices = 0;
}

/* ---- output ------------------------------------------------------------ */

/* Journal text for a terminal: no control characters. */
static const char *
safe(const char *s, char *buf, size_t len)
{
	size_t i, n = 0;

	for (i = 0; s[i] != '\0' && n + 1 < len; i++)
		buf[n++] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' :
		    s[i];
	buf[n] = '\0';
	return buf;
}

static int64_t
problems(const struct audit_device_report *d)
{
	int64_t n = 0;
	int k;

	for (k = 0; k < AUDIT_KIND_COUNT; k++)
		n += d->count[k];
	return n;
}

static void
print_where(FILE *fp, const struct audit_finding *f)
{
	char b[AUDIT_NAME_MAX];

	if (f->global_no > 0)
		fprintf(fp, "day %" PRId64 ", receiptCounter %" PRId64
		    ", receiptGlobalNo %" PRId64, f->day_no, f->counter,
		    f->global_no);
	else if (f->day_no > 0 && f->counter > 0)
		fprintf(fp, "day %" PRId64 ", receiptCounter %" PRId64,
		    f->day_no, f->counter);
	else if (f->day_no > 0)
		fprintf(fp, "day %" PRId64, f->day_no);
	else if (f->file[0] != '\0')
		fprintf(fp, "done/%s", safe(f->file, b, sizeof(b)));
	else
		fprintf(fp, "device");
}

void
audit_print_text(FILE *fp, const struct audit_report *rep)
{
	char m[AUDIT_TEXT_MAX], e[AUDIT_VALUE_MAX];
	int64_t total = 0, receipts = 0;
	size_t i, failed = 0;
	int k;

	for (i = 0; i < rep->ndevices; i++) {
		const struct audit_device_report *d = &rep->devices[i];
		bool ok = audit_device_passed(d);

		failed += !ok;
		total += problems(d);
		receipts += d->receipts;
		fprintf(fp, "device %s (deviceID %" PRId64 "): ",
		    safe(d->name, m, sizeof(m)), d->device_id);
		if (!d->in_journal)
			fprintf(fp, "not in the journal (not registered): "
			    "nothing to audit\n");
		else if (d->day_missing)
			fprintf(fp, "no fiscal day %" PRId64 "\n", rep->day_no);
		else {
			fprintf(fp, "%" PRId64 " receipt%s in %" PRId64
			    " day%s (%" PRId64 " closed)", d->receipts,
			    d->receipts == 1 ? "" : "s", d->days,
			    d->days == 1 ? "" : "s", d->closed_days);
			if (d->files_checked)
				fprintf(fp, ", %" PRId64 " file%s in done/",
				    d->files, d->files == 1 ? "" : "s");
			fprintf(fp, ": %s\n", ok ? "ok" : "FAIL");
		}
		for (k = 0; k < AUDIT_KIND_COUNT; k++) {
			const struct audit_finding *f = &d->first[k];

			if (d->count[k] == 0)
				continue;
			fprintf(fp, "  %-16s %6" PRId64 "  first: ",
			    audit_kind_name(k), d->count[k]);
			print_where(fp, f);
			fprintf(fp, ": %s", safe(f->message, m, sizeof(m)));
			if (f->expected[0] != '\0' || f->found[0] != '\0') {
				fprintf(fp, " (expected %s", safe(f->expected,
				    e, sizeof(e)));
				fprintf(fp, ", found %s)", safe(f->found, e,
				    sizeof(e)));
			}
			fputc('\n', fp);
		}
		if (d->error[0] != '\0')
			fprintf(fp, "  audit incomplete: %s\n",
			    safe(d->error, m, sizeof(m)));
	}
	if (failed == 0)
		fprintf(fp, "audit: PASS (%" PRId64 " receipt%s verified)\n",
		    receipts, receipts == 1 ? "" : "s");
	else
		fprintf(fp, "audit: FAIL (%" PRId64 " problem%s, %zu of %zu "
		    "device%s)\n", total, total == 1 ? "" : "s", failed,
		    rep->ndevices, rep->ndevices == 1 ? "" : "s");
}

static cJSON *
str_or_null(const char *s)
{
	return s != NULL && s[0] != '\0' ? cJSON_CreateString(s) :
	    cJSON_CreateNull();
}

static cJSON *
finding_json(const struct audit_device_report *d, int k)
{
	const struct audit_finding *f = &d->first[k];
	cJSON *o, *w;

	if ((o = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "kind", audit_kind_name(k));
	cJSON_AddNumberToObject(o, "count", (double)d->count[k]);
	if ((w = cJSON_AddObjectToObject(o, "first")) == NULL)
		return o;
	cJSON_AddNumberToObject(w, "deviceID", (double)d->device_id);
	if (f->day_no > 0)
		cJSON_AddNumberToObject(w, "fiscalDayNo", (double)f->day_no);
	else
		cJSON_AddNullToObject(w, "fiscalDayNo");
	if (f->counter > 0)
		cJSON_AddNumberToObject(w, "receiptCounter",
		    (double)f->counter);
	else
		cJSON_AddNullToObject(w, "receiptCounter");
	if (f->global_no > 0)
		cJSON_AddNumberToObject(w, "receiptGlobalNo",
		    (double)f->global_no);
	else
		cJSON_AddNullToObject(w, "receiptGlobalNo");
	cJSON_AddItemToObject(w, "file", str_or_null(f->file));
	cJSON_AddItemToObject(w, "expected", str_or_null(f->expected));
	cJSON_AddItemToObject(w, "found", str_or_null(f->found));
	cJSON_AddStringToObject(w, "message", f->message);
	return o;
}

char *
audit_to_json(const struct audit_report *rep)
{
	cJSON *root, *devs, *d, *counts, *arr, *x;
	int64_t total = 0, receipts = 0;
	bool pass = true;
	char *out;
	size_t i;
	int k;

	for (i = 0; i < rep->ndevices; i++) {
		pass = pass && audit_device_passed(&rep->devices[i]);
		total += problems(&rep->devices[i]);
		receipts += rep->devices[i].receipts;
	}
	if ((root = cJSON_CreateObject()) == NULL)
		return NULL;
	cJSON_AddStringToObject(root, "result", pass ? "pass" : "fail");
	cJSON_AddNumberToObject(root, "receipts", (double)receipts);
	cJSON_AddNumberToObject(root, "problems", (double)total);
	if (rep->day_no > 0)
		cJSON_AddNumberToObject(root, "fiscalDayNo",
		    (double)rep->day_no);
	else
		cJSON_AddNullToObject(root, "fiscalDayNo");
	cJSON_AddNumberToObject(root, "threads", rep->threads);
	devs = cJSON_AddArrayToObject(root, "devices");
	for (i = 0; devs != NULL && i < rep->ndevices; i++) {
		const struct audit_device_report *dr = &rep->devices[i];
		bool ok = audit_device_passed(dr);

		if ((d = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddItemToArray(devs, d);
		cJSON_AddStringToObject(d, "device", dr->name);
		cJSON_AddNumberToObject(d, "deviceID", (double)dr->device_id);
		cJSON_AddStringToObject(d, "result", ok ? "pass" : "fail");
		cJSON_AddBoolToObject(d, "inJournal", dr->in_journal);
		cJSON_AddBoolToObject(d, "dayMissing", dr->day_missing);
		cJSON_AddNumberToObject(d, "receipts", (double)dr->receipts);
		cJSON_AddNumberToObject(d, "days", (double)dr->days);
		cJSON_AddNumberToObject(d, "closedDays",
		    (double)dr->closed_days);
		cJSON_AddBoolToObject(d, "filesChecked", dr->files_checked);
		cJSON_AddNumberToObject(d, "files", (double)dr->files);
		cJSON_AddNumberToObject(d, "problems", (double)problems(dr));
		cJSON_AddItemToObject(d, "error", str_or_null(dr->error));
		counts = cJSON_AddObjectToObject(d, "counts");
		for (k = 0; counts != NULL && k < AUDIT_KIND_COUNT; k++)
			cJSON_AddNumberToObject(counts, audit_kind_name(k),
			    (double)dr->count[k]);
		arr = cJSON_AddArrayToObject(d, "findings");
		for (k = 0; arr != NULL && k < AUDIT_KIND_COUNT; k++)
			if (dr->count[k] > 0 && (x = finding_json(dr, k)) !=
			    NULL)
				cJSON_AddItemToArray(arr, x);
	}
	out = cJSON_Print(root);
	cJSON_Delete(root);
	return out;
}

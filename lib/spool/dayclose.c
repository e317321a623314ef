/*
 * dayclose.c - closing a fiscal day at FDMS (see dayclose.h).
 *
 * The close request.  Counters come from the journal: the day's running
 * totals (kept by store_receipt_insert) and, independently, the same
 * counters recomputed from every journaled wire receipt of the day; the
 * two must agree to the cent or nothing is sent.  They are finished
 * (counters_finish: zeros dropped, the canonical order of fdms-reference
 * §4.3) and rendered in that one order into both the signed string
 * (sigstr_day: deviceID, day number, the date of fiscalDayOpened, the
 * counter lines) and the JSON array.  receiptCounter is the day's last
 * receipt's (0 and [] for an empty day).  The signature is the device
 * key's (decrypted with the Fernet key).
 *
 * One transaction.  The checks (no receipt left for spoold to submit, no
 * receipt FDMS flagged Red or Grey, the two counter sums equal, the chain
 * head consistent), the counters, the signature and the journaling of the
 * request (store_day_request_close: status close_requested, the request
 * text as it will be sent, hash, signature) happen inside one BEGIN
 * IMMEDIATE transaction.  spoold's pipeline cannot insert a receipt in
 * between: it waits for the write lock, then finds the day
 * close_requested, where store_receipt_insert refuses and the pipeline
 * defers the file until the day is closed and the next one opens.
 *
 * Journal before send, byte-identical resends.  What is sent is the
 * journaled text itself (the CloseDay body, or for an Offline device the
 * footer from which the SubmitFile documents are rebuilt), so a resend
 * after a crash is the same bytes, and FDMS never gets two different
 * requests for one close.
 *
 * State machine of the journaled day (function making each transition):
 *
 *   OPEN|CLOSE_FAILED --journal_request--> CLOSE_REQUESTED
 *   CLOSE_REQUESTED --send_close (CloseDay accepted)--> CLOSE_REQUESTED
 *                     + close_operation_id (FDMS's acceptance)
 *   CLOSE_REQUESTED --record_closed--> CLOSED       FiscalDayClosed
 *   CLOSE_REQUESTED --record_failed--> CLOSE_FAILED FiscalDayCloseFailed,
 *                                                   or CloseDay refused
 *
 * A run that finds CLOSE_REQUESTED (an earlier run was killed, timed out
 * or lost FDMS) asks GetStatus before anything: CloseInitiated -> poll;
 * Closed -> record; Opened (the request never arrived) -> resend the
 * journaled request; CloseFailed -> record the failure when FDMS had
 * accepted this request (close_operation_id), else resend it (that
 * CloseFailed may be an earlier attempt's: FDMS accepts a new close from
 * CloseFailed, and an identical request fails identically if it was ours).
 * A close in progress at FDMS is never interrupted or sent twice.
 * FISC03/FISC04 and answers lost in transit are settled with GetStatus.
 *
 * Offline-mode devices (GetConfig deviceOperatingMode Offline) have no
 * GetStatus or CloseDay: the day goes to FDMS as SubmitFile documents
 * (dayfile.c) whose footer is the journaled request.  close_operation_id
 * then holds the JSON array of the operationIDs of the documents FDMS
 * accepted so far, in fileSequence order, journaled after each one, so a
 * re-run sends only the rest; the last document's processing is followed
 * with SubmittedFileList (by operationID).  On success the day's receipts
 * are marked submitted (store_receipts_filed) in the transaction that
 * marks the day closed.  FILE04 (the day closed or closing at FDMS: a
 * footer document already arrived) is settled through SubmittedFileList.
 *
 * Concurrency: a per-device lock (fsutil_lock on
 * spool_dir/.close-day-ID.lock) keeps two close-day runs (cron, an
 * operator, pre-golive) from interleaving; the second refuses at once.
 *
 * SECURITY: FDMS answers are untrusted, parsed and bounded by the client;
 * what FDMS says is journaled as text and printed through %s only, never
 * used as a file name.  The private key is used to sign and freed.
 */
#include "spool/dayclose.h"

#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>

#include "daemon/config.h"
#include "fdms/fdms.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/receipt.h"
#include "fiscal/sign.h"
#include "fiscal/sigstr.h"
#include "io/document.h"
#include "spool/dayfile.h"
#include "spool/devadmin.h"
#include "spool/device.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/testhook.h"
#include "util/timeutil.h"

#define EXIT_OK		DAYCLOSE_EXIT_OK
#define EXIT_FAIL	DAYCLOSE_EXIT_FAIL
#define EXIT_TEMPFAIL	DAYCLOSE_EXIT_TEMPFAIL
#define GOON		(-1)	/* internal: keep polling */
#define WALK_STOP	100	/* not a store_rc: a callback stopped */
#define REQ_MAX		(1024 * 1024)
#define FILES_LIMIT	100	/* SubmittedFileList page */
#define WINDOW_DAYS	99	/* FDMS allows at most 100 days per query */

struct ctx {
	struct devadmin			*a;
	const struct dayclose_opts	*o;
	FILE				*out;
	int64_t				 id;
	const char			*name;
	struct sigkey			*key;
	struct fdms_identity		*ident;
	int				 poll_ms;
	int				 timeout_s;
	int64_t				 deadline_ms;
	bool				 quiet_pending;	/* journal_request: a
							   pending receipt is
							   not (yet) a refusal */
	bool				 refused_pending;
};

/* ---- messages -------------------------------------------------------- */

static int
fail(const struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
fail(const struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "spoolctl: device %s: ", c->name);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return EXIT_FAIL;
}

/* The one log line of an outcome. */
static void
outcome(const struct ctx *c, enum log_level lv, const char *opid,
    const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void
outcome(const struct ctx *c, enum log_level lv, const char *opid,
    const char *fmt, ...)
{
	struct log_ctx lc = { c->name, NULL, opid != NULL && *opid ? opid :
	    NULL };
	char msg[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	log_msg(lv, &lc, "close-day", "%s", msg);
}

static void
print_result(const struct ctx *c, const char *what,
    const struct fdms_result *r)
{
	fprintf(stderr, "spoolctl: device %s: %s failed: %s", c->name, what,
	    fdms_class_name(r->cls));
	if (r->http_status != 0)
		fprintf(stderr, ", HTTP %ld", r->http_status);
	if (r->code_text[0] != '\0')
		fprintf(stderr, ", %s", r->code_text);
	if (r->title[0] != '\0')
		fprintf(stderr, ": %s", r->title);
	if (r->detail[0] != '\0')
		fprintf(stderr, " (%s)", r->detail);
	if (r->fail != FDMS_FAIL_NONE && r->http_status == 0)
		fprintf(stderr, " [%s]", fdms_fail_name(r->fail));
	if (r->operation_id[0] != '\0')
		fprintf(stderr, " operationID=%s", r->operation_id);
	if (r->in_doubt)
		fprintf(stderr, "; it may have reached FDMS");
	fputc('\n', stderr);
}

/* A short reason for the journal and the log. */
static void
result_reason(const struct fdms_result *r, char *buf, size_t len)
{
	if (r->code_text[0] != '\0')
		snprintf(buf, len, "%s", r->code_text);
	else if (r->http_status != 0)
		snprintf(buf, len, "HTTP%ld", r->http_status);
	else
		snprintf(buf, len, "%s", fdms_fail_name(r->fail));
}

static const char *
fdms_day_name(enum fdms_day_status s)
{
	switch (s) {
	case FDMS_DAY_CLOSED:		return "FiscalDayClosed";
	case FDMS_DAY_OPENED:		return "FiscalDayOpened";
	case FDMS_DAY_CLOSE_INITIATED:	return "FiscalDayCloseInitiated";
	case FDMS_DAY_CLOSE_FAILED:	return "FiscalDayCloseFailed";
	case FDMS_DAY_UNKNOWN:		break;
	}
	return "unknown";
}

/* What the operator should do about each closing error (§6.5). */
static const char *
advice(const char *code)
{
	static const struct {
		const char *code, *text;
	} tab[] = {
		{ "BadCertificateSignature", "FDMS could not verify the "
		    "close-day signature with the device certificate.  Check "
		    "that the certificate FDMS holds is the journal's "
		    "(spoolctl cert; after a renewal elsewhere, spoolctl "
		    "renew-cert) and that the day's opening time in the "
		    "journal (spoolctl status) is the one FDMS has; then run "
		    "close-day again, which builds and signs a fresh request." },
		{ "MissingReceipts", "FDMS is missing receipts of this day (a "
		    "gap in receiptCounter, or a receipt it flagged Grey).  Run "
		    "spoolctl resync and spoolctl status, let spoold submit "
		    "what is pending, then run close-day again." },
		{ "ReceiptsWithValidationErrors", "The day holds a receipt FDMS "
		    "flagged Red: the device cannot close such a day.  Resolve "
		    "the receipt with ZIMRA; the day can be closed in the "
		    "taxpayer portal (then run spoolctl resync)." },
		{ "CountersMismatch", "FDMS's counters for the day differ from "
		    "the journal's.  Usual cause: receipts FDMS does not have "
		    "or has differently (spoolctl resync, spoolctl export "
		    "--format jsonl, spoolctl audit).  Run close-day again once "
		    "they agree; if the journal is right, contact ZIMRA support "
		    "with the operationID." },
		{ "InternalError", "An error inside FDMS.  Run close-day again "
		    "later; contact ZIMRA support with the operationID if it "
		    "persists." },
	};
	size_t i;

	for (i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (code != NULL && strcmp(code, tab[i].code) == 0)
			return tab[i].text;
	return "See the FDMS error code above; fix the cause and run close-day "
	    "again (a fresh request is built).";
}

/* ---- time ------------------------------------------------------------ */

static int64_t
now_ms(void)
{
	struct timespec ts;

	(void)clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
nap(int ms)
{
	int64_t until = now_ms() + ms, left;

	while ((left = until - now_ms()) > 0)
		(void)poll(NULL, 0, (int)left);
}

/* A well-formed FDMS datetime, or NULL (never journal what is not one). */
static const char *
fdms_time(const char *s)
{
	struct tm tm;

	return s != NULL && strlen(s) == TIMEUTIL_LOCAL_LEN &&
	    timeutil_parse_local(s, &tm) == 0 ? s : NULL;
}

/* ---- FDMS calls ------------------------------------------------------ */

static int
load_credentials(struct ctx *c)
{
	char err[256];

	if (c->key != NULL)
		return 0;
	if ((c->key = device_key_load(c->a->store, c->id, c->a->has_fkey ?
	    c->a->fkey : NULL, err, sizeof(err))) == NULL) {
		fail(c, "%s", err);
		return -1;
	}
	if ((c->ident = device_identity_new(c->a->store, c->id, c->key, NULL,
	    err, sizeof(err))) == NULL) {
		fail(c, "%s", err);
		return -1;
	}
	return 0;
}

/* One blocking call; rep must be freed by the caller whatever happens. */
static enum fdms_class
call(struct ctx *c, struct fdms_request *req, struct fdms_reply *rep)
{
	struct fdms_device d;
	enum fdms_class cls;

	d.name = c->name;
	d.model_name = c->a->dev->model_name;
	d.model_version = c->a->dev->model_version;
	d.identity = c->ident;
	cls = fdms_call(c->a->client, &d, req, rep);
	fdms_request_free(req);
	return cls;
}

static enum fdms_class
get_status(struct ctx *c, struct fdms_reply *rep)
{
	struct fdms_request req;

	fdms_request_init(&req);
	fdms_reply_init(rep, FDMS_GET_STATUS);
	if (fdms_req_simple(&req, FDMS_GET_STATUS, c->id) == -1) {
		fdms_request_free(&req);
		rep->res.cls = FDMS_LOCAL;
		snprintf(rep->res.message, sizeof(rep->res.message), "%s",
		    req.err);
		return FDMS_LOCAL;
	}
	return call(c, &req, rep);
}

/* ---- the checks, counters, signature: journal_request ---------------- */

struct scan {
	int64_t		 n, last_counter;
	int64_t		 pending, first_pending;
	int64_t		 bad_global, bad_counter;	/* first Red/Grey */
	char		 bad_what[160];
	int64_t		 unreadable;			/* global no, 0 none */
	struct counters	 sum;
	struct findings	 f;
};

/* Does a journaled validationErrors array hold a Red or Grey error? */
static bool
red_or_grey(const char *json, char *what, size_t len)
{
	cJSON *a = json != NULL ? cJSON_Parse(json) : NULL, *e;
	const cJSON *col, *code;
	bool bad = false;

	if (a == NULL || !cJSON_IsArray(a)) {
		/* Flagged, but unreadable: stop, as the outbox does. */
		snprintf(what, len, "with validation errors the journal cannot "
		    "read");
		cJSON_Delete(a);
		return true;
	}
	cJSON_ArrayForEach(e, a) {
		col = cJSON_GetObjectItemCaseSensitive(e,
		    "validationErrorColor");
		code = cJSON_GetObjectItemCaseSensitive(e,
		    "validationErrorCode");
		/* Only Yellow lets a day close; an unknown colour stops. */
		if (cJSON_IsString(col) &&
		    strcmp(col->valuestring, "Yellow") == 0)
			continue;
		snprintf(what, len, "%s %s", cJSON_IsString(col) ?
		    col->valuestring : "(no colour)", cJSON_IsString(code) ?
		    code->valuestring : "?");
		bad = true;
		break;
	}
	cJSON_Delete(a);
	return bad;
}

static int
scan_cb(const struct store_receipt *r, void *arg)
{
	struct scan *s = arg;
	struct receipt *rc;
	const char *stage = NULL;

	s->n++;
	s->last_counter = r->counter;
	if (r->state == STORE_R_SIGNED || r->state == STORE_R_SUBMITTING) {
		if (s->pending++ == 0)
			s->first_pending = r->global_no;
	}
	if (r->state == STORE_R_FLAGGED && s->bad_global == 0 &&
	    red_or_grey(r->validation_errors, s->bad_what,
	    sizeof(s->bad_what))) {
		s->bad_global = r->global_no;
		s->bad_counter = r->counter;
	}
	findings_clear(&s->f);
	rc = doc_read(r->wire_json, r->wire_len, DOC_JSON, NULL, 0, &s->f,
	    &stage);
	if (rc == NULL || counters_add_receipt(&s->sum, rc) == -1) {
		receipt_free(rc);
		s->unreadable = r->global_no;
		return WALK_STOP;
	}
	receipt_free(rc);
	return 0;
}

static bool
same_key(const struct counter *x, const struct counter *y)
{
	if (x->type != y->type || strcmp(x->currency, y->currency) != 0)
		return false;
	if (x->type == COUNTER_BALANCE_BY_MONEY_TYPE)
		return x->money_type == y->money_type;
	return x->tax_id == y->tax_id && x->has_percent == y->has_percent &&
	    (!x->has_percent || x->percent == y->percent);
}

static void
counter_name(const struct counter *k, char *buf, size_t len)
{
	char pct[MONEY_BUFSZ];

	if (k->type == COUNTER_BALANCE_BY_MONEY_TYPE)
		snprintf(buf, len, "%s %s %s", counter_type_name(k->type),
		    k->currency, money_type_name(k->money_type));
	else
		snprintf(buf, len, "%s %s tax %" PRId64 " (%s)",
		    counter_type_name(k->type), k->currency, k->tax_id,
		    k->has_percent ? money_format(k->percent, 2, pct,
		    sizeof(pct)) : "exempt");
}

static int64_t
value_of(const struct counters *c, const struct counter *k)
{
	size_t i;

	for (i = 0; i < c->n; i++)
		if (same_key(&c->v[i], k))
			return c->v[i].value;
	return 0;
}

/*
 * Do the running totals and the recomputed counters agree?  Both are
 * finished.  0 yes; -1 no, with the first difference described in why.
 */
static int
counters_agree(const struct counters *run, const struct counters *sum,
    char *why, size_t len)
{
	const struct counters *side[2] = { run, sum };
	char name[160], a[MONEY_BUFSZ], b[MONEY_BUFSZ];
	int64_t vr, vs;
	size_t i, k;

	for (k = 0; k < 2; k++)
		for (i = 0; i < side[k]->n; i++) {
			vr = value_of(run, &side[k]->v[i]);
			vs = value_of(sum, &side[k]->v[i]);
			if (vr == vs)
				continue;
			counter_name(&side[k]->v[i], name, sizeof(name));
			snprintf(why, len, "counter %s: the journal's running "
			    "total is %s, recomputed from the day's receipts it "
			    "is %s", name, money_format(vr, 2, a, sizeof(a)),
			    money_format(vs, 2, b, sizeof(b)));
			return -1;
		}
	return 0;
}

/* The finished copy of a day's running totals. */
static int
finished_copy(const struct counters *from, struct counters *to)
{
	size_t i;

	counters_init(to);
	for (i = 0; i < from->n; i++)
		if (counters_add(to, &from->v[i]) == -1)
			return -1;
	counters_finish(to);
	return 0;
}

/*
 * Check, compute, sign and journal a new close request for day_no, all in
 * one write transaction.  EXIT_OK with the day close_requested, or
 * EXIT_FAIL with the reason printed (nothing journaled).
 */
static int
journal_request(struct ctx *c, int64_t day_no, bool offline)
{
	struct store *st = c->a->store;
	struct store_day day;
	struct scan *s;
	struct counters run;
	struct fdms_close_day_args args;
	struct fdms_request req;
	struct buf str, foot;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1], err[256];
	char why[512], now[TIMEUTIL_LOCAL_LEN + 1];
	const char *text;
	bool have_day = false;
	int rc = EXIT_FAIL, src;

	if ((s = calloc(1, sizeof(*s))) == NULL)
		return fail(c, "out of memory");
	counters_init(&s->sum);
	counters_init(&run);
	buf_init(&str, REQ_MAX);
	buf_init(&foot, REQ_MAX);
	fdms_request_init(&req);
	why[0] = '\0';

	if (store_begin(st) != STORE_OK) {
		fail(c, "journal: %s", store_errmsg(st));
		goto out_nolock;
	}
	/* Re-read inside the transaction: the day we decide on is this one. */
	if ((src = store_day_get(st, c->id, 0, &day)) != STORE_OK) {
		fail(c, "journal: %s", store_errmsg(st));
		goto out;
	}
	have_day = true;
	if (day.day_no != day_no || (day.status != STORE_DAY_OPEN &&
	    day.status != STORE_DAY_CLOSE_FAILED)) {
		fail(c, "fiscal day %" PRId64 " changed while close-day was "
		    "starting (now day %" PRId64 ", %s): run close-day again",
		    day_no, day.day_no, store_day_status_name(day.status));
		goto out;
	}
	src = store_receipts_each(st, c->id, day_no, scan_cb, s);
	if (src == WALK_STOP) {
		snprintf(why, sizeof(why), "the journaled receipt %" PRId64
		    " cannot be read back (%s)", s->unreadable, s->f.n > 0 ?
		    s->f.v[0].message : "counters overflow");
		goto refuse;
	}
	if (src != STORE_OK) {
		fail(c, "journal: %s", store_errmsg(st));
		goto out;
	}
	if (!offline && s->pending > 0 && c->quiet_pending) {
		c->refused_pending = true;	/* run() waits and retries */
		goto out;
	}
	if (!offline && s->pending > 0) {
		snprintf(why, sizeof(why), "spoold has not submitted %" PRId64
		    " receipts yet (the first is receipt %" PRId64 "): let "
		    "spoold submit them (spoolctl status shows the queue), then "
		    "run close-day again", s->pending, s->first_pending);
		goto refuse;
	}
	if (s->bad_global != 0) {
		snprintf(why, sizeof(why), "FDMS flagged receipt %" PRId64
		    " (receiptCounter %" PRId64 ") %s: a day with a Red or Grey "
		    "receipt cannot be closed by the device; resolve it with "
		    "ZIMRA (the taxpayer portal can close the day, then run "
		    "spoolctl resync)", s->bad_global, s->bad_counter,
		    s->bad_what);
		goto refuse;
	}
	if (s->n != day.receipt_counter || s->last_counter !=
	    day.receipt_counter) {
		snprintf(why, sizeof(why), "the journal's chain head says the "
		    "day's last receipt is number %" PRId64 ", but the day "
		    "holds %" PRId64 " receipts, the last numbered %" PRId64
		    " (run spoolctl audit)", day.receipt_counter, s->n,
		    s->last_counter);
		goto refuse;
	}
	if (finished_copy(&day.counters, &run) == -1) {
		fail(c, "out of memory");
		goto out;
	}
	counters_finish(&s->sum);
	if (counters_agree(&run, &s->sum, why, sizeof(why)) == -1)
		goto refuse;

	/* §4.3: deviceID, day number, the OPENING date, the counters. */
	if (sigstr_day(c->id, day_no, day.opened, &run, &str) == -1) {
		fail(c, "cannot build the close-day signature string");
		goto out;
	}
	sign_sha256_b64(str.p, str.len, hash);
	if (sign_b64(c->key, str.p, str.len, sig, sizeof(sig), err,
	    sizeof(err)) == -1) {
		fail(c, "signing: %s", err);
		goto out;
	}
	if (offline) {
		timeutil_format_local(time(NULL), now);
		/* Never before the day's last receipt (a clock gone back). */
		if (day.last_receipt_date != NULL &&
		    strcmp(now, day.last_receipt_date) < 0)
			snprintf(now, sizeof(now), "%s", day.last_receipt_date);
		if (dayfile_footer(&foot, &run, hash, sig, day.receipt_counter,
		    now) == -1) {
			fail(c, "cannot build the SubmitFile footer");
			goto out;
		}
		text = foot.p;
	} else {
		memset(&args, 0, sizeof(args));
		args.day_no = day_no;
		args.counters = &run;
		args.hash = hash;
		args.signature = sig;
		args.receipt_counter = day.receipt_counter;
		if (fdms_req_close_day(&req, c->id, &args) == -1) {
			fail(c, "CloseDay: %s", req.err);
			goto out;
		}
		text = buf_str(&req.body);
	}
	if (store_day_request_close(st, c->id, day_no, text, hash, sig) !=
	    STORE_OK || store_commit(st) != STORE_OK) {
		fail(c, "journal: %s", store_errmsg(st));
		(void)store_rollback(st);
		goto out_nolock;
	}
	fprintf(c->out, "fiscal day %" PRId64 " (opened %s): %" PRId64
	    " receipts, %zu counters; close request journaled (hash %s)\n",
	    day_no, day.opened, day.receipt_counter, run.n, hash);
	rc = EXIT_OK;
	goto out_nolock;

refuse:
	fail(c, "fiscal day %" PRId64 " not closed: %s", day_no, why);
	outcome(c, LOGLV_WARNING, NULL, "fiscal day %" PRId64 ": refused: %s",
	    day_no, why);
out:
	(void)store_rollback(st);
out_nolock:
	if (have_day)
		store_day_free(&day);
	fdms_request_free(&req);
	buf_free(&str);
	buf_free(&foot);
	counters_free(&run);
	counters_free(&s->sum);
	free(s);
	return rc;
}

/* ---- recording FDMS's verdict ---------------------------------------- */

static char *
status_json(const struct fdms_reply *rep)
{
	const struct fdms_status *s = &rep->u.status;
	cJSON *o = cJSON_CreateObject(), *g;
	char *t;

	if (o == NULL)
		return NULL;
	cJSON_AddStringToObject(o, "fiscalDayStatus",
	    fdms_day_name(s->day_status));
	if (s->recon != FDMS_RECON_NONE)
		cJSON_AddStringToObject(o, "fiscalDayReconciliationMode",
		    s->recon == FDMS_RECON_MANUAL ? "Manual" : "Auto");
	if (s->day_closed != NULL)
		cJSON_AddStringToObject(o, "fiscalDayClosed", s->day_closed);
	if (s->closing_error_text != NULL)
		cJSON_AddStringToObject(o, "fiscalDayClosingErrorCode",
		    s->closing_error_text);
	if (s->has_server_signature &&
	    (g = cJSON_AddObjectToObject(o, "fiscalDayServerSignature")) !=
	    NULL) {
		if (s->server_signature.hash != NULL)
			cJSON_AddStringToObject(g, "hash",
			    s->server_signature.hash);
		if (s->server_signature.signature != NULL)
			cJSON_AddStringToObject(g, "signature",
			    s->server_signature.signature);
		if (s->server_signature.thumbprint != NULL)
			cJSON_AddStringToObject(g, "certificateThumbprint",
			    s->server_signature.thumbprint);
	}
	if (s->has_last_day_no)
		cJSON_AddNumberToObject(o, "lastFiscalDayNo",
		    (double)s->last_day_no);
	if (s->has_last_global_no)
		cJSON_AddNumberToObject(o, "lastReceiptGlobalNo",
		    (double)s->last_global_no);
	if (rep->res.operation_id[0] != '\0')
		cJSON_AddStringToObject(o, "operationID",
		    rep->res.operation_id);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

static int
record_closed(struct ctx *c, int64_t day_no, const struct fdms_reply *rep)
{
	const struct fdms_status *s = &rep->u.status;
	struct store_day_update u;
	char *ans;
	bool manual = s->recon == FDMS_RECON_MANUAL;

	if ((ans = status_json(rep)) == NULL)
		return fail(c, "out of memory");
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSED;
	u.fdms_answer = ans;
	u.closed = fdms_time(s->day_closed);
	TESTHOOK_CRASH("closeday-closed");
	if (store_day_update(c->a->store, c->id, day_no, &u) != STORE_OK) {
		free(ans);
		return fail(c, "journal: %s (FDMS has closed fiscal day %"
		    PRId64 "; run close-day again to record it)",
		    store_errmsg(c->a->store), day_no);
	}
	free(ans);
	fprintf(c->out, "fiscal day %" PRId64 " closed at FDMS (%s, "
	    "fiscalDayClosed %s%s)\n", day_no, fdms_day_name(s->day_status),
	    s->day_closed != NULL ? s->day_closed : "?",
	    manual ? ", reconciliation Manual: closed by ZIMRA or the "
	    "taxpayer portal with FDMS's counters" : "");
	if (s->has_server_signature && s->server_signature.hash != NULL)
		fprintf(c->out, "FDMS day signature: hash %s\n",
		    s->server_signature.hash);
	outcome(c, LOGLV_INFO, rep->res.operation_id, "fiscal day %" PRId64
	    " closed at FDMS (fiscalDayClosed %s, reconciliation %s)", day_no,
	    s->day_closed != NULL ? s->day_closed : "?", manual ? "Manual" :
	    "Auto");
	return EXIT_OK;
}

/* The day failed to close (code: FDMS's fiscalDayClosingErrorCode etc.). */
static int
record_failed(struct ctx *c, int64_t day_no, const char *code,
    const char *answer, const char *opid)
{
	struct store_day_update u;

	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSE_FAILED;
	u.error_code = code;
	u.fdms_answer = answer;
	if (store_day_update(c->a->store, c->id, day_no, &u) != STORE_OK)
		fail(c, "journal: %s", store_errmsg(c->a->store));
	fail(c, "FDMS did not close fiscal day %" PRId64 ": %s%s%s", day_no,
	    code, opid != NULL && *opid ? " operationID=" : "",
	    opid != NULL ? opid : "");
	fprintf(stderr, "  what to do: %s\n", advice(code));
	outcome(c, LOGLV_ERROR, opid, "fiscal day %" PRId64 ": close failed at "
	    "FDMS: %s", day_no, code);
	return EXIT_FAIL;
}

static int
record_failed_status(struct ctx *c, int64_t day_no,
    const struct fdms_reply *rep)
{
	const struct fdms_status *s = &rep->u.status;
	char *ans = status_json(rep);
	int rc;

	rc = record_failed(c, day_no, s->closing_error_text != NULL ?
	    s->closing_error_text : "FiscalDayCloseFailed", ans,
	    rep->res.operation_id);
	free(ans);
	return rc;
}

/* ---- online: CloseDay and GetStatus ---------------------------------- */

/*
 * What a GetStatus answer means for day_no: EXIT_OK (closed, and now
 * recorded), EXIT_FAIL (FDMS is on another day: resync), GOON (the close
 * is in progress), or for the caller to decide, as it depends on what it
 * sent: ST_OPENED (no close arrived) or ST_FAILED (a close failed).
 */
#define ST_OPENED	(-2)
#define ST_FAILED	(-3)

static int
judge(struct ctx *c, int64_t day_no, const struct fdms_reply *rep)
{
	const struct fdms_status *s = &rep->u.status;

	if (!s->has_last_day_no || s->last_day_no != day_no) {
		fail(c, "FDMS reports fiscal day %s%" PRId64 " %s while the "
		    "journal is closing day %" PRId64 ": run spoolctl resync",
		    s->has_last_day_no ? "" : "(none) ", s->has_last_day_no ?
		    s->last_day_no : 0, fdms_day_name(s->day_status), day_no);
		outcome(c, LOGLV_ERROR, rep->res.operation_id, "fiscal day %"
		    PRId64 ": FDMS reports day %" PRId64 " %s: needs resync",
		    day_no, s->has_last_day_no ? s->last_day_no : 0,
		    fdms_day_name(s->day_status));
		return EXIT_FAIL;
	}
	switch (s->day_status) {
	case FDMS_DAY_CLOSED:
		return record_closed(c, day_no, rep);
	case FDMS_DAY_CLOSE_INITIATED:
		return GOON;
	case FDMS_DAY_OPENED:
		return ST_OPENED;
	case FDMS_DAY_CLOSE_FAILED:
		return ST_FAILED;
	case FDMS_DAY_UNKNOWN:
		break;
	}
	return fail(c, "FDMS answered GetStatus without a fiscal day status");
}

static int
in_progress(struct ctx *c, int64_t day_no, const char *opid, bool timed_out)
{
	if (timed_out) {
		fail(c, "close still in progress at FDMS after %d s; run "
		    "close-day again (it waits for this close, it does not send "
		    "another)", c->timeout_s);
		outcome(c, LOGLV_WARNING, opid, "fiscal day %" PRId64 ": close "
		    "still in progress at FDMS after %d s", day_no,
		    c->timeout_s);
		return EXIT_TEMPFAIL;
	}
	fprintf(c->out, "fiscal day %" PRId64 ": close requested, FDMS is "
	    "processing it%s%s; run `spoolctl close-day` again to wait for the "
	    "outcome (`spoolctl status` shows the day as close_requested "
	    "meanwhile)\n", day_no, opid != NULL && *opid ? ", operationID " :
	    "", opid != NULL ? opid : "");
	outcome(c, LOGLV_INFO, opid, "fiscal day %" PRId64 ": close requested, "
	    "in progress at FDMS (--no-wait)", day_no);
	return EXIT_OK;
}

static int
unreachable(struct ctx *c, int64_t day_no, const char *what)
{
	fail(c, "FDMS unreachable (%s); fiscal day %" PRId64 " stays "
	    "close_requested in the journal: run close-day again later (it "
	    "follows up this request, never sends a different one)", what,
	    day_no);
	outcome(c, LOGLV_WARNING, NULL, "fiscal day %" PRId64 ": FDMS "
	    "unreachable (%s): close stays requested", day_no, what);
	return EXIT_TEMPFAIL;
}

/* Poll GetStatus until the close is decided or the deadline passes. */
static int
poll_status(struct ctx *c, int64_t day_no, const char *opid)
{
	struct fdms_reply rep;
	bool reached;
	int rc, left;

	for (;;) {
		reached = true;
		if (get_status(c, &rep) == FDMS_OK) {
			rc = judge(c, day_no, &rep);
			if (rc == ST_FAILED)
				rc = record_failed_status(c, day_no, &rep);
			else if (rc == ST_OPENED) {
				fail(c, "FDMS says fiscal day %" PRId64 " is "
				    "open again: the close request was not "
				    "taken", day_no);
				rc = unreachable(c, day_no, "close not taken");
			}
			fdms_reply_free(&rep);
			if (rc != GOON)
				return rc;
		} else if (rep.res.cls != FDMS_RETRY) {
			print_result(c, "GetStatus", &rep.res);
			fdms_reply_free(&rep);
			return EXIT_FAIL;
		} else {
			reached = false;
			fdms_reply_free(&rep);
		}
		left = (int)(c->deadline_ms - now_ms());
		if (left <= 0)
			return reached ? in_progress(c, day_no, opid, true) :
			    unreachable(c, day_no, "GetStatus");
		nap(left < c->poll_ms ? left : c->poll_ms);
	}
}

/* The journaled CloseDay body as a request (the bytes sent, always). */
static int
closeday_request(struct ctx *c, const struct store_day *day,
    struct fdms_request *req)
{
	static const char zero_hash[] =
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=";
	struct fdms_close_day_args args;

	/* The builder makes the path and method; the body is the journal's. */
	memset(&args, 0, sizeof(args));
	args.day_no = day->day_no;
	args.hash = zero_hash;
	args.signature = zero_hash;
	fdms_request_init(req);
	if (fdms_req_close_day(req, c->id, &args) == -1)
		return fail(c, "CloseDay: %s", req->err);
	buf_reset(&req->body);
	if (buf_adds(&req->body, day->close_request) == -1)
		return fail(c, "CloseDay: the journaled request is too large");
	return EXIT_OK;
}

/* Send the journaled CloseDay of day (close_requested), then follow it. */
static int
send_close(struct ctx *c, const struct store_day *day)
{
	struct fdms_request req;
	struct fdms_reply rep, st;
	struct store_day_update u;
	char reason[64];
	int rc;

	if (closeday_request(c, day, &req) != EXIT_OK) {
		fdms_request_free(&req);
		return EXIT_FAIL;
	}
	fdms_reply_init(&rep, FDMS_CLOSE_DAY);
	if (call(c, &req, &rep) == FDMS_OK) {
		TESTHOOK_CRASH("closeday-accepted");
		memset(&u, 0, sizeof(u));
		u.status = STORE_DAY_CLOSE_REQUESTED;
		u.close_operation_id = rep.res.operation_id[0] != '\0' ?
		    rep.res.operation_id : "accepted";
		if (store_day_update(c->a->store, c->id, day->day_no, &u) !=
		    STORE_OK)
			fail(c, "journal: %s", store_errmsg(c->a->store));
		fprintf(c->out, "CloseDay accepted by FDMS (operationID %s)\n",
		    rep.res.operation_id);
		if (c->o->no_wait)
			rc = in_progress(c, day->day_no, rep.res.operation_id,
			    false);
		else
			rc = poll_status(c, day->day_no, rep.res.operation_id);
		fdms_reply_free(&rep);
		return rc;
	}
	if (rep.res.cls == FDMS_LOCAL) {
		print_result(c, "CloseDay", &rep.res);
		fdms_reply_free(&rep);
		return EXIT_FAIL;
	}
	/*
	 * Lost in transit (maybe processed), or FISC03 (a close in progress)
	 * / FISC04 (no open day: perhaps ours closed it already): GetStatus
	 * settles what FDMS has.
	 */
	if (rep.res.in_doubt || rep.res.code == FDMS_EC_FISC03 ||
	    rep.res.code == FDMS_EC_FISC04) {
		print_result(c, "CloseDay", &rep.res);
		if (get_status(c, &st) != FDMS_OK) {
			if (st.res.cls != FDMS_RETRY)
				print_result(c, "GetStatus", &st.res);
			fdms_reply_free(&st);
			fdms_reply_free(&rep);
			return unreachable(c, day->day_no, "the CloseDay answer "
			    "was lost and GetStatus failed");
		}
		rc = judge(c, day->day_no, &st);
		if (rc == GOON)
			rc = c->o->no_wait ? in_progress(c, day->day_no, NULL,
			    false) : poll_status(c, day->day_no, NULL);
		else if (rc == ST_FAILED && rep.res.code == FDMS_EC_FISC03)
			rc = record_failed_status(c, day->day_no, &st);
		else if (rc == ST_OPENED || rc == ST_FAILED) {
			if (rep.res.in_doubt)
				rc = unreachable(c, day->day_no, "CloseDay did "
				    "not reach FDMS");
			else {
				result_reason(&rep.res, reason, sizeof(reason));
				rc = record_failed(c, day->day_no, reason, NULL,
				    rep.res.operation_id);
			}
		}
		fdms_reply_free(&st);
		fdms_reply_free(&rep);
		return rc;
	}
	print_result(c, "CloseDay", &rep.res);
	if (rep.res.cls == FDMS_RETRY) {
		fdms_reply_free(&rep);
		return unreachable(c, day->day_no, "CloseDay not sent");
	}
	/* Refused outright: not this request, ever; the next run builds anew. */
	result_reason(&rep.res, reason, sizeof(reason));
	rc = record_failed(c, day->day_no, reason, NULL, rep.res.operation_id);
	fdms_reply_free(&rep);
	return rc;
}

/* A journaled close request of an earlier run: what became of it? */
static int
resume_close(struct ctx *c, const struct store_day *day)
{
	struct fdms_reply st;
	int rc;

	if (get_status(c, &st) != FDMS_OK) {
		print_result(c, "GetStatus", &st.res);
		rc = st.res.cls == FDMS_RETRY ? unreachable(c, day->day_no,
		    "GetStatus") : EXIT_FAIL;
		fdms_reply_free(&st);
		return rc;
	}
	rc = judge(c, day->day_no, &st);
	if (rc == GOON) {
		fprintf(c->out, "fiscal day %" PRId64 ": FDMS is processing the "
		    "close requested earlier\n", day->day_no);
		rc = c->o->no_wait ? in_progress(c, day->day_no,
		    day->close_operation_id, false) : poll_status(c,
		    day->day_no, day->close_operation_id);
	} else if (rc == ST_FAILED && day->close_operation_id != NULL)
		rc = record_failed_status(c, day->day_no, &st);
	else if (rc == ST_OPENED || rc == ST_FAILED) {
		fprintf(c->out, "fiscal day %" PRId64 ": the close request "
		    "journaled earlier %s; sending it again, unchanged\n",
		    day->day_no, rc == ST_OPENED ? "never reached FDMS" :
		    "was not confirmed by FDMS");
		rc = send_close(c, day);
	}
	fdms_reply_free(&st);
	return rc;
}

/* ---- offline: SubmitFile and SubmittedFileList ----------------------- */

struct capture {
	int64_t		 want;		/* 0: only count */
	char		*doc;
	size_t		 len;
};

static int
capture_cb(int64_t seq, const char *doc, size_t len, void *arg)
{
	struct capture *k = arg;

	if (seq != k->want)
		return 0;
	if ((k->doc = malloc(len + 1)) == NULL)
		return 1;
	memcpy(k->doc, doc, len);
	k->doc[len] = '\0';
	k->len = len;
	return 1;	/* got it: no need to build the rest */
}

/* The journaled operationIDs of the documents FDMS accepted, in order. */
static cJSON *
sent_files(const struct store_day *day)
{
	cJSON *a = NULL;

	if (day->close_operation_id != NULL)
		a = cJSON_Parse(day->close_operation_id);
	if (a != NULL && !cJSON_IsArray(a)) {
		cJSON_Delete(a);
		a = NULL;
	}
	return a != NULL ? a : cJSON_CreateArray();
}

static void
window(const struct store_day *day, char from[20], char till[20])
{
	struct tm tm;
	time_t now = time(NULL), lo = now - WINDOW_DAYS * 86400, op;

	if (timeutil_parse_local(day->opened, &tm) == 0) {
		tm.tm_isdst = -1;
		if ((op = mktime(&tm)) != (time_t)-1 && op - 86400 > lo)
			lo = op - 86400;
	}
	timeutil_format_local(lo, from);
	timeutil_format_local(now + 86400, till);
}

static const char *
file_status_name(enum fdms_file_status s)
{
	switch (s) {
	case FDMS_FILE_IN_PROGRESS:	return "InProgress";
	case FDMS_FILE_SUCCESSFUL:	return "CompleteSuccessful";
	case FDMS_FILE_WITH_ERRORS:	return "FailedWithErrors";
	case FDMS_FILE_WAITING:		return "WaitingForPreviousFile";
	case FDMS_FILE_UNKNOWN:		break;
	}
	return "unknown";
}

static char *
row_json(const struct fdms_file_row *r)
{
	cJSON *o = cJSON_CreateObject();
	char *t;

	if (o == NULL)
		return NULL;
	if (r->file_name != NULL)
		cJSON_AddStringToObject(o, "fileName", r->file_name);
	if (r->operation_id != NULL)
		cJSON_AddStringToObject(o, "operationId", r->operation_id);
	if (r->has_file_sequence)
		cJSON_AddNumberToObject(o, "fileSequence",
		    (double)r->file_sequence);
	cJSON_AddStringToObject(o, "fileProcessingStatus", r->status_text !=
	    NULL ? r->status_text : file_status_name(r->status));
	if (r->processing_date != NULL)
		cJSON_AddStringToObject(o, "fileProcessingDate",
		    r->processing_date);
	if (r->processing_error != NULL)
		cJSON_AddStringToObject(o, "fileProcessingError",
		    r->processing_error);
	cJSON_AddBoolToObject(o, "hasFooter", r->has_footer);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

/*
 * SubmittedFileList for the day's documents: by operationID, or (opid
 * NULL) the latest document of day_no with a footer.  1 and a copy of
 * the row's reply in *rep (free it), 0 not listed (yet), -1 transport
 * (RETRY), -2 refused (printed).
 */
static int
find_file(struct ctx *c, const struct store_day *day, const char *opid,
    struct fdms_reply *rep, const struct fdms_file_row **row)
{
	struct fdms_file_query q;
	struct fdms_request req;
	char from[20], till[20];
	size_t i;

	window(day, from, till);
	memset(&q, 0, sizeof(q));
	q.from = from;
	q.till = till;
	q.offset = 0;
	q.limit = FILES_LIMIT;
	q.operation_id = opid;
	q.sort = "FileUploadDate";
	q.order = "desc";
	fdms_request_init(&req);
	fdms_reply_init(rep, FDMS_FILE_LIST);
	if (fdms_req_file_list(&req, c->id, &q) == -1) {
		fail(c, "SubmittedFileList: %s", req.err);
		fdms_request_free(&req);
		return -2;
	}
	if (call(c, &req, rep) != FDMS_OK) {
		if (rep->res.cls == FDMS_RETRY)
			return -1;
		print_result(c, "SubmittedFileList", &rep->res);
		return -2;
	}
	for (i = 0; i < rep->u.files.n_rows; i++) {
		const struct fdms_file_row *r = &rep->u.files.rows[i];

		if (opid != NULL ? (r->operation_id != NULL &&
		    strcmp(r->operation_id, opid) == 0) : (r->has_day_no &&
		    r->day_no == day->day_no && r->has_footer)) {
			*row = r;
			return 1;
		}
	}
	return 0;
}

/* The footer's fiscalDayClosed (our own text), or NULL. */
static const char *
footer_closed(const char *footer, char out[20])
{
	static const char key[] = "\"fiscalDayClosed\":\"";
	const char *p = footer != NULL ? strstr(footer, key) : NULL;

	if (p == NULL || strlen(p) < sizeof(key) - 1 + TIMEUTIL_LOCAL_LEN)
		return NULL;
	memcpy(out, p + sizeof(key) - 1, TIMEUTIL_LOCAL_LEN);
	out[TIMEUTIL_LOCAL_LEN] = '\0';
	return fdms_time(out);
}

static int
record_filed(struct ctx *c, const struct store_day *day,
    const struct fdms_file_row *r)
{
	struct store *st = c->a->store;
	struct store_day_update u;
	char closed[20], *ans;
	int64_t n = 0;
	int rc;

	if ((ans = row_json(r)) == NULL)
		return fail(c, "out of memory");
	memset(&u, 0, sizeof(u));
	u.status = STORE_DAY_CLOSED;
	u.fdms_answer = ans;
	u.closed = footer_closed(day->close_request, closed);
	/* The receipts and the day in one transaction. */
	rc = store_begin(st);
	if (rc == STORE_OK)
		rc = store_receipts_filed(st, c->id, day->day_no,
		    r->operation_id != NULL ? r->operation_id : "file", &n);
	if (rc == STORE_OK)
		rc = store_day_update(st, c->id, day->day_no, &u);
	if (rc == STORE_OK)
		rc = store_commit(st);
	else
		(void)store_rollback(st);
	free(ans);
	if (rc != STORE_OK)
		return fail(c, "journal: %s (FDMS has processed the day's "
		    "files; run close-day again to record it)",
		    store_errmsg(st));
	fprintf(c->out, "fiscal day %" PRId64 " closed at FDMS by SubmitFile "
	    "(%s; fiscalDayClosed %s); %" PRId64 " receipts marked submitted\n",
	    day->day_no, file_status_name(r->status), u.closed ? u.closed : "?",
	    n);
	outcome(c, LOGLV_INFO, r->operation_id, "fiscal day %" PRId64
	    " closed at FDMS by SubmitFile (%" PRId64 " receipts)", day->day_no,
	    n);
	return EXIT_OK;
}

static int
record_file_failed(struct ctx *c, const struct store_day *day,
    const struct fdms_file_row *r)
{
	char *ans = row_json(r);
	size_t i, k;
	int rc;

	for (i = 0; i < r->n_invoices; i++) {
		const struct fdms_file_invoice *v = &r->invoices[i];

		for (k = 0; k < v->n_verrs; k++)
			fprintf(stderr, "  receipt %" PRId64 " (counter %"
			    PRId64 "): %s %s%s%s\n", v->global_no,
			    v->receipt_counter, v->verrs[k].code ?
			    v->verrs[k].code : "?", v->verrs[k].colour_text ?
			    v->verrs[k].colour_text : "",
			    v->verrs[k].description ? ": " : "",
			    v->verrs[k].description ?
			    v->verrs[k].description : "");
	}
	rc = record_failed(c, day->day_no, r->processing_error != NULL ?
	    r->processing_error : file_status_name(r->status), ans,
	    r->operation_id);
	free(ans);
	return rc;
}

/* Follow the day's footer document until FDMS has processed it. */
static int
poll_files(struct ctx *c, const struct store_day *day, const char *opid)
{
	const struct fdms_file_row *row = NULL;
	struct fdms_reply rep;
	int rc, left;

	for (;;) {
		rc = find_file(c, day, opid, &rep, &row);
		if (rc == -2) {
			fdms_reply_free(&rep);
			return EXIT_FAIL;
		}
		if (rc == 1 && row->status == FDMS_FILE_SUCCESSFUL) {
			rc = record_filed(c, day, row);
			fdms_reply_free(&rep);
			return rc;
		}
		if (rc == 1 && row->status == FDMS_FILE_WITH_ERRORS) {
			rc = record_file_failed(c, day, row);
			fdms_reply_free(&rep);
			return rc;
		}
		fdms_reply_free(&rep);
		left = (int)(c->deadline_ms - now_ms());
		if (left <= 0) {
			fail(c, "FDMS is still processing the files of fiscal "
			    "day %" PRId64 " after %d s; run close-day again (it "
			    "follows them up, nothing is sent twice)",
			    day->day_no, c->timeout_s);
			outcome(c, LOGLV_WARNING, opid, "fiscal day %" PRId64
			    ": file processing still in progress at FDMS",
			    day->day_no);
			return EXIT_TEMPFAIL;
		}
		nap(left < c->poll_ms ? left : c->poll_ms);
	}
}

/* Send the documents FDMS has not accepted yet, in order, then follow. */
static int
send_files(struct ctx *c, const struct store_day *day)
{
	struct store_day_update u;
	struct fdms_request req;
	struct fdms_reply rep;
	struct capture k;
	cJSON *sent = sent_files(day);
	char err[256], *list, reason[64], last[FDMS_OPID_MAX + 1];
	int64_t seq, nfiles;
	int rc = EXIT_FAIL;

	memset(&k, 0, sizeof(k));
	if (sent == NULL)
		return fail(c, "out of memory");
	last[0] = '\0';
	if (cJSON_GetArraySize(sent) > 0)
		snprintf(last, sizeof(last), "%s", cJSON_GetStringValue(
		    cJSON_GetArrayItem(sent, cJSON_GetArraySize(sent) - 1)) ?
		    cJSON_GetStringValue(cJSON_GetArrayItem(sent,
		    cJSON_GetArraySize(sent) - 1)) : "");
	if ((nfiles = dayfile_build(c->a->store, day, day->close_request,
	    c->o->file_max, capture_cb, &k, err, sizeof(err))) < 1) {
		fail(c, "SubmitFile documents: %s", err);
		goto out;
	}
	for (seq = cJSON_GetArraySize(sent) + 1; seq <= nfiles; seq++) {
		memset(&k, 0, sizeof(k));
		k.want = seq;
		(void)dayfile_build(c->a->store, day, day->close_request,
		    c->o->file_max, capture_cb, &k, err, sizeof(err));
		if (k.doc == NULL) {
			fail(c, "SubmitFile document %" PRId64 ": %s", seq,
			    err[0] ? err : "out of memory");
			goto out;
		}
		fdms_request_init(&req);
		fdms_reply_init(&rep, FDMS_SUBMIT_FILE);
		if (fdms_req_submit_file(&req, c->id, k.doc, k.len) == -1) {
			fail(c, "SubmitFile: %s", req.err);
			fdms_request_free(&req);
			goto out;
		}
		free(k.doc);
		k.doc = NULL;
		if (call(c, &req, &rep) == FDMS_OK) {
			cJSON_AddItemToArray(sent, cJSON_CreateString(
			    rep.res.operation_id[0] ? rep.res.operation_id :
			    "accepted"));
			snprintf(last, sizeof(last), "%s",
			    rep.res.operation_id);
			fdms_reply_free(&rep);
			if ((list = cJSON_PrintUnformatted(sent)) == NULL) {
				fail(c, "out of memory");
				goto out;
			}
			memset(&u, 0, sizeof(u));
			u.status = STORE_DAY_CLOSE_REQUESTED;
			u.close_operation_id = list;
			if (store_day_update(c->a->store, c->id, day->day_no,
			    &u) != STORE_OK) {
				fail(c, "journal: %s", store_errmsg(
				    c->a->store));
				free(list);
				goto out;
			}
			free(list);
			fprintf(c->out, "SubmitFile %" PRId64 "/%" PRId64
			    " accepted by FDMS (operationID %s)\n", seq, nfiles,
			    last);
			continue;
		}
		print_result(c, "SubmitFile", &rep.res);
		if (rep.res.code == FDMS_EC_FILE04) {
			/* The footer got there before: follow that document. */
			fdms_reply_free(&rep);
			rc = c->o->no_wait ? in_progress(c, day->day_no, NULL,
			    false) : poll_files(c, day, NULL);
			goto out;
		}
		if (rep.res.cls == FDMS_RETRY)
			rc = unreachable(c, day->day_no, "SubmitFile");
		else if (rep.res.cls == FDMS_LOCAL)
			rc = EXIT_FAIL;
		else {
			result_reason(&rep.res, reason, sizeof(reason));
			rc = record_failed(c, day->day_no, reason, NULL,
			    rep.res.operation_id);
		}
		fdms_reply_free(&rep);
		goto out;
	}
	/* Without an operationID to ask by, the day's footer document. */
	if (strcmp(last, "accepted") == 0)
		last[0] = '\0';
	if (c->o->no_wait)
		rc = in_progress(c, day->day_no, last, false);
	else
		rc = poll_files(c, day, last[0] ? last : NULL);
out:
	free(k.doc);
	cJSON_Delete(sent);
	return rc;
}

/* ---- the command ----------------------------------------------------- */

static int
lock_device(struct ctx *c, int *fd)
{
	char path[4096], err[256];
	int dfd, rc;

	if ((dfd = fsutil_open_dir(c->a->cfg->spool_dir, 1)) == -1)
		return fail(c, "%s: %s", c->a->cfg->spool_dir, strerror(errno));
	(void)close(dfd);
	snprintf(path, sizeof(path), "%s/", c->a->cfg->spool_dir);
	snprintf(path + strlen(path), sizeof(path) - strlen(path),
	    DAYCLOSE_LOCK_NAME, (long long)c->id);
	rc = fsutil_lock(path, fd, err, sizeof(err));
	if (rc == FSUTIL_LOCKED)
		return fail(c, "another spoolctl close-day is running for this "
		    "device (%s); not starting a second one", err);
	if (rc != FSUTIL_OK)
		return fail(c, "cannot take the close-day lock: %s", err);
	return EXIT_OK;
}

static int
poll_interval(const struct dayclose_opts *o)
{
	const char *e;
	char *end;
	long v;

	if (o->poll_ms > 0)
		return o->poll_ms;
	if ((e = getenv(DAYCLOSE_POLL_ENV)) != NULL) {
		errno = 0;
		v = strtol(e, &end, 10);
		if (errno == 0 && *end == '\0' && v >= 10 && v <= 600000)
			return (int)v;
	}
	return DAYCLOSE_POLL_MS;
}

static bool
offline_mode(struct ctx *c)
{
	struct fdms_reply r;
	bool offline;

	offline = device_config_get(c->a->store, c->id, &r) == 1 &&
	    r.u.config.mode == FDMS_MODE_OFFLINE;
	fdms_reply_free(&r);
	return offline;
}

/*
 * A day the journal has open may be closed at FDMS already: by the
 * taxpayer portal or a ZIMRA officer (the only way out of a day with a
 * Red receipt; reconciliation Manual), or by a close whose outcome this
 * journal lost (a restored backup).  Asked before a new request is built;
 * recorded if so.  GOON when FDMS has the day open, or cannot be asked
 * (the request is then journaled, and sending it settles the rest).
 */
static int
closed_elsewhere(struct ctx *c, const struct store_day *day)
{
	const struct fdms_status *s;
	struct store_stats ss;
	struct fdms_reply st;
	int rc = GOON;

	if (get_status(c, &st) == FDMS_OK) {
		s = &st.u.status;
		if (s->day_status == FDMS_DAY_CLOSED && s->has_last_day_no &&
		    s->last_day_no == day->day_no) {
			fprintf(c->out, "fiscal day %" PRId64 " is already "
			    "closed at FDMS; recording that\n", day->day_no);
			if (store_stats(c->a->store, c->id, NULL, &ss) ==
			    STORE_OK && ss.pending > 0)
				fprintf(stderr, "spoolctl: device %s: WARNING: "
				    "%" PRId64 " receipts were never accepted by "
				    "FDMS (spoolctl status); FDMS refuses them "
				    "for a closed day: resolve them with ZIMRA\n",
				    c->name, ss.pending);
			rc = record_closed(c, day->day_no, &st);
		}
	}
	fdms_reply_free(&st);
	return rc;
}

/*
 * Receipts signed a moment ago are normal on a trading day: spoold submits
 * them within milliseconds.  Wait while its queue moves (the lowest
 * pending global number advances, or the queue empties) rather than
 * refuse at once; give up when it has not moved for QUEUE_STALL_MS (spoold
 * stopped, FDMS unreachable) or at the deadline.  true: empty now.
 */
#define QUEUE_STALL_MS	3000
#define QUEUE_POLL_MS	100

static bool
queue_drained(struct ctx *c)
{
	struct store_receipt r;
	int64_t first = -1, moved = now_ms();
	bool said = false;
	int rc;

	for (;;) {
		rc = store_receipt_next_pending(c->a->store, c->id, &r);
		if (rc == STORE_NOTFOUND)
			return true;
		if (rc != STORE_OK)
			return false;
		if (r.global_no != first) {
			first = r.global_no;
			moved = now_ms();
		}
		store_receipt_free(&r);
		if (!said) {
			fprintf(c->out, "waiting for spoold to submit the "
			    "day's last receipts (from receipt %" PRId64 ")\n",
			    first);
			said = true;
		}
		if (now_ms() >= c->deadline_ms ||
		    now_ms() - moved >= QUEUE_STALL_MS)
			return false;
		nap(c->poll_ms < QUEUE_POLL_MS ? c->poll_ms : QUEUE_POLL_MS);
	}
}

static int
run(struct ctx *c)
{
	struct store_day day;
	bool offline;
	int rc;

	if ((rc = store_day_get(c->a->store, c->id, 0, &day)) != STORE_OK) {
		if (rc != STORE_NOTFOUND)
			return fail(c, "journal: %s", store_errmsg(c->a->store));
		fail(c, "no fiscal day is open: nothing to close (spoolctl "
		    "open-day opens one; spoold opens one with the first "
		    "receipt)");
		outcome(c, LOGLV_WARNING, NULL, "refused: no fiscal day open");
		return EXIT_FAIL;
	}
	if (day.status == STORE_DAY_CLOSED) {
		fprintf(c->out, "fiscal day %" PRId64 " is already closed "
		    "(fiscalDayClosed %s): nothing to do\n", day.day_no,
		    day.closed != NULL ? day.closed : "?");
		outcome(c, LOGLV_INFO, NULL, "fiscal day %" PRId64 " already "
		    "closed", day.day_no);
		store_day_free(&day);
		return EXIT_OK;
	}
	if (load_credentials(c) == -1) {
		store_day_free(&day);
		return EXIT_FAIL;
	}
	if (day.status == STORE_DAY_CLOSE_REQUESTED) {
		rc = dayfile_is_footer(day.close_request) ? send_files(c, &day) :
		    resume_close(c, &day);
		store_day_free(&day);
		return rc;
	}

	/* OPEN or CLOSE_FAILED: a fresh request. */
	offline = offline_mode(c);
	if (!offline && day.open_operation_id == NULL) {
		fail(c, "fiscal day %" PRId64 " is not open at FDMS yet (its "
		    "OpenDay was never confirmed): let spoold send it, or run "
		    "spoolctl open-day, then close-day", day.day_no);
		outcome(c, LOGLV_WARNING, NULL, "fiscal day %" PRId64 ": "
		    "refused: not confirmed open at FDMS", day.day_no);
		store_day_free(&day);
		return EXIT_FAIL;
	}
	if (!offline && (rc = closed_elsewhere(c, &day)) != GOON) {
		store_day_free(&day);
		return rc;
	}
	if (day.status == STORE_DAY_CLOSE_FAILED)
		fprintf(c->out, "fiscal day %" PRId64 ": the last close failed "
		    "(%s); building a fresh request\n", day.day_no,
		    day.error_code != NULL ? day.error_code : "?");
	/*
	 * Pending receipts: wait while spoold's queue moves, then try to
	 * journal the request; a stream of new receipts may slip in between,
	 * so try again while the queue keeps draining.  When it stops
	 * moving, the last try refuses with the reason (exit 1).
	 */
	c->quiet_pending = !offline;
	for (;;) {
		if (c->quiet_pending && !queue_drained(c))
			c->quiet_pending = false;
		c->refused_pending = false;
		rc = journal_request(c, day.day_no, offline);
		if (rc == EXIT_OK || !c->refused_pending)
			break;
		/* Refused quietly: a receipt arrived after the wait. */
	}
	store_day_free(&day);
	if (rc != EXIT_OK)
		return rc;
	TESTHOOK_CRASH("closeday-requested");
	if (store_day_get(c->a->store, c->id, 0, &day) != STORE_OK)
		return fail(c, "journal: %s", store_errmsg(c->a->store));
	rc = offline ? send_files(c, &day) : send_close(c, &day);
	store_day_free(&day);
	return rc;
}

int
dayclose_run(struct devadmin *a, const struct dayclose_opts *o, FILE *out)
{
	struct ctx c;
	int lockfd = -1, rc;

	memset(&c, 0, sizeof(c));
	c.a = a;
	c.o = o;
	c.out = out;
	c.id = a->dev->device_id;
	c.name = a->dev->name != NULL ? a->dev->name : "default";
	c.poll_ms = poll_interval(o);
	c.timeout_s = o->timeout_s > 0 ? o->timeout_s : DAYCLOSE_TIMEOUT_S;
	if (c.id <= 0)
		return fail(&c, "device_id is not configured");
	if ((rc = lock_device(&c, &lockfd)) != EXIT_OK)
		return rc;
	/* The wait starts now: --timeout bounds the whole run's polling. */
	c.deadline_ms = now_ms() + (int64_t)c.timeout_s * 1000;
	rc = run(&c);
	fdms_identity_free(c.ident);
	sigkey_free(c.key);
	(void)close(lockfd);	/* releases the lock */
	return rc;
}

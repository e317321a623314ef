/*
 * outbox.c - per-device submission to FDMS with the journal as the outbox
 * (see outbox.h; anchors B.4, fdms-reference §2.6, §2.7, §6.6, §9).
 *
 * Purpose.  A receipt is fiscalised (numbered, signed, chained, journaled)
 * by the pipeline without the network.  This module brings FDMS up to date
 * with the journal: the fiscal day first (OpenDay must reach FDMS before
 * any receipt of that day), then the receipts, strictly one at a time and
 * in ascending receiptGlobalNo, each exactly as journaled.
 *
 * SECURITY.  FDMS answers are untrusted; they arrive parsed and bounded by
 * the client (fdms_decode) and are journaled and rendered through
 * escaping writers (cJSON, io/result).  Nothing FDMS says is used as a
 * file name or a number of ours.  The device key is only used to build a
 * CSR for renewal; it never reaches a log.
 *
 * Invariants.
 *  1. Journal before send: store_receipt_attempt is committed before the
 *     SubmitReceipt leaves (fdms_start), so after a crash the receipt is
 *     known to be in doubt and is resent.
 *  2. Byte-identical resends: the request body is the journaled wire JSON
 *     (fdms_req_submit_receipt wraps it unchanged).  Nothing is re-signed,
 *     renumbered or re-dated here, ever; FDMS answers an identical resend
 *     with the original receiptID (§2.7), so at-least-once sending from the
 *     journal is exactly-once at FDMS.
 *  3. One call in flight per device, and receipts in ascending global
 *     number: only the lowest pending receipt is ever attempted (the
 *     journal enforces it too), and the next is sent only after the
 *     answer to the previous one is journaled.
 *  4. A day's first receipt is sent only once that day is confirmed at
 *     FDMS (open_operation_id set): GetConfig, then OpenDay with the
 *     journaled number and opening time; an OpenDay answered FISC01, or
 *     lost in transit, is settled by GetStatus showing that very day open.
 *  5. Bounded memory: one receipt per device is loaded (the one in
 *     flight); the queue itself stays in the journal, however long.
 *  6. A Red or Grey validation error blocks the device (store_device_block
 *     in the same transaction as the answer, so no crash can separate
 *     them): neither submission nor signing goes on for it until an admin
 *     lifts the block.  Other devices are unaffected.
 *
 * Why a journal block rather than a flag of our own.  One bad receipt must
 * not cascade: a Red RCPT020 usually means every later signature is bad
 * too, a Grey one that FDMS misses a receipt we think it has; sending (or
 * signing) more only multiplies what ZIMRA must correct by hand, and a Red
 * receipt makes the day unclosable by the device anyway.  A flag in memory
 * would be forgotten by a restart.  The journal's block survives restarts,
 * shows in `spoolctl status`, stops the pipeline's signing as well, and
 * `spoolctl resync` leaves it alone (DEVICE_BLOCK_FLAGGED): only an admin
 * who has dealt with the receipt lifts it.  The outbox notices a lifted
 * block within OUTBOX_RECHECK_MS.
 *
 * State machine of a device (struct obdev), with the function performing
 * each transition:
 *
 *   IDLE --ob_step/next_work-----------> SUBMIT   lowest pending receipt,
 *                                                 its day confirmed
 *   IDLE --ob_step/next_work/confirm---> CONFIG   pending receipt (or open
 *                                                 day) not confirmed
 *   CONFIG --on_config---------------> OPENDAY    GetConfig journaled
 *   CONFIG --on_config---------------> IDLE       device is Offline mode
 *   OPENDAY --on_open_day------------> IDLE       day confirmed
 *   OPENDAY --on_open_day------------> STATUS     FISC01 or in doubt
 *   STATUS --on_status---------------> IDLE       FDMS has that day open
 *   SUBMIT --on_submit/answered------> IDLE       answer journaled, result
 *                                                 rewritten (Red/Grey:
 *                                                 stopped, invariant 6)
 *   CONFIG|OPENDAY|STATUS|SUBMIT --backoff-> WAIT  RETRY (capped backoff
 *                                                 with jitter) or refusal
 *                                                 (OUTBOX_REJECT_BACKOFF_MS)
 *   WAIT --ob_step-------------------> IDLE       the deadline passed
 *   IDLE|WAIT --start_ping-----------> PING --on_ping--> back
 *   IDLE|WAIT --cert_check/start_renew-> RENEW --on_renew--> back
 *
 * and the flags: stopped (journal block; ob_step re-reads it), offline
 * (GetConfig says Offline: receipts stay for SubmitFile at close, another
 * module), gave_up (--once: no second try in this run).
 */
#include "spool/outbox.h"

#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>

#include <cJSON.h>

#include "daemon/config.h"
#include "fdms/csr.h"
#include "fdms/fdms.h"
#include "fiscal/findings.h"
#include "spool/device.h"
#include "spool/pipeline.h"
#include "store/store.h"
#include "util/log.h"
#include "util/testhook.h"
#include "util/timeutil.h"

#define HOUR_MS			(60 * 60 * 1000)
#define DAY_MS			(24 * HOUR_MS)
#define PING_MIN_MIN		1
#define PING_MAX_MIN		1440	/* a larger reportingFrequency is clamped */
#define REASON_MAX		400

enum obstate {
	OB_IDLE = 0,
	OB_WAIT,
	OB_CONFIG,
	OB_OPENDAY,
	OB_STATUS,
	OB_SUBMIT,
	OB_PING,
	OB_RENEW
};

struct obdev {
	struct outbox		*ob;
	struct device		*dev;
	struct obdev		*next;
	enum obstate		 state;
	enum obstate		 resume;	/* after PING / RENEW */
	int64_t			 due_ms;	/* WAIT */
	unsigned		 failures;	/* consecutive RETRYs */
	bool			 kicked;	/* look at the journal now */
	bool			 drained;	/* the last look found nothing */
	bool			 stopped;	/* journal block */
	bool			 offline;	/* Offline operating mode */
	bool			 gave_up;	/* --once: not again this run */
	int64_t			 recheck_ms;
	/* SUBMIT: the receipt in flight. */
	bool			 has_cur;
	struct store_receipt	 cur;
	/* CONFIG / OPENDAY / STATUS: the day being confirmed. */
	int64_t			 day_no;
	enum store_day_status	 day_status;
	char			 opened[TIMEUTIL_LOCAL_LEN + 1];
	char			 open_opid[FDMS_OPID_MAX + 1];
	/* Side tasks. */
	int64_t			 ping_ms, ping_every_ms;
	int64_t			 cert_check_ms, cert_warned_ms;
	int64_t			 remind_ms;	/* stopped: next reminder */
	struct pipeline_device	*pd;		/* result files, NULL: none */
};

struct outbox {
	struct store		*store;
	struct fdms_client	*client;
	struct outbox_opts	 opts;
	struct obdev		*devs, *tail;
	size_t			 in_flight;
	bool			 stopping;
};

static int	ob_step(struct obdev *, int64_t now);

/* ---- small helpers --------------------------------------------------- */

static int64_t
now_ms(void)
{
	struct timespec ts;

	/* Monotonic: wall-clock jumps must not stretch or skip a backoff. */
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static uint64_t
rnd64(struct outbox *ob)
{
	uint64_t v = 0;

	if (ob->opts.rnd != NULL)
		return ob->opts.rnd(ob->opts.rnd_arg);
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != (ssize_t)sizeof(v))
		v = (uint64_t)now_ms() * 6364136223846793005ULL;
	return v;
}

static void
ctx_of(const struct obdev *d, struct log_ctx *c, const char *file,
    const char *opid)
{
	c->device = d->dev->name;
	c->file = file;
	c->operation_id = opid != NULL && opid[0] != '\0' ? opid : NULL;
}

/* One line for a failed call: FDMS's message, its code, the doubt. */
static void
describe(const struct fdms_result *r, char *buf, size_t len)
{
	int n;

	n = snprintf(buf, len, "%s", r->message[0] != '\0' ? r->message :
	    fdms_class_name(r->cls));
	if (n < 0 || (size_t)n >= len)
		return;
	if (r->code_text[0] != '\0' && strstr(buf, r->code_text) == NULL)
		n += snprintf(buf + n, len - (size_t)n, " [%s]", r->code_text);
	if ((size_t)n < len && r->in_doubt)
		(void)snprintf(buf + n, len - (size_t)n, " (may have reached "
		    "FDMS)");
}

/* The device's certificate or GetConfig changed in the journal. */
static void
changed(struct obdev *d)
{
	if (d->ob->opts.changed != NULL)
		d->ob->opts.changed(d->ob->opts.changed_arg, d->dev);
}

/* A journal failure: the daemon must stop (outbox.h). */
static int
journal_fatal(const struct obdev *d, const char *what)
{
	struct log_ctx c;

	ctx_of(d, &c, NULL, NULL);
	log_msg(LOGLV_CRITICAL, &c, "journal", "%s: %s", what,
	    store_errmsg(d->ob->store));
	return -1;
}

static int
start(struct obdev *d, struct fdms_request *req, enum obstate st)
{
	struct log_ctx c;

	if (fdms_start(d->ob->client, &d->dev->fdms, req, d) == -1) {
		fdms_request_free(req);
		ctx_of(d, &c, NULL, NULL);
		log_msg(LOGLV_CRITICAL, &c, "fdms", "out of memory starting "
		    "%s", fdms_op_name(req->op));
		return -1;
	}
	fdms_request_free(req);
	d->ob->in_flight++;
	if (st == OB_PING || st == OB_RENEW)
		d->resume = d->state;
	d->state = st;
	return 0;
}

/*
 * After a failed call: RETRY waits the capped backoff (never less than
 * FDMS's Retry-After), anything else waits long, since only a person can
 * change what FDMS refused.  --once gives up on the device for this run.
 */
static void
backoff(struct obdev *d, const struct fdms_result *r)
{
	struct outbox *ob = d->ob;
	uint32_t ms;

	if (r->cls == FDMS_RETRY) {
		ms = fdms_retry_delay_ms(r, d->failures, rnd64(ob));
		if (d->failures < 64)
			d->failures++;
	} else
		ms = ob->opts.reject_backoff_ms != 0 ?
		    ob->opts.reject_backoff_ms : OUTBOX_REJECT_BACKOFF_MS;
	if (ob->opts.retry_cap_ms != 0 && ms > ob->opts.retry_cap_ms)
		ms = ob->opts.retry_cap_ms;
	d->state = OB_WAIT;
	d->due_ms = now_ms() + ms;
	if (ob->opts.once)
		d->gave_up = true;
}

/* ---- result files ---------------------------------------------------- */

/*
 * Rewrite the receipt's result in done/ from its journal row (status
 * submitted or flagged, the fdms block).  The pipeline renders it, so a
 * result has one author whether it says signed or submitted; it finds
 * the name from the journaled source name (.result.xml for XML input).
 * 0, or -1 when that failed (an fsync, the disk: fatal, never retried).
 */
static int
rewrite_result(struct obdev *d, const struct store_receipt *r)
{
	if (d->pd == NULL)
		return 0;
	return pipeline_result_refresh(d->pd, r) == PIPELINE_FATAL ? -1 : 0;
}

static int
rewrite_result_of(struct obdev *d, int64_t global_no)
{
	struct store_receipt r;
	int rc;

	if (store_receipt_by_global(d->ob->store, d->dev->id, global_no, &r) !=
	    STORE_OK)
		return journal_fatal(d, "reading an answered receipt");
	rc = rewrite_result(d, &r);
	store_receipt_free(&r);
	return rc;
}

/* ---- the answer to SubmitReceipt ------------------------------------- */

static char *
sigdata_json(const struct fdms_sigdata *s)
{
	cJSON *o = cJSON_CreateObject();
	char *t;

	if (o == NULL)
		return NULL;
	if (s->hash != NULL)
		cJSON_AddStringToObject(o, "hash", s->hash);
	if (s->signature != NULL)
		cJSON_AddStringToObject(o, "signature", s->signature);
	if (s->thumbprint != NULL)
		cJSON_AddStringToObject(o, "certificateThumbprint",
		    s->thumbprint);
	t = cJSON_PrintUnformatted(o);
	cJSON_Delete(o);
	return t;
}

static char *
verrs_json(const struct fdms_submitted *s)
{
	cJSON *a = cJSON_CreateArray(), *e;
	const struct fdms_verr *v;
	char *t;
	size_t i;

	if (a == NULL)
		return NULL;
	for (i = 0; i < s->n_verrs; i++) {
		v = &s->verrs[i];
		if ((e = cJSON_CreateObject()) == NULL)
			break;
		cJSON_AddStringToObject(e, "validationErrorCode",
		    v->code != NULL ? v->code : "");
		if (v->colour_text != NULL)
			cJSON_AddStringToObject(e, "validationErrorColor",
			    colour_name(v->colour) != NULL ?
			    colour_name(v->colour) : v->colour_text);
		if (v->description != NULL)
			cJSON_AddStringToObject(e,
			    "validationErrorDescription", v->description);
		cJSON_AddItemToArray(a, e);
	}
	t = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return t;
}

/*
 * Red and Grey stop the device.  A colour we cannot read counts as Red:
 * when FDMS says something is wrong and we do not understand how wrong,
 * stopping is the mistake that can be undone.
 */
static bool
stops_device(const struct fdms_verr *v)
{
	return v->colour != COLOUR_YELLOW;
}

static int
answered(struct obdev *d, struct fdms_reply *rep)
{
	struct store *st = d->ob->store;
	const struct fdms_submitted *s = &rep->u.submitted;
	struct store_answer a;
	struct log_ctx c;
	char *sig = NULL, *verrs = NULL, reason[REASON_MAX];
	const struct fdms_verr *first_stop = NULL;
	int64_t g = d->cur.global_no;
	size_t i;
	int rc;

	ctx_of(d, &c, d->cur.source_name, rep->res.operation_id);
	memset(&a, 0, sizeof(a));
	a.receipt_id = s->receipt_id;
	a.server_date = s->server_date;
	a.operation_id = rep->res.operation_id;
	a.flagged = s->n_verrs > 0;
	if ((sig = sigdata_json(&s->server_signature)) == NULL ||
	    (a.flagged && (verrs = verrs_json(s)) == NULL)) {
		free(sig);
		log_msg(LOGLV_CRITICAL, &c, "submit", "out of memory");
		return -1;
	}
	a.server_signature = sig;
	a.validation_errors = verrs;
	for (i = 0; i < s->n_verrs && first_stop == NULL; i++)
		if (stops_device(&s->verrs[i]))
			first_stop = &s->verrs[i];
	if (first_stop != NULL) {
		const char *colour = colour_name(first_stop->colour);

		snprintf(reason, sizeof(reason), "%s %" PRId64 " %s (%s%s%s) "
		    "operationID %s", DEVICE_BLOCK_FLAGGED, g,
		    colour != NULL ? colour : "with an unknown colour",
		    first_stop->code != NULL ? first_stop->code : "?",
		    first_stop->description != NULL ? ": " : "",
		    first_stop->description != NULL ?
		    first_stop->description : "", rep->res.operation_id);
	}

	/* Answer and block in one transaction (invariant 6). */
	rc = store_begin(st);
	if (rc == STORE_OK)
		rc = store_receipt_answer(st, d->dev->id, g, &a);
	if (rc == STORE_OK && first_stop != NULL)
		rc = store_device_block(st, d->dev->id, reason);
	if (rc == STORE_OK)
		rc = store_commit(st);
	else
		(void)store_rollback(st);
	free(sig);
	free(verrs);
	if (rc != STORE_OK)
		return journal_fatal(d, "journaling FDMS's answer");

	log_info(&c, a.flagged ? "flagged" : "submitted", "receipt %" PRId64
	    " (day %" PRId64 ", counter %" PRId64 ") %s by FDMS: receiptID %"
	    PRId64 ", serverDate %s", g, d->cur.day_no, d->cur.counter,
	    a.flagged ? "stored with validation errors" : "accepted",
	    s->receipt_id, s->server_date != NULL ? s->server_date : "?");
	for (i = 0; i < s->n_verrs; i++) {
		const struct fdms_verr *v = &s->verrs[i];

		log_error(&c, "validation", "receipt %" PRId64 ": %s %s: %s",
		    g, v->code != NULL ? v->code : "?",
		    v->colour_text != NULL ? v->colour_text : "(no colour)",
		    v->description != NULL ? v->description : "");
	}
	if (first_stop != NULL) {
		d->stopped = true;
		d->remind_ms = now_ms() + HOUR_MS;
		log_error(&c, "stopped", "device %s STOPPED: %s. No further "
		    "receipts are submitted or signed for this device until "
		    "an admin has resolved the receipt with ZIMRA and lifted "
		    "the block (spoolctl status shows it)", d->dev->name,
		    reason);
	}
	d->failures = 0;
	d->state = OB_IDLE;
	d->kicked = true;
	return rewrite_result_of(d, g);
}

static int
on_submit(struct obdev *d, struct fdms_reply *rep)
{
	struct log_ctx c;
	char why[600];
	int rc = 0;

	ctx_of(d, &c, d->cur.source_name, rep->res.operation_id);
	TESTHOOK_CRASH("submit-answered");
	if (rep->res.cls == FDMS_OK)
		rc = answered(d, rep);
	else {
		describe(&rep->res, why, sizeof(why));
		if (store_receipt_failed(d->ob->store, d->dev->id,
		    d->cur.global_no, why) != STORE_OK)
			rc = journal_fatal(d, "journaling a failed attempt");
		else if (rep->res.cls == FDMS_RETRY)
			log_warnx(&c, "retry", "receipt %" PRId64 ": %s; it is "
			    "resent unchanged later", d->cur.global_no, why);
		else
			log_error(&c, "rejected", "receipt %" PRId64 " refused: "
			    "%s%s; not advancing: an admin must act (the "
			    "receipt is resent unchanged later)",
			    d->cur.global_no, why,
			    rep->res.code == FDMS_EC_RCPT01 ? " (the fiscal day "
			    "is not open at FDMS: run spoolctl resync)" : "");
		backoff(d, &rep->res);
	}
	store_receipt_free(&d->cur);
	d->has_cur = false;
	return rc;
}

static int
submit(struct obdev *d, struct store_receipt *r)
{
	struct fdms_request req;
	struct log_ctx c;
	bool resend = r->state == STORE_R_SUBMITTING;

	ctx_of(d, &c, r->source_name, NULL);
	/* Invariant 1: the attempt is durable before a byte leaves. */
	if (store_receipt_attempt(d->ob->store, d->dev->id, r->global_no) !=
	    STORE_OK) {
		store_receipt_free(r);
		return journal_fatal(d, "recording a submission attempt");
	}
	TESTHOOK_CRASH("submit-recorded");
	fdms_request_init(&req);
	if (fdms_req_submit_receipt(&req, d->dev->id, r->wire_json,
	    r->wire_len) == -1) {
		struct fdms_result res;

		memset(&res, 0, sizeof(res));
		res.cls = FDMS_LOCAL;
		log_error(&c, "rejected", "receipt %" PRId64 " cannot be sent: "
		    "%s", r->global_no, req.err);
		fdms_request_free(&req);
		if (store_receipt_failed(d->ob->store, d->dev->id,
		    r->global_no, "cannot build the request") != STORE_OK) {
			store_receipt_free(r);
			return journal_fatal(d, "journaling a failed attempt");
		}
		store_receipt_free(r);
		backoff(d, &res);
		return 0;
	}
	/* Loud for the first resend after a restart, quiet in an outage. */
	if (resend)
		log_msg(d->failures == 0 ? LOGLV_INFO : LOGLV_DEBUG, &c,
		    "resend", "receipt %" PRId64 ": an earlier attempt was "
		    "not answered; attempt %" PRId64 " sends the journaled "
		    "bytes again",
		    r->global_no, r->attempts + 1);
	else
		log_debug(&c, "submit", "receipt %" PRId64, r->global_no);
	d->cur = *r;
	d->has_cur = true;
	if (start(d, &req, OB_SUBMIT) == -1) {
		store_receipt_free(&d->cur);
		d->has_cur = false;
		return -1;
	}
	return 0;
}

/* ---- confirming the fiscal day at FDMS ------------------------------ */

static int
confirm(struct obdev *d, const struct store_day *day)
{
	struct fdms_request req;
	struct log_ctx c;

	ctx_of(d, &c, NULL, NULL);
	if (day->status == STORE_DAY_CLOSED) {
		struct fdms_result res;

		/* Closed locally, never opened at FDMS: not ours to fix. */
		memset(&res, 0, sizeof(res));
		res.cls = FDMS_REJECTED;
		log_error(&c, "day", "fiscal day %" PRId64 " is closed in the "
		    "journal but was never confirmed at FDMS: run spoolctl "
		    "resync", day->day_no);
		backoff(d, &res);
		return 0;
	}
	d->day_no = day->day_no;
	d->day_status = day->status;
	snprintf(d->opened, sizeof(d->opened), "%s", day->opened);
	d->open_opid[0] = '\0';
	log_info(&c, "day", "fiscal day %" PRId64 " (opened %s) is not "
	    "confirmed at FDMS yet: GetConfig, then OpenDay", d->day_no,
	    d->opened);
	/* FDMS requires GetConfig before OpenDay (§6.2). */
	fdms_request_init(&req);
	if (fdms_req_simple(&req, FDMS_GET_CONFIG, d->dev->id) == -1) {
		fdms_request_free(&req);
		return -1;
	}
	return start(d, &req, OB_CONFIG);
}

static int
day_confirmed(struct obdev *d, const char *opid)
{
	struct store_day_update u;
	struct log_ctx c;

	memset(&u, 0, sizeof(u));
	u.status = d->day_status;	/* unchanged: only FDMS's word is new */
	u.open_operation_id = opid != NULL && opid[0] != '\0' ? opid :
	    "confirmed";
	if (store_day_update(d->ob->store, d->dev->id, d->day_no, &u) !=
	    STORE_OK)
		return journal_fatal(d, "confirming the fiscal day");
	ctx_of(d, &c, NULL, opid);
	log_info(&c, "day-open", "fiscal day %" PRId64 " is open at FDMS "
	    "(opened %s)", d->day_no, d->opened);
	d->failures = 0;
	d->state = OB_IDLE;
	d->kicked = true;
	return 0;
}

static int
on_config(struct obdev *d, struct fdms_reply *rep)
{
	struct fdms_open_day_args args;
	struct fdms_request req;
	struct log_ctx c;
	char why[600];

	ctx_of(d, &c, NULL, rep->res.operation_id);
	if (rep->res.cls != FDMS_OK) {
		describe(&rep->res, why, sizeof(why));
		log_warnx(&c, "day", "GetConfig before OpenDay of day %" PRId64
		    ": %s", d->day_no, why);
		backoff(d, &rep->res);
		return 0;
	}
	if (device_config_put(d->ob->store, d->dev->id, &rep->u.config) !=
	    STORE_OK)
		return journal_fatal(d, "storing GetConfig");
	if (device_config_reload(d->dev, d->ob->store) == -1)
		log_error(&c, "config", "the journaled GetConfig does not "
		    "parse back: %s", d->dev->config.res.message);
	changed(d);
	if (rep->u.config.mode == FDMS_MODE_OFFLINE) {
		d->offline = true;
		d->state = OB_IDLE;
		log_info(&c, "offline", "device is in Offline mode: receipts "
		    "are kept for SubmitFile at day close, not submitted");
		return 0;
	}
	memset(&args, 0, sizeof(args));
	args.has_day_no = true;
	args.day_no = d->day_no;
	args.opened = d->opened;
	fdms_request_init(&req);
	if (fdms_req_open_day(&req, d->dev->id, &args) == -1) {
		struct fdms_result res;

		memset(&res, 0, sizeof(res));
		res.cls = FDMS_LOCAL;
		log_error(&c, "day", "OpenDay of day %" PRId64 ": %s",
		    d->day_no, req.err);
		fdms_request_free(&req);
		backoff(d, &res);
		return 0;
	}
	return start(d, &req, OB_OPENDAY);
}

static int
on_open_day(struct obdev *d, struct fdms_reply *rep)
{
	struct fdms_request req;
	struct log_ctx c;
	char why[600];

	ctx_of(d, &c, NULL, rep->res.operation_id);
	if (rep->res.cls == FDMS_OK)
		return day_confirmed(d, rep->res.operation_id);
	describe(&rep->res, why, sizeof(why));
	if (rep->res.in_doubt || rep->res.code == FDMS_EC_FISC01) {
		/*
		 * Our earlier OpenDay may have got through (its answer lost):
		 * FDMS then refuses this one with FISC01.  GetStatus says
		 * whether the day FDMS has open is ours.
		 */
		log_info(&c, "day", "OpenDay of day %" PRId64 ": %s; asking "
		    "GetStatus", d->day_no, why);
		snprintf(d->open_opid, sizeof(d->open_opid), "%s",
		    rep->res.operation_id);
		fdms_request_init(&req);
		if (fdms_req_simple(&req, FDMS_GET_STATUS, d->dev->id) == -1) {
			fdms_request_free(&req);
			return -1;
		}
		return start(d, &req, OB_STATUS);
	}
	if (rep->res.cls == FDMS_RETRY)
		log_warnx(&c, "day", "OpenDay of day %" PRId64 ": %s",
		    d->day_no, why);
	else
		log_error(&c, "day", "OpenDay of day %" PRId64 " refused: %s",
		    d->day_no, why);
	backoff(d, &rep->res);
	return 0;
}

static const char *
day_status_name(enum fdms_day_status s)
{
	switch (s) {
	case FDMS_DAY_CLOSED:		return "FiscalDayClosed";
	case FDMS_DAY_OPENED:		return "FiscalDayOpened";
	case FDMS_DAY_CLOSE_INITIATED:	return "FiscalDayCloseInitiated";
	case FDMS_DAY_CLOSE_FAILED:	return "FiscalDayCloseFailed";
	case FDMS_DAY_UNKNOWN:		break;
	}
	return "(status unknown)";
}

static int
on_status(struct obdev *d, struct fdms_reply *rep)
{
	const struct fdms_status *s = &rep->u.status;
	struct fdms_result res;
	struct log_ctx c;
	char why[600];

	ctx_of(d, &c, NULL, rep->res.operation_id);
	if (rep->res.cls != FDMS_OK) {
		describe(&rep->res, why, sizeof(why));
		log_warnx(&c, "day", "GetStatus after OpenDay of day %" PRId64
		    ": %s", d->day_no, why);
		backoff(d, &rep->res);
		return 0;
	}
	if ((s->day_status == FDMS_DAY_OPENED ||
	    s->day_status == FDMS_DAY_CLOSE_FAILED) && s->has_last_day_no &&
	    s->last_day_no == d->day_no)
		return day_confirmed(d, d->open_opid);
	memset(&res, 0, sizeof(res));
	res.cls = FDMS_REJECTED;
	log_error(&c, "day", "FDMS refuses to open fiscal day %" PRId64
	    " and reports day %" PRId64 " %s: the journal and FDMS disagree, "
	    "run spoolctl resync", d->day_no,
	    s->has_last_day_no ? s->last_day_no : (int64_t)0,
	    day_status_name(s->day_status));
	backoff(d, &res);
	return 0;
}

/* ---- what to do next ------------------------------------------------- */

static int
next_work(struct obdev *d)
{
	struct store *st = d->ob->store;
	struct store_receipt r;
	struct store_day day;
	int rc;

	d->drained = false;
	if (d->offline) {
		/* ZIMRA may have switched the device (spoolctl config). */
		(void)device_config_reload(d->dev, st);
		if ((d->offline = device_offline(d->dev))) {
			d->drained = true;
			return 0;
		}
	}
	rc = store_receipt_next_pending(st, d->dev->id, &r);
	if (rc == STORE_NOTFOUND) {
		/* Nothing to send; a day opened locally is still announced. */
		rc = store_day_get(st, d->dev->id, 0, &day);
		if (rc == STORE_NOTFOUND) {
			d->drained = true;
			return 0;
		}
		if (rc != STORE_OK)
			return journal_fatal(d, "reading the fiscal day");
		if (day.status != STORE_DAY_CLOSED &&
		    day.open_operation_id == NULL)
			rc = confirm(d, &day);
		else {
			d->drained = true;
			rc = 0;
		}
		store_day_free(&day);
		return rc;
	}
	if (rc != STORE_OK)
		return journal_fatal(d, "finding the next receipt to submit");
	if (store_day_get(st, d->dev->id, r.day_no, &day) != STORE_OK) {
		store_receipt_free(&r);
		return journal_fatal(d, "reading the receipt's fiscal day");
	}
	if (day.open_operation_id == NULL) {
		store_receipt_free(&r);
		rc = confirm(d, &day);
		store_day_free(&day);
		return rc;
	}
	store_day_free(&day);
	return submit(d, &r);		/* takes r */
}

/* ---- side tasks: Ping, certificate ---------------------------------- */

static int
start_ping(struct obdev *d, int64_t now)
{
	struct fdms_request req;

	d->ping_ms = now + d->ping_every_ms;
	fdms_request_init(&req);
	if (fdms_req_simple(&req, FDMS_PING, d->dev->id) == -1) {
		fdms_request_free(&req);
		return 0;
	}
	return start(d, &req, OB_PING);
}

static void
on_ping(struct obdev *d, struct fdms_reply *rep)
{
	struct log_ctx c;
	char why[600];
	int64_t f;

	ctx_of(d, &c, NULL, rep->res.operation_id);
	if (rep->res.cls == FDMS_OK) {
		f = rep->u.reporting_frequency;
		if (f < PING_MIN_MIN)
			f = OUTBOX_PING_DEFAULT_MIN;
		if (f > PING_MAX_MIN)
			f = PING_MAX_MIN;
		if (f * 60 * 1000 != d->ping_every_ms) {
			log_info(&c, "ping", "reportingFrequency %" PRId64
			    " minutes", f);
			d->ping_ms += f * 60 * 1000 - d->ping_every_ms;
			d->ping_every_ms = f * 60 * 1000;
		} else
			log_debug(&c, "ping", "ok");
	} else {
		describe(&rep->res, why, sizeof(why));
		log_warnx(&c, "ping", "Ping: %s", why);
	}
}

/* Seconds until the certificate expires; INT64_MIN when unknown. */
static int64_t
cert_seconds_left(const struct device *dev)
{
	struct tm tm;
	char now[TIMEUTIL_LOCAL_LEN + 1];
	time_t t = time(NULL);

	if (dev->cert_not_after[0] == '\0' || gmtime_r(&t, &tm) == NULL ||
	    strftime(now, sizeof(now), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
		return INT64_MIN;
	/* Both in UTC; the difference is computed on the calendar. */
	return timeutil_diff_seconds(dev->cert_not_after, now);
}

static int
start_renew(struct obdev *d)
{
	struct fdms_request req;
	struct log_ctx c;
	char *csr, err[256];

	ctx_of(d, &c, NULL, NULL);
	if (d->dev->conf->serial_no == NULL) {
		log_error(&c, "cert", "cannot renew the certificate: serial_no "
		    "is not configured");
		return 0;
	}
	/* The same key (see devadmin_renew_cert): nothing to re-journal. */
	if ((csr = fdms_csr_pem(d->dev->key, d->dev->conf->serial_no,
	    d->dev->id, err, sizeof(err))) == NULL) {
		log_error(&c, "cert", "CSR: %s", err);
		return 0;
	}
	fdms_request_init(&req);
	if (fdms_req_issue_cert(&req, d->dev->id, csr) == -1) {
		log_error(&c, "cert", "IssueCertificate: %s", req.err);
		fdms_request_free(&req);
		free(csr);
		return 0;
	}
	free(csr);
	return start(d, &req, OB_RENEW);
}

/* 1 when a renewal was started, 0 otherwise, -1 fatal. */
static int
cert_check(struct obdev *d, int64_t now)
{
	struct log_ctx c;
	int64_t left = cert_seconds_left(d->dev);

	/* --once tries a renewal at most once per run. */
	d->cert_check_ms = d->ob->opts.once ? INT64_MAX : now + HOUR_MS;
	if (left == INT64_MIN)
		return 0;
	ctx_of(d, &c, NULL, NULL);
	if (left <= (int64_t)OUTBOX_CERT_RENEW_DAYS * 86400) {
		log_warnx(&c, "cert", "the device certificate expires %s UTC "
		    "(in %" PRId64 " days): renewing it (IssueCertificate)",
		    d->dev->cert_not_after, left / 86400);
		if (start_renew(d) == -1)
			return -1;
		return d->state == OB_RENEW;
	}
	if (left <= (int64_t)OUTBOX_CERT_WARN_DAYS * 86400 &&
	    now >= d->cert_warned_ms) {
		d->cert_warned_ms = now + DAY_MS;
		log_warnx(&c, "cert", "the device certificate expires %s UTC "
		    "(in %" PRId64 " days); it is renewed automatically %d days "
		    "before", d->dev->cert_not_after, left / 86400,
		    OUTBOX_CERT_RENEW_DAYS);
	}
	return 0;
}

static void
on_renew(struct obdev *d, struct fdms_reply *rep)
{
	struct log_ctx c;
	char why[600];

	ctx_of(d, &c, NULL, rep->res.operation_id);
	if (rep->res.cls != FDMS_OK) {
		describe(&rep->res, why, sizeof(why));
		log_error(&c, "cert", "certificate renewal failed: %s%s", why,
		    rep->res.http_status == 401 ? " (an expired certificate "
		    "needs ZIMRA's help and a new registration)" : "");
		return;
	}
	/* No call of this device is in flight: the swap is safe. */
	if (device_install_cert(d->dev, d->ob->store, rep->u.certificate, why,
	    sizeof(why)) == -1) {
		log_error(&c, "cert", "new certificate not installed: %s", why);
		return;
	}
	log_info(&c, "cert", "new certificate installed, valid till %s UTC",
	    d->dev->cert_not_after);
	changed(d);
}

/* ---- the driver ------------------------------------------------------ */

static void
refresh_block(struct obdev *d)
{
	struct store_device sd;
	struct log_ctx c;
	bool was = d->stopped;

	if (store_device_get(d->ob->store, d->dev->id, &sd) != STORE_OK)
		return;
	d->stopped = sd.signing_blocked;
	ctx_of(d, &c, NULL, NULL);
	if (d->stopped && !was)
		log_error(&c, "stopped", "device %s is blocked in the journal: "
		    "%s; nothing is submitted for it", d->dev->name,
		    sd.block_reason != NULL ? sd.block_reason : "");
	else if (!d->stopped && was) {
		log_info(&c, "resumed", "the block of device %s was lifted: "
		    "submission resumes", d->dev->name);
		d->kicked = true;
	}
	store_device_free(&sd);
}

static int
ob_step(struct obdev *d, int64_t now)
{
	struct outbox *ob = d->ob;
	struct log_ctx c;
	int rc;

	if (ob->stopping || (d->state != OB_IDLE && d->state != OB_WAIT))
		return 0;
	/* Side tasks first: rare, and they must not starve behind a backlog. */
	if (!ob->opts.once && now >= d->ping_ms)
		return start_ping(d, now);
	if (now >= d->cert_check_ms && (rc = cert_check(d, now)) != 0)
		return rc < 0 ? -1 : 0;
	if (d->state == OB_WAIT) {
		if (now < d->due_ms || d->gave_up)
			return 0;
		d->state = OB_IDLE;
		d->kicked = true;
	}
	if (d->gave_up)
		return 0;
	if (!d->kicked && now < d->recheck_ms)
		return 0;
	d->recheck_ms = now + OUTBOX_RECHECK_MS;
	refresh_block(d);
	if (d->stopped) {
		d->kicked = false;
		if (now >= d->remind_ms) {
			d->remind_ms = now + HOUR_MS;
			ctx_of(d, &c, NULL, NULL);
			log_error(&c, "stopped", "device %s is still stopped: "
			    "an admin must act (spoolctl status)",
			    d->dev->name);
		}
		return 0;
	}
	d->kicked = false;
	return next_work(d);
}

struct outbox *
outbox_new(struct store *st, struct fdms_client *cl,
    const struct outbox_opts *opts)
{
	struct outbox *ob;

	if ((ob = calloc(1, sizeof(*ob))) == NULL)
		return NULL;
	ob->store = st;
	ob->client = cl;
	if (opts != NULL)
		ob->opts = *opts;
	return ob;
}

void
outbox_free(struct outbox *ob)
{
	struct obdev *d, *n;

	if (ob == NULL)
		return;
	for (d = ob->devs; d != NULL; d = n) {
		n = d->next;
		if (d->has_cur)
			store_receipt_free(&d->cur);
		free(d);
	}
	free(ob);
}

int
outbox_add(struct outbox *ob, struct device *dev, struct pipeline_device *pd)
{
	struct store_receipt r;
	struct store_device sd;
	struct obdev *d;
	struct log_ctx c;
	int64_t now = now_ms(), last;
	int rc;

	if ((d = calloc(1, sizeof(*d))) == NULL)
		return -1;
	d->ob = ob;
	d->dev = dev;
	d->pd = pd;
	d->state = OB_IDLE;
	d->kicked = true;
	d->ping_every_ms = OUTBOX_PING_DEFAULT_MIN * 60 * 1000;
	d->ping_ms = now;		/* a powered-on device pings at once */
	d->cert_check_ms = now;
	d->offline = device_offline(dev);
	if (ob->tail != NULL)
		ob->tail->next = d;
	else
		ob->devs = d;
	ob->tail = d;

	ctx_of(d, &c, NULL, NULL);
	if (store_device_get(ob->store, dev->id, &sd) != STORE_OK)
		return journal_fatal(d, "reading the device");
	d->stopped = sd.signing_blocked;
	if (d->stopped) {
		d->remind_ms = now + HOUR_MS;
		log_error(&c, "stopped", "device %s is blocked: %s; nothing is "
		    "submitted for it until an admin lifts the block",
		    dev->name, sd.block_reason != NULL ? sd.block_reason : "");
	}
	last = sd.last_global_no;
	store_device_free(&sd);

	/*
	 * A crash between journaling an answer and rewriting the result file
	 * leaves a stale "signed" result; with one call in flight per device
	 * only the last answered receipt can be affected: rewrite it again.
	 */
	rc = store_receipt_next_pending(ob->store, dev->id, &r);
	if (rc == STORE_OK) {
		last = r.global_no - 1;
		store_receipt_free(&r);
	} else if (rc != STORE_NOTFOUND)
		return journal_fatal(d, "finding the next receipt to submit");
	if (last > 0) {
		rc = store_receipt_by_global(ob->store, dev->id, last, &r);
		if (rc == STORE_OK) {
			if (r.state == STORE_R_SUBMITTED ||
			    r.state == STORE_R_FLAGGED)
				rc = rewrite_result(d, &r);
			store_receipt_free(&r);
			if (rc == -1)
				return -1;
		} else if (rc != STORE_NOTFOUND)
			return journal_fatal(d, "reading the last receipt");
	}
	return 0;
}

void
outbox_kick(struct outbox *ob, int64_t device_id)
{
	struct obdev *d;

	for (d = ob->devs; d != NULL; d = d->next)
		if (d->dev->id == device_id)
			d->kicked = true;
}

static void
lower(int *t, int64_t due, int64_t now)
{
	int64_t ms = due - now;

	if (ms < 0)
		ms = 0;
	if (ms > INT_MAX)
		ms = INT_MAX;
	if (*t < 0 || ms < *t)
		*t = (int)ms;
}

int
outbox_run(struct outbox *ob, int *timeout_ms)
{
	struct obdev *d;
	int64_t now = now_ms();

	*timeout_ms = -1;
	for (d = ob->devs; d != NULL; d = d->next)
		if (ob_step(d, now) == -1)
			return -1;
	if (ob->stopping)
		return 0;
	for (d = ob->devs; d != NULL; d = d->next) {
		if (d->state != OB_IDLE && d->state != OB_WAIT)
			continue;	/* woken by the call's end */
		if (!ob->opts.once)
			lower(timeout_ms, d->ping_ms, now);
		if (d->cert_check_ms != INT64_MAX)
			lower(timeout_ms, d->cert_check_ms, now);
		if (d->gave_up)
			continue;
		if (d->state == OB_WAIT)
			lower(timeout_ms, d->due_ms, now);
		else if (d->kicked)
			lower(timeout_ms, now, now);
		else
			lower(timeout_ms, d->recheck_ms, now);
	}
	return 0;
}

int
outbox_done(struct outbox *ob, struct fdms_reply *rep, void *udata)
{
	struct obdev *d = udata;
	enum obstate st;
	int rc = 0;

	if (d == NULL) {
		fdms_reply_free(rep);
		return 0;
	}
	if (ob->in_flight > 0)
		ob->in_flight--;
	st = d->state;
	switch (st) {
	case OB_SUBMIT:
		rc = on_submit(d, rep);
		break;
	case OB_CONFIG:
		rc = on_config(d, rep);
		break;
	case OB_OPENDAY:
		rc = on_open_day(d, rep);
		break;
	case OB_STATUS:
		rc = on_status(d, rep);
		break;
	case OB_PING:
		d->state = d->resume;
		on_ping(d, rep);
		break;
	case OB_RENEW:
		d->state = d->resume;
		on_renew(d, rep);
		break;
	case OB_IDLE:
	case OB_WAIT:
		break;			/* not ours to expect: ignore */
	}
	fdms_reply_free(rep);
	/* Chain the next step without waiting for another loop turn. */
	if (rc == 0)
		rc = ob_step(d, now_ms());
	return rc;
}

void
outbox_stop(struct outbox *ob)
{
	ob->stopping = true;
}

size_t
outbox_in_flight(const struct outbox *ob)
{
	return ob->in_flight;
}

bool
outbox_settled(const struct outbox *ob)
{
	const struct obdev *d;

	if (ob->in_flight > 0)
		return false;
	for (d = ob->devs; d != NULL; d = d->next) {
		if (d->gave_up || d->stopped || d->offline)
			continue;
		if (d->state != OB_IDLE || d->kicked || !d->drained)
			return false;
	}
	return true;
}

int
outbox_pending(struct outbox *ob, int64_t *n)
{
	struct store_stats s;
	struct obdev *d;

	*n = 0;
	for (d = ob->devs; d != NULL; d = d->next) {
		if (store_stats(ob->store, d->dev->id, NULL, &s) != STORE_OK)
			return -1;
		*n += s.pending;
	}
	return 0;
}

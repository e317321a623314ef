/*
 * pipeline.c - one spool file from claimed to filed (see pipeline.h).
 *
 * The receipt's states here, and the function making each transition
 * (interface.md §3, anchors B.4):
 *
 *   claimed      the file sits in work/ (intake put it there).
 *      |  pipeline_process(): read, SHA-256, parse, schema, the POS's
 *      |  forbidden fields, the invoice number; then fiscalise(): day and
 *      |  chain head (read_head), rules, number, date, taxes, signature
 *      |  string, sign (verified), wire JSON, counters
 *      v
 *   fiscalised   fiscalise() -> store_receipt_insert(): ONE journal
 *      |         transaction holds the signed wire JSON, the chain link,
 *      |         the day's counters and the SHA-256 of the file's bytes.
 *      |         This is the commit point.
 *      |  file_done(): put_result() writes done/T.result.json (atomic),
 *      |  then move_file() moves work/NAME to done/T (never replacing)
 *      v
 *   filed        done/T and done/T.result.json (or .result.xml).
 *
 *   claimed --file_error()--> rejected: error/T.error.json, then error/T
 *                             (pipeline_reject: the same, unread).
 *   claimed --defer()-------> stays in work/; nothing was written.
 *   claimed --refile()------> filed: the bytes (or, for the same invoice
 *                             number, the content) are already journaled.
 *   filed ----pipeline_result_refresh()--> the result rewritten from the
 *                             journal once FDMS answered (the outbox).
 *
 * Recovery.  Before the commit point nothing is written that a later run
 * depends on (a day opened locally is harmless: the next receipt uses it).
 * After it, the file still in work/ carries the proof: its SHA-256 is in
 * the journal, so the next pipeline_process for it goes straight to
 * refile(), which renders the result again from the journal row and moves
 * the file; a result written before a crash is rewritten with the same
 * content.  Nothing is ever signed twice for the same bytes (UNIQUE
 * (device, source_sha256) and (device, invoice_no) in the journal).
 *
 * Names.  The file keeps its name T in done/ or error/ (interface.md:
 * done/NAME, done/NAME.result.json) unless it is taken; then it becomes
 * stem.1.ext, stem.2.ext ... (fsutil_move's scheme), chosen before the
 * commit so the journal's source_name is the name in done/ and the pair
 * "T, T.result.*" always belongs together: the outbox rewrites T's result
 * when FDMS answers, the audit pairs journal rows with done/ files.  In
 * done/ a name is free only when its result names are free too, so a new
 * receipt never overwrites another receipt's result.  A name so long
 * that the result's suffix would not fit is shortened (UTF-8 safe).
 *
 * Dates.  receiptDate is always stamped here: now, but strictly after the
 * device's previous receipt and the day's opening (+1 s as needed), so
 * RCPT030 cannot happen even when two files arrive within one second.  A
 * date in the input is replaced: FDMS wants the time of printing, and the
 * POS prints from our result, after this point.
 *
 * SECURITY.  The file's bytes are untrusted: read through fsutil (no
 * symbolic links, regular files only, DOC_MAX_SIZE), parsed by the
 * hardened readers (io/document), and never reach a log, an error file or
 * a message except through findings_safe_text or the escaping writers
 * (io/result, util/log).  The file name is untrusted too: it is only
 * used relative to the spool directory descriptors, never in a path.
 * The signing key is used, never copied or printed.
 *
 * Invariants.
 *  1. A receipt is journaled before anything tells the POS it exists.
 *  2. The journal's chain is the authority: counter, global number,
 *     previous hash and date come from it, and store_receipt_insert
 *     re-checks them inside its transaction.
 *  3. What is signed is what is journaled is what is sent: the wire JSON
 *     is built from the same struct receipt the signature string is, and
 *     stored byte for byte.
 *  4. A problem with the file sends the file to error/; a problem with the
 *     environment (journal, fsync, disk) is PIPELINE_FATAL and leaves the
 *     file in work/ for the next start; except a full disk (ENOSPC, EDQUOT
 *     on a write or move, never an fsync): nothing reached a name, so the
 *     file waits in work/ (DEFERRED) and goes on once there is room, and a
 *     result the outbox could not rewrite is rewritten then (stale_from_).
 */
#include "spool/pipeline.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cJSON.h>
#include <openssl/evp.h>

#include "fdms/fdms.h"
#include "fdms/wire.h"
#include "fiscal/counters.h"
#include "fiscal/findings.h"
#include "fiscal/money.h"
#include "fiscal/qr.h"
#include "fiscal/receipt.h"
#include "fiscal/rules.h"
#include "fiscal/sign.h"
#include "fiscal/sigstr.h"
#include "fiscal/tax.h"
#include "io/document.h"
#include "io/result.h"
#include "spool/device.h"
#include "store/store.h"
#include "util/arena.h"
#include "util/buf.h"
#include "util/fsutil.h"
#include "util/log.h"
#include "util/testhook.h"
#include "util/timeutil.h"

#define NAME_BYTES	255		/* NAME_MAX of Linux file systems */
#define NAME_TRIES	10000
#define SIGSTR_MAX	(64 * 1024)
#define WIRE_MAX	(4 * 1024 * 1024)	/* FDMS_MAX_REQUEST */
#define QR_MAX		512
#define VERRS_MAX	64
#define SHA256_HEX	64
#define SCAN_STOP	100		/* distinct from every store_rc */
#define HOUR_SECONDS	3600

static const char result_json[] = ".result.json";
static const char result_xml[] = ".result.xml";
static const char error_json[] = ".error.json";
static const char *const result_names[] = { result_json, result_xml, NULL };
#define RESULT_RESERVE	(sizeof(result_json) - 1)	/* the longer one */
#define ERROR_RESERVE	(sizeof(error_json) - 1)

/* What pipeline_device_load owns. */
struct loaded {
	struct fdms_reply	 rep;		/* the parsed GetConfig */
	struct tax_def		*taxes;
	struct sigkey		*key;
};

/* One call of pipeline_process or pipeline_reject. */
struct job {
	struct pipeline_device	*dev;
	const char		*name;		/* in work/ */
	const char		*now;
	struct log_ctx		 lc;
	struct pipeline_outcome	*out;
	struct timespec		 t0;
};

/* The journal's answers for rules_check (lookup_original, invoice_used). */
struct lookup {
	struct pipeline_device	*dev;
	bool			 fatal;		/* the journal failed */
	char			 why[STORE_ERRMSG_MAX];
	bool			 found;
	struct store_receipt	 row;		/* the original */
	struct receipt		*orig;		/* its wire JSON, parsed */
	struct tax_key		*keys;
};

/* ---- the device ------------------------------------------------------ */

int
pipeline_device_load(struct pipeline_device *dev, const unsigned char *fkey,
    char *err, size_t errlen)
{
	const struct fdms_config *c;
	struct store_device sd;
	struct fdms_raw raw;
	struct loaded *l;
	char *pem = NULL, *json = NULL, e[256];
	size_t len = 0, i;

	pipeline_device_unload(dev);
	if (store_device_get(dev->store, dev->device_id, &sd) != STORE_OK) {
		snprintf(err, errlen, "%s", store_errmsg(dev->store));
		return -1;
	}
	dev->cert_id = sd.cert_id;
	store_device_free(&sd);
	if (dev->cert_id == 0) {
		snprintf(err, errlen, "device %lld has no certificate: run "
		    "spoolctl register", (long long)dev->device_id);
		return -1;
	}
	if ((l = calloc(1, sizeof(*l))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	fdms_reply_init(&l->rep, FDMS_GET_CONFIG);
	if (store_key_get(dev->store, dev->device_id, fkey, &pem, &len,
	    NULL) != STORE_OK) {
		snprintf(err, errlen, "private key: %s",
		    store_errmsg(dev->store));
		goto fail;
	}
	l->key = sigkey_load_private(pem, len, NULL, e, sizeof(e));
	store_secret_free(pem, len);
	if (l->key == NULL) {
		snprintf(err, errlen, "private key: %s", e);
		goto fail;
	}
	if (store_config_get(dev->store, dev->device_id, &json, NULL) !=
	    STORE_OK) {
		snprintf(err, errlen, "no GetConfig in the journal (run "
		    "spoolctl config): %s", store_errmsg(dev->store));
		goto fail;
	}
	/* The journal keeps GetConfig in FDMS's own form: FDMS's decoder. */
	memset(&raw, 0, sizeof(raw));
	raw.transport_fail = FDMS_FAIL_NONE;
	raw.status = 200;
	raw.body = json;
	raw.body_len = strlen(json);
	raw.retry_after_s = -1;
	fdms_decode(FDMS_GET_CONFIG, &raw, &l->rep);
	free(json);
	if (l->rep.res.cls != FDMS_OK) {
		snprintf(err, errlen, "the journaled GetConfig does not parse: "
		    "%s", l->rep.res.message);
		goto fail;
	}
	c = &l->rep.u.config;
	if (c->n_taxes == 0 || c->qr_url == NULL) {
		snprintf(err, errlen, "the journaled GetConfig has no %s",
		    c->n_taxes == 0 ? "applicableTaxes" : "qrUrl");
		goto fail;
	}
	if ((l->taxes = calloc(c->n_taxes, sizeof(*l->taxes))) == NULL) {
		snprintf(err, errlen, "out of memory");
		goto fail;
	}
	for (i = 0; i < c->n_taxes; i++) {
		l->taxes[i].tax_id = c->taxes[i].tax_id;
		l->taxes[i].has_percent = c->taxes[i].has_percent;
		l->taxes[i].percent = c->taxes[i].percent;
		l->taxes[i].name = c->taxes[i].name;
		l->taxes[i].valid_from = c->taxes[i].valid_from;
		l->taxes[i].valid_till = c->taxes[i].valid_till;
	}
	dev->key = l->key;
	dev->taxes = l->taxes;
	dev->n_taxes = c->n_taxes;
	dev->vat_payer = c->taxpayer.is_vat_payer ? 1 : 0;
	dev->qr_url = c->qr_url;
	/* The decoder bounds both to 0..100000. */
	dev->day_max_hours = c->has_day_max_hrs ? (int)c->day_max_hrs : 0;
	dev->day_warn_hours = c->has_day_end_notification_hrs ?
	    (int)c->day_end_notification_hrs : 0;
	dev->offline = c->mode == FDMS_MODE_OFFLINE;
	dev->loaded_ = l;
	return 0;
fail:
	sigkey_free(l->key);
	fdms_reply_free(&l->rep);
	free(l);
	return -1;
}

void
pipeline_device_unload(struct pipeline_device *dev)
{
	struct loaded *l = dev->loaded_;

	if (l == NULL)
		return;
	sigkey_free(l->key);
	free(l->taxes);
	fdms_reply_free(&l->rep);
	free(l);
	dev->loaded_ = NULL;
	dev->key = NULL;
	dev->taxes = NULL;
	dev->n_taxes = 0;
	dev->qr_url = NULL;
}

/* ---- small helpers --------------------------------------------------- */

static void
job_init(struct job *j, struct pipeline_device *dev, const char *name,
    const char *now, struct pipeline_outcome *out)
{
	memset(j, 0, sizeof(*j));
	memset(out, 0, sizeof(*out));
	j->dev = dev;
	j->name = name;
	j->now = now;
	j->lc.device = dev->name;
	j->lc.file = name;
	j->out = out;
	clock_gettime(CLOCK_MONOTONIC, &j->t0);
}

static long
elapsed_ms(const struct job *j)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long)((t.tv_sec - j->t0.tv_sec) * 1000 +
	    (t.tv_nsec - j->t0.tv_nsec) / 1000000);
}

static enum pipeline_rc
finish(struct job *j, enum pipeline_rc rc)
{
	j->out->rc = rc;
	j->out->ms = elapsed_ms(j);
	return rc;
}

static enum pipeline_rc fatal_rc(struct job *, const char *, ...)
    __attribute__((format(printf, 2, 3)));

/* The environment failed: say why; the daemon exits and recovers. */
static enum pipeline_rc
fatal_rc(struct job *j, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->out->reason, sizeof(j->out->reason), fmt, ap);
	va_end(ap);
	log_error(&j->lc, "fatal", "%s; the file stays in work/",
	    j->out->reason);
	return finish(j, PIPELINE_FATAL);
}

static enum pipeline_rc defer(struct job *, bool, enum log_level,
    const char *, ...) __attribute__((format(printf, 4, 5)));

/*
 * Leave the file in work/.  The condition is logged once at `level` when
 * loud (it holds for every file until it changes), else at DEBUG.
 */
static enum pipeline_rc
defer(struct job *j, bool loud, enum log_level level, const char *fmt, ...)
{
	struct log_ctx dc = { j->dev->name, NULL, NULL };
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(j->out->reason, sizeof(j->out->reason), fmt, ap);
	va_end(ap);
	if (loud)
		log_msg(level, &dc, "deferred", "%s; receipts wait in work/",
		    j->out->reason);
	else
		log_debug(&j->lc, "deferred", "%s", j->out->reason);
	return finish(j, PIPELINE_DEFERRED);
}

/*
 * A write or move that failed for want of space (not an fsync: that is
 * FSUTIL_FATAL): nothing of it reached a name, so it is safe to try again
 * once space returns.  The file waits in work/ (DEFERRED: the device
 * pauses and retries), never going to error/ for it; one already
 * journaled is re-filed from the journal then.
 */
static bool
no_space(int rc, int e)
{
	return rc == FSUTIL_ERR && (e == ENOSPC || e == EDQUOT);
}

static void
sha256_hex(const void *data, size_t len, char out[SHA256_HEX + 1])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0, i;

	if (EVP_Digest(data, len, md, &n, EVP_sha256(), NULL) != 1 || n != 32)
		n = 0;	/* cannot happen with the default provider */
	for (i = 0; i < n; i++) {
		out[2 * i] = hex[md[i] >> 4];
		out[2 * i + 1] = hex[md[i] & 15];
	}
	out[2 * n] = '\0';
}

/*
 * d + secs into out, on the civil calendar (as UTC: no zone, no DST, like
 * timeutil_diff_seconds).  -1 when d is not a date.
 */
static int
date_add(const char *d, int64_t secs, char out[TIMEUTIL_LOCAL_LEN + 1])
{
	struct tm tm;
	time_t t;

	if (timeutil_parse_local(d, &tm) == -1)
		return -1;
	tm.tm_isdst = 0;
	if ((t = timegm(&tm)) == (time_t)-1)
		return -1;
	t += (time_t)secs;
	if (gmtime_r(&t, &tm) == NULL || strftime(out, TIMEUTIL_LOCAL_LEN + 1,
	    "%Y-%m-%dT%H:%M:%S", &tm) != TIMEUTIL_LOCAL_LEN)
		return -1;
	return 0;
}

/* Move stamp to one second after `after` unless it is already later. */
static void
bump(char stamp[TIMEUTIL_LOCAL_LEN + 1], const char *after)
{
	int64_t d;

	if (after == NULL || (d = timeutil_diff_seconds(stamp, after)) ==
	    INT64_MIN || d > 0)
		return;
	(void)date_add(after, 1, stamp);
}

/* ---- names in done/ and error/ --------------------------------------- */

/*
 * A directory entry's name, as readdir gives them: anything else (a path,
 * "..") would reach outside work/ through the *at() calls.
 */
static bool
plain_name(const char *name)
{
	return name != NULL && name[0] != '\0' && strchr(name, '/') == NULL &&
	    strcmp(name, ".") != 0 && strcmp(name, "..") != 0 &&
	    strlen(name) <= NAME_BYTES;
}

/* Is name (+ suffix) an entry of dirfd?  Unknown counts as taken. */
static bool
taken(int dirfd, const char *name, const char *suffix)
{
	char full[NAME_BYTES + 32];
	struct stat st;

	if (suffix != NULL) {
		snprintf(full, sizeof(full), "%s%s", name, suffix);
		name = full;
	}
	if (fstatat(dirfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0)
		return true;
	return errno != ENOENT;
}

/*
 * Candidate k for name, with `reserve` bytes left for a companion suffix:
 * name itself (k 0), else stem.k.ext; the stem is cut (at a UTF-8
 * boundary) when the whole would not fit.  -1 when nothing fits.
 */
static int
candidate(const char *name, unsigned k, size_t reserve, char *out,
    size_t outlen)
{
	const char *dot = strrchr(name, '.');
	size_t stem, ext, sfx, limit = NAME_BYTES - reserve;
	char num[16] = "";

	/* A dotfile's dot, or an absurd "extension", is part of the stem. */
	if (dot == NULL || dot == name || strlen(dot) > 16)
		dot = name + strlen(name);
	stem = (size_t)(dot - name);
	ext = strlen(dot);
	if (k > 0)
		snprintf(num, sizeof(num), ".%u", k);
	sfx = strlen(num);
	if (sfx + ext + 1 > limit)
		return -1;
	if (stem + sfx + ext > limit) {
		stem = limit - sfx - ext;
		while (stem > 0 && ((unsigned char)name[stem] & 0xc0) == 0x80)
			stem--;
		if (stem == 0)
			return -1;
	}
	if (snprintf(out, outlen, "%.*s%s%s", (int)stem, name, num, dot) < 0 ||
	    strlen(out) != stem + sfx + ext)
		return -1;
	return 0;
}

/* A free name for name in dirfd, its companion names free too. */
static int
pick_name(int dirfd, const char *name, size_t reserve,
    const char *const *companions, char *out, size_t outlen)
{
	const char *const *c;
	unsigned k;

	for (k = 0; k < NAME_TRIES; k++) {
		if (candidate(name, k, reserve, out, outlen) == -1)
			return -1;
		if (taken(dirfd, out, NULL))
			continue;
		for (c = companions; c != NULL && *c != NULL; c++)
			if (taken(dirfd, out, *c))
				break;
		if (c == NULL || *c == NULL)
			return 0;
	}
	return -1;
}

/*
 * work/NAME to dir/to, never replacing.  0, or -1 after fatal_rc (or defer,
 * for want of space: no_space).  A file
 * that left work/ meanwhile (an operator) is logged and not fatal.
 */
static int
move_file(struct job *j, int to_fd, const char *to, const char *dir)
{
	char err[512];
	int rc, e;

	rc = fsutil_move(j->dev->work_fd, j->name, to_fd, to, j->out->final,
	    sizeof(j->out->final), err, sizeof(err));
	e = errno;
	if (rc == FSUTIL_OK) {
		if (strcmp(j->out->final, to) != 0)
			log_warnx(&j->lc, "filed", "%s/%s appeared meanwhile: "
			    "filed as %s/%s", dir, to, dir, j->out->final);
		return 0;
	}
	if (rc == FSUTIL_ERR && e == ENOENT && !taken(j->dev->work_fd, j->name,
	    NULL)) {
		log_error(&j->lc, "filed", "the file left work/ before it was "
		    "moved to %s/%s", dir, to);
		snprintf(j->out->final, sizeof(j->out->final), "%s", to);
		return 0;
	}
	if (no_space(rc, e)) {
		defer(j, true, LOGLV_WARNING, "disk full moving a file to "
		    "%s/%s: %s", dir, to, err);
		return -1;
	}
	fatal_rc(j, "moving the file to %s/%s: %s", dir, to, err);
	return -1;
}

/* ---- result and error files ------------------------------------------ */

/* The journal's validationErrors (FDMS's own member names). */
static size_t
parse_verrs(const char *json, cJSON **tree, struct result_verr **out)
{
	const cJSON *e, *v;
	struct result_verr *a;
	size_t n = 0;

	*tree = NULL;
	*out = NULL;
	if (json == NULL || (*tree = cJSON_Parse(json)) == NULL)
		return 0;
	if (!cJSON_IsArray(*tree) || cJSON_GetArraySize(*tree) <= 0 ||
	    (a = calloc(VERRS_MAX, sizeof(*a))) == NULL)
		return 0;
	cJSON_ArrayForEach(e, *tree) {
		if (n == VERRS_MAX)
			break;
		if ((v = cJSON_GetObjectItemCaseSensitive(e,
		    "validationErrorCode")) != NULL && cJSON_IsString(v))
			a[n].code = v->valuestring;
		if ((v = cJSON_GetObjectItemCaseSensitive(e,
		    "validationErrorColor")) != NULL && cJSON_IsString(v))
			a[n].colour = v->valuestring;
		if ((v = cJSON_GetObjectItemCaseSensitive(e,
		    "validationErrorDescription")) != NULL &&
		    cJSON_IsString(v))
			a[n].description = v->valuestring;
		n++;
	}
	*out = a;
	return n;
}

/*
 * done/file.result.(json|xml) from a journal row, atomically.  An FSUTIL_*
 * status; err says why.
 */
static int
put_result(const struct pipeline_device *dev, const struct store_receipt *row,
    const char *file, bool xml, char *err, size_t errlen)
{
	struct result_info ri;
	struct result_verr *verrs = NULL;
	cJSON *tree = NULL;
	char qr[QR_MAX], code[QR_CODE_LEN + 1], name[NAME_BYTES + 32];
	char *text;
	int rc, e;

	memset(&ri, 0, sizeof(ri));
	ri.file = file;
	switch (row->state) {
	case STORE_R_SUBMITTED:
		ri.status = RESULT_SUBMITTED;
		break;
	case STORE_R_FLAGGED:
		ri.status = RESULT_FLAGGED;
		break;
	default:
		ri.status = RESULT_SIGNED;
		break;
	}
	ri.device_id = row->device_id;
	ri.fiscal_day_no = row->day_no;
	ri.receipt_counter = row->counter;
	ri.receipt_global_no = row->global_no;
	ri.invoice_no = row->invoice_no;
	ri.receipt_type = row->type;
	ri.currency = row->currency;
	ri.receipt_date = row->date;
	ri.total = row->total;
	ri.hash = row->hash;
	ri.signature = row->signature;
	if (dev->qr_url != NULL && row->signature != NULL &&
	    qr_data(dev->qr_url, row->device_id, row->date, row->global_no,
	    row->signature, qr, sizeof(qr)) == 0 &&
	    qr_verification_code(row->signature, code) == 0) {
		ri.qr_url = qr;
		ri.verification_code = code;
	}
	if (row->has_fdms_receipt_id) {
		ri.has_fdms = true;
		ri.receipt_id = row->fdms_receipt_id;
		ri.server_date = row->server_date;
		ri.operation_id = row->operation_id;
		ri.n_verrs = parse_verrs(row->validation_errors, &tree, &verrs);
		ri.verrs = verrs;
	}
	text = xml ? result_render_xml(&ri) : result_render_json(&ri);
	free(verrs);
	cJSON_Delete(tree);
	if (text == NULL) {
		snprintf(err, errlen, "out of memory rendering the result");
		return FSUTIL_ERR;
	}
	snprintf(name, sizeof(name), "%s%s", file, xml ? result_xml :
	    result_json);
	rc = fsutil_write_atomic(dev->done_fd, name, text, strlen(text),
	    PIPELINE_FILE_MODE, err, errlen);
	e = errno;
	free(text);
	errno = e;		/* for no_space() */
	return rc;
}

/* Result into done/t, then the file: the last two transitions. */
static enum pipeline_rc
file_done(struct job *j, const struct store_receipt *row, const char *t,
    bool xml, bool refiled)
{
	char err[512], total[MONEY_BUFSZ];
	int rc;

	if ((rc = put_result(j->dev, row, t, xml, err, sizeof(err))) !=
	    FSUTIL_OK) {
		if (no_space(rc, errno))
			return defer(j, true, LOGLV_WARNING, "disk full writing "
			    "done/%s%s: %s", t, xml ? result_xml : result_json,
			    err);
		return fatal_rc(j, "writing done/%s%s: %s", t, xml ?
		    result_xml : result_json, err);
	}
	if (move_file(j, j->dev->done_fd, t, "done") == -1)
		return j->out->rc;	/* FATAL, or DEFERRED (no space) */
	j->out->global_no = row->global_no;
	j->out->refiled = refiled;
	j->out->ms = elapsed_ms(j);
	if (refiled)
		log_info(&j->lc, "refiled", "already fiscalised as receipt "
		    "%lld (day %lld, counter %lld, invoice %s): result written "
		    "again, filed as done/%s (%ld ms)",
		    (long long)row->global_no, (long long)row->day_no,
		    (long long)row->counter,
		    row->invoice_no, j->out->final, j->out->ms);
	else
		log_info(&j->lc, "fiscalised", "receipt %lld (day %lld, "
		    "counter %lld), %s %s %s %s, signed and journaled: done/%s "
		    "(%ld ms)",
		    (long long)row->global_no, (long long)row->day_no,
		    (long long)row->counter, receipt_type_name(row->type),
		    row->invoice_no, row->currency, money_format(row->total, 2,
		    total, sizeof(total)), j->out->final, j->out->ms);
	return finish(j, PIPELINE_DONE);
}

/* Error file first, then the file (a crash between: filed again alike). */
static enum pipeline_rc
file_error(struct job *j, const char *stage, const struct findings *f)
{
	char t[NAME_BYTES + 1], name[NAME_BYTES + 32], err[512];
	const struct finding *x = f->n > 0 ? &f->v[0] : NULL;
	char *doc;
	int rc, e;

	/*
	 * Only the file's own name must be free: an error file without its
	 * file is what a crash between the two steps leaves, and is ours to
	 * rewrite.
	 */
	if (pick_name(j->dev->error_fd, j->name, ERROR_RESERVE, NULL, t,
	    sizeof(t)) == -1)
		return fatal_rc(j, "no free name in error/ for this file");
	if ((doc = result_render_error(t, stage, f, j->now)) == NULL)
		return fatal_rc(j, "out of memory rendering the error file");
	snprintf(name, sizeof(name), "%s%s", t, error_json);
	rc = fsutil_write_atomic(j->dev->error_fd, name, doc, strlen(doc),
	    PIPELINE_FILE_MODE, err, sizeof(err));
	e = errno;
	free(doc);
	if (no_space(rc, e))
		return defer(j, true, LOGLV_WARNING, "disk full writing "
		    "error/%s: %s", name, err);
	if (rc != FSUTIL_OK)
		return fatal_rc(j, "writing error/%s: %s", name, err);
	if (move_file(j, j->dev->error_fd, t, "error") == -1)
		return j->out->rc;	/* FATAL, or DEFERRED (no space) */
	j->out->stage = stage;
	snprintf(j->out->code, sizeof(j->out->code), "%s", x ? x->code : "");
	j->out->ms = elapsed_ms(j);
	log_info(&j->lc, "rejected", "%s: %s%s%s: %s%s: error/%s (%ld ms)",
	    stage, x ? x->code : "?", x && x->path[0] ? " at " : "",
	    x ? x->path : "", x ? x->message : "",
	    f->n + f->dropped > 1 ? " (and more)" : "", j->out->final,
	    j->out->ms);
	return finish(j, PIPELINE_REJECTED);
}

static enum pipeline_rc reject1(struct job *, const char *, const char *,
    const char *, const char *, ...) __attribute__((format(printf, 5, 6)));

static enum pipeline_rc
reject1(struct job *j, const char *stage, const char *code, const char *path,
    const char *fmt, ...)
{
	struct findings *f;
	enum pipeline_rc rc;
	va_list ap;

	if ((f = calloc(1, sizeof(*f))) == NULL)
		return fatal_rc(j, "out of memory");
	va_start(ap, fmt);
	vsnprintf(f->v[0].message, sizeof(f->v[0].message), fmt, ap);
	va_end(ap);
	snprintf(f->v[0].code, sizeof(f->v[0].code), "%s", code);
	snprintf(f->v[0].path, sizeof(f->v[0].path), "%s", path);
	f->v[0].colour = COLOUR_NONE;
	f->n = 1;
	rc = file_error(j, stage, f);
	free(f);
	/* The outcome keeps the whole code (a finding's is bounded). */
	if (rc == PIPELINE_REJECTED)
		snprintf(j->out->code, sizeof(j->out->code), "%s", code);
	return rc;
}

/* ---- the journal's answers for the rules ----------------------------- */

static void
lookup_reset(struct lookup *lk)
{
	if (lk->found)
		store_receipt_free(&lk->row);
	receipt_free(lk->orig);
	free(lk->keys);
	lk->found = false;
	lk->orig = NULL;
	lk->keys = NULL;
}

static int
journal_fail(struct lookup *lk)
{
	lk->fatal = true;
	snprintf(lk->why, sizeof(lk->why), "%s", store_errmsg(lk->dev->store));
	return -1;
}

/* A journaled wire receipt as a model (our own JSON: no schema needed). */
static struct receipt *
parse_wire(const char *json, size_t len)
{
	struct findings *f;
	struct receipt *r;
	const char *stage = NULL;

	if (json == NULL || (f = calloc(1, sizeof(*f))) == NULL)
		return NULL;
	r = doc_read(json, len, DOC_JSON, NULL, 0, f, &stage);
	free(f);
	return r;
}

struct id_scan {
	int64_t		 receipt_id;
	bool		 found;
	int64_t		 global_no;
};

static int
id_scan_cb(const struct store_receipt *r, void *arg)
{
	struct id_scan *s = arg;

	if (!r->has_fdms_receipt_id || r->fdms_receipt_id != s->receipt_id)
		return 0;
	s->found = true;
	s->global_no = r->global_no;
	return SCAN_STOP;
}

/*
 * The original a note names, into lk->row: 1 found, 0 not in the journal,
 * -1 the journal failed.  By FDMS receiptID (a walk: the journal has no
 * index on it), by device + global number + day, or by invoiceNo (this
 * device first, then the others of the journal: invoice numbers are the
 * taxpayer's).
 */
static int
find_original(struct lookup *lk, const struct receipt_cdn *ref)
{
	struct store *s = lk->dev->store;
	struct id_scan sc;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc = STORE_NOTFOUND;

	lookup_reset(lk);
	if (ref->has_receipt_id) {
		if (store_device_list(s, &ids, &n) != STORE_OK)
			return journal_fail(lk);
		memset(&sc, 0, sizeof(sc));
		sc.receipt_id = ref->receipt_id;
		for (i = 0; i < n && rc == STORE_NOTFOUND; i++) {
			rc = store_receipts_each(s, ids[i], 0, id_scan_cb, &sc);
			if (rc == SCAN_STOP)
				rc = store_receipt_by_global(s, ids[i],
				    sc.global_no, &lk->row);
			else if (rc == STORE_OK)
				rc = STORE_NOTFOUND;
		}
		free(ids);
	} else if (ref->has_device_id && ref->has_global_no &&
	    ref->has_fiscal_day_no) {
		rc = store_receipt_by_global(s, ref->device_id,
		    ref->receipt_global_no, &lk->row);
		if (rc == STORE_OK && lk->row.day_no != ref->fiscal_day_no) {
			store_receipt_free(&lk->row);
			rc = STORE_NOTFOUND;
		}
	} else if (ref->invoice_no != NULL && ref->invoice_no[0] != '\0') {
		rc = store_receipt_by_invoice(s, lk->dev->device_id,
		    ref->invoice_no, &lk->row);
		if (rc == STORE_NOTFOUND) {
			if (store_device_list(s, &ids, &n) != STORE_OK)
				return journal_fail(lk);
			for (i = 0; i < n && rc == STORE_NOTFOUND; i++)
				if (ids[i] != lk->dev->device_id)
					rc = store_receipt_by_invoice(s, ids[i],
					    ref->invoice_no, &lk->row);
			free(ids);
		}
	}
	if (rc == STORE_NOTFOUND)
		return 0;
	if (rc != STORE_OK)
		return journal_fail(lk);
	lk->found = true;
	return 1;
}

struct adj_scan {
	const struct store_receipt	*orig;
	int64_t				 sum;
	bool				 bad;
	int64_t				 bad_global;
};

/* Sum the notes already issued against the original (RCPT035). */
static int
adj_scan_cb(const struct store_receipt *r, void *arg)
{
	struct adj_scan *s = arg;
	const struct store_receipt *o = s->orig;
	const struct receipt_cdn *c;
	struct receipt *note;
	bool refers;

	if (r->type == RECEIPT_FISCAL_INVOICE || (r->device_id ==
	    o->device_id && r->global_no == o->global_no))
		return 0;
	if ((note = parse_wire(r->wire_json, r->wire_len)) == NULL) {
		s->bad = true;
		s->bad_global = r->global_no;
		return SCAN_STOP;
	}
	c = &note->cdn;
	refers = c->present && ((c->has_receipt_id && o->has_fdms_receipt_id &&
	    c->receipt_id == o->fdms_receipt_id) || (c->has_device_id &&
	    c->has_global_no && c->has_fiscal_day_no &&
	    c->device_id == o->device_id &&
	    c->receipt_global_no == o->global_no &&
	    c->fiscal_day_no == o->day_no));
	/* Totals are capped (CENTS_MAX): saturating is only a safeguard. */
	if (refers && __builtin_add_overflow(s->sum, r->total, &s->sum))
		s->sum = r->total < 0 ? INT64_MIN / 2 : INT64_MAX / 2;
	receipt_free(note);
	return 0;
}

static int
lookup_cb(void *arg, const struct receipt_cdn *ref,
    struct original_receipt *out)
{
	struct lookup *lk = arg;
	struct adj_scan as;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc;

	if ((rc = find_original(lk, ref)) != 1)
		return rc;
	if ((lk->orig = parse_wire(lk->row.wire_json, lk->row.wire_len)) ==
	    NULL) {
		lk->fatal = true;
		snprintf(lk->why, sizeof(lk->why), "receipt %lld of device "
		    "%lld in the journal does not parse",
		    (long long)lk->row.global_no, (long long)lk->row.device_id);
		return -1;
	}
	if (lk->orig->n_taxes > 0 && (lk->keys = calloc(lk->orig->n_taxes,
	    sizeof(*lk->keys))) == NULL) {
		lk->fatal = true;
		snprintf(lk->why, sizeof(lk->why), "out of memory");
		return -1;
	}
	for (i = 0; i < lk->orig->n_taxes; i++) {
		lk->keys[i].tax_id = lk->orig->taxes[i].tax_id;
		lk->keys[i].has_percent = lk->orig->taxes[i].has_tax_percent;
		lk->keys[i].percent = lk->orig->taxes[i].tax_percent;
	}
	memset(&as, 0, sizeof(as));
	as.orig = &lk->row;
	if (store_device_list(lk->dev->store, &ids, &n) != STORE_OK)
		return journal_fail(lk);
	for (i = 0; i < n && !as.bad; i++) {
		rc = store_receipts_each(lk->dev->store, ids[i], 0, adj_scan_cb,
		    &as);
		if (rc != STORE_OK && rc != SCAN_STOP) {
			free(ids);
			return journal_fail(lk);
		}
	}
	free(ids);
	if (as.bad) {
		lk->fatal = true;
		snprintf(lk->why, sizeof(lk->why), "receipt %lld in the "
		    "journal does not parse", (long long)as.bad_global);
		return -1;
	}
	memset(out, 0, sizeof(*out));
	out->receipt_id = lk->row.has_fdms_receipt_id ?
	    lk->row.fdms_receipt_id : 0;
	out->date = lk->row.date;
	out->currency = lk->row.currency;
	out->total = lk->row.total;
	out->adjusted = as.sum;
	out->taxes = lk->keys;
	out->n_taxes = lk->orig->n_taxes;
	return 1;
}

/* RCPT013 across the taxpayer's other devices (this one was asked first). */
static int
invoice_used_cb(void *arg, const char *invoice_no)
{
	struct lookup *lk = arg;
	struct store_receipt row;
	int64_t *ids = NULL;
	size_t n = 0, i;
	int rc, used = 0;

	if (store_device_list(lk->dev->store, &ids, &n) != STORE_OK) {
		journal_fail(lk);
		return 0;
	}
	for (i = 0; i < n && !used; i++) {
		if (ids[i] == lk->dev->device_id)
			continue;
		rc = store_receipt_by_invoice(lk->dev->store, ids[i],
		    invoice_no, &row);
		if (rc == STORE_OK) {
			store_receipt_free(&row);
			used = 1;
		} else if (rc != STORE_NOTFOUND) {
			journal_fail(lk);
			break;
		}
	}
	free(ids);
	return used;
}

/* ---- the receipt ----------------------------------------------------- */

/*
 * What the daemon adds after validation, identically for a new receipt
 * and for the comparison with a journaled one: taxes (computed when
 * absent, else in signature order), line numbers, and a reference by
 * invoiceNo resolved to the original's device, global number and day
 * (FDMS knows no invoiceNo references).  -1 on allocation failure.
 */
static int
complete_receipt(struct receipt *r, const struct lookup *lk)
{
	struct receipt_tax *g;
	struct receipt_cdn *c = &r->cdn;
	long n;
	size_t i;

	if (!r->has_taxes) {
		if ((n = tax_compute(r, &g)) < 0)
			return -1;
		r->taxes = g;
		r->n_taxes = (size_t)n;
	} else
		tax_sort(r);
	for (i = 0; i < r->n_lines; i++)
		if (!r->lines[i].has_line_no) {
			r->lines[i].has_line_no = true;
			r->lines[i].line_no = (int64_t)i + 1;
		}
	if (c->present && !c->has_receipt_id && !(c->has_device_id &&
	    c->has_global_no && c->has_fiscal_day_no) && lk->found) {
		c->has_device_id = c->has_global_no = true;
		c->has_fiscal_day_no = true;
		c->device_id = lk->row.device_id;
		c->receipt_global_no = lk->row.global_no;
		c->fiscal_day_no = lk->row.day_no;
	}
	return 0;
}

/* Fields the POS must leave to us (interface.md §4). */
static void
check_daemon_fields(const struct pipeline_device *dev, const struct receipt *r,
    struct findings *f)
{
	if (r->has_counter)
		findings_add(f, "DAEMON_FIELD", COLOUR_NONE, "receiptCounter",
		    "receiptCounter is assigned by spoold: the POS must not "
		    "number receipts; leave it out");
	if (r->has_global_no)
		findings_add(f, "DAEMON_FIELD", COLOUR_NONE, "receiptGlobalNo",
		    "receiptGlobalNo is assigned by spoold: the POS must not "
		    "number receipts; leave it out");
	if (r->sig_hash != NULL || r->sig_signature != NULL)
		findings_add(f, "DAEMON_FIELD", COLOUR_NONE,
		    "receiptDeviceSignature", "receiptDeviceSignature is made "
		    "by spoold when it signs the receipt; leave it out");
	if (r->previous_hash != NULL)
		findings_add(f, "DAEMON_FIELD", COLOUR_NONE,
		    "previousReceiptHash", "the receipt chain is spoold's: "
		    "leave previousReceiptHash out");
	if (r->has_device_id && r->device_id != dev->device_id)
		findings_add(f, "WRONG_DEVICE", COLOUR_NONE, "deviceID", "the "
		    "file names device %lld but was dropped for device %lld",
		    (long long)r->device_id, (long long)dev->device_id);
	if (r->invoice_no == NULL || r->invoice_no[0] == '\0')
		findings_add(f, "SCHEMA", COLOUR_NONE, "invoiceNo", "invoiceNo "
		    "is required");
}

/*
 * Same invoice number as a journaled receipt: is it the same receipt?
 * Complete r as it would have been and compare the wire JSON with the
 * journaled bytes, the daemon's own fields taken from the row.  1 same,
 * 0 different, -1 the journal failed.
 */
static int
same_content(struct receipt *r, const struct store_receipt *row,
    struct lookup *lk)
{
	struct buf w;
	char err[256];
	int same;

	if (r->cdn.present && find_original(lk, &r->cdn) == -1)
		return -1;
	r->has_counter = r->has_global_no = true;
	r->counter = row->counter;
	r->global_no = row->global_no;
	r->date = row->date;
	r->sig_hash = row->hash;
	r->sig_signature = row->signature;
	if (complete_receipt(r, lk) == -1)
		return 0;
	buf_init(&w, WIRE_MAX);
	same = fdms_wire_receipt(r, &w, err, sizeof(err)) == 0 &&
	    w.len == row->wire_len && row->wire_json != NULL &&
	    memcmp(w.p, row->wire_json, w.len) == 0;
	buf_free(&w);
	return same;
}

/* Red, or a code of ours: the file is refused.  Yellow/Grey are logged. */
static bool
refused(const struct job *j, const struct findings *f)
{
	bool bad = f->dropped > 0;
	size_t i;

	for (i = 0; i < f->n; i++) {
		const struct finding *x = &f->v[i];

		if (x->colour == COLOUR_RED || x->colour == COLOUR_NONE)
			bad = true;
	}
	if (bad)
		return true;
	for (i = 0; i < f->n; i++)
		log_warnx(&j->lc, "finding", "%s (%s)%s%s: %s; FDMS accepts "
		    "the receipt with this warning", f->v[i].code,
		    colour_name(f->v[i].colour), f->v[i].path[0] ? " at " : "",
		    f->v[i].path, f->v[i].message);
	return false;
}

/* The chain head and the day, as the journal has them. */
struct head {
	struct store_device	 sd;
	bool			 have_sd;
	struct store_day	 day;
	bool			 have_day;
	bool			 need_open;	/* open day_no locally */
	int64_t			 day_no;
	char			 opened[TIMEUTIL_LOCAL_LEN + 1];
	char			 stamp[TIMEUTIL_LOCAL_LEN + 1];
	const char		*prev_date;	/* the day's last receipt's */
};

static void
head_free(struct head *h)
{
	if (h->have_sd)
		store_device_free(&h->sd);
	if (h->have_day)
		store_day_free(&h->day);
}

/*
 * Read the chain head; decide the day and the receipt's date.  DONE to go
 * on, else DEFERRED or FATAL (finished).
 */
static enum pipeline_rc
read_head(struct job *j, struct head *h)
{
	struct pipeline_device *dev = j->dev;
	struct store_receipt prev;
	struct tm tm;
	int64_t s, max, warn;
	bool loud;
	int rc;

	if ((rc = store_device_get(dev->store, dev->device_id, &h->sd)) !=
	    STORE_OK)
		return fatal_rc(j, "journal: %s", store_errmsg(dev->store));
	h->have_sd = true;
	if (h->sd.signing_blocked) {
		loud = !dev->blocked_logged_;
		dev->blocked_logged_ = true;
		/* The two blocks are lifted by different admin actions. */
		return defer(j, loud, LOGLV_ERROR, "signing is blocked for "
		    "this device (%s): %s", h->sd.block_reason ?
		    h->sd.block_reason : "no reason given",
		    h->sd.block_reason != NULL && strncmp(h->sd.block_reason,
		    DEVICE_BLOCK_FLAGGED, strlen(DEVICE_BLOCK_FLAGGED)) == 0 ?
		    "deal with the flagged receipt, then run spoolctl unblock" :
		    "run spoolctl resync once the journal agrees with FDMS");
	}
	dev->blocked_logged_ = false;

	rc = store_day_get(dev->store, dev->device_id, 0, &h->day);
	if (rc == STORE_OK)
		h->have_day = true;
	else if (rc != STORE_NOTFOUND)
		return fatal_rc(j, "journal: %s", store_errmsg(dev->store));
	if (!h->have_day || h->day.status == STORE_DAY_CLOSED) {
		h->need_open = true;
		h->day_no = h->have_day ? h->day.day_no + 1 : 1;
	} else if (h->day.status == STORE_DAY_CLOSE_REQUESTED)
		return defer(j, false, LOGLV_INFO, "fiscal day %lld is being "
		    "closed", (long long)h->day.day_no);
	else {
		h->day_no = h->day.day_no;
		h->prev_date = h->day.last_receipt_date;
	}

	/*
	 * The date: now, strictly after the device's last receipt (across
	 * days: the clock may have gone back) and the day's opening.
	 */
	if (j->now == NULL || timeutil_parse_local(j->now, &tm) == -1)
		return fatal_rc(j, "the current time \"%s\" is not a local "
		    "date-time", j->now ? j->now : "(null)");
	snprintf(h->stamp, sizeof(h->stamp), "%s", j->now);
	if (h->sd.last_global_no > 0) {
		rc = store_receipt_by_global(dev->store, dev->device_id,
		    h->sd.last_global_no, &prev);
		if (rc == STORE_OK) {
			bump(h->stamp, prev.date);
			store_receipt_free(&prev);
		} else if (rc != STORE_NOTFOUND)	/* raised from FDMS */
			return fatal_rc(j, "journal: %s",
			    store_errmsg(dev->store));
	}
	if (h->need_open) {
		memcpy(h->opened, h->stamp, sizeof(h->opened));
		bump(h->stamp, h->opened);
		return PIPELINE_DONE;
	}
	snprintf(h->opened, sizeof(h->opened), "%s", h->day.opened);
	bump(h->stamp, h->opened);
	bump(h->stamp, h->prev_date);

	/* taxPayerDayMaxHrs: stop; taxpayerDayEndNotificationHrs: warn. */
	if (dev->day_max_hours <= 0 ||
	    (s = timeutil_diff_seconds(h->stamp, h->opened)) == INT64_MIN)
		return PIPELINE_DONE;
	max = (int64_t)dev->day_max_hours * HOUR_SECONDS;
	if (s >= max) {
		loud = dev->maxed_day_ != h->day_no;
		dev->maxed_day_ = h->day_no;
		return defer(j, loud, LOGLV_ERROR, "fiscal day %lld opened at "
		    "%s has reached its maximum of %d hours: close it "
		    "(spoolctl close-day) to go on", (long long)h->day_no,
		    h->opened, dev->day_max_hours);
	}
	warn = (int64_t)dev->day_warn_hours * HOUR_SECONDS;
	if (warn > 0 && s >= max - warn && dev->warned_day_ != h->day_no) {
		dev->warned_day_ = h->day_no;
		log_warnx(&j->lc, "day", "fiscal day %lld opened at %s ends in "
		    "%lld min (maximum %d hours): close it soon",
		    (long long)h->day_no, h->opened,
		    (long long)((max - s) / 60), dev->day_max_hours);
	}
	return PIPELINE_DONE;
}

/* Validate, number, sign, journal, file: the claimed -> filed path. */
static enum pipeline_rc
fiscalise(struct job *j, struct receipt *r, struct findings *f,
    const char *sha, bool xml)
{
	struct pipeline_device *dev = j->dev;
	struct rules_ctx ctx;
	struct store_receipt nr;
	struct lookup lk;
	struct counters c;
	struct head h;
	struct buf sb, wire;
	char hash[SHA256_B64_LEN + 1], sig[SIG_B64_MAX + 1];
	char t[NAME_BYTES + 1], err[512];
	const char *prev_hash = NULL;
	enum pipeline_rc ret;
	int rc;

	memset(&h, 0, sizeof(h));
	memset(&lk, 0, sizeof(lk));
	lk.dev = dev;
	counters_init(&c);
	buf_init(&sb, SIGSTR_MAX);
	buf_init(&wire, WIRE_MAX);

	if (dev->key == NULL || dev->taxes == NULL || dev->n_taxes == 0) {
		bool loud = !dev->noconfig_logged_;

		dev->noconfig_logged_ = true;
		ret = defer(j, loud, LOGLV_ERROR, "no signing key or no "
		    "GetConfig loaded for this device (spoolctl register, "
		    "spoolctl config)");
		goto out;
	}
	dev->noconfig_logged_ = false;
	if ((ret = read_head(j, &h)) != PIPELINE_DONE)
		goto out;
	if (r->date != NULL && strcmp(r->date, h.stamp) != 0)
		log_debug(&j->lc, "date", "receiptDate %s of the file replaced "
		    "by %s", r->date, h.stamp);
	if ((r->date = arena_strdup(r->arena, h.stamp)) == NULL) {
		ret = reject1(j, "validate", "TOO_LARGE", "", "the document "
		    "uses all the memory allowed for one receipt");
		goto out;
	}

	/* Business rules, with everything the journal and GetConfig know. */
	memset(&ctx, 0, sizeof(ctx));
	ctx.taxes = dev->taxes;
	ctx.n_taxes = dev->n_taxes;
	ctx.vat_payer = dev->vat_payer;
	ctx.has_prev = true;
	ctx.prev_counter = h.need_open ? 0 : h.day.receipt_counter;
	ctx.prev_global_no = h.sd.last_global_no;
	ctx.prev_date = h.need_open ? NULL : h.prev_date;
	ctx.day_opened = h.opened;
	ctx.day_max_hours = dev->day_max_hours;
	ctx.now = j->now;
	ctx.lookup_original = lookup_cb;
	ctx.invoice_used = invoice_used_cb;
	ctx.cb_arg = &lk;
	rules_check(r, &ctx, f);
	if (lk.fatal) {
		ret = fatal_rc(j, "journal: %s", lk.why);
		goto out;
	}
	if (refused(j, f)) {
		ret = file_error(j, "validate", f);
		goto out;
	}

	/* The day, opened here when none is: the outbox tells FDMS. */
	if (h.need_open) {
		rc = store_day_open(dev->store, dev->device_id, h.day_no,
		    h.opened);
		if (rc == STORE_REFUSED || rc == STORE_DUPLICATE) {
			ret = defer(j, true, LOGLV_ERROR, "cannot open fiscal "
			    "day %lld: %s", (long long)h.day_no,
			    store_errmsg(dev->store));
			goto out;
		}
		if (rc != STORE_OK) {
			ret = fatal_rc(j, "journal: %s",
			    store_errmsg(dev->store));
			goto out;
		}
		log_info(&j->lc, "day", "fiscal day %lld opened at %s in the "
		    "journal (FDMS gets OpenDay before its first receipt)",
		    (long long)h.day_no, h.opened);
		r->counter = 1;
	} else {
		r->counter = h.day.receipt_counter + 1;
		prev_hash = h.day.last_hash;
	}
	r->has_counter = r->has_global_no = true;
	r->global_no = h.sd.last_global_no + 1;
	if (complete_receipt(r, &lk) == -1) {
		ret = reject1(j, "validate", "TOO_LARGE", "receiptTaxes", "the "
		    "document uses all the memory allowed for one receipt");
		goto out;
	}

	/* Sign (verified inside sign_b64) what the wire will carry. */
	if (sigstr_receipt(r, dev->device_id, prev_hash, &sb) == -1) {
		ret = reject1(j, "validate", "TOO_LARGE", "", "the signature "
		    "string of this receipt cannot be built");
		goto out;
	}
	sign_sha256_b64(sb.p, sb.len, hash);
	if (sign_b64(dev->key, sb.p, sb.len, sig, sizeof(sig), err,
	    sizeof(err)) == -1) {
		ret = fatal_rc(j, "signing: %s", err);
		goto out;
	}
	r->sig_hash = hash;
	r->sig_signature = sig;
	if (fdms_wire_receipt(r, &wire, err, sizeof(err)) == -1) {
		ret = reject1(j, "validate", "TOO_LARGE", "", "%s", err);
		goto out;
	}
	if (counters_add_receipt(&c, r) == -1) {
		ret = reject1(j, "validate", "TOO_LARGE", "", "the fiscal "
		    "counters cannot take this receipt");
		goto out;
	}
	if (pick_name(dev->done_fd, j->name, RESULT_RESERVE, result_names, t,
	    sizeof(t)) == -1) {
		ret = fatal_rc(j, "no free name in done/ for this file");
		goto out;
	}

	/* The commit point. */
	memset(&nr, 0, sizeof(nr));
	nr.device_id = dev->device_id;
	nr.global_no = r->global_no;
	nr.day_no = h.day_no;
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
	nr.prev_hash = prev_hash;
	nr.cert_id = dev->cert_id;
	nr.source_name = t;
	nr.source_sha256 = sha;
	rc = store_receipt_insert(dev->store, &nr, &c);
	if (rc == STORE_REFUSED || rc == STORE_DUPLICATE) {
		/* The head moved under us (spoolctl): the next try re-reads. */
		ret = defer(j, true, LOGLV_ERROR, "journal refused receipt "
		    "%lld: %s", (long long)nr.global_no,
		    store_errmsg(dev->store));
		goto out;
	}
	if (rc != STORE_OK) {
		ret = fatal_rc(j, "journal: %s", store_errmsg(dev->store));
		goto out;
	}
	TESTHOOK_CRASH("journaled");
	ret = file_done(j, &nr, t, xml, false);
out:
	lookup_reset(&lk);
	counters_free(&c);
	buf_free(&sb);
	buf_free(&wire);
	head_free(&h);
	return ret;
}

/* Already journaled: render the result from the row, file the copy. */
static enum pipeline_rc
refile(struct job *j, const struct store_receipt *row, bool xml)
{
	const char *s = row->source_name;
	char t[NAME_BYTES + 1];

	/*
	 * The journal's own name when it is not in done/ (a crash after the
	 * commit), else a fresh pair for this copy (a re-drop).
	 */
	if (s != NULL && s[0] != '\0' && strchr(s, '/') == NULL &&
	    strlen(s) + RESULT_RESERVE <= NAME_BYTES &&
	    !taken(j->dev->done_fd, s, NULL))
		snprintf(t, sizeof(t), "%s", s);
	else if (pick_name(j->dev->done_fd, j->name, RESULT_RESERVE,
	    result_names, t, sizeof(t)) == -1)
		return fatal_rc(j, "no free name in done/ for this file");
	return file_done(j, row, t, xml, true);
}

/*
 * Rewrite the results pipeline_result_refresh had no room for (global
 * numbers stale_from_ up to the device's last): those answered by FDMS
 * whose file is in done/ (one still in work/ gets its result when it is
 * re-filed).  PIPELINE_DONE when all are written; DEFERRED while the
 * disk is still full; FATAL on anything else.
 */
static enum pipeline_rc
refresh_stale(struct job *j)
{
	struct pipeline_device *dev = j->dev;
	struct store_receipt row;
	struct store_device sd;
	char err[512];
	int64_t g, last;
	int rc, e;
	bool xml;

	if (store_device_get(dev->store, dev->device_id, &sd) != STORE_OK)
		return fatal_rc(j, "journal: %s", store_errmsg(dev->store));
	last = sd.last_global_no;
	store_device_free(&sd);
	for (g = dev->stale_from_; g <= last; g++) {
		rc = store_receipt_by_global(dev->store, dev->device_id, g,
		    &row);
		if (rc == STORE_NOTFOUND)
			continue;
		if (rc != STORE_OK)
			return fatal_rc(j, "journal: %s",
			    store_errmsg(dev->store));
		rc = FSUTIL_OK;
		if ((row.state == STORE_R_SUBMITTED ||
		    row.state == STORE_R_FLAGGED) && row.source_name != NULL &&
		    plain_name(row.source_name) &&
		    taken(dev->done_fd, row.source_name, NULL)) {
			xml = taken(dev->done_fd, row.source_name, result_xml)
			    && !taken(dev->done_fd, row.source_name,
			    result_json);
			rc = put_result(dev, &row, row.source_name, xml, err,
			    sizeof(err));
		}
		e = errno;
		store_receipt_free(&row);
		if (no_space(rc, e)) {
			dev->stale_from_ = g;
			return defer(j, true, LOGLV_WARNING, "disk full "
			    "rewriting the result of receipt %lld: %s",
			    (long long)g, err);
		}
		if (rc != FSUTIL_OK)
			return fatal_rc(j, "rewriting the result of receipt "
			    "%lld: %s", (long long)g, err);
	}
	log_info(&j->lc, "result", "results from receipt %lld on rewritten "
	    "now that the disk has room", (long long)dev->stale_from_);
	dev->stale_from_ = 0;
	return PIPELINE_DONE;
}

enum pipeline_rc
pipeline_process(struct pipeline_device *dev, const char *work_name, int fd,
    const char *now, struct pipeline_outcome *out)
{
	struct pipeline_outcome local;
	struct store_receipt row;
	struct findings *f = NULL;
	struct receipt *r = NULL;
	struct lookup lk;
	struct job j;
	enum fsread_status st;
	enum pipeline_rc ret;
	const char *stage = NULL;
	char *buf = NULL, err[512], sha[SHA256_HEX + 1], inv[64];
	size_t len = 0, n0;
	int opened = -1, rc, same, e;
	bool xml;

	job_init(&j, dev, work_name, now, out != NULL ? out : &local);
	memset(&lk, 0, sizeof(lk));
	lk.dev = dev;
	if (!plain_name(work_name))
		return fatal_rc(&j, "\"%s\" is not a file name in work/",
		    work_name ? work_name : "(null)");
	/* Answers the disk had no room for come first, in order. */
	if (dev->stale_from_ != 0 && (ret = refresh_stale(&j)) !=
	    PIPELINE_DONE)
		return ret;

	/* Read: bounded, from the descriptor, never through a link. */
	if (fd == -1) {
		if ((opened = fsutil_openat_nofollow(dev->work_fd,
		    work_name)) == -1) {
			e = errno;
			if (e == ENOENT) {
				/* Gone (an operator): nothing left to do. */
				snprintf(j.out->reason, sizeof(j.out->reason),
				    "the file is no longer in work/");
				log_warnx(&j.lc, "gone", "%s", j.out->reason);
				return finish(&j, PIPELINE_DONE);
			}
			/* No descriptors or memory: the file is not at fault. */
			if (fsutil_errno_is_resource(e))
				return fatal_rc(&j, "cannot open %s: %s",
				    work_name, strerror(e));
			return reject1(&j, "read", e == ELOOP ? "SYMLINK" :
			    "UNREADABLE", "", "cannot open the file: %s",
			    strerror(e));
		}
		fd = opened;
	}
	st = fsutil_read_fd(fd, DOC_MAX_SIZE, &buf, &len, err, sizeof(err));
	if (opened != -1)
		(void)close(opened);	/* read-only: nothing to lose */
	if (st == FSREAD_RESOURCE)
		return fatal_rc(&j, "reading %s: %s", work_name, err);
	if (st != FSREAD_OK)
		return reject1(&j, "read", fsread_code(st), "", "%s", err);
	sha256_hex(buf, len, sha);
	xml = doc_detect(work_name, buf, len) == DOC_XML;

	/* These bytes are journaled: a crash after the commit, a re-drop. */
	rc = store_receipt_by_source(dev->store, dev->device_id, sha, &row);
	if (rc == STORE_OK) {
		ret = refile(&j, &row, xml);
		store_receipt_free(&row);
		goto out;
	}
	if (rc != STORE_NOTFOUND) {
		ret = fatal_rc(&j, "journal: %s", store_errmsg(dev->store));
		goto out;
	}

	if ((f = calloc(1, sizeof(*f))) == NULL) {
		ret = fatal_rc(&j, "out of memory");
		goto out;
	}
	r = doc_read(buf, len, xml ? DOC_XML : DOC_JSON, dev->schemas, 0, f,
	    &stage);
	if (r == NULL) {
		if (f->n == 0)
			findings_add(f, "PARSE", COLOUR_NONE, "", "the "
			    "document cannot be read");
		ret = file_error(&j, stage != NULL ? stage : "parse", f);
		goto out;
	}
	n0 = f->n;
	check_daemon_fields(dev, r, f);
	if (f->n > n0) {
		ret = file_error(&j, "validate", f);
		goto out;
	}

	/* The invoice number again: the same receipt, or a duplicate. */
	rc = store_receipt_by_invoice(dev->store, dev->device_id, r->invoice_no,
	    &row);
	if (rc == STORE_OK) {
		same = same_content(r, &row, &lk);
		if (same == -1)
			ret = fatal_rc(&j, "journal: %s", lk.why);
		else if (same == 1)
			ret = refile(&j, &row, xml);
		else {
			findings_add(f, "DUPLICATE", COLOUR_NONE, "invoiceNo",
			    "invoice number \"%s\" was already fiscalised as "
			    "receipt %lld (fiscal day %lld) from a file with "
			    "other content; a corrected receipt needs a credit "
			    "or debit note, or a new invoice number",
			    findings_safe_text(r->invoice_no, inv, sizeof(inv)),
			    (long long)row.global_no, (long long)row.day_no);
			ret = file_error(&j, "duplicate", f);
		}
		store_receipt_free(&row);
		goto out;
	}
	if (rc != STORE_NOTFOUND) {
		ret = fatal_rc(&j, "journal: %s", store_errmsg(dev->store));
		goto out;
	}
	ret = fiscalise(&j, r, f, sha, xml);
out:
	lookup_reset(&lk);
	receipt_free(r);
	free(f);
	free(buf);
	return ret;
}

enum pipeline_rc
pipeline_reject(struct pipeline_device *dev, const char *work_name,
    const char *code, const char *reason, const char *now)
{
	struct pipeline_outcome local;
	struct job j;

	job_init(&j, dev, work_name, now, &local);
	if (!plain_name(work_name))
		return fatal_rc(&j, "\"%s\" is not a file name in work/",
		    work_name ? work_name : "(null)");
	return reject1(&j, "read", code != NULL ? code : "READ_ERROR", "",
	    "%s", reason != NULL ? reason : "refused");
}

enum pipeline_rc
pipeline_result_refresh(struct pipeline_device *dev,
    const struct store_receipt *row)
{
	struct log_ctx lc = { dev->name, row->source_name, NULL };
	char err[512];
	bool xml;
	int rc;

	if (row->source_name == NULL || row->source_name[0] == '\0' ||
	    strchr(row->source_name, '/') != NULL) {
		log_error(&lc, "result", "receipt %lld has no file name in the "
		    "journal: no result to rewrite", (long long)row->global_no);
		return PIPELINE_DONE;
	}
	xml = taken(dev->done_fd, row->source_name, result_xml) &&
	    !taken(dev->done_fd, row->source_name, result_json);
	rc = put_result(dev, row, row->source_name, xml, err, sizeof(err));
	if (no_space(rc, errno)) {
		/*
		 * Journaled already: only the file the POS reads is behind.
		 * pipeline_process rewrites it (refresh_stale) before its
		 * next file, which the full disk defers until there is room.
		 */
		if (dev->stale_from_ == 0 || row->global_no < dev->stale_from_)
			dev->stale_from_ = row->global_no;
		log_warnx(&lc, "result", "disk full writing done/%s%s: %s; "
		    "rewritten once there is room", row->source_name, xml ?
		    result_xml : result_json, err);
		return PIPELINE_DEFERRED;
	}
	if (rc != FSUTIL_OK) {
		log_error(&lc, "fatal", "writing done/%s%s: %s",
		    row->source_name, xml ? result_xml : result_json, err);
		return PIPELINE_FATAL;
	}
	return PIPELINE_DONE;
}

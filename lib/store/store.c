/*
 * store.c - the journal's front: argument checks, URL dispatch, key
 * encryption and certificate parsing, then the backend (store_impl.h).
 *
 * Why a front at all: every backend (SQLite now, PostgreSQL later) must
 * refuse the same malformed input with the same messages, and encrypt
 * keys the same way, so a journal copied from one to the other (spoolctl
 * migrate-db) means the same thing.  The backend keeps the invariants
 * that need a transaction (the chain, the state machines); this file keeps
 * those that need only the arguments.
 *
 * SECURITY: callers are trusted code, but the strings they pass often
 * come from outside (file names, FDMS answers): they are stored as text
 * and never interpreted, and the SQL uses bound parameters only.  Private
 * keys pass through here in the clear: every copy is wiped
 * (OPENSSL_cleanse) before it is freed, and no message ever contains key
 * bytes.  A certificate PEM from FDMS is parsed only to record its
 * validity and thumbprint.
 *
 * Durability: nothing is written here; see store_sqlite.c.
 */
#include "store/store_impl.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bio.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "store/fernet.h"
#include "util/timeutil.h"

#define MAX_PEM		(64 * 1024)

/* -- helpers shared with the backends ---------------------------------- */

int
store_fail(struct store *s, int rc, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(s->errmsg, sizeof(s->errmsg), fmt, ap);
	va_end(ap);
	return rc;
}

int
store_own_strings(void **mem, const char **const fields[], size_t n)
{
	size_t i, total = 0, len;
	char *p;

	*mem = NULL;
	for (i = 0; i < n; i++)
		if (*fields[i] != NULL)
			total += strlen(*fields[i]) + 1;
	if (total == 0)
		return 0;
	if ((p = malloc(total)) == NULL)
		return -1;
	*mem = p;
	for (i = 0; i < n; i++) {
		if (*fields[i] == NULL)
			continue;
		len = strlen(*fields[i]) + 1;
		memcpy(p, *fields[i], len);
		*fields[i] = p;
		p += len;
	}
	return 0;
}

void
store_now_utc(char out[STORE_TIME_LEN + 1])
{
	struct tm tm;
	time_t t = time(NULL);

	if (gmtime_r(&t, &tm) == NULL ||
	    strftime(out, STORE_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    STORE_TIME_LEN)
		snprintf(out, STORE_TIME_LEN + 1, "1970-01-01T00:00:00Z");
}

int
store_url_parse(const char *url, enum store_kind *kind, char **path,
    char *err, size_t errlen)
{
	const char *p = url, *colon;

	*path = NULL;
	if (url == NULL || *url == '\0') {
		snprintf(err, errlen, "no database configured");
		return -1;
	}
	if (strncmp(url, "postgresql://", 13) == 0 ||
	    strncmp(url, "postgres://", 11) == 0) {
		*kind = STORE_KIND_POSTGRESQL;
		return 0;
	}
	if (strncmp(url, "sqlite://", 9) == 0)
		p = url + 9;
	else if ((colon = strstr(url, "://")) != NULL &&
	    strcspn(url, "/") > (size_t)(colon - url)) {
		snprintf(err, errlen, "%.*s: unknown database scheme (a path, "
		    "sqlite://PATH or postgresql://...)", (int)(colon - url),
		    url);
		return -1;
	}
	if (*p == '\0') {
		snprintf(err, errlen, "%s: no database path", url);
		return -1;
	}
	*kind = STORE_KIND_SQLITE;
	if ((*path = strdup(p)) == NULL) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	return 0;
}

/* -- argument checks ---------------------------------------------------- */

static int
empty(const char *s)
{
	return s == NULL || *s == '\0';
}

/* An FDMS datetime: strictly "YYYY-MM-DDTHH:MM:SS". */
static int
fdms_time_ok(const char *s)
{
	struct tm tm;

	return s != NULL && strlen(s) == TIMEUTIL_LOCAL_LEN &&
	    timeutil_parse_local(s, &tm) == 0;
}

static int
hex_ok(const char *s, size_t len)
{
	size_t i;

	if (s == NULL || strlen(s) != len)
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		    (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

static int
currency_ok(const char *c)
{
	return c != NULL && strlen(c) == 3 && c[0] >= 'A' && c[0] <= 'Z' &&
	    c[1] >= 'A' && c[1] <= 'Z' && c[2] >= 'A' && c[2] <= 'Z';
}

#define NEED(cond, what) do { \
	if (!(cond)) \
		return store_fail(s, STORE_REFUSED, "%s: %s", op, what); \
	} while (0)

/* -- opening ------------------------------------------------------------ */

struct store *
store_open(const char *url, int flags, enum store_rc *rcp, char *err,
    size_t errlen)
{
	enum store_rc dummy;
	enum store_kind kind;
	struct store *s;
	char *path;

	if (rcp == NULL)
		rcp = &dummy;
	*rcp = STORE_ERROR;
	if (store_url_parse(url, &kind, &path, err, errlen) == -1)
		return NULL;
	if (kind == STORE_KIND_POSTGRESQL) {
		snprintf(err, errlen, "PostgreSQL databases are not built yet "
		    "(only SQLite: a path or sqlite://PATH)");
		return NULL;
	}
	s = store_sqlite_open(path, flags, rcp, err, errlen);
	free(path);
	return s;
}

void
store_close(struct store *s)
{
	if (s != NULL)
		s->ops->close(s);
}

const char *
store_errmsg(const struct store *s)
{
	return s->errmsg;
}

int
store_version(struct store *s, int *current, int *latest)
{
	return s->ops->version(s, current, latest);
}

int
store_migrate(struct store *s, int target, int flags)
{
	return s->ops->migrate(s, target, flags);
}

int
store_begin(struct store *s)
{
	return s->ops->begin(s);
}

int
store_commit(struct store *s)
{
	return s->ops->commit(s);
}

int
store_rollback(struct store *s)
{
	return s->ops->rollback(s);
}

/* -- devices ------------------------------------------------------------ */

int
store_device_put(struct store *s, const struct store_device *d)
{
	const char *op = "device put";

	NEED(d->device_id > 0, "device ID must be positive");
	NEED(!empty(d->serial_no), "serial number missing");
	NEED(d->model_name != NULL && d->model_version != NULL,
	    "model name or version missing");
	NEED(d->env != NULL && (strcmp(d->env, "development") == 0 ||
	    strcmp(d->env, "staging") == 0 ||
	    strcmp(d->env, "production") == 0), "unknown environment");
	NEED(!empty(d->base_url), "base URL missing");
	return s->ops->device_put(s, d);
}

int
store_device_get(struct store *s, int64_t id, struct store_device *d)
{
	memset(d, 0, sizeof(*d));
	return s->ops->device_get(s, id, d);
}

void
store_device_free(struct store_device *d)
{
	if (d != NULL) {
		free(d->mem_);
		memset(d, 0, sizeof(*d));
	}
}

int
store_device_list(struct store *s, int64_t **ids, size_t *n)
{
	*ids = NULL;
	*n = 0;
	return s->ops->device_list(s, ids, n);
}

int
store_device_block(struct store *s, int64_t id, const char *reason)
{
	const char *op = "device block";

	NEED(reason == NULL || *reason != '\0', "empty reason");
	return s->ops->device_block(s, id, reason);
}

int
store_device_raise_global_no(struct store *s, int64_t id, int64_t global_no)
{
	const char *op = "raise global number";

	NEED(global_no >= 0, "negative global number");
	return s->ops->device_raise(s, id, global_no);
}

int
store_config_put(struct store *s, int64_t id, const char *json,
    const char *fetched_at)
{
	const char *op = "config put";

	NEED(!empty(json), "no configuration");
	return s->ops->config_put(s, id, json, fetched_at);
}

int
store_config_get(struct store *s, int64_t id, char **json,
    char fetched_at[STORE_TIME_LEN + 1])
{
	*json = NULL;
	return s->ops->config_get(s, id, json, fetched_at);
}

/* -- credentials -------------------------------------------------------- */

/* ASN1_TIME -> "YYYY-MM-DDTHH:MM:SSZ"; 0 or -1. */
static int
asn1_utc(const ASN1_TIME *t, char out[STORE_TIME_LEN + 1])
{
	struct tm tm;

	memset(&tm, 0, sizeof(tm));
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1 ||
	    strftime(out, STORE_TIME_LEN + 1, "%Y-%m-%dT%H:%M:%SZ", &tm) !=
	    STORE_TIME_LEN)
		return -1;
	return 0;
}

int
store_cert_put(struct store *s, int64_t id, const char *pem, int64_t *cert_id)
{
	const char *op = "certificate put";
	char nb[STORE_TIME_LEN + 1], na[STORE_TIME_LEN + 1], thumb[41];
	unsigned char md[EVP_MAX_MD_SIZE];
	struct store_cert c;
	unsigned int mdlen = 0, i;
	X509 *x = NULL;
	BIO *bio;
	int64_t dummy;

	if (cert_id == NULL)
		cert_id = &dummy;
	*cert_id = 0;
	NEED(id > 0, "device ID must be positive");
	NEED(!empty(pem) && strlen(pem) < MAX_PEM, "no certificate");
	if ((bio = BIO_new_mem_buf(pem, -1)) != NULL) {
		x = PEM_read_bio_X509(bio, NULL, NULL, NULL);
		BIO_free(bio);
	}
	if (x == NULL || asn1_utc(X509_get0_notBefore(x), nb) == -1 ||
	    asn1_utc(X509_get0_notAfter(x), na) == -1 ||
	    X509_digest(x, EVP_sha1(), md, &mdlen) != 1 || mdlen != 20) {
		X509_free(x);
		return store_fail(s, STORE_REFUSED, "%s: not a PEM X.509 "
		    "certificate with a readable validity", op);
	}
	X509_free(x);
	for (i = 0; i < mdlen; i++)
		snprintf(thumb + 2 * i, 3, "%02x", md[i]);
	memset(&c, 0, sizeof(c));
	c.device_id = id;
	c.pem = pem;
	c.not_before = nb;
	c.not_after = na;
	c.thumbprint = thumb;
	return s->ops->cert_put(s, &c, cert_id);
}

int
store_cert_get(struct store *s, int64_t id, int64_t which,
    struct store_cert *c)
{
	memset(c, 0, sizeof(*c));
	return s->ops->cert_get(s, id, which, c);
}

void
store_cert_free(struct store_cert *c)
{
	if (c != NULL) {
		free(c->mem_);
		memset(c, 0, sizeof(*c));
	}
}

int
store_key_put(struct store *s, int64_t id, const char *pem, size_t len,
    const unsigned char *fkey)
{
	const char *op = "key put";
	char *token;
	int rc;

	NEED(id > 0, "device ID must be positive");
	NEED(pem != NULL && len > 0 && len < MAX_PEM &&
	    memchr(pem, '\0', len) == NULL, "no key, or not text");
	if (fkey == NULL)
		return s->ops->key_put(s, id, pem, false);
	/* Python stores int(time.time()); the timestamp is not secret. */
	if ((token = fernet_encrypt(fkey, pem, len,
	    (uint64_t)time(NULL))) == NULL)
		return store_fail(s, STORE_ERROR, "%s: Fernet encryption "
		    "failed", op);
	rc = s->ops->key_put(s, id, token, true);
	free(token);
	return rc;
}

int
store_key_get(struct store *s, int64_t id, const unsigned char *fkey,
    char **pem, size_t *len, bool *encrypted)
{
	unsigned char *pt = NULL;
	enum fernet_rc frc;
	size_t blen = 0, ptlen = 0;
	char *blob = NULL;
	bool enc = false;
	int rc;

	*pem = NULL;
	*len = 0;
	if (encrypted != NULL)
		*encrypted = false;
	if ((rc = s->ops->key_get(s, id, &blob, &blen, &enc)) != STORE_OK)
		return rc;
	if (encrypted != NULL)
		*encrypted = enc;
	if (!enc) {
		*pem = blob;
		*len = blen;
		return STORE_OK;
	}
	if (fkey == NULL) {
		store_secret_free(blob, blen);
		return store_fail(s, STORE_REFUSED, "the private key of device "
		    "%lld is encrypted: FDMS_ENCRYPTION_KEY is needed",
		    (long long)id);
	}
	frc = fernet_decrypt(fkey, blob, 0, 0, &pt, &ptlen);
	store_secret_free(blob, blen);
	if (frc != FERNET_OK)
		return store_fail(s, frc == FERNET_ERROR ? STORE_ERROR :
		    STORE_REFUSED, "cannot decrypt the private key of device "
		    "%lld: %s (is FDMS_ENCRYPTION_KEY the one it was stored "
		    "with?)", (long long)id, fernet_strerror(frc));
	*pem = (char *)pt;
	*len = ptlen;
	return STORE_OK;
}

void
store_secret_free(char *p, size_t len)
{
	/* The allocations above always hold len + 1 bytes (the NUL). */
	if (p != NULL)
		OPENSSL_clear_free(p, len + 1);
}

/* -- fiscal days -------------------------------------------------------- */

static int
day_status_ok(enum store_day_status st)
{
	return st >= STORE_DAY_OPEN && st <= STORE_DAY_CLOSE_FAILED;
}

int
store_day_open(struct store *s, int64_t id, int64_t day_no, const char *opened)
{
	const char *op = "day open";

	NEED(id > 0 && day_no > 0, "device ID and day number must be positive");
	NEED(fdms_time_ok(opened), "opening time is not YYYY-MM-DDTHH:MM:SS");
	return s->ops->day_open(s, id, day_no, opened);
}

int
store_day_get(struct store *s, int64_t id, int64_t day_no,
    struct store_day *d)
{
	memset(d, 0, sizeof(*d));
	counters_init(&d->counters);
	return s->ops->day_get(s, id, day_no, d);
}

void
store_day_free(struct store_day *d)
{
	if (d != NULL) {
		counters_free(&d->counters);
		free(d->mem_);
		memset(d, 0, sizeof(*d));
	}
}

int
store_day_update(struct store *s, int64_t id, int64_t day_no,
    const struct store_day_update *u)
{
	const char *op = "day update";

	NEED(day_status_ok(u->status), "unknown day status");
	NEED(u->closed == NULL || fdms_time_ok(u->closed),
	    "closing time is not YYYY-MM-DDTHH:MM:SS");
	return s->ops->day_update(s, id, day_no, u);
}

int
store_day_request_close(struct store *s, int64_t id, int64_t day_no,
    const char *request, const char *hash, const char *signature)
{
	const char *op = "day close request";

	NEED(id > 0 && day_no > 0, "device ID and day number must be positive");
	NEED(!empty(request) && !empty(hash) && !empty(signature),
	    "request, hash and signature are required");
	return s->ops->day_request_close(s, id, day_no, request, hash,
	    signature);
}

/* -- receipts ----------------------------------------------------------- */

int
store_receipt_insert(struct store *s, const struct store_receipt *r,
    const struct counters *c)
{
	const char *op = "receipt insert";
	size_t i;

	NEED(r->device_id > 0 && r->global_no > 0 && r->day_no > 0 &&
	    r->counter > 0, "device, global number, day and counter must be "
	    "positive");
	NEED(!empty(r->invoice_no), "no invoice number");
	NEED(r->type >= RECEIPT_FISCAL_INVOICE && r->type <= RECEIPT_DEBIT_NOTE,
	    "unknown receipt type");
	NEED(currency_ok(r->currency), "currency is not three capitals");
	NEED(fdms_time_ok(r->date), "receipt date is not YYYY-MM-DDTHH:MM:SS");
	NEED(!empty(r->wire_json) && strlen(r->wire_json) == r->wire_len,
	    "wire JSON missing, or wire_len is not its length");
	NEED(!empty(r->hash) && !empty(r->signature), "no hash or signature");
	NEED((r->counter == 1) == (r->prev_hash == NULL),
	    "previous hash must be absent exactly for the day's first receipt");
	NEED(r->prev_hash == NULL || *r->prev_hash != '\0',
	    "empty previous hash");
	NEED(r->cert_id >= 0, "negative certificate ID");
	NEED(r->source_name != NULL, "no source file name");
	NEED(hex_ok(r->source_sha256, 64),
	    "source SHA-256 is not 64 lower-case hex digits");
	for (i = 0; c != NULL && i < c->n; i++) {
		const struct counter *k = &c->v[i];

		NEED(k->type >= COUNTER_SALE_BY_TAX &&
		    k->type < COUNTER_TYPE_COUNT, "unknown counter type");
		NEED(currency_ok(k->currency), "counter currency is not three "
		    "capitals");
		NEED(k->type != COUNTER_BALANCE_BY_MONEY_TYPE ||
		    (k->money_type >= MONEY_CASH &&
		    k->money_type < MONEY_TYPE_COUNT), "unknown money type");
	}
	return s->ops->receipt_insert(s, r, c);
}

static int
receipt_get(struct store *s, int64_t id, int by, int64_t num,
    const char *text, struct store_receipt *r)
{
	memset(r, 0, sizeof(*r));
	return s->ops->receipt_get(s, id, by, num, text, r);
}

int
store_receipt_by_global(struct store *s, int64_t id, int64_t global_no,
    struct store_receipt *r)
{
	return receipt_get(s, id, 'g', global_no, NULL, r);
}

int
store_receipt_by_invoice(struct store *s, int64_t id, const char *invoice_no,
    struct store_receipt *r)
{
	const char *op = "receipt by invoice";

	memset(r, 0, sizeof(*r));
	NEED(!empty(invoice_no), "no invoice number");
	return receipt_get(s, id, 'i', 0, invoice_no, r);
}

int
store_receipt_by_source(struct store *s, int64_t id, const char *sha256,
    struct store_receipt *r)
{
	const char *op = "receipt by source";

	memset(r, 0, sizeof(*r));
	NEED(hex_ok(sha256, 64), "not 64 lower-case hex digits");
	return receipt_get(s, id, 's', 0, sha256, r);
}

int
store_receipt_next_pending(struct store *s, int64_t id,
    struct store_receipt *r)
{
	return receipt_get(s, id, 'p', 0, NULL, r);
}

void
store_receipt_free(struct store_receipt *r)
{
	if (r != NULL) {
		free(r->mem_);
		memset(r, 0, sizeof(*r));
	}
}

int
store_receipt_attempt(struct store *s, int64_t id, int64_t global_no)
{
	return s->ops->receipt_attempt(s, id, global_no);
}

int
store_receipt_answer(struct store *s, int64_t id, int64_t global_no,
    const struct store_answer *a)
{
	const char *op = "receipt answer";

	NEED(a->server_signature == NULL || *a->server_signature != '\0',
	    "empty server signature");
	NEED(!a->flagged || !empty(a->validation_errors),
	    "flagged without validation errors");
	NEED(a->server_date == NULL || fdms_time_ok(a->server_date),
	    "server date is not YYYY-MM-DDTHH:MM:SS");
	return s->ops->receipt_answer(s, id, global_no, a);
}

int
store_receipt_failed(struct store *s, int64_t id, int64_t global_no,
    const char *error)
{
	const char *op = "receipt failed";

	NEED(!empty(error), "no error text");
	return s->ops->receipt_failed(s, id, global_no, error);
}

int
store_receipts_each(struct store *s, int64_t id, int64_t day_no,
    store_receipt_cb cb, void *arg)
{
	const char *op = "receipts";

	NEED(day_no >= 0, "negative day number");
	return s->ops->receipts_each(s, id, day_no, cb, arg);
}

int
store_receipts_filed(struct store *s, int64_t id, int64_t day_no,
    const char *operation_id, int64_t *n)
{
	const char *op = "receipts filed";

	if (n != NULL)
		*n = 0;
	NEED(id > 0 && day_no > 0, "device ID and day number must be positive");
	NEED(!empty(operation_id), "no operation ID");
	return s->ops->receipts_filed(s, id, day_no, operation_id, n);
}

/* -- status and maintenance -------------------------------------------- */

int
store_stats(struct store *s, int64_t id, const char *date,
    struct store_stats *st)
{
	const char *op = "stats";
	struct tm tm;
	char t[TIMEUTIL_LOCAL_LEN + 1];

	memset(st, 0, sizeof(*st));
	if (date != NULL) {
		NEED(strlen(date) == 10, "date is not YYYY-MM-DD");
		snprintf(t, sizeof(t), "%sT00:00:00", date);
		NEED(timeutil_parse_local(t, &tm) == 0,
		    "date is not YYYY-MM-DD");
	}
	return s->ops->stats(s, id, date, st);
}

int
store_integrity_check(struct store *s)
{
	return s->ops->integrity(s);
}

int
store_backup(struct store *s, const char *path)
{
	const char *op = "backup";

	NEED(!empty(path), "no destination");
	return s->ops->backup(s, path);
}

int
store_restore_from(struct store *s, const char *path)
{
	const char *op = "restore";

	NEED(!empty(path), "no backup to restore from");
	return s->ops->restore_from(s, path);
}

const char *
store_day_status_name(enum store_day_status st)
{
	static const char *const names[] = {
		"open", "close_requested", "closed", "close_failed"
	};

	return day_status_ok(st) ? names[st] : "invalid";
}

const char *
store_receipt_state_name(enum store_receipt_state st)
{
	static const char *const names[] = {
		"signed", "submitting", "submitted", "flagged"
	};

	return st >= STORE_R_SIGNED && st <= STORE_R_FLAGGED ? names[st] :
	    "invalid";
}

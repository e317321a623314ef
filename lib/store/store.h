/*
 * store.h - the durable journal: devices, credentials, fiscal days,
 * counters and receipts (fdms-reference §9, anchors B.3/B.4).
 *
 * Nothing above lib/store speaks SQL.  A store is opened from the
 * configured database: a plain path or sqlite://PATH selects SQLite
 * (sqlite:///var/lib/x.db is absolute, sqlite://x.db relative);
 * postgresql:// is refused until that backend exists.  Behind the handle
 * is a table of operations (store_impl.h), one per backend.
 *
 * Return values: every int function returns an enum store_rc; on anything
 * but STORE_OK, store_errmsg() says what failed, naming the operation (and
 * for SQLite the SQL step and sqlite3_errmsg).  Strings handed in are
 * copied; strings handed out belong to the struct they are in and are
 * released with its _free function (the structs may be reused after
 * that).  Inside a store_receipts_each callback they belong to the
 * iteration and are valid only during the call.
 *
 * Transactions: every write operation is atomic and durable on return
 * (WAL, synchronous=FULL).  store_begin/commit/rollback group several
 * operations into one transaction (e.g. a certificate and its new key);
 * the operations inside then become durable at store_commit, and a
 * failed operation leaves the group open for the caller to roll back.
 * One writer at a time: write transactions take the write lock at once
 * (BEGIN IMMEDIATE) and wait up to STORE_BUSY_MS for it.
 *
 * Times: FDMS datetimes (receiptDate, fiscalDayOpened, serverDate, ...)
 * are stored exactly as FDMS spells them (local, "YYYY-MM-DDTHH:MM:SS");
 * our own bookkeeping times (*_at fields) are UTC "YYYY-MM-DDTHH:MM:SSZ".
 * Money is int64 cents.
 *
 * Schema versions: see store_open() flags and store_migrate(); the policy
 * (auto-migrate in development only) is store_open_config()'s.
 */
#ifndef STORE_STORE_H
#define STORE_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "fiscal/counters.h"
#include "fiscal/receipt.h"

struct config;
struct config_problems;
struct store;

#define STORE_BUSY_MS		5000
#define STORE_ERRMSG_MAX	512
#define STORE_TIME_LEN		20	/* "YYYY-MM-DDTHH:MM:SSZ" */

enum store_rc {
	STORE_OK = 0,
	STORE_NOTFOUND,		/* no such device, day, receipt, ... */
	STORE_DUPLICATE,	/* a unique key already holds that value */
	STORE_REFUSED,		/* not allowed now: wrong state, chain head
				   moved, signing blocked, closed day, bad
				   value (the message says which) */
	STORE_SCHEMA,		/* schema version older (migrate) or newer
				   than this program; downgrade would lose data */
	STORE_ERROR		/* I/O, corruption, lock timeout, no memory:
				   an environment problem (fatal for spoold) */
};

/* -- Opening, schema, transactions ------------------------------------ */

#define STORE_OPEN_CREATE	0x01	/* create a missing database (0600) at
					   the latest schema version */
#define STORE_OPEN_MIGRATE	0x02	/* migrate an older schema up */
#define STORE_OPEN_ANY_VERSION	0x04	/* no version check (spoolctl migrate) */
#define STORE_OPEN_READONLY	0x08	/* never writes (checks, audit) */

/*
 * Open url.  Without STORE_OPEN_ANY_VERSION the schema must be the latest
 * this program knows: an older one is migrated with STORE_OPEN_MIGRATE and
 * otherwise refused ("run spoolctl migrate"); a newer one is always
 * refused.  NULL on failure, with the reason in err; *rc (may be NULL)
 * says which kind (STORE_SCHEMA for version problems).
 */
struct store	*store_open(const char *url, int flags, enum store_rc *rc,
		    char *err, size_t errlen);
/* Rolls back an open store_begin group; committed data is already durable. */
void		 store_close(struct store *);
const char	*store_errmsg(const struct store *);
/* The version recorded in the database, and the newest this code knows. */
int		 store_version(struct store *, int *current, int *latest);

#define STORE_MIGRATE_FORCE	0x01	/* allow a downgrade that drops rows */
/*
 * Migrate up or down to target (< 0: the latest), one version per
 * transaction, each step recorded in schema_migrations.  A downgrade that
 * would drop tables holding rows is refused (STORE_SCHEMA, naming them)
 * unless STORE_MIGRATE_FORCE.  A database newer than this code is never
 * touched.
 */
int		 store_migrate(struct store *, int target, int flags);

int		 store_begin(struct store *);
int		 store_commit(struct store *);	/* a failed COMMIT rolls back */
int		 store_rollback(struct store *);

/* -- Devices, configuration, credentials ------------------------------ */

struct store_device {
	int64_t		 device_id;
	const char	*serial_no;
	const char	*model_name;
	const char	*model_version;
	const char	*env;		/* registered against: "staging", ... */
	const char	*base_url;
	int64_t		 last_global_no;	/* high-water mark, 0: none */
	bool		 signing_blocked;
	const char	*block_reason;	/* NULL unless blocked */
	const char	*blocked_at;
	bool		 has_key;
	bool		 key_encrypted;
	int64_t		 cert_id;	/* current certificate, 0: none */
	const char	*cert_not_after;
	const char	*config_fetched_at;	/* NULL: never */
	const char	*created_at, *updated_at;
	void		*mem_;
};

/*
 * Insert a device, or update its serial, model and base URL.  The
 * environment is fixed at the first put: a put with another env is
 * STORE_REFUSED (a device registered in staging is not a production one).
 * Read-only fields (last_global_no, block, key, cert) are ignored.
 */
int		 store_device_put(struct store *, const struct store_device *);
int		 store_device_get(struct store *, int64_t device_id,
		    struct store_device *);
void		 store_device_free(struct store_device *);
/* All device IDs in ascending order; *ids malloc'd (NULL when none). */
int		 store_device_list(struct store *, int64_t **ids, size_t *n);
/* Block signing with a reason (resync: journal behind FDMS); NULL clears. */
int		 store_device_block(struct store *, int64_t device_id,
		    const char *reason);
/* Raise the global-number high-water mark (max(local, FDMS)); never lowers. */
int		 store_device_raise_global_no(struct store *, int64_t device_id,
		    int64_t global_no);

/* The latest GetConfig answer as received, and when (UTC, NULL: now). */
int		 store_config_put(struct store *, int64_t device_id,
		    const char *json, const char *fetched_at);
/* *json malloc'd; fetched_at may be NULL. */
int		 store_config_get(struct store *, int64_t device_id,
		    char **json, char fetched_at[STORE_TIME_LEN + 1]);

struct store_cert {
	int64_t		 cert_id;
	int64_t		 device_id;
	const char	*pem;
	const char	*not_before, *not_after;	/* UTC */
	const char	*thumbprint;	/* SHA-1 of the DER, lower-case hex */
	const char	*installed_at;
	void		*mem_;
};

/*
 * A new certificate (PEM from RegisterDevice or IssueCertificate) becomes
 * the device's current one; the one it replaces stays as the previous one
 * (and every older one stays too, for the audit of old receipts).  The
 * PEM is parsed to record validity and thumbprint; *cert_id (may be NULL)
 * gets its number for store_receipt.cert_id.
 */
int		 store_cert_put(struct store *, int64_t device_id,
		    const char *pem, int64_t *cert_id);
#define STORE_CERT_CURRENT	0
#define STORE_CERT_PREVIOUS	(-1)
/* which: STORE_CERT_CURRENT, STORE_CERT_PREVIOUS, or a cert_id. */
int		 store_cert_get(struct store *, int64_t device_id,
		    int64_t which, struct store_cert *);
void		 store_cert_free(struct store_cert *);

/*
 * The device's private key (PEM).  With a Fernet key (32 raw bytes,
 * FDMS_ENCRYPTION_KEY parsed by fernet_key_parse) it is stored as a Fernet
 * token; with NULL it is stored in the clear and flagged so: whether that
 * is allowed is the caller's decision (production never passes NULL).
 */
int		 store_key_put(struct store *, int64_t device_id,
		    const char *pem, size_t len, const unsigned char *fkey);
/*
 * The key in the clear, in *pem (malloc'd, NUL-terminated, release with
 * store_secret_free).  An encrypted key needs fkey (STORE_REFUSED without
 * it, or with the wrong one).  *encrypted (may be NULL) tells whether it
 * was stored encrypted, so a caller can re-encrypt a clear one.
 */
int		 store_key_get(struct store *, int64_t device_id,
		    const unsigned char *fkey, char **pem, size_t *len,
		    bool *encrypted);
void		 store_secret_free(char *, size_t len);

/* -- Fiscal days -------------------------------------------------------- */

enum store_day_status {
	STORE_DAY_OPEN = 0,
	STORE_DAY_CLOSE_REQUESTED,	/* CloseDay journaled, answer pending */
	STORE_DAY_CLOSED,		/* final */
	STORE_DAY_CLOSE_FAILED		/* receipts and new closes allowed */
};

struct store_day {
	int64_t			 device_id;
	int64_t			 day_no;
	const char		*opened;	/* fiscalDayOpened (FDMS time) */
	enum store_day_status	 status;
	int64_t			 receipt_counter;	/* of the last receipt */
	const char		*last_hash;	/* NULL: no receipt yet */
	const char		*last_receipt_date;
	const char		*open_operation_id;	/* NULL: FDMS not told */
	const char		*close_request;		/* JSON as sent */
	const char		*close_hash, *close_signature;
	const char		*close_operation_id;
	const char		*fdms_answer;		/* JSON (GetStatus) */
	const char		*closed;		/* fiscalDayClosed */
	const char		*error_code;	/* fiscalDayClosingErrorCode */
	const char		*opened_at, *updated_at;
	struct counters		 counters;	/* running totals, in the order
						   first seen: counters_finish()
						   sorts them and drops zeros */
	void			*mem_;
};

/*
 * Open day day_no at opened (FDMS datetime).  Refused while another day
 * of the device is not closed, or when day_no is not above every earlier
 * day's number.
 */
int		 store_day_open(struct store *, int64_t device_id,
		    int64_t day_no, const char *opened);
/* day_no 0: the device's latest day, whatever its status. */
int		 store_day_get(struct store *, int64_t device_id,
		    int64_t day_no, struct store_day *);
void		 store_day_free(struct store_day *);

/* NULL fields are left as they are. */
struct store_day_update {
	enum store_day_status	 status;
	const char		*open_operation_id;
	const char		*close_request;
	const char		*close_hash, *close_signature;
	const char		*close_operation_id;
	const char		*fdms_answer;
	const char		*closed;
	const char		*error_code;
};
/* Set the status and the given fields.  A closed day is final (REFUSED). */
int		 store_day_update(struct store *, int64_t device_id,
		    int64_t day_no, const struct store_day_update *);
/*
 * A new close request for the day (spoolctl close-day, fdms-reference
 * §2.8): status close_requested with the request as sent (CloseDay body,
 * or for an Offline device the SubmitFile footer), its hash and
 * signature.  The previous attempt's close_operation_id, fdms_answer,
 * closed and error_code are cleared: they belong to that attempt.
 * STORE_REFUSED unless the day is open or close_failed: a close in
 * progress is never replaced, a closed day is final.
 */
int		 store_day_request_close(struct store *, int64_t device_id,
		    int64_t day_no, const char *request, const char *hash,
		    const char *signature);

/* -- Receipts ----------------------------------------------------------- */

enum store_receipt_state {
	STORE_R_SIGNED = 0,	/* journaled, never sent */
	STORE_R_SUBMITTING,	/* an attempt is recorded: outcome in doubt
				   until an answer is; resend identical bytes */
	STORE_R_SUBMITTED,	/* FDMS answered without validation errors */
	STORE_R_FLAGGED		/* FDMS answered with validation errors */
};

struct store_receipt {
	/* Set by the caller for store_receipt_insert. */
	int64_t			 device_id;
	int64_t			 global_no;
	int64_t			 day_no;
	int64_t			 counter;
	const char		*invoice_no;
	enum receipt_type	 type;
	const char		*currency;
	const char		*date;		/* receiptDate */
	int64_t			 total;		/* cents */
	const char		*wire_json;	/* exactly as signed and sent */
	size_t			 wire_len;
	const char		*hash;		/* base64 */
	const char		*signature;	/* base64 */
	const char		*prev_hash;	/* NULL: first of the day */
	int64_t			 cert_id;	/* signing certificate, 0: unknown */
	const char		*source_name;	/* the spool file's name */
	const char		*source_sha256;	/* of its bytes, 64 hex */

	/* Kept by the store. */
	enum store_receipt_state state;
	int64_t			 attempts;
	const char		*last_attempt_at;
	const char		*last_error;
	bool			 has_fdms_receipt_id;
	int64_t			 fdms_receipt_id;
	const char		*server_date;
	const char		*server_signature;	/* JSON */
	const char		*validation_errors;	/* JSON array */
	const char		*operation_id;
	const char		*answered_at;
	const char		*created_at;
	void			*mem_;
};

/*
 * The fiscalisation transaction: the receipt row, the chain head (the
 * day's counter, last hash and date, the device's global number) and the
 * day's counters (c: this receipt's own counters, from
 * counters_add_receipt) in ONE transaction.  The store re-checks the
 * chain so it can never fork: device not blocked; the day open (or
 * close_failed); counter = day's + 1; prev_hash = day's last hash (NULL
 * for the first); global_no = device's + 1; date later than the day's
 * last.  Violations are STORE_REFUSED, key clashes STORE_DUPLICATE (the
 * message says which key), an unknown device STORE_NOTFOUND; in every
 * case nothing was written.  Zero counters are not stored.
 */
int		 store_receipt_insert(struct store *,
		    const struct store_receipt *, const struct counters *c);
int		 store_receipt_by_global(struct store *, int64_t device_id,
		    int64_t global_no, struct store_receipt *);
int		 store_receipt_by_invoice(struct store *, int64_t device_id,
		    const char *invoice_no, struct store_receipt *);
int		 store_receipt_by_source(struct store *, int64_t device_id,
		    const char *source_sha256, struct store_receipt *);
/* The lowest global number not yet answered (signed or submitting). */
int		 store_receipt_next_pending(struct store *, int64_t device_id,
		    struct store_receipt *);
void		 store_receipt_free(struct store_receipt *);

/*
 * Record an attempt BEFORE sending (state submitting, attempts + 1).
 * Only the lowest pending receipt may be attempted: FDMS wants them one
 * at a time in ascending order.
 */
int		 store_receipt_attempt(struct store *, int64_t device_id,
		    int64_t global_no);

struct store_answer {
	int64_t		 receipt_id;
	const char	*server_date;
	const char	*server_signature;	/* JSON object */
	const char	*validation_errors;	/* JSON array, NULL: none */
	const char	*operation_id;
	bool		 flagged;		/* validation errors reported */
};
/* FDMS's answer to the recorded attempt (state must be submitting). */
int		 store_receipt_answer(struct store *, int64_t device_id,
		    int64_t global_no, const struct store_answer *);
/* The attempt failed without an answer: kept in doubt, reason recorded. */
int		 store_receipt_failed(struct store *, int64_t device_id,
		    int64_t global_no, const char *error);

/*
 * Stream the device's receipts of day_no (0: every day) in journal order
 * (day, then counter: the order they were signed).  One row in memory at
 * a time.  cb returns 0 to go on; any other value stops the walk and is
 * returned by store_receipts_each (so keep it distinct from the store_rc
 * values if that matters).  cb may read from the store, not write.
 */
typedef int	(*store_receipt_cb)(const struct store_receipt *, void *arg);
int		 store_receipts_each(struct store *, int64_t device_id,
		    int64_t day_no, store_receipt_cb cb, void *arg);
/*
 * Offline mode: FDMS took the day's receipts in SubmitFile documents and
 * processed them; it gives no receiptID per receipt.  Every receipt of
 * day_no still signed or submitting becomes submitted with
 * fdms_receipt_id 0 (the mark of a receipt delivered by file), the file's
 * operation_id and answered_at now, so it no longer counts as pending.
 * *n (may be NULL) gets how many changed.
 */
int		 store_receipts_filed(struct store *, int64_t device_id,
		    int64_t day_no, const char *operation_id, int64_t *n);

/* -- Status and maintenance -------------------------------------------- */

struct store_stats {
	int64_t		 last_global_no;	/* high-water mark */
	int64_t		 receipts;		/* all in the journal */
	int64_t		 date_receipts;		/* receiptDate on the date asked */
	int64_t		 pending;		/* signed + submitting */
	int64_t		 in_doubt;		/* submitting */
	int64_t		 flagged;
};
/* date "YYYY-MM-DD" (local) for date_receipts, or NULL. */
int		 store_stats(struct store *, int64_t device_id, const char *date,
		    struct store_stats *);
/* PRAGMA integrity_check and foreign_key_check; the first problem in the message. */
int		 store_integrity_check(struct store *);
/*
 * A consistent online copy into path (which must not exist), made while
 * others keep writing; the copy is a single self-contained file (no
 * -wal), created 0600, synced, and integrity-checked before returning.
 */
int		 store_backup(struct store *, const char *path);
/*
 * Replace everything in the journal behind the store with the SQLite
 * database at path (a backup; opened read-only, never changed), through
 * the online backup API INTO this connection: the journal's file is never
 * replaced, so no -wal or -shm of another file can end up beside it.  The
 * copy is one write transaction of the journal (all of it or nothing),
 * durable on return; then the WAL is checkpointed into the file and the
 * result integrity-checked.  The caller has checked that path is the
 * journal it wants (open READONLY, store_integrity_check, store_version)
 * and keeps every other writer out (spoolctl restore holds spoold's
 * locks).  Not inside store_begin, not on a read-only store.
 */
int		 store_restore_from(struct store *, const char *path);

/* -- The configuration's view (store_config.c) ------------------------- */

/*
 * Open cfg's database with the product's policy: created if missing;
 * an older schema migrated automatically in development only, refused
 * elsewhere with "run spoolctl migrate"; a newer one refused always.
 */
struct store	*store_open_config(const struct config *cfg, enum store_rc *rc,
		    char *err, size_t errlen);
/*
 * The config_check hook (config_set_store_check): in production the
 * database must not be readable or writable by group or others; every
 * configured device already in the journal must be registered in this
 * environment and with this serial number.  Never creates or migrates.
 */
int		 store_config_check(const struct config *,
		    struct config_problems *);

const char	*store_day_status_name(enum store_day_status);
const char	*store_receipt_state_name(enum store_receipt_state);

#endif

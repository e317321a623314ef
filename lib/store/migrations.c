/*
 * migrations.c - the journal's SQLite schema, as numbered migrations with
 * an up and a down step each (see migrations.h).
 *
 * The schema, for the whole product (daemon, spoolctl, audit, backup):
 *
 *   version 1, registration: devices (identity, the environment and URL
 *   registered against, the chain's global-number high-water mark, the
 *   signing block set by resync, the latest GetConfig answer),
 *   certificates (every certificate the device ever had: the newest is
 *   current, the one before it previous; old receipts are audited against
 *   the one that signed them), device_keys (the private key, a Fernet
 *   token unless stored in the clear with encrypted = 0).
 *
 *   version 2, the fiscal journal: fiscal_days (per device and day: the
 *   opening time FDMS never returns, the status, the chain head of the
 *   day, the close request, signature and FDMS's answer), day_counters
 *   (running counters in int64 cents, keyed like struct counter) and
 *   receipts (the wire JSON exactly as signed, hash, signature, the chain
 *   link, submission state and FDMS's answer, the source file).
 *
 * Invariants the schema itself enforces (the store checks them too, with
 * better messages; these are the backstop against any other writer):
 *  1. Double inserts are impossible: receipts are unique by (device,
 *     global_no), (device, day, counter), (device, invoice_no) and
 *     (device, source_sha256); a device has at most one day not closed.
 *  2. Journal rows are never deleted and a signed receipt is never
 *     changed (triggers); a closed day is final.
 *  3. Tables are STRICT: an int64 overflow in a counter becomes an error,
 *     never a silently stored REAL.
 *  4. The version record is exactly 1..N; each step runs in one
 *     transaction together with its record, so a crash leaves version N
 *     or N+1, never something between.
 *
 * Changing the schema: append a migration; never edit a published one
 * (databases in the field have run it).  A down step drops what its up
 * step added and nothing else, so data of lower versions survives.
 *
 * SECURITY: the database is trusted to the extent that it is ours
 * (application_id and a well-formed version record); a file that is not a
 * spoold journal is refused rather than "upgraded".
 */
#include "store/migrations.h"

#include <stdio.h>
#include <string.h>

#include "store/store_impl.h"

static const char up1[] =
"CREATE TABLE devices (\n"
"	device_id	INTEGER PRIMARY KEY CHECK (device_id > 0),\n"
"	serial_no	TEXT NOT NULL CHECK (length(serial_no) > 0),\n"
"	model_name	TEXT NOT NULL,\n"
"	model_version	TEXT NOT NULL,\n"
"	-- the FDMS environment and URL the device was registered against\n"
"	env		TEXT NOT NULL CHECK (env IN\n"
"			    ('development', 'staging', 'production')),\n"
"	base_url	TEXT NOT NULL,\n"
"	-- highest receiptGlobalNo issued (or adopted from FDMS by resync)\n"
"	last_global_no	INTEGER NOT NULL DEFAULT 0 CHECK (last_global_no >= 0),\n"
"	-- set by resync when the journal is behind FDMS: no signing\n"
"	signing_blocked	INTEGER NOT NULL DEFAULT 0\n"
"			    CHECK (signing_blocked IN (0, 1)),\n"
"	block_reason	TEXT,\n"
"	blocked_at	TEXT,\n"
"	-- the latest GetConfig answer, as received\n"
"	config_json	TEXT,\n"
"	config_fetched_at TEXT,\n"
"	created_at	TEXT NOT NULL,\n"
"	updated_at	TEXT NOT NULL,\n"
"	CHECK (signing_blocked = 0 OR block_reason IS NOT NULL)\n"
") STRICT;\n"
"CREATE TABLE certificates (\n"
"	cert_id		INTEGER PRIMARY KEY,\n"
"	device_id	INTEGER NOT NULL REFERENCES devices (device_id),\n"
"	pem		TEXT NOT NULL,\n"
"	not_before	TEXT NOT NULL,\n"
"	not_after	TEXT NOT NULL,\n"
"	thumbprint	TEXT NOT NULL CHECK (length(thumbprint) = 40),\n"
"	installed_at	TEXT NOT NULL,\n"
"	UNIQUE (device_id, thumbprint)\n"
") STRICT;\n"
"CREATE TABLE device_keys (\n"
"	device_id	INTEGER PRIMARY KEY REFERENCES devices (device_id),\n"
"	-- a Fernet token under FDMS_ENCRYPTION_KEY, or the PEM itself\n"
"	key_blob	TEXT NOT NULL,\n"
"	encrypted	INTEGER NOT NULL CHECK (encrypted IN (0, 1)),\n"
"	updated_at	TEXT NOT NULL\n"
") STRICT;\n";

static const char down1[] =
"DROP TABLE device_keys;\n"
"DROP TABLE certificates;\n"
"DROP TABLE devices;\n";

static const char up2[] =
"CREATE TABLE fiscal_days (\n"
"	device_id	INTEGER NOT NULL REFERENCES devices (device_id),\n"
"	day_no		INTEGER NOT NULL CHECK (day_no > 0),\n"
"	-- fiscalDayOpened: needed for the close signature, FDMS never\n"
"	-- returns it\n"
"	opened		TEXT NOT NULL,\n"
"	status		TEXT NOT NULL CHECK (status IN\n"
"			    ('open', 'close_requested', 'closed',\n"
"			    'close_failed')),\n"
"	-- the day's chain head: last receipt's counter, hash and date\n"
"	receipt_counter	INTEGER NOT NULL DEFAULT 0\n"
"			    CHECK (receipt_counter >= 0),\n"
"	last_hash	TEXT,\n"
"	last_receipt_date TEXT,\n"
"	open_operation_id TEXT,\n"
"	close_request	TEXT,\n"
"	close_hash	TEXT,\n"
"	close_signature	TEXT,\n"
"	close_operation_id TEXT,\n"
"	fdms_answer	TEXT,\n"
"	closed		TEXT,\n"
"	error_code	TEXT,\n"
"	opened_at	TEXT NOT NULL,\n"
"	updated_at	TEXT NOT NULL,\n"
"	PRIMARY KEY (device_id, day_no),\n"
"	CHECK ((receipt_counter = 0) = (last_hash IS NULL))\n"
") STRICT;\n"
"CREATE UNIQUE INDEX fiscal_days_one_unclosed ON fiscal_days (device_id)\n"
"    WHERE status <> 'closed';\n"
"CREATE TRIGGER fiscal_days_no_delete BEFORE DELETE ON fiscal_days\n"
"BEGIN SELECT RAISE(ABORT, 'fiscal days are never deleted'); END;\n"
"CREATE TRIGGER fiscal_days_closed_final BEFORE UPDATE ON fiscal_days\n"
"    WHEN OLD.status = 'closed'\n"
"BEGIN SELECT RAISE(ABORT, 'a closed fiscal day is final'); END;\n"
"CREATE TABLE day_counters (\n"
"	device_id	INTEGER NOT NULL,\n"
"	day_no		INTEGER NOT NULL,\n"
"	-- struct counter: type name, currency, tax (byTax types) or\n"
"	-- money type (BalanceByMoneyType), value in cents\n"
"	counter_type	TEXT NOT NULL,\n"
"	currency	TEXT NOT NULL CHECK (length(currency) = 3),\n"
"	tax_id		INTEGER NOT NULL DEFAULT 0,\n"
"	has_percent	INTEGER NOT NULL DEFAULT 0 CHECK (has_percent IN (0, 1)),\n"
"	percent		INTEGER NOT NULL DEFAULT 0\n"
"			    CHECK (has_percent = 1 OR percent = 0),\n"
"	money_type	TEXT NOT NULL DEFAULT '',\n"
"	value		INTEGER NOT NULL,\n"
"	UNIQUE (device_id, day_no, counter_type, currency, tax_id,\n"
"	    has_percent, percent, money_type),\n"
"	FOREIGN KEY (device_id, day_no)\n"
"	    REFERENCES fiscal_days (device_id, day_no)\n"
") STRICT;\n"
"CREATE TABLE receipts (\n"
"	device_id	INTEGER NOT NULL,\n"
"	global_no	INTEGER NOT NULL CHECK (global_no > 0),\n"
"	day_no		INTEGER NOT NULL,\n"
"	counter		INTEGER NOT NULL CHECK (counter > 0),\n"
"	invoice_no	TEXT NOT NULL CHECK (length(invoice_no) > 0),\n"
"	receipt_type	TEXT NOT NULL CHECK (receipt_type IN\n"
"			    ('FiscalInvoice', 'CreditNote', 'DebitNote')),\n"
"	currency	TEXT NOT NULL CHECK (length(currency) = 3),\n"
"	receipt_date	TEXT NOT NULL,\n"
"	total		INTEGER NOT NULL,\n"
"	-- the receipt exactly as signed and sent: resubmissions and the\n"
"	-- audit use these bytes, never a re-serialisation\n"
"	wire_json	TEXT NOT NULL,\n"
"	hash		TEXT NOT NULL,\n"
"	signature	TEXT NOT NULL,\n"
"	prev_hash	TEXT,\n"
"	cert_id		INTEGER REFERENCES certificates (cert_id),\n"
"	state		TEXT NOT NULL DEFAULT 'signed' CHECK (state IN\n"
"			    ('signed', 'submitting', 'submitted', 'flagged')),\n"
"	attempts	INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0),\n"
"	last_attempt_at	TEXT,\n"
"	last_error	TEXT,\n"
"	-- FDMS's answer\n"
"	fdms_receipt_id	INTEGER,\n"
"	server_date	TEXT,\n"
"	server_signature TEXT,\n"
"	validation_errors TEXT,\n"
"	operation_id	TEXT,\n"
"	answered_at	TEXT,\n"
"	source_name	TEXT NOT NULL,\n"
"	source_sha256	TEXT NOT NULL CHECK (length(source_sha256) = 64),\n"
"	created_at	TEXT NOT NULL,\n"
"	PRIMARY KEY (device_id, global_no),\n"
"	UNIQUE (device_id, day_no, counter),\n"
"	UNIQUE (device_id, invoice_no),\n"
"	UNIQUE (device_id, source_sha256),\n"
"	FOREIGN KEY (device_id, day_no)\n"
"	    REFERENCES fiscal_days (device_id, day_no),\n"
"	CHECK ((counter = 1) = (prev_hash IS NULL)),\n"
"	CHECK (state = 'signed' OR attempts > 0),\n"
"	CHECK ((state IN ('submitted', 'flagged')) =\n"
"	    (fdms_receipt_id IS NOT NULL))\n"
") STRICT;\n"
"-- the submission queue: unanswered receipts in global order\n"
"CREATE INDEX receipts_pending ON receipts (device_id, global_no)\n"
"    WHERE state IN ('signed', 'submitting');\n"
"CREATE INDEX receipts_date ON receipts (device_id, receipt_date);\n"
"CREATE TRIGGER receipts_no_delete BEFORE DELETE ON receipts\n"
"BEGIN SELECT RAISE(ABORT, 'receipts are never deleted'); END;\n"
"CREATE TRIGGER receipts_signed_fixed BEFORE UPDATE OF device_id,\n"
"    global_no, day_no, counter, invoice_no, receipt_type, currency,\n"
"    receipt_date, total, wire_json, hash, signature, prev_hash, cert_id,\n"
"    source_name, source_sha256, created_at ON receipts\n"
"BEGIN SELECT RAISE(ABORT, 'a signed receipt is never changed'); END;\n";

static const char down2[] =
"DROP TABLE receipts;\n"
"DROP TABLE day_counters;\n"
"DROP TABLE fiscal_days;\n";

const struct migration migrations[] = {
	{ 1, "registration", up1, down1,
	    { "devices", "certificates", "device_keys", NULL } },
	{ 2, "fiscal journal", up2, down2,
	    { "fiscal_days", "day_counters", "receipts", NULL } },
};
const size_t migrations_count = sizeof(migrations) / sizeof(migrations[0]);

static const char schema_migrations_sql[] =
"CREATE TABLE IF NOT EXISTS schema_migrations (\n"
"	version		INTEGER PRIMARY KEY,\n"
"	name		TEXT NOT NULL,\n"
"	applied_at	TEXT NOT NULL\n"
") STRICT;\n";

static int
exec_sql(sqlite3 *db, const char *sql, const char *what, char *err,
    size_t errlen)
{
	char *msg = NULL;

	if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", what,
		    msg != NULL ? msg : sqlite3_errmsg(db));
		sqlite3_free(msg);
		return -1;
	}
	return 0;
}

/* One integer from a query with up to one text parameter; 0 or -1. */
static int
query_int(sqlite3 *db, const char *sql, const char *param, long long *out,
    char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	int rc;

	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		goto fail;
	if (param != NULL &&
	    sqlite3_bind_text(st, 1, param, -1, SQLITE_STATIC) != SQLITE_OK)
		goto fail;
	if ((rc = sqlite3_step(st)) != SQLITE_ROW)
		goto fail;
	*out = sqlite3_column_int64(st, 0);
	if (sqlite3_finalize(st) != SQLITE_OK) {
		st = NULL;
		goto fail;
	}
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
	sqlite3_finalize(st);
	return -1;
}

int
migrations_current(sqlite3 *db, int *v, char *err, size_t errlen)
{
	long long app, has, others, n, lo, hi;

	*v = 0;
	if (query_int(db, "PRAGMA application_id", NULL, &app, err,
	    errlen) == -1 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = 'schema_migrations'", NULL, &has, err,
	    errlen) == -1 ||
	    query_int(db, "SELECT count(*) FROM sqlite_master WHERE "
	    "name NOT LIKE 'sqlite\\_%' ESCAPE '\\' AND "
	    "name <> 'schema_migrations'", NULL, &others, err, errlen) == -1)
		return STORE_ERROR;
	if (app != 0 && app != MIGRATIONS_APP_ID) {
		snprintf(err, errlen, "not a spoold journal (application_id "
		    "0x%llx)", (unsigned long long)app);
		return STORE_SCHEMA;
	}
	if (!has) {
		if (others > 0) {
			snprintf(err, errlen, "not a spoold journal (tables "
			    "but no schema_migrations); refusing to touch it");
			return STORE_SCHEMA;
		}
		return STORE_OK;
	}
	if (query_int(db, "SELECT count(*) FROM schema_migrations", NULL, &n,
	    err, errlen) == -1 ||
	    query_int(db, "SELECT coalesce(min(version), 0) FROM "
	    "schema_migrations", NULL, &lo, err, errlen) == -1 ||
	    query_int(db, "SELECT coalesce(max(version), 0) FROM "
	    "schema_migrations", NULL, &hi, err, errlen) == -1)
		return STORE_ERROR;
	if (hi != n || (n > 0 && lo != 1) || n > 1000000) {
		snprintf(err, errlen, "damaged schema_migrations: %lld rows, "
		    "versions %lld..%lld (want 1..N)", n, lo, hi);
		return STORE_SCHEMA;
	}
	*v = (int)n;
	return STORE_OK;
}

/* Rows left in the tables the steps above target would drop: 0, 1, -1. */
static int
would_lose_data(sqlite3 *db, int cur, int target, char *err, size_t errlen)
{
	char sql[128], list[256] = "";
	long long rows;
	size_t used = 0;
	int v, i, lost = 0;

	for (v = cur; v > target; v--) {
		const struct migration *m = &migrations[v - 1];

		for (i = 0; m->tables[i] != NULL; i++) {
			/* Our own constant table names: no quoting issue. */
			snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s",
			    m->tables[i]);
			if (query_int(db, sql, NULL, &rows, err, errlen) == -1)
				return -1;
			if (rows == 0)
				continue;
			lost = 1;
			if (used < sizeof(list)) {
				int k = snprintf(list + used,
				    sizeof(list) - used, "%s%s (%lld rows)",
				    used ? ", " : "", m->tables[i], rows);
				used += k > 0 ? (size_t)k : 0;
			}
		}
	}
	if (lost)
		snprintf(err, errlen, "downgrading to version %d would drop "
		    "%s; refused (force it only on a copy)", target, list);
	return lost;
}

/* One version up (down == 0) or down, in one transaction. */
static int
step(sqlite3 *db, int from, int down, char *err, size_t errlen)
{
	const struct migration *m = &migrations[(down ? from : from + 1) - 1];
	char now[STORE_TIME_LEN + 1], sql[256];
	int v, rc;

	if (exec_sql(db, "BEGIN IMMEDIATE", "BEGIN IMMEDIATE", err,
	    errlen) == -1)
		return STORE_ERROR;
	/* Another process may have migrated while we waited for the lock. */
	if ((rc = migrations_current(db, &v, err, errlen)) != STORE_OK)
		goto fail;
	if (v != from) {
		snprintf(err, errlen, "schema version changed to %d while "
		    "migrating (another spoolctl migrate?)", v);
		rc = STORE_SCHEMA;
		goto fail;
	}
	rc = STORE_ERROR;
	if (exec_sql(db, schema_migrations_sql, "CREATE schema_migrations",
	    err, errlen) == -1)
		goto fail;
	if (!down) {
		if (exec_sql(db, m->up, m->name, err, errlen) == -1)
			goto fail;
		store_now_utc(now);
		snprintf(sql, sizeof(sql), "INSERT INTO schema_migrations "
		    "(version, name, applied_at) VALUES (%d, '%s', '%s')",
		    m->version, m->name, now);
		if (exec_sql(db, sql, "INSERT schema_migrations", err,
		    errlen) == -1)
			goto fail;
		if (from == 0) {
			snprintf(sql, sizeof(sql), "PRAGMA application_id = %d",
			    MIGRATIONS_APP_ID);
			if (exec_sql(db, sql, sql, err, errlen) == -1)
				goto fail;
		}
	} else {
		if (exec_sql(db, m->down, m->name, err, errlen) == -1)
			goto fail;
		snprintf(sql, sizeof(sql), "DELETE FROM schema_migrations "
		    "WHERE version = %d", m->version);
		if (exec_sql(db, sql, "DELETE schema_migrations", err,
		    errlen) == -1)
			goto fail;
	}
	/* A failed COMMIT is a failed step, never ignored. */
	if (exec_sql(db, "COMMIT", "COMMIT", err, errlen) == -1)
		goto fail;
	return STORE_OK;
fail:
	if (!sqlite3_get_autocommit(db))
		(void)sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
	return rc;
}

int
migrations_run(sqlite3 *db, int target, int force, int *from, int *to,
    char *err, size_t errlen)
{
	int latest = (int)migrations_count, cur, rc;

	if ((rc = migrations_current(db, &cur, err, errlen)) != STORE_OK)
		return rc;
	if (from != NULL)
		*from = cur;
	if (to != NULL)
		*to = cur;
	if (cur > latest) {
		snprintf(err, errlen, "the database is at schema version %d, "
		    "newer than this program knows (%d): use the newer "
		    "program, or its spoolctl migrate to go back", cur, latest);
		return STORE_SCHEMA;
	}
	if (target < 0)
		target = latest;
	if (target > latest) {
		snprintf(err, errlen, "no schema version %d (this program "
		    "knows 0..%d)", target, latest);
		return STORE_SCHEMA;
	}
	if (target < cur && !force) {
		switch (would_lose_data(db, cur, target, err, errlen)) {
		case -1:
			return STORE_ERROR;
		case 1:
			return STORE_SCHEMA;
		}
	}
	while (cur != target) {
		if ((rc = step(db, cur, cur > target, err, errlen)) != STORE_OK)
			return rc;
		cur += cur > target ? -1 : 1;
		if (to != NULL)
			*to = cur;
	}
	return STORE_OK;
}

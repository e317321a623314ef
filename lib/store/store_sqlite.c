/*
 * store_sqlite.c - the SQLite backend of the journal (see store.h).
 *
 * Durability argument.  The journal's commit point is SQLite's commit:
 * in WAL mode with synchronous=FULL the WAL is fsynced at every COMMIT,
 * so once a write operation returns STORE_OK its effect survives a crash
 * or power loss (anchors B.3; the only assumption is an fsync that does
 * not lie).  Every write operation is one transaction (BEGIN IMMEDIATE,
 * or a SAVEPOINT inside the caller's store_begin group), so a crash, an
 * error or a failed COMMIT leaves all of it or none of it.  A COMMIT that
 * fails is rolled back and reported (STORE_ERROR), never taken for a
 * success; a caller that sees an error must treat the operation as not
 * done (it is not: that is what rollback guarantees).
 *
 * Invariants kept here, inside the transactions (store.c checked shapes):
 *  1. The chain never forks: a receipt is inserted only as the exact
 *     successor of the device's chain head (global number + 1, the day's
 *     counter + 1, the day's last hash as previous hash, a later date), in
 *     the same transaction that moves the head and adds the counters.
 *  2. One writer: write transactions take the write lock at BEGIN
 *     (IMMEDIATE), so two processes cannot both read an old chain head and
 *     then both write; the second waits (busy_timeout) and then sees the
 *     first's head.
 *  3. Journal before send: an attempt is committed before the caller may
 *     send; an answer is accepted only for a recorded attempt; attempts
 *     go in ascending global order, lowest pending first.
 *  4. A closed day is final, a signed receipt never changes, nothing is
 *     deleted (also triggers in the schema, migrations.c).
 *
 * Settings per connection: WAL, synchronous=FULL, foreign_keys=ON,
 * busy_timeout STORE_BUSY_MS, secure_delete=ON (freed pages and cells are
 * zeroed: a replaced private key does not linger in the file; cheap
 * because rows are rarely deleted; the WAL may hold old pages until the
 * next checkpoint), trusted_schema=OFF and SQLITE_DBCONFIG_DEFENSIVE
 * (a tampered schema cannot call functions or corrupt the file through
 * writable_schema).  The file is created 0600 (umask around the open;
 * the -wal and -shm files inherit the database's mode); symbolic links
 * are refused (SQLITE_OPEN_NOFOLLOW).
 *
 * SECURITY: all values are bound parameters; the only SQL text built at
 * run time holds our own constants.  The database file is trusted as far
 * as it is a spoold journal (migrations.c); rows read back are still
 * checked where a wrong value could mislead (enum names).
 *
 * Not thread-safe: one struct store per thread (spoold is single-threaded).
 * Never carry a store across fork().
 */
#include "store/store_impl.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sqlite3.h>

#include "store/migrations.h"
#include "util/testhook.h"

struct sq {
	sqlite3	*db;
	int	 user_tx;	/* inside store_begin ... commit/rollback */
	int	 readonly;
	int	 fail_step;	/* tests: fault in the fiscalisation tx */
	int	 fail_commit;	/* tests: COMMIT fails */
};

#define Q(s)	((struct sq *)(s)->be)

static const char *const rstate_names[] = {
	"signed", "submitting", "submitted", "flagged"
};
static const char *const dstatus_names[] = {
	"open", "close_requested", "closed", "close_failed"
};

static int
name_index(const char *const *names, size_t n, const char *s)
{
	size_t i;

	for (i = 0; s != NULL && i < n; i++)
		if (strcmp(names[i], s) == 0)
			return (int)i;
	return -1;
}

/* -- SQL helpers -------------------------------------------------------- */

static int
map_rc(int rc)
{
	if (rc == SQLITE_CONSTRAINT_UNIQUE || rc == SQLITE_CONSTRAINT_PRIMARYKEY)
		return STORE_DUPLICATE;
	if ((rc & 0xff) == SQLITE_CONSTRAINT)
		return STORE_REFUSED;
	return STORE_ERROR;
}

/* Record "what: sqlite3_errmsg" and return the mapped code. */
static int
sq_fail(struct store *s, const char *what, int rc)
{
	return store_fail(s, map_rc(rc), "%s: %s", what,
	    sqlite3_errmsg(Q(s)->db));
}

/*
 * Prepare sql and bind parameters 1.. from fmt: 'i' int64_t, 'd' int,
 * 't' const char * (NULL binds NULL), 'T' const char * and size_t length,
 * 'S' const char * bound without a copy (a secret: SQLite makes no heap
 * copy of its own to leave unwiped; the caller keeps it alive until the
 * statement is finalized, which exec1 does before returning).  Other
 * text is bound SQLITE_TRANSIENT: copied, so the caller's buffers may go.
 */
static int
vprep(struct store *s, const char *what, sqlite3_stmt **stp, const char *sql,
    const char *fmt, va_list ap)
{
	sqlite3_stmt *st = NULL;
	const char *t;
	size_t len;
	int i, rc;

	*stp = NULL;
	if ((rc = sqlite3_prepare_v2(Q(s)->db, sql, -1, &st, NULL)) !=
	    SQLITE_OK)
		return sq_fail(s, what, rc);
	for (i = 1; *fmt != '\0'; fmt++, i++) {
		switch (*fmt) {
		case 'i':
			rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
			break;
		case 'd':
			rc = sqlite3_bind_int(st, i, va_arg(ap, int));
			break;
		case 't':
			t = va_arg(ap, const char *);
			rc = t == NULL ? sqlite3_bind_null(st, i) :
			    sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
			break;
		case 'S':
			t = va_arg(ap, const char *);
			rc = sqlite3_bind_text(st, i, t, -1, SQLITE_STATIC);
			break;
		case 'T':
			t = va_arg(ap, const char *);
			len = va_arg(ap, size_t);
			rc = sqlite3_bind_text64(st, i, t, len,
			    SQLITE_TRANSIENT, SQLITE_UTF8);
			break;
		default:
			rc = SQLITE_MISUSE;
			break;
		}
		if (rc != SQLITE_OK) {
			rc = sq_fail(s, what, rc);
			(void)sqlite3_finalize(st);
			return rc;
		}
	}
	*stp = st;
	return STORE_OK;
}

static int
prep(struct store *s, const char *what, sqlite3_stmt **stp, const char *sql,
    const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = vprep(s, what, stp, sql, fmt, ap);
	va_end(ap);
	return rc;
}

/* One step: STORE_OK with *row 1 (a row) or 0 (done), or an error. */
static int
step(struct store *s, const char *what, sqlite3_stmt *st, int *row)
{
	int rc = sqlite3_step(st);

	*row = 0;
	if (rc == SQLITE_ROW) {
		*row = 1;
		return STORE_OK;
	}
	if (rc == SQLITE_DONE)
		return STORE_OK;
	return sq_fail(s, what, rc);
}

/*
 * sqlite3_finalize repeats the result of the statement's last step, which
 * its caller has already handled; nothing new can be learned from it.
 */
static void
fin(sqlite3_stmt *st)
{
	(void)sqlite3_finalize(st);
}

/* Prepare, bind, run to completion; *changes (may be NULL) rows changed. */
static int
exec1(struct store *s, const char *what, int64_t *changes, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt *st;
	va_list ap;
	int rc, row;

	va_start(ap, fmt);
	rc = vprep(s, what, &st, sql, fmt, ap);
	va_end(ap);
	if (rc != STORE_OK)
		return rc;
	do {
		rc = step(s, what, st, &row);
	} while (rc == STORE_OK && row);
	fin(st);
	if (rc == STORE_OK && changes != NULL)
		*changes = sqlite3_changes64(Q(s)->db);
	return rc;
}

/* A column's text, NULL for SQL NULL; *oom set if SQLite ran out. */
static const char *
ctext(sqlite3_stmt *st, int i, int *oom)
{
	const unsigned char *p;

	if (sqlite3_column_type(st, i) == SQLITE_NULL)
		return NULL;
	if ((p = sqlite3_column_text(st, i)) == NULL)
		*oom = 1;
	return (const char *)p;
}

/* -- transactions ------------------------------------------------------- */

static int
plain(struct store *s, const char *sql)
{
	int rc = sqlite3_exec(Q(s)->db, sql, NULL, NULL, NULL);

	return rc == SQLITE_OK ? STORE_OK : sq_fail(s, sql, rc);
}

/*
 * Only on paths that already return an error.  If the ROLLBACK fails too
 * (an I/O error), nothing uncommitted can become visible anyway: SQLite
 * discards the transaction's WAL frames, at the latest when the journal
 * is next opened, so "none of it" still holds and the first error is the
 * one worth reporting.
 */
static void
rollback_quietly(struct store *s)
{
	if (!sqlite3_get_autocommit(Q(s)->db))
		(void)sqlite3_exec(Q(s)->db, "ROLLBACK", NULL, NULL, NULL);
}

/* Commit; a failure is rolled back and returned (invariant: never lost). */
static int
commit(struct store *s)
{
	int rc = sqlite3_exec(Q(s)->db, "COMMIT", NULL, NULL, NULL);

	if (rc == SQLITE_OK)
		return STORE_OK;
	rc = store_fail(s, STORE_ERROR, "COMMIT: %s; the transaction was "
	    "rolled back", sqlite3_errmsg(Q(s)->db));
	rollback_quietly(s);
	return rc;
}

/* Start one write operation: its own transaction, or a savepoint. */
static int
tx_begin(struct store *s)
{
	if (Q(s)->readonly)
		return store_fail(s, STORE_REFUSED, "the journal is open "
		    "read-only");
	return plain(s, Q(s)->user_tx ? "SAVEPOINT store_op" :
	    "BEGIN IMMEDIATE");
}

/* End it: keep all of it (rc STORE_OK) or none of it; returns the result. */
static int
tx_end(struct store *s, int rc)
{
	char saved[STORE_ERRMSG_MAX];

	if (rc == STORE_OK) {
		if (!Q(s)->user_tx)
			return commit(s);
		if ((rc = plain(s, "RELEASE store_op")) == STORE_OK)
			return STORE_OK;
	}
	/* Undo, keeping the first error's message. */
	memcpy(saved, s->errmsg, sizeof(saved));
	if (Q(s)->user_tx) {
		if (sqlite3_exec(Q(s)->db, "ROLLBACK TO store_op; "
		    "RELEASE store_op", NULL, NULL, NULL) != SQLITE_OK) {
			/* The group is unusable now: end it. */
			rollback_quietly(s);
			Q(s)->user_tx = 0;
		}
	} else
		rollback_quietly(s);
	memcpy(s->errmsg, saved, sizeof(saved));
	return rc;
}

/* Multi-statement reads see one snapshot. */
static int
rd_begin(struct store *s, int *began)
{
	*began = 0;
	if (Q(s)->user_tx || !sqlite3_get_autocommit(Q(s)->db))
		return STORE_OK;
	*began = 1;
	return plain(s, "BEGIN");
}

static int
rd_end(struct store *s, int began, int rc)
{
	if (!began)
		return rc;
	if (rc == STORE_OK)
		return commit(s);
	rollback_quietly(s);
	return rc;
}

static int
sq_begin(struct store *s)
{
	int rc;

	if (Q(s)->user_tx)
		return store_fail(s, STORE_REFUSED, "store_begin: a "
		    "transaction is already open");
	if (Q(s)->readonly)
		return store_fail(s, STORE_REFUSED, "store_begin: the journal "
		    "is open read-only");
	if ((rc = plain(s, "BEGIN IMMEDIATE")) == STORE_OK)
		Q(s)->user_tx = 1;
	return rc;
}

static int
sq_commit(struct store *s)
{
	if (!Q(s)->user_tx)
		return store_fail(s, STORE_REFUSED, "store_commit: no "
		    "transaction is open");
	Q(s)->user_tx = 0;
	return commit(s);
}

static int
sq_rollback(struct store *s)
{
	int rc = STORE_OK;

	if (!Q(s)->user_tx)
		return store_fail(s, STORE_REFUSED, "store_rollback: no "
		    "transaction is open");
	Q(s)->user_tx = 0;
	/* SQLite may have rolled back already (e.g. after SQLITE_FULL). */
	if (!sqlite3_get_autocommit(Q(s)->db))
		rc = plain(s, "ROLLBACK");
	return rc;
}

static int
commit_hook(void *arg)
{
	struct sq *q = arg;

	return q->fail_commit;	/* non-zero turns the COMMIT into a rollback */
}

void
store_sqlite_test_faults(struct store *s, int fail_step, int fail_commit)
{
	Q(s)->fail_step = fail_step;
	Q(s)->fail_commit = fail_commit;
}

#define FAULT(n) do { \
	if (Q(s)->fail_step == (n)) { \
		rc = store_fail(s, STORE_ERROR, "receipt insert: injected " \
		    "fault at step %d", (n)); \
		goto out; \
	} \
	} while (0)

/* -- open, close, schema ----------------------------------------------- */

static const struct store_ops sqlite_ops;

/* Run a PRAGMA and compare its answer; 0 or -1 with err. */
static int
pragma(sqlite3 *db, const char *sql, const char *want, char *err,
    size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *got;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, sql, -1, &st, NULL)) != SQLITE_OK)
		goto fail;
	rc = sqlite3_step(st);
	if (want == NULL && (rc == SQLITE_DONE || rc == SQLITE_ROW)) {
		fin(st);
		return 0;
	}
	if (rc != SQLITE_ROW)
		goto fail;
	if ((got = sqlite3_column_text(st, 0)) == NULL ||
	    strcmp((const char *)got, want) != 0) {
		snprintf(err, errlen, "%s: got %s, want %s", sql,
		    got ? (const char *)got : "nothing", want);
		fin(st);
		return -1;
	}
	fin(st);
	return 0;
fail:
	snprintf(err, errlen, "%s: %s", sql, sqlite3_errmsg(db));
	fin(st);
	return -1;
}

static int
setup(sqlite3 *db, int readonly, char *err, size_t errlen)
{
	int on = -1;

	if (sqlite3_extended_result_codes(db, 1) != SQLITE_OK ||
	    sqlite3_busy_timeout(db, STORE_BUSY_MS) != SQLITE_OK ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_DEFENSIVE, 1, &on) !=
	    SQLITE_OK || on != 1 ||
	    sqlite3_db_config(db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, &on) !=
	    SQLITE_OK || on != 0) {
		snprintf(err, errlen, "connection settings: %s",
		    sqlite3_errmsg(db));
		return -1;
	}
	if (pragma(db, "PRAGMA foreign_keys = ON", NULL, err, errlen) == -1 ||
	    pragma(db, "PRAGMA foreign_keys", "1", err, errlen) == -1 ||
	    pragma(db, "PRAGMA synchronous = FULL", NULL, err, errlen) == -1 ||
	    pragma(db, "PRAGMA synchronous", "2", err, errlen) == -1 ||
	    pragma(db, "PRAGMA secure_delete = ON", "1", err, errlen) == -1)
		return -1;
	if (!readonly &&
	    pragma(db, "PRAGMA journal_mode = WAL", "wal", err, errlen) == -1)
		return -1;
	return 0;
}

struct store *
store_sqlite_open(const char *path, int flags, enum store_rc *rc, char *err,
    size_t errlen)
{
	char msg[STORE_ERRMSG_MAX];
	struct store *s = NULL;
	struct sq *q = NULL;
	struct stat sb;
	mode_t old;
	int oflags, existed, cur, latest = (int)migrations_count, r;

	*rc = STORE_ERROR;
	existed = lstat(path, &sb) == 0;
	if (!existed && errno != ENOENT) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	if (existed && S_ISLNK(sb.st_mode)) {
		snprintf(err, errlen, "%s: a symbolic link; open the journal "
		    "by its real path", path);
		return NULL;
	}
	if (!existed && !(flags & STORE_OPEN_CREATE)) {
		*rc = STORE_NOTFOUND;
		snprintf(err, errlen, "%s: no such database (spoolctl migrate "
		    "creates it)", path);
		return NULL;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL ||
	    (q = calloc(1, sizeof(*q))) == NULL) {
		free(s);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	s->ops = &sqlite_ops;
	s->be = q;
	q->readonly = (flags & STORE_OPEN_READONLY) != 0;
	oflags = SQLITE_OPEN_NOFOLLOW | (q->readonly ? SQLITE_OPEN_READONLY :
	    SQLITE_OPEN_READWRITE |
	    ((flags & STORE_OPEN_CREATE) ? SQLITE_OPEN_CREATE : 0));

	/*
	 * The database is created 0600: SQLite opens it 0644 & ~umask.  The
	 * umask is the process's, changed only for this call (spoold is
	 * single-threaded).  WAL and shm files copy the database's mode.
	 */
	old = umask(077);
	r = sqlite3_open_v2(path, &q->db, oflags, NULL);
	umask(old);
	if (r != SQLITE_OK) {
		snprintf(err, errlen, "%s: %s", path, q->db != NULL ?
		    sqlite3_errmsg(q->db) : sqlite3_errstr(r));
		goto fail;
	}
	if (setup(q->db, q->readonly, msg, sizeof(msg)) == -1) {
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	if ((r = migrations_current(q->db, &cur, msg, sizeof(msg))) !=
	    STORE_OK) {
		*rc = r;
		snprintf(err, errlen, "%s: %s", path, msg);
		goto fail;
	}
	if (!(flags & STORE_OPEN_ANY_VERSION) && cur > latest) {
		*rc = STORE_SCHEMA;
		snprintf(err, errlen, "%s: schema version %d is newer than "
		    "this program knows (%d); use the newer spoold, or its "
		    "spoolctl migrate %d to go back", path, cur, latest, latest);
		goto fail;
	}
	if (!(flags & STORE_OPEN_ANY_VERSION) && cur < latest) {
		/* A file we just created has nothing to lose: bring it up. */
		if (!(flags & STORE_OPEN_MIGRATE) && existed) {
			*rc = STORE_SCHEMA;
			snprintf(err, errlen, "%s: schema version %d is older "
			    "than this program's %d: run spoolctl migrate",
			    path, cur, latest);
			goto fail;
		}
		if (q->readonly) {
			*rc = STORE_SCHEMA;
			snprintf(err, errlen, "%s: schema version %d, not %d, "
			    "and the database is open read-only", path, cur,
			    latest);
			goto fail;
		}
		if ((r = migrations_run(q->db, -1, 0, NULL, NULL, msg,
		    sizeof(msg))) != STORE_OK) {
			*rc = r;
			snprintf(err, errlen, "%s: migrating: %s", path, msg);
			goto fail;
		}
	}
	(void)sqlite3_commit_hook(q->db, commit_hook, q);
	*rc = STORE_OK;
	return s;
fail:
	if (q->db != NULL && sqlite3_close(q->db) != SQLITE_OK)
		(void)sqlite3_close_v2(q->db);
	free(q);
	free(s);
	return NULL;
}

static void
sq_close(struct store *s)
{
	struct sq *q = Q(s);

	if (q->user_tx)
		rollback_quietly(s);
	/*
	 * Committed data is already durable (WAL, synchronous=FULL); a close
	 * that fails (a statement left open would be our bug) can lose
	 * nothing, so close_v2 then frees the connection when it can.
	 */
	if (sqlite3_close(q->db) != SQLITE_OK)
		(void)sqlite3_close_v2(q->db);
	free(q);
	free(s);
}

static int
sq_version(struct store *s, int *current, int *latest)
{
	int rc;

	*latest = (int)migrations_count;
	if ((rc = migrations_current(Q(s)->db, current, s->errmsg,
	    sizeof(s->errmsg))) != STORE_OK)
		return rc;
	return STORE_OK;
}

static int
sq_migrate(struct store *s, int target, int flags)
{
	if (Q(s)->user_tx || Q(s)->readonly)
		return store_fail(s, STORE_REFUSED, "migrate: not inside a "
		    "transaction, nor on a read-only journal");
	return migrations_run(Q(s)->db, target,
	    (flags & STORE_MIGRATE_FORCE) != 0, NULL, NULL, s->errmsg,
	    sizeof(s->errmsg));
}

/* -- devices ------------------------------------------------------------ */

static int
device_exists(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int rc, row;

	if ((rc = prep(s, "SELECT devices", &st, "SELECT 1 FROM devices "
	    "WHERE device_id = ?1", "i", id)) != STORE_OK)
		return rc;
	rc = step(s, "SELECT devices", st, &row);
	fin(st);
	if (rc == STORE_OK && !row)
		rc = store_fail(s, STORE_NOTFOUND, "device %lld is not in the "
		    "journal (not registered)", (long long)id);
	return rc;
}

static int
sq_device_put(struct store *s, const struct store_device *d)
{
	char now[STORE_TIME_LEN + 1], env[32] = "";
	sqlite3_stmt *st;
	int64_t n = 0;
	int rc, row, oom = 0;
	const char *e;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = exec1(s, "INSERT devices", &n, "INSERT INTO devices (device_id, "
	    "serial_no, model_name, model_version, env, base_url, created_at, "
	    "updated_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?7) "
	    "ON CONFLICT (device_id) DO UPDATE SET "
	    "serial_no = excluded.serial_no, model_name = excluded.model_name, "
	    "model_version = excluded.model_version, "
	    "base_url = excluded.base_url, updated_at = excluded.updated_at "
	    "WHERE devices.env = excluded.env",
	    "ittttt" "t", d->device_id, d->serial_no, d->model_name,
	    d->model_version, d->env, d->base_url, now);
	if (rc == STORE_OK && n == 0) {
		/* The WHERE refused: another environment. */
		if ((rc = prep(s, "SELECT devices.env", &st, "SELECT env FROM "
		    "devices WHERE device_id = ?1", "i", d->device_id)) ==
		    STORE_OK) {
			if ((rc = step(s, "SELECT devices.env", st, &row)) ==
			    STORE_OK && row &&
			    (e = ctext(st, 0, &oom)) != NULL)
				snprintf(env, sizeof(env), "%s", e);
			fin(st);
		}
		if (rc == STORE_OK)
			rc = store_fail(s, STORE_REFUSED, "device %lld is "
			    "registered in %s, not %s", (long long)d->device_id,
			    env, d->env);
	}
	return tx_end(s, rc);
}

static int
sq_device_get(struct store *s, int64_t id, struct store_device *d)
{
	const char **const f[] = {
		&d->serial_no, &d->model_name, &d->model_version, &d->env,
		&d->base_url, &d->block_reason, &d->blocked_at,
		&d->cert_not_after, &d->config_fetched_at, &d->created_at,
		&d->updated_at
	};
	sqlite3_stmt *st;
	int rc, row, oom = 0;

	if ((rc = prep(s, "SELECT devices", &st, "SELECT d.device_id, "
	    "d.serial_no, d.model_name, d.model_version, d.env, d.base_url, "
	    "d.last_global_no, d.signing_blocked, d.block_reason, "
	    "d.blocked_at, k.device_id IS NOT NULL, coalesce(k.encrypted, 0), "
	    "c.cert_id, c.not_after, d.config_fetched_at, d.created_at, "
	    "d.updated_at FROM devices d "
	    "LEFT JOIN device_keys k ON k.device_id = d.device_id "
	    "LEFT JOIN certificates c ON c.cert_id = (SELECT max(cert_id) "
	    "FROM certificates WHERE device_id = d.device_id) "
	    "WHERE d.device_id = ?1", "i", id)) != STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT devices", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld is not in the "
		    "journal (not registered)", (long long)id);
		goto out;
	}
	d->device_id = sqlite3_column_int64(st, 0);
	d->serial_no = ctext(st, 1, &oom);
	d->model_name = ctext(st, 2, &oom);
	d->model_version = ctext(st, 3, &oom);
	d->env = ctext(st, 4, &oom);
	d->base_url = ctext(st, 5, &oom);
	d->last_global_no = sqlite3_column_int64(st, 6);
	d->signing_blocked = sqlite3_column_int(st, 7) != 0;
	d->block_reason = ctext(st, 8, &oom);
	d->blocked_at = ctext(st, 9, &oom);
	d->has_key = sqlite3_column_int(st, 10) != 0;
	d->key_encrypted = sqlite3_column_int(st, 11) != 0;
	d->cert_id = sqlite3_column_int64(st, 12);
	d->cert_not_after = ctext(st, 13, &oom);
	d->config_fetched_at = ctext(st, 14, &oom);
	d->created_at = ctext(st, 15, &oom);
	d->updated_at = ctext(st, 16, &oom);
	if (oom || store_own_strings(&d->mem_, f, sizeof(f) / sizeof(f[0])) ==
	    -1) {
		memset(d, 0, sizeof(*d));
		rc = store_fail(s, STORE_ERROR, "device get: out of memory");
	}
out:
	fin(st);
	return rc;
}

static int
sq_device_list(struct store *s, int64_t **ids, size_t *n)
{
	sqlite3_stmt *st;
	int64_t *v = NULL, *nv;
	size_t cap = 0;
	int rc, row;

	if ((rc = prep(s, "SELECT devices", &st, "SELECT device_id FROM "
	    "devices ORDER BY device_id", "")) != STORE_OK)
		return rc;
	while ((rc = step(s, "SELECT devices", st, &row)) == STORE_OK && row) {
		if (*n == cap) {
			cap = cap ? cap * 2 : 8;
			if ((nv = realloc(v, cap * sizeof(*v))) == NULL) {
				rc = store_fail(s, STORE_ERROR, "device list: "
				    "out of memory");
				break;
			}
			v = nv;
		}
		v[(*n)++] = sqlite3_column_int64(st, 0);
	}
	fin(st);
	if (rc != STORE_OK) {
		free(v);
		*n = 0;
		return rc;
	}
	*ids = v;
	return STORE_OK;
}

/* An UPDATE of one device row; NOTFOUND when there is none. */
static int
device_update_done(struct store *s, int rc, int64_t n, int64_t id)
{
	if (rc == STORE_OK && n == 0)
		rc = store_fail(s, STORE_NOTFOUND, "device %lld is not in the "
		    "journal (not registered)", (long long)id);
	return rc;
}

static int
sq_device_block(struct store *s, int64_t id, const char *reason)
{
	char now[STORE_TIME_LEN + 1];
	int64_t n = 0;
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = exec1(s, "UPDATE devices (block)", &n, "UPDATE devices SET "
	    "signing_blocked = ?2, block_reason = ?3, "
	    "blocked_at = CASE WHEN ?2 THEN ?4 END, updated_at = ?4 "
	    "WHERE device_id = ?1", "idtt", id, reason != NULL, reason, now);
	return tx_end(s, device_update_done(s, rc, n, id));
}

static int
sq_device_raise(struct store *s, int64_t id, int64_t global_no)
{
	char now[STORE_TIME_LEN + 1];
	int64_t n = 0;
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = exec1(s, "UPDATE devices (global number)", &n, "UPDATE devices "
	    "SET last_global_no = max(last_global_no, ?2), updated_at = ?3 "
	    "WHERE device_id = ?1", "iit", id, global_no, now);
	return tx_end(s, device_update_done(s, rc, n, id));
}

static int
sq_config_put(struct store *s, int64_t id, const char *json,
    const char *fetched_at)
{
	char now[STORE_TIME_LEN + 1];
	int64_t n = 0;
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = exec1(s, "UPDATE devices (config)", &n, "UPDATE devices SET "
	    "config_json = ?2, config_fetched_at = coalesce(?3, ?4), "
	    "updated_at = ?4 WHERE device_id = ?1", "ittt", id, json,
	    fetched_at, now);
	return tx_end(s, device_update_done(s, rc, n, id));
}

static int
sq_config_get(struct store *s, int64_t id, char **json, char *fetched_at)
{
	sqlite3_stmt *st;
	const char *j, *f;
	int rc, row, oom = 0;

	if ((rc = prep(s, "SELECT devices (config)", &st, "SELECT "
	    "config_json, config_fetched_at FROM devices WHERE device_id = ?1",
	    "i", id)) != STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT devices (config)", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld is not in the "
		    "journal (not registered)", (long long)id);
		goto out;
	}
	j = ctext(st, 0, &oom);
	f = ctext(st, 1, &oom);
	if (!oom && j == NULL) {
		rc = store_fail(s, STORE_NOTFOUND, "no GetConfig answer stored "
		    "for device %lld", (long long)id);
		goto out;
	}
	if (oom || (*json = strdup(j)) == NULL) {
		rc = store_fail(s, STORE_ERROR, "config get: out of memory");
		goto out;
	}
	if (fetched_at != NULL)
		snprintf(fetched_at, STORE_TIME_LEN + 1, "%s", f ? f : "");
out:
	fin(st);
	return rc;
}

/* -- credentials -------------------------------------------------------- */

static int
sq_cert_put(struct store *s, const struct store_cert *c, int64_t *cert_id)
{
	char now[STORE_TIME_LEN + 1];
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = device_exists(s, c->device_id)) == STORE_OK &&
	    (rc = exec1(s, "INSERT certificates", NULL, "INSERT INTO "
	    "certificates (device_id, pem, not_before, not_after, thumbprint, "
	    "installed_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6)", "itttt" "t",
	    c->device_id, c->pem, c->not_before, c->not_after, c->thumbprint,
	    now)) == STORE_OK)
		*cert_id = sqlite3_last_insert_rowid(Q(s)->db);
	if ((rc = tx_end(s, rc)) != STORE_OK)
		*cert_id = 0;
	return rc;
}

static int
sq_cert_get(struct store *s, int64_t id, int64_t which, struct store_cert *c)
{
	const char **const f[] = {
		&c->pem, &c->not_before, &c->not_after, &c->thumbprint,
		&c->installed_at
	};
	static const char cols[] = "SELECT cert_id, device_id, pem, "
	    "not_before, not_after, thumbprint, installed_at FROM certificates "
	    "WHERE device_id = ?1 ";
	char sql[512];
	sqlite3_stmt *st;
	int rc, row, oom = 0;

	if (which > 0)
		snprintf(sql, sizeof(sql), "%sAND cert_id = ?2", cols);
	else
		snprintf(sql, sizeof(sql), "%sORDER BY cert_id DESC LIMIT 1 "
		    "OFFSET ?2", cols);
	if ((rc = prep(s, "SELECT certificates", &st, sql, "ii", id,
	    which > 0 ? which : -which)) != STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT certificates", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld has no %s "
		    "certificate", (long long)id, which == STORE_CERT_CURRENT ?
		    "current" : which == STORE_CERT_PREVIOUS ? "previous" :
		    "such");
		goto out;
	}
	c->cert_id = sqlite3_column_int64(st, 0);
	c->device_id = sqlite3_column_int64(st, 1);
	c->pem = ctext(st, 2, &oom);
	c->not_before = ctext(st, 3, &oom);
	c->not_after = ctext(st, 4, &oom);
	c->thumbprint = ctext(st, 5, &oom);
	c->installed_at = ctext(st, 6, &oom);
	if (oom || store_own_strings(&c->mem_, f, sizeof(f) / sizeof(f[0])) ==
	    -1) {
		memset(c, 0, sizeof(*c));
		rc = store_fail(s, STORE_ERROR, "certificate get: out of memory");
	}
out:
	fin(st);
	return rc;
}

static int
sq_key_put(struct store *s, int64_t id, const char *blob, bool encrypted)
{
	char now[STORE_TIME_LEN + 1];
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = device_exists(s, id)) == STORE_OK)
		rc = exec1(s, "INSERT device_keys", NULL, "INSERT INTO "
		    "device_keys (device_id, key_blob, encrypted, updated_at) "
		    "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (device_id) DO UPDATE "
		    "SET key_blob = excluded.key_blob, "
		    "encrypted = excluded.encrypted, "
		    "updated_at = excluded.updated_at", "iSdt", id, blob,
		    encrypted ? 1 : 0, now);
	return tx_end(s, rc);
}

static int
sq_key_get(struct store *s, int64_t id, char **blob, size_t *len,
    bool *encrypted)
{
	sqlite3_stmt *st;
	const void *p;
	int rc, row, n;

	if ((rc = prep(s, "SELECT device_keys", &st, "SELECT key_blob, "
	    "encrypted FROM device_keys WHERE device_id = ?1", "i", id)) !=
	    STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT device_keys", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld has no private "
		    "key in the journal", (long long)id);
		goto out;
	}
	p = sqlite3_column_text(st, 0);
	n = sqlite3_column_bytes(st, 0);
	if (p == NULL || n <= 0 || (*blob = malloc((size_t)n + 1)) == NULL) {
		rc = store_fail(s, STORE_ERROR, "key get: out of memory or "
		    "empty key");
		goto out;
	}
	memcpy(*blob, p, (size_t)n);
	(*blob)[n] = '\0';
	*len = (size_t)n;
	*encrypted = sqlite3_column_int(st, 1) != 0;
out:
	fin(st);
	return rc;
}

/* -- fiscal days -------------------------------------------------------- */

static int
sq_day_open(struct store *s, int64_t id, int64_t day_no, const char *opened)
{
	char now[STORE_TIME_LEN + 1];
	sqlite3_stmt *st;
	int64_t other = 0, last = 0;
	int rc, row, oom = 0, status = -1;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = device_exists(s, id)) != STORE_OK)
		goto out;
	if ((rc = prep(s, "SELECT fiscal_days", &st, "SELECT "
	    "(SELECT day_no FROM fiscal_days WHERE device_id = ?1 AND "
	    "status <> 'closed'), (SELECT status FROM fiscal_days WHERE "
	    "device_id = ?1 AND status <> 'closed'), "
	    "(SELECT coalesce(max(day_no), 0) FROM fiscal_days WHERE "
	    "device_id = ?1)", "i", id)) != STORE_OK)
		goto out;
	if ((rc = step(s, "SELECT fiscal_days", st, &row)) == STORE_OK && row) {
		other = sqlite3_column_int64(st, 0);
		status = name_index(dstatus_names, 4, ctext(st, 1, &oom));
		last = sqlite3_column_int64(st, 2);
	}
	fin(st);
	if (rc != STORE_OK)
		goto out;
	if (other != 0) {
		rc = store_fail(s, STORE_REFUSED, "day open: day %lld of device "
		    "%lld is still %s", (long long)other, (long long)id,
		    status >= 0 ? dstatus_names[status] : "not closed");
		goto out;
	}
	if (day_no <= last) {
		rc = store_fail(s, STORE_REFUSED, "day open: day %lld of device "
		    "%lld is not after its day %lld", (long long)day_no,
		    (long long)id, (long long)last);
		goto out;
	}
	rc = exec1(s, "INSERT fiscal_days", NULL, "INSERT INTO fiscal_days "
	    "(device_id, day_no, opened, status, opened_at, updated_at) "
	    "VALUES (?1, ?2, ?3, 'open', ?4, ?4)", "iitt", id, day_no, opened,
	    now);
out:
	return tx_end(s, rc);
}

static int
load_counters(struct store *s, int64_t id, int64_t day_no, struct counters *c)
{
	sqlite3_stmt *st;
	struct counter k;
	const char *type, *cur, *money;
	int rc, row, oom = 0;

	if ((rc = prep(s, "SELECT day_counters", &st, "SELECT counter_type, "
	    "currency, tax_id, has_percent, percent, money_type, value FROM "
	    "day_counters WHERE device_id = ?1 AND day_no = ?2 ORDER BY rowid",
	    "ii", id, day_no)) != STORE_OK)
		return rc;
	while ((rc = step(s, "SELECT day_counters", st, &row)) == STORE_OK &&
	    row) {
		memset(&k, 0, sizeof(k));
		type = ctext(st, 0, &oom);
		cur = ctext(st, 1, &oom);
		money = ctext(st, 5, &oom);
		if (oom || type == NULL || cur == NULL || money == NULL ||
		    counter_type_parse(type, &k.type) == -1 ||
		    strlen(cur) != 3 ||
		    (k.type == COUNTER_BALANCE_BY_MONEY_TYPE &&
		    money_type_parse(money, &k.money_type) == -1)) {
			rc = store_fail(s, STORE_ERROR, "day %lld of device "
			    "%lld: unreadable counter row (%s %s %s)",
			    (long long)day_no, (long long)id,
			    type ? type : "?", cur ? cur : "?",
			    money ? money : "?");
			break;
		}
		memcpy(k.currency, cur, 4);
		k.tax_id = sqlite3_column_int64(st, 2);
		k.has_percent = sqlite3_column_int(st, 3) != 0;
		k.percent = (int32_t)sqlite3_column_int64(st, 4);
		k.value = sqlite3_column_int64(st, 6);
		if (counters_add(c, &k) == -1) {
			rc = store_fail(s, STORE_ERROR, "day %lld of device "
			    "%lld: too many counters, or no memory",
			    (long long)day_no, (long long)id);
			break;
		}
	}
	fin(st);
	return rc;
}

static int
sq_day_get(struct store *s, int64_t id, int64_t day_no, struct store_day *d)
{
	const char **const f[] = {
		&d->opened, &d->last_hash, &d->last_receipt_date,
		&d->open_operation_id, &d->close_request, &d->close_hash,
		&d->close_signature, &d->close_operation_id, &d->fdms_answer,
		&d->closed, &d->error_code, &d->opened_at, &d->updated_at
	};
	char sql[768];
	sqlite3_stmt *st = NULL;
	int rc, row, began, oom = 0, status;

	if ((rc = rd_begin(s, &began)) != STORE_OK)
		return rc;
	snprintf(sql, sizeof(sql), "SELECT device_id, day_no, opened, status, "
	    "receipt_counter, last_hash, last_receipt_date, open_operation_id, "
	    "close_request, close_hash, close_signature, close_operation_id, "
	    "fdms_answer, closed, error_code, opened_at, updated_at "
	    "FROM fiscal_days WHERE device_id = ?1 %s",
	    day_no > 0 ? "AND day_no = ?2" :
	    "AND ?2 = 0 ORDER BY day_no DESC LIMIT 1");
	if ((rc = prep(s, "SELECT fiscal_days", &st, sql, "ii", id,
	    day_no)) != STORE_OK)
		goto out;
	if ((rc = step(s, "SELECT fiscal_days", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = day_no > 0 ? store_fail(s, STORE_NOTFOUND, "device %lld "
		    "has no day %lld", (long long)id, (long long)day_no) :
		    store_fail(s, STORE_NOTFOUND, "device %lld has no fiscal "
		    "day yet", (long long)id);
		goto out;
	}
	d->device_id = sqlite3_column_int64(st, 0);
	d->day_no = sqlite3_column_int64(st, 1);
	d->opened = ctext(st, 2, &oom);
	status = name_index(dstatus_names, 4, ctext(st, 3, &oom));
	d->receipt_counter = sqlite3_column_int64(st, 4);
	d->last_hash = ctext(st, 5, &oom);
	d->last_receipt_date = ctext(st, 6, &oom);
	d->open_operation_id = ctext(st, 7, &oom);
	d->close_request = ctext(st, 8, &oom);
	d->close_hash = ctext(st, 9, &oom);
	d->close_signature = ctext(st, 10, &oom);
	d->close_operation_id = ctext(st, 11, &oom);
	d->fdms_answer = ctext(st, 12, &oom);
	d->closed = ctext(st, 13, &oom);
	d->error_code = ctext(st, 14, &oom);
	d->opened_at = ctext(st, 15, &oom);
	d->updated_at = ctext(st, 16, &oom);
	if (status < 0) {
		rc = store_fail(s, STORE_ERROR, "day %lld of device %lld: "
		    "unknown status", (long long)d->day_no, (long long)id);
		goto out;
	}
	d->status = (enum store_day_status)status;
	if (oom || store_own_strings(&d->mem_, f, sizeof(f) / sizeof(f[0])) ==
	    -1) {
		rc = store_fail(s, STORE_ERROR, "day get: out of memory");
		goto out;
	}
	fin(st);
	st = NULL;
	rc = load_counters(s, id, d->day_no, &d->counters);
out:
	fin(st);
	if (rc != STORE_OK) {
		counters_free(&d->counters);
		free(d->mem_);
		memset(d, 0, sizeof(*d));
		counters_init(&d->counters);
	}
	return rd_end(s, began, rc);
}

static int
sq_day_update(struct store *s, int64_t id, int64_t day_no,
    const struct store_day_update *u)
{
	char now[STORE_TIME_LEN + 1];
	sqlite3_stmt *st;
	int rc, row, status = -1, oom = 0;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = prep(s, "SELECT fiscal_days", &st, "SELECT status FROM "
	    "fiscal_days WHERE device_id = ?1 AND day_no = ?2", "ii", id,
	    day_no)) != STORE_OK)
		goto out;
	if ((rc = step(s, "SELECT fiscal_days", st, &row)) == STORE_OK && row)
		status = name_index(dstatus_names, 4, ctext(st, 0, &oom));
	fin(st);
	if (rc != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld has no day %lld",
		    (long long)id, (long long)day_no);
		goto out;
	}
	if (status == STORE_DAY_CLOSED) {
		rc = store_fail(s, STORE_REFUSED, "day %lld of device %lld is "
		    "closed: a closed day is final", (long long)day_no,
		    (long long)id);
		goto out;
	}
	rc = exec1(s, "UPDATE fiscal_days", NULL, "UPDATE fiscal_days SET "
	    "status = ?3, "
	    "open_operation_id = coalesce(?4, open_operation_id), "
	    "close_request = coalesce(?5, close_request), "
	    "close_hash = coalesce(?6, close_hash), "
	    "close_signature = coalesce(?7, close_signature), "
	    "close_operation_id = coalesce(?8, close_operation_id), "
	    "fdms_answer = coalesce(?9, fdms_answer), "
	    "closed = coalesce(?10, closed), "
	    "error_code = coalesce(?11, error_code), updated_at = ?12 "
	    "WHERE device_id = ?1 AND day_no = ?2",
	    "iitttttt" "tttt", id, day_no, dstatus_names[u->status],
	    u->open_operation_id, u->close_request, u->close_hash,
	    u->close_signature, u->close_operation_id, u->fdms_answer,
	    u->closed, u->error_code, now);
out:
	return tx_end(s, rc);
}

static int
sq_day_request_close(struct store *s, int64_t id, int64_t day_no,
    const char *request, const char *hash, const char *signature)
{
	char now[STORE_TIME_LEN + 1];
	sqlite3_stmt *st;
	int rc, row, status = -1, oom = 0;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = prep(s, "SELECT fiscal_days", &st, "SELECT status FROM "
	    "fiscal_days WHERE device_id = ?1 AND day_no = ?2", "ii", id,
	    day_no)) != STORE_OK)
		goto out;
	if ((rc = step(s, "SELECT fiscal_days", st, &row)) == STORE_OK && row)
		status = name_index(dstatus_names, 4, ctext(st, 0, &oom));
	fin(st);
	if (rc != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld has no day %lld",
		    (long long)id, (long long)day_no);
		goto out;
	}
	if (status != STORE_DAY_OPEN && status != STORE_DAY_CLOSE_FAILED) {
		rc = store_fail(s, STORE_REFUSED, "day close request: day %lld "
		    "of device %lld is %s, not open or close_failed",
		    (long long)day_no, (long long)id,
		    status >= 0 ? dstatus_names[status] : "unreadable");
		goto out;
	}
	rc = exec1(s, "UPDATE fiscal_days (close request)", NULL, "UPDATE "
	    "fiscal_days SET status = 'close_requested', close_request = ?3, "
	    "close_hash = ?4, close_signature = ?5, close_operation_id = NULL, "
	    "fdms_answer = NULL, closed = NULL, error_code = NULL, "
	    "updated_at = ?6 WHERE device_id = ?1 AND day_no = ?2", "iitttt",
	    id, day_no, request, hash, signature, now);
out:
	return tx_end(s, rc);
}

/* -- receipts ----------------------------------------------------------- */

#define RCOLS "device_id, global_no, day_no, counter, invoice_no, " \
	"receipt_type, currency, receipt_date, total, wire_json, hash, " \
	"signature, prev_hash, cert_id, source_name, source_sha256, state, " \
	"attempts, last_attempt_at, last_error, fdms_receipt_id, server_date, " \
	"server_signature, validation_errors, operation_id, answered_at, " \
	"created_at"

/* A row into r with borrowed strings (valid until the next step). */
static int
read_receipt(struct store *s, sqlite3_stmt *st, struct store_receipt *r)
{
	const char *type;
	int oom = 0, state;

	memset(r, 0, sizeof(*r));
	r->device_id = sqlite3_column_int64(st, 0);
	r->global_no = sqlite3_column_int64(st, 1);
	r->day_no = sqlite3_column_int64(st, 2);
	r->counter = sqlite3_column_int64(st, 3);
	r->invoice_no = ctext(st, 4, &oom);
	type = ctext(st, 5, &oom);
	r->currency = ctext(st, 6, &oom);
	r->date = ctext(st, 7, &oom);
	r->total = sqlite3_column_int64(st, 8);
	r->wire_json = ctext(st, 9, &oom);
	r->wire_len = (size_t)sqlite3_column_bytes(st, 9);
	r->hash = ctext(st, 10, &oom);
	r->signature = ctext(st, 11, &oom);
	r->prev_hash = ctext(st, 12, &oom);
	r->cert_id = sqlite3_column_int64(st, 13);
	r->source_name = ctext(st, 14, &oom);
	r->source_sha256 = ctext(st, 15, &oom);
	state = name_index(rstate_names, 4, ctext(st, 16, &oom));
	r->attempts = sqlite3_column_int64(st, 17);
	r->last_attempt_at = ctext(st, 18, &oom);
	r->last_error = ctext(st, 19, &oom);
	r->has_fdms_receipt_id = sqlite3_column_type(st, 20) != SQLITE_NULL;
	r->fdms_receipt_id = sqlite3_column_int64(st, 20);
	r->server_date = ctext(st, 21, &oom);
	r->server_signature = ctext(st, 22, &oom);
	r->validation_errors = ctext(st, 23, &oom);
	r->operation_id = ctext(st, 24, &oom);
	r->answered_at = ctext(st, 25, &oom);
	r->created_at = ctext(st, 26, &oom);
	if (oom)
		return store_fail(s, STORE_ERROR, "receipt read: out of memory");
	if (state < 0 || type == NULL ||
	    receipt_type_parse(type, &r->type) == -1)
		return store_fail(s, STORE_ERROR, "receipt %lld of device %lld: "
		    "unknown state or type", (long long)r->global_no,
		    (long long)r->device_id);
	r->state = (enum store_receipt_state)state;
	return STORE_OK;
}

static int
own_receipt(struct store *s, struct store_receipt *r)
{
	const char **const f[] = {
		&r->invoice_no, &r->currency, &r->date, &r->wire_json, &r->hash,
		&r->signature, &r->prev_hash, &r->source_name,
		&r->source_sha256, &r->last_attempt_at, &r->last_error,
		&r->server_date, &r->server_signature, &r->validation_errors,
		&r->operation_id, &r->answered_at, &r->created_at
	};

	if (store_own_strings(&r->mem_, f, sizeof(f) / sizeof(f[0])) == -1) {
		memset(r, 0, sizeof(*r));
		return store_fail(s, STORE_ERROR, "receipt get: out of memory");
	}
	return STORE_OK;
}

/* Which unique key an insert would clash with: STORE_OK if none. */
static int
receipt_clash(struct store *s, const struct store_receipt *r)
{
	sqlite3_stmt *st;
	int64_t kind, other;
	int rc, row;

	/*
	 * One lookup per unique key, each on its own index: an OR over the
	 * four keys makes SQLite walk every receipt of the device (found by
	 * the audit's benchmark: 20,000 inserts took 139 s instead of 8).
	 */
	if ((rc = prep(s, "SELECT receipts (keys)", &st,
	    "SELECT 1, global_no FROM receipts "
	    "WHERE device_id = ?1 AND global_no = ?2 "
	    "UNION ALL SELECT 2, global_no FROM receipts "
	    "WHERE device_id = ?1 AND invoice_no = ?3 "
	    "UNION ALL SELECT 3, global_no FROM receipts "
	    "WHERE device_id = ?1 AND source_sha256 = ?4 "
	    "UNION ALL SELECT 4, global_no FROM receipts "
	    "WHERE device_id = ?1 AND day_no = ?5 AND counter = ?6 LIMIT 1",
	    "iittii", r->device_id, r->global_no, r->invoice_no,
	    r->source_sha256, r->day_no, r->counter)) != STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT receipts (keys)", st, &row)) != STORE_OK ||
	    !row)
		goto out;
	kind = sqlite3_column_int64(st, 0);
	other = sqlite3_column_int64(st, 1);
	if (kind == 1)
		rc = store_fail(s, STORE_DUPLICATE, "device %lld already has "
		    "receipt global number %lld", (long long)r->device_id,
		    (long long)r->global_no);
	else if (kind == 2)
		rc = store_fail(s, STORE_DUPLICATE, "device %lld already has "
		    "invoice number %s (receipt %lld)", (long long)r->device_id,
		    r->invoice_no, (long long)other);
	else if (kind == 3)
		rc = store_fail(s, STORE_DUPLICATE, "device %lld already "
		    "fiscalised a file with this content (receipt %lld)",
		    (long long)r->device_id, (long long)other);
	else
		rc = store_fail(s, STORE_DUPLICATE, "device %lld already has "
		    "counter %lld in day %lld", (long long)r->device_id,
		    (long long)r->counter, (long long)r->day_no);
out:
	fin(st);
	return rc;
}

static int
str_eq(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
	    (a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Invariant 1: r is the exact successor of the chain head. */
static int
chain_check(struct store *s, const struct store_receipt *r)
{
	sqlite3_stmt *st;
	char hash[128] = "", date[32] = "";
	const char *h, *dt, *why = NULL;
	int64_t last_global = 0, counter = 0;
	int rc, row, oom = 0, blocked = 0, status = -1, has_hash = 0;

	if ((rc = prep(s, "SELECT chain head", &st, "SELECT "
	    "d.signing_blocked, d.block_reason, d.last_global_no, f.status, "
	    "f.receipt_counter, f.last_hash, f.last_receipt_date "
	    "FROM devices d LEFT JOIN fiscal_days f ON "
	    "f.device_id = d.device_id AND f.day_no = ?2 "
	    "WHERE d.device_id = ?1", "ii", r->device_id, r->day_no)) !=
	    STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT chain head", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "device %lld is not in the "
		    "journal (not registered)", (long long)r->device_id);
		goto out;
	}
	blocked = sqlite3_column_int(st, 0);
	if (blocked) {
		h = ctext(st, 1, &oom);
		rc = store_fail(s, STORE_REFUSED, "signing is blocked for "
		    "device %lld: %s", (long long)r->device_id, h ? h : "?");
		goto out;
	}
	last_global = sqlite3_column_int64(st, 2);
	if (sqlite3_column_type(st, 3) != SQLITE_NULL)
		status = name_index(dstatus_names, 4, ctext(st, 3, &oom));
	counter = sqlite3_column_int64(st, 4);
	if ((h = ctext(st, 5, &oom)) != NULL) {
		has_hash = 1;
		snprintf(hash, sizeof(hash), "%s", h);
	}
	if ((dt = ctext(st, 6, &oom)) != NULL)
		snprintf(date, sizeof(date), "%s", dt);
	if (oom) {
		rc = store_fail(s, STORE_ERROR, "receipt insert: out of memory");
		goto out;
	}
	if (status != STORE_DAY_OPEN && status != STORE_DAY_CLOSE_FAILED)
		why = status < 0 ? "the day is not in the journal" :
		    "the day is not open";
	else if (r->counter != counter + 1)
		why = "receipt counter is not the day's next";
	else if (r->global_no != last_global + 1)
		why = "global number is not the device's next";
	else if (!str_eq(r->prev_hash, has_hash ? hash : NULL))
		why = "previous hash is not the day's last hash";
	else if (date[0] != '\0' && strcmp(r->date, date) <= 0)
		why = "receipt date is not after the day's last receipt";
	if (why != NULL)
		rc = store_fail(s, STORE_REFUSED, "receipt insert: %s (device "
		    "%lld day %lld: status %s, counter %lld, global %lld, last "
		    "date %s; got counter %lld, global %lld, date %s)", why,
		    (long long)r->device_id, (long long)r->day_no,
		    status >= 0 ? dstatus_names[status] : "none",
		    (long long)counter, (long long)last_global,
		    date[0] ? date : "none", (long long)r->counter,
		    (long long)r->global_no, r->date);
out:
	fin(st);
	return rc;
}

static int
add_counter(struct store *s, const struct store_receipt *r,
    const struct counter *k)
{
	int balance = k->type == COUNTER_BALANCE_BY_MONEY_TYPE;

	/* Normalised key: the fields that do not apply are zero/empty. */
	return exec1(s, "UPSERT day_counters", NULL, "INSERT INTO day_counters "
	    "(device_id, day_no, counter_type, currency, tax_id, has_percent, "
	    "percent, money_type, value) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, "
	    "?8, ?9) ON CONFLICT (device_id, day_no, counter_type, currency, "
	    "tax_id, has_percent, percent, money_type) DO UPDATE SET "
	    "value = value + excluded.value", "iitti" "ddti", r->device_id,
	    r->day_no, counter_type_name(k->type), k->currency,
	    balance ? (int64_t)0 : k->tax_id,
	    !balance && k->has_percent ? 1 : 0,
	    !balance && k->has_percent ? (int)k->percent : 0,
	    balance ? money_type_name(k->money_type) : "", k->value);
}

static int
sq_receipt_insert(struct store *s, const struct store_receipt *r,
    const struct counters *c)
{
	char now[STORE_TIME_LEN + 1];
	sqlite3_stmt *st;
	size_t i;
	int rc, row;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = receipt_clash(s, r)) != STORE_OK ||
	    (rc = chain_check(s, r)) != STORE_OK)
		goto out;
	if (r->cert_id > 0) {
		if ((rc = prep(s, "SELECT certificates", &st, "SELECT 1 FROM "
		    "certificates WHERE cert_id = ?1 AND device_id = ?2", "ii",
		    r->cert_id, r->device_id)) != STORE_OK)
			goto out;
		rc = step(s, "SELECT certificates", st, &row);
		fin(st);
		if (rc == STORE_OK && !row)
			rc = store_fail(s, STORE_REFUSED, "receipt insert: "
			    "certificate %lld is not device %lld's",
			    (long long)r->cert_id, (long long)r->device_id);
		if (rc != STORE_OK)
			goto out;
	}
	FAULT(1);
	if ((rc = exec1(s, "INSERT receipts", NULL, "INSERT INTO receipts "
	    "(device_id, global_no, day_no, counter, invoice_no, receipt_type, "
	    "currency, receipt_date, total, wire_json, hash, signature, "
	    "prev_hash, cert_id, source_name, source_sha256, created_at) "
	    "VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, "
	    "nullif(?14, 0), ?15, ?16, ?17)",
	    "iiiit" "ttti" "Tttti" "ttt", r->device_id, r->global_no,
	    r->day_no, r->counter, r->invoice_no, receipt_type_name(r->type),
	    r->currency, r->date, r->total, r->wire_json, r->wire_len, r->hash,
	    r->signature, r->prev_hash, r->cert_id, r->source_name,
	    r->source_sha256, now)) != STORE_OK)
		goto out;
	FAULT(2);
	if ((rc = exec1(s, "UPDATE fiscal_days (head)", NULL, "UPDATE "
	    "fiscal_days SET receipt_counter = ?3, last_hash = ?4, "
	    "last_receipt_date = ?5, updated_at = ?6 "
	    "WHERE device_id = ?1 AND day_no = ?2", "iiittt", r->device_id,
	    r->day_no, r->counter, r->hash, r->date, now)) != STORE_OK)
		goto out;
	FAULT(3);
	for (i = 0; c != NULL && i < c->n; i++) {
		if (c->v[i].value == 0)
			continue;
		if ((rc = add_counter(s, r, &c->v[i])) != STORE_OK)
			goto out;
		FAULT(4);
	}
	FAULT(5);
	if ((rc = exec1(s, "UPDATE devices (head)", NULL, "UPDATE devices SET "
	    "last_global_no = ?2, updated_at = ?3 WHERE device_id = ?1",
	    "iit", r->device_id, r->global_no, now)) != STORE_OK)
		goto out;
	FAULT(6);
out:
	return tx_end(s, rc);
}

static int
sq_receipt_get(struct store *s, int64_t id, int by, int64_t num,
    const char *text, struct store_receipt *r)
{
	static const char base[] = "SELECT " RCOLS " FROM receipts "
	    "WHERE device_id = ?1 ";
	const char *what = "SELECT receipts";
	char sql[1024];
	sqlite3_stmt *st;
	int rc, row;

	switch (by) {
	case 'g':
		snprintf(sql, sizeof(sql), "%sAND global_no = ?2", base);
		rc = prep(s, what, &st, sql, "ii", id, num);
		break;
	case 'i':
		snprintf(sql, sizeof(sql), "%sAND invoice_no = ?2", base);
		rc = prep(s, what, &st, sql, "it", id, text);
		break;
	case 's':
		snprintf(sql, sizeof(sql), "%sAND source_sha256 = ?2", base);
		rc = prep(s, what, &st, sql, "it", id, text);
		break;
	default:
		snprintf(sql, sizeof(sql), "%sAND state IN ('signed', "
		    "'submitting') ORDER BY global_no LIMIT 1", base);
		rc = prep(s, what, &st, sql, "i", id);
		break;
	}
	if (rc != STORE_OK)
		return rc;
	if ((rc = step(s, what, st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		if (by == 'g')
			rc = store_fail(s, STORE_NOTFOUND, "device %lld has no "
			    "receipt %lld", (long long)id, (long long)num);
		else if (by == 'i')
			rc = store_fail(s, STORE_NOTFOUND, "device %lld has no "
			    "receipt with invoice number %s", (long long)id,
			    text);
		else if (by == 's')
			rc = store_fail(s, STORE_NOTFOUND, "device %lld has no "
			    "receipt from a file with that content",
			    (long long)id);
		else
			rc = store_fail(s, STORE_NOTFOUND, "device %lld has no "
			    "pending receipt", (long long)id);
		goto out;
	}
	if ((rc = read_receipt(s, st, r)) == STORE_OK)
		rc = own_receipt(s, r);
	else
		memset(r, 0, sizeof(*r));
out:
	fin(st);
	return rc;
}

/* Why an UPDATE guarded by state matched nothing. */
static int
receipt_why(struct store *s, int64_t id, int64_t global_no, const char *op,
    const char *need)
{
	sqlite3_stmt *st;
	const char *state;
	int rc, row, oom = 0;

	if ((rc = prep(s, "SELECT receipts (state)", &st, "SELECT state, "
	    "(SELECT min(global_no) FROM receipts WHERE device_id = ?1 AND "
	    "state IN ('signed', 'submitting')) FROM receipts "
	    "WHERE device_id = ?1 AND global_no = ?2", "ii", id, global_no)) !=
	    STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT receipts (state)", st, &row)) != STORE_OK)
		goto out;
	if (!row) {
		rc = store_fail(s, STORE_NOTFOUND, "%s: device %lld has no "
		    "receipt %lld", op, (long long)id, (long long)global_no);
		goto out;
	}
	state = ctext(st, 0, &oom);
	if (need == NULL)	/* an attempt: the state was fine, order not */
		rc = store_fail(s, STORE_REFUSED, "%s: receipt %lld of device "
		    "%lld is %s; receipt %lld must go first", op,
		    (long long)global_no, (long long)id, state ? state : "?",
		    (long long)sqlite3_column_int64(st, 1));
	else
		rc = store_fail(s, STORE_REFUSED, "%s: receipt %lld of device "
		    "%lld is %s, not %s", op, (long long)global_no,
		    (long long)id, state ? state : "?", need);
out:
	fin(st);
	return rc;
}

static int
sq_receipt_attempt(struct store *s, int64_t id, int64_t global_no)
{
	char now[STORE_TIME_LEN + 1];
	sqlite3_stmt *st;
	const char *state;
	int64_t n = 0;
	int rc, row, oom = 0, answered = 0;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	/* Invariant 3: lowest pending first, one at a time. */
	if ((rc = exec1(s, "UPDATE receipts (attempt)", &n, "UPDATE receipts "
	    "SET state = 'submitting', attempts = attempts + 1, "
	    "last_attempt_at = ?3 WHERE device_id = ?1 AND global_no = ?2 "
	    "AND state IN ('signed', 'submitting') AND NOT EXISTS (SELECT 1 "
	    "FROM receipts p WHERE p.device_id = ?1 AND p.global_no < ?2 AND "
	    "p.state IN ('signed', 'submitting'))", "iit", id, global_no,
	    now)) != STORE_OK || n != 0)
		goto out;
	if ((rc = prep(s, "SELECT receipts (state)", &st, "SELECT state FROM "
	    "receipts WHERE device_id = ?1 AND global_no = ?2", "ii", id,
	    global_no)) != STORE_OK)
		goto out;
	if ((rc = step(s, "SELECT receipts (state)", st, &row)) == STORE_OK &&
	    row && (state = ctext(st, 0, &oom)) != NULL)
		answered = strcmp(state, "submitted") == 0 ||
		    strcmp(state, "flagged") == 0;
	fin(st);
	if (rc == STORE_OK)
		rc = receipt_why(s, id, global_no, "receipt attempt",
		    answered ? "signed or submitting" : NULL);
out:
	return tx_end(s, rc);
}

static int
sq_receipt_answer(struct store *s, int64_t id, int64_t global_no,
    const struct store_answer *a)
{
	char now[STORE_TIME_LEN + 1];
	int64_t n = 0;
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = exec1(s, "UPDATE receipts (answer)", &n, "UPDATE receipts "
	    "SET state = ?3, fdms_receipt_id = ?4, server_date = ?5, "
	    "server_signature = ?6, validation_errors = ?7, operation_id = ?8, "
	    "answered_at = ?9, last_error = NULL "
	    "WHERE device_id = ?1 AND global_no = ?2 AND state = 'submitting'",
	    "iitit" "tttt", id, global_no,
	    a->flagged ? "flagged" : "submitted", a->receipt_id,
	    a->server_date, a->server_signature, a->validation_errors,
	    a->operation_id, now)) == STORE_OK && n == 0)
		rc = receipt_why(s, id, global_no, "receipt answer",
		    "submitting (record the attempt before sending)");
	return tx_end(s, rc);
}

static int
sq_receipt_failed(struct store *s, int64_t id, int64_t global_no,
    const char *error)
{
	int64_t n = 0;
	int rc;

	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	if ((rc = exec1(s, "UPDATE receipts (failure)", &n, "UPDATE receipts "
	    "SET last_error = ?3 WHERE device_id = ?1 AND global_no = ?2 AND "
	    "state = 'submitting'", "iit", id, global_no, error)) == STORE_OK &&
	    n == 0)
		rc = receipt_why(s, id, global_no, "receipt failed",
		    "submitting");
	return tx_end(s, rc);
}

static int
sq_receipts_each(struct store *s, int64_t id, int64_t day_no,
    store_receipt_cb cb, void *arg)
{
	struct store_receipt r;
	sqlite3_stmt *st;
	int rc, row, stop = 0;

	/* The (device, day, counter) key's index: streamed, no sort. */
	if (day_no > 0)
		rc = prep(s, "SELECT receipts", &st, "SELECT " RCOLS " FROM "
		    "receipts WHERE device_id = ?1 AND day_no = ?2 "
		    "ORDER BY day_no, counter", "ii", id, day_no);
	else
		rc = prep(s, "SELECT receipts", &st, "SELECT " RCOLS " FROM "
		    "receipts WHERE device_id = ?1 ORDER BY day_no, counter",
		    "i", id);
	if (rc != STORE_OK)
		return rc;
	while ((rc = step(s, "SELECT receipts", st, &row)) == STORE_OK && row) {
		if ((rc = read_receipt(s, st, &r)) != STORE_OK)
			break;
		if ((stop = cb(&r, arg)) != 0)
			break;
	}
	fin(st);
	return stop != 0 ? stop : rc;
}

static int
sq_receipts_filed(struct store *s, int64_t id, int64_t day_no,
    const char *operation_id, int64_t *n)
{
	char now[STORE_TIME_LEN + 1];
	int rc;

	store_now_utc(now);
	if ((rc = tx_begin(s)) != STORE_OK)
		return rc;
	rc = exec1(s, "UPDATE receipts (filed)", n, "UPDATE receipts SET "
	    "state = 'submitted', attempts = max(attempts, 1), "
	    "fdms_receipt_id = 0, operation_id = ?3, answered_at = ?4, "
	    "last_error = NULL WHERE device_id = ?1 AND day_no = ?2 AND "
	    "state IN ('signed', 'submitting')", "iitt", id, day_no,
	    operation_id, now);
	return tx_end(s, rc);
}

/* -- status and maintenance -------------------------------------------- */

static int
sq_stats(struct store *s, int64_t id, const char *date, struct store_stats *x)
{
	char from[32] = "", to[32] = "";
	sqlite3_stmt *st;
	int rc, row;

	if (date != NULL) {
		snprintf(from, sizeof(from), "%sT00:00:00", date);
		snprintf(to, sizeof(to), "%sT23:59:59", date);
	}
	/* One statement: one snapshot. */
	if ((rc = prep(s, "SELECT stats", &st, "SELECT d.last_global_no, "
	    "(SELECT count(*) FROM receipts WHERE device_id = ?1), "
	    "(SELECT count(*) FROM receipts WHERE device_id = ?1 AND "
	    "receipt_date BETWEEN ?2 AND ?3), "
	    "(SELECT count(*) FROM receipts WHERE device_id = ?1 AND "
	    "state IN ('signed', 'submitting')), "
	    "(SELECT count(*) FROM receipts WHERE device_id = ?1 AND "
	    "state IN ('signed', 'submitting') AND state = 'submitting'), "
	    "(SELECT count(*) FROM receipts WHERE device_id = ?1 AND "
	    "state = 'flagged') FROM devices d WHERE d.device_id = ?1", "itt",
	    id, date ? from : NULL, date ? to : NULL)) != STORE_OK)
		return rc;
	if ((rc = step(s, "SELECT stats", st, &row)) == STORE_OK) {
		if (!row)
			rc = store_fail(s, STORE_NOTFOUND, "device %lld is not "
			    "in the journal (not registered)", (long long)id);
		else {
			x->last_global_no = sqlite3_column_int64(st, 0);
			x->receipts = sqlite3_column_int64(st, 1);
			x->date_receipts = sqlite3_column_int64(st, 2);
			x->pending = sqlite3_column_int64(st, 3);
			x->in_doubt = sqlite3_column_int64(st, 4);
			x->flagged = sqlite3_column_int64(st, 5);
		}
	}
	fin(st);
	return rc;
}

/* PRAGMA integrity_check and foreign_key_check on db. */
static int
check_db(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	const unsigned char *t;
	int rc;

	if ((rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check", -1, &st,
	    NULL)) != SQLITE_OK || (rc = sqlite3_step(st)) != SQLITE_ROW) {
		snprintf(err, errlen, "integrity_check: %s",
		    sqlite3_errmsg(db));
		fin(st);
		return STORE_ERROR;
	}
	t = sqlite3_column_text(st, 0);
	if (t == NULL || strcmp((const char *)t, "ok") != 0) {
		snprintf(err, errlen, "integrity_check: %s",
		    t ? (const char *)t : "no answer");
		fin(st);
		return STORE_ERROR;
	}
	fin(st);
	if ((rc = sqlite3_prepare_v2(db, "PRAGMA foreign_key_check", -1, &st,
	    NULL)) != SQLITE_OK) {
		snprintf(err, errlen, "foreign_key_check: %s",
		    sqlite3_errmsg(db));
		return STORE_ERROR;
	}
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		t = sqlite3_column_text(st, 0);
		snprintf(err, errlen, "foreign_key_check: a row of %s (rowid "
		    "%lld) refers to a missing %s", t ? (const char *)t : "?",
		    (long long)sqlite3_column_int64(st, 1),
		    sqlite3_column_text(st, 2) ?
		    (const char *)sqlite3_column_text(st, 2) : "?");
		fin(st);
		return STORE_ERROR;
	}
	if (rc != SQLITE_DONE) {
		snprintf(err, errlen, "foreign_key_check: %s",
		    sqlite3_errmsg(db));
		fin(st);
		return STORE_ERROR;
	}
	fin(st);
	return STORE_OK;
}

static int
sq_integrity(struct store *s)
{
	return check_db(Q(s)->db, s->errmsg, sizeof(s->errmsg));
}

/*
 * Online backup.  sqlite3_backup_step(-1) copies every page inside one
 * read transaction of the source: in WAL mode writers go on meanwhile and
 * the copy is the snapshot at its start.  The copy is written through a
 * rollback journal with synchronous=FULL (the data and, via the
 * journal's directory sync, the new name are on disk when it returns),
 * then switched out of WAL so it is one self-contained file.
 */
static int
sq_backup(struct store *s, const char *path)
{
	char msg[STORE_ERRMSG_MAX];
	sqlite3_backup *b;
	sqlite3 *dst = NULL;
	struct stat sb;
	mode_t old;
	int rc, r, tries = 0;
	/* All pages in one step; a page per step when a test crashes mid-copy. */
	int npages = TESTHOOK_ARMED("backup-copying") ? 1 : -1;

	if (Q(s)->user_tx)
		return store_fail(s, STORE_REFUSED, "backup: not inside a "
		    "transaction");
	if (lstat(path, &sb) == 0)
		return store_fail(s, STORE_REFUSED, "backup: %s exists; a "
		    "backup never overwrites", path);
	if (errno != ENOENT)
		return store_fail(s, STORE_ERROR, "backup: %s: %s", path,
		    strerror(errno));
	old = umask(077);
	r = sqlite3_open_v2(path, &dst, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOFOLLOW, NULL);
	umask(old);
	if (r != SQLITE_OK) {
		rc = store_fail(s, STORE_ERROR, "backup: %s: %s", path,
		    dst ? sqlite3_errmsg(dst) : sqlite3_errstr(r));
		goto out;
	}
	if (sqlite3_extended_result_codes(dst, 1) != SQLITE_OK ||
	    pragma(dst, "PRAGMA synchronous = FULL", NULL, msg,
	    sizeof(msg)) == -1 ||
	    pragma(dst, "PRAGMA secure_delete = ON", "1", msg,
	    sizeof(msg)) == -1) {
		rc = store_fail(s, STORE_ERROR, "backup: %s: %s", path, msg);
		goto out;
	}
	if ((b = sqlite3_backup_init(dst, "main", Q(s)->db, "main")) == NULL) {
		rc = store_fail(s, STORE_ERROR, "backup: sqlite3_backup_init: "
		    "%s", sqlite3_errmsg(dst));
		goto out;
	}
	do {
		r = sqlite3_backup_step(b, npages);
		TESTHOOK_CRASH("backup-copying");
		if (r == SQLITE_BUSY || r == SQLITE_LOCKED) {
			sqlite3_sleep(100);
			tries++;
		}
	} while ((r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED) &&
	    tries < STORE_BUSY_MS / 100);
	if ((rc = sqlite3_backup_finish(b)) != SQLITE_OK || r != SQLITE_DONE) {
		rc = store_fail(s, STORE_ERROR, "backup: sqlite3_backup_step: "
		    "%s", r != SQLITE_DONE ? sqlite3_errstr(r) :
		    sqlite3_errmsg(dst));
		goto out;
	}
	if (pragma(dst, "PRAGMA journal_mode = DELETE", "delete", msg,
	    sizeof(msg)) == -1 ||
	    check_db(dst, msg, sizeof(msg)) != STORE_OK) {
		rc = store_fail(s, STORE_ERROR, "backup: %s: %s", path, msg);
		goto out;
	}
	rc = STORE_OK;
out:
	if (dst != NULL && sqlite3_close(dst) != SQLITE_OK) {
		if (rc == STORE_OK)
			rc = store_fail(s, STORE_ERROR, "backup: closing %s: %s",
			    path, sqlite3_errmsg(dst));
		(void)sqlite3_close_v2(dst);
	}
	return rc;
}

/* PRAGMA page_size of db; -1 with err. */
static long long
page_size(sqlite3 *db, char *err, size_t errlen)
{
	sqlite3_stmt *st = NULL;
	long long v = -1;

	if (sqlite3_prepare_v2(db, "PRAGMA page_size", -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	else
		snprintf(err, errlen, "PRAGMA page_size: %s",
		    sqlite3_errmsg(db));
	fin(st);
	return v;
}

/*
 * Restore (store_restore_from).  The backup runs from a read-only
 * connection to path (with the same defensive settings as ours: a
 * tampered file cannot run functions through its schema) into this
 * connection's "main".  Into a WAL database SQLite can copy only pages
 * of the journal's own size; a backup with another page size (not one
 * of ours, but a valid journal) is copied with the journal briefly out
 * of WAL mode (rollback journal, same all-or-nothing commit), which
 * needs the journal to be open nowhere else, and WAL is switched back
 * on afterwards, also after a failure.  The checkpoint (TRUNCATE) folds
 * the copy into the file when no reader is in the way; when one is, the
 * copy is still durable in the journal's own WAL.
 */
static int
sq_restore_from(struct store *s, const char *path)
{
	char msg[STORE_ERRMSG_MAX];
	sqlite3 *dst = Q(s)->db, *src = NULL;
	sqlite3_backup *b;
	struct stat sb;
	long long spage, dpage;
	int rc, r, tries = 0, left_wal = 0;

	if (Q(s)->user_tx || Q(s)->readonly)
		return store_fail(s, STORE_REFUSED, "restore: not inside a "
		    "transaction, nor into a read-only journal");
	if (lstat(path, &sb) == -1)
		return store_fail(s, STORE_ERROR, "restore: %s: %s", path,
		    strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return store_fail(s, STORE_REFUSED, "restore: %s: not a "
		    "regular file", path);
	r = sqlite3_open_v2(path, &src, SQLITE_OPEN_READONLY |
	    SQLITE_OPEN_NOFOLLOW, NULL);
	if (r != SQLITE_OK) {
		rc = store_fail(s, STORE_ERROR, "restore: %s: %s", path,
		    src ? sqlite3_errmsg(src) : sqlite3_errstr(r));
		goto out;
	}
	if (setup(src, 1, msg, sizeof(msg)) == -1 ||
	    (spage = page_size(src, msg, sizeof(msg))) == -1 ||
	    (dpage = page_size(dst, msg, sizeof(msg))) == -1) {
		rc = store_fail(s, STORE_ERROR, "restore: %s: %s", path, msg);
		goto out;
	}
	if (spage != dpage) {
		if (pragma(dst, "PRAGMA journal_mode = DELETE", "delete", msg,
		    sizeof(msg)) == -1) {
			rc = store_fail(s, STORE_ERROR, "restore: the backup's "
			    "page size %lld differs from the journal's %lld, "
			    "and the journal cannot leave WAL mode for the "
			    "copy (is it open elsewhere?): %s", spage, dpage,
			    msg);
			goto out;
		}
		left_wal = 1;
	}
	if ((b = sqlite3_backup_init(dst, "main", src, "main")) == NULL) {
		rc = store_fail(s, STORE_ERROR, "restore: sqlite3_backup_init: "
		    "%s", sqlite3_errmsg(dst));
		goto out;
	}
	do {
		r = sqlite3_backup_step(b, -1);
		if (r == SQLITE_BUSY || r == SQLITE_LOCKED)
			sqlite3_sleep(100);
	} while ((r == SQLITE_OK || r == SQLITE_BUSY || r == SQLITE_LOCKED) &&
	    ++tries < STORE_BUSY_MS / 100);
	if ((rc = sqlite3_backup_finish(b)) != SQLITE_OK || r != SQLITE_DONE) {
		rc = store_fail(s, STORE_ERROR, "restore: sqlite3_backup_step: "
		    "%s", r != SQLITE_DONE ? sqlite3_errstr(r) :
		    sqlite3_errmsg(dst));
		goto out;
	}
	rc = STORE_OK;
out:
	if (left_wal && pragma(dst, "PRAGMA journal_mode = WAL", "wal", msg,
	    sizeof(msg)) == -1 && rc == STORE_OK)
		rc = store_fail(s, STORE_ERROR, "restore: back to WAL mode: %s",
		    msg);
	if (src != NULL && sqlite3_close(src) != SQLITE_OK)
		(void)sqlite3_close_v2(src);	/* read-only: nothing lost */
	if (rc != STORE_OK)
		return rc;
	/* SQLITE_BUSY: a reader holds old frames; the copy is durable anyway. */
	r = sqlite3_wal_checkpoint_v2(dst, "main", SQLITE_CHECKPOINT_TRUNCATE,
	    NULL, NULL);
	if (r != SQLITE_OK && r != SQLITE_BUSY)
		return store_fail(s, STORE_ERROR, "restore: checkpoint: %s",
		    sqlite3_errmsg(dst));
	if (check_db(dst, msg, sizeof(msg)) != STORE_OK)
		return store_fail(s, STORE_ERROR, "restore: the restored "
		    "journal: %s", msg);
	return STORE_OK;
}

static const struct store_ops sqlite_ops = {
	"sqlite",
	sq_close,
	sq_version,
	sq_migrate,
	sq_begin,
	sq_commit,
	sq_rollback,
	sq_device_put,
	sq_device_get,
	sq_device_list,
	sq_device_block,
	sq_device_raise,
	sq_config_put,
	sq_config_get,
	sq_cert_put,
	sq_cert_get,
	sq_key_put,
	sq_key_get,
	sq_day_open,
	sq_day_get,
	sq_day_update,
	sq_receipt_insert,
	sq_receipt_get,
	sq_receipt_attempt,
	sq_receipt_answer,
	sq_receipt_failed,
	sq_receipts_each,
	sq_stats,
	sq_integrity,
	sq_backup,
	sq_day_request_close,
	sq_receipts_filed,
	sq_restore_from,
};

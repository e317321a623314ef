/*
 * test_migrations.c - numbered schema migrations: up to the latest, down
 * to 0, up again; every step recorded (and removed) in schema_migrations;
 * down to N leaves exactly the schema a fresh up to N makes; data of lower
 * versions survives; a downgrade that would drop rows needs force; a
 * failing step leaves the version where it was; and spoolctl migrate's
 * exit codes (when the program is built).
 *
 * Databases live in a mkdtemp trash directory, removed at the end.
 */
#include "store/store.h"

#include <dirent.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <sqlite3.h>

#include "store/migrations.h"
#include "tap.h"

extern char **environ;

static char trash[] = "/tmp/test_migrations.XXXXXX";

static const char *
tpath(const char *name)
{
	static char buf[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", trash, name);
	return buf[i];
}

static struct store *
open_any(const char *name)
{
	char err[STORE_ERRMSG_MAX];
	enum store_rc rc;
	struct store *s;

	s = store_open(tpath(name), STORE_OPEN_CREATE | STORE_OPEN_ANY_VERSION,
	    &rc, err, sizeof(err));
	CHECK(s != NULL, "open %s: %s", name, err);
	return s;
}

static int
version(struct store *s)
{
	int cur = -1, latest = -1;

	CHECK_INT(store_version(s, &cur, &latest), STORE_OK);
	return cur;
}

/* The schema's objects (type, name, SQL), one per line, sorted. */
static char *
schema_of(const char *name)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	size_t len = 0, cap = 1;
	char *out = calloc(1, 1), *n;
	const char *t, *nm, *sql;

	if (sqlite3_open_v2(tpath(name), &db, SQLITE_OPEN_READONLY, NULL) !=
	    SQLITE_OK || sqlite3_prepare_v2(db, "SELECT type, name, "
	    "coalesce(sql, '') FROM sqlite_master WHERE name NOT LIKE "
	    "'sqlite\\_%' ESCAPE '\\' AND name <> 'schema_migrations' "
	    "ORDER BY type, name", -1, &st, NULL) !=
	    SQLITE_OK)
		goto out;
	while (out != NULL && sqlite3_step(st) == SQLITE_ROW) {
		t = (const char *)sqlite3_column_text(st, 0);
		nm = (const char *)sqlite3_column_text(st, 1);
		sql = (const char *)sqlite3_column_text(st, 2);
		cap = len + strlen(t) + strlen(nm) + strlen(sql) + 4;
		if ((n = realloc(out, cap)) == NULL) {
			free(out);
			out = NULL;
			break;
		}
		out = n;
		len += (size_t)snprintf(out + len, cap - len, "%s %s %s\n", t,
		    nm, sql);
	}
out:
	sqlite3_finalize(st);
	sqlite3_close(db);
	return out;
}

static long long
raw_int(const char *name, const char *sql)
{
	sqlite3_stmt *st = NULL;
	sqlite3 *db = NULL;
	long long v = -1;

	if (sqlite3_open_v2(tpath(name), &db, SQLITE_OPEN_READONLY, NULL) ==
	    SQLITE_OK && sqlite3_prepare_v2(db, sql, -1, &st, NULL) ==
	    SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	sqlite3_close(db);
	return v;
}


static int
table_exists(const char *name, const char *table)
{
	char sql[256];

	snprintf(sql, sizeof(sql), "SELECT count(*) FROM sqlite_master WHERE "
	    "type = 'table' AND name = '%s'", table);
	return raw_int(name, sql) == 1;
}

/*
 * Every applied version recorded once, 1..v, with a UTC time.  At 0 the
 * record may be absent (never migrated) or empty (migrated down to 0).
 */
static void
check_record(const char *name, int v)
{
	if (v == 0 && !table_exists(name, "schema_migrations"))
		return;
	CHECK_INT(raw_int(name, "SELECT count(*) FROM schema_migrations"), v);
	CHECK_INT(raw_int(name, "SELECT coalesce(max(version), 0) FROM "
	    "schema_migrations"), v);
	CHECK_INT(raw_int(name, "SELECT count(*) FROM schema_migrations "
	    "WHERE applied_at GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]"
	    "T[0-9][0-9]:[0-9][0-9]:[0-9][0-9]Z' AND length(name) > 0"), v);
}

static void
table_list(void)
{
	size_t i, j;

	CHECK(migrations_count >= 2, "migrations %zu", migrations_count);
	for (i = 0; i < migrations_count; i++) {
		CHECK_INT(migrations[i].version, (int)i + 1);
		CHECK(migrations[i].name != NULL && migrations[i].up != NULL &&
		    migrations[i].down != NULL && migrations[i].tables[0] !=
		    NULL, "migration %zu incomplete", i + 1);
		for (j = 0; migrations[i].tables[j] != NULL; j++)
			CHECK(strstr(migrations[i].down,
			    migrations[i].tables[j]) != NULL, "down %zu keeps "
			    "%s", i + 1, migrations[i].tables[j]);
	}
}

/* Down to N leaves what a fresh up to N makes, for every N. */
static void
round_trips(void)
{
	int latest = (int)migrations_count, n, v;
	char name[32], *fresh[16], *down;
	struct store *s;

	if (latest >= 16)
		return;
	for (n = 0; n <= latest; n++) {
		snprintf(name, sizeof(name), "fresh%d.db", n);
		if ((s = open_any(name)) == NULL)
			return;
		CHECK_INT(version(s), 0);
		CHECK_INT(store_migrate(s, n, 0), STORE_OK);
		CHECK_INT(version(s), n);
		store_close(s);
		check_record(name, n);
		fresh[n] = schema_of(name);
	}
	if ((s = open_any("updown.db")) == NULL)
		return;
	CHECK_INT(store_migrate(s, -1, 0), STORE_OK);
	CHECK_INT(version(s), latest);
	for (v = latest; v >= 0; v--) {
		CHECK_INT(store_migrate(s, v, 0), STORE_OK);
		CHECK_INT(version(s), v);
		check_record("updown.db", v);
		down = schema_of("updown.db");
		CHECK(down != NULL && fresh[v] != NULL &&
		    strcmp(down, fresh[v]) == 0, "down to %d differs:\n%s\n"
		    "vs fresh:\n%s", v, down ? down : "", fresh[v] ?
		    fresh[v] : "");
		free(down);
	}
	/* And up again, one at a time, to the very same schema. */
	for (v = 1; v <= latest; v++) {
		CHECK_INT(store_migrate(s, v, 0), STORE_OK);
		check_record("updown.db", v);
		down = schema_of("updown.db");
		CHECK(down != NULL && strcmp(down, fresh[v]) == 0,
		    "up to %d differs", v);
		free(down);
	}
	CHECK_INT(store_migrate(s, latest + 1, 0), STORE_SCHEMA);
	CHECK(strstr(store_errmsg(s), "no schema version") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(version(s), latest);
	store_close(s);
	CHECK_INT(raw_int("updown.db", "PRAGMA application_id"),
	    MIGRATIONS_APP_ID);
	for (n = 0; n <= latest; n++)
		free(fresh[n]);
}

/* Data of lower versions survives; the journal is not dropped lightly. */
static void
data(void)
{
	struct store_receipt r, got;
	struct store_device d;
	struct store *s;
	char *pem = NULL;
	size_t len = 0;
	bool enc;

	if ((s = open_any("data.db")) == NULL)
		return;
	CHECK_INT(store_migrate(s, 1, 0), STORE_OK);
	memset(&d, 0, sizeof(d));
	d.device_id = 42;
	d.serial_no = "SN-42";
	d.model_name = "Server";
	d.model_version = "v1";
	d.env = "staging";
	d.base_url = "https://fdmsapitest.zimra.co.zw";
	CHECK_INT(store_device_put(s, &d), STORE_OK);
	CHECK_INT(store_key_put(s, 42, "PEM", 3, NULL), STORE_OK);
	CHECK_INT(store_migrate(s, -1, 0), STORE_OK);
	CHECK_INT(store_day_open(s, 42, 1, "2026-03-01T08:00:00"), STORE_OK);
	memset(&r, 0, sizeof(r));
	r.device_id = 42;
	r.global_no = 1;
	r.day_no = 1;
	r.counter = 1;
	r.invoice_no = "A-1";
	r.currency = "USD";
	r.date = "2026-03-01T08:00:01";
	r.wire_json = "{\"receipt\":{}}";
	r.wire_len = strlen(r.wire_json);
	r.hash = "h1";
	r.signature = "s1";
	r.source_name = "a.json";
	r.source_sha256 = "0123456789abcdef0123456789abcdef"
	    "0123456789abcdef0123456789abcdef";
	CHECK_INT(store_receipt_insert(s, &r, NULL), STORE_OK);

	/* Dropping the journal's rows needs force. */
	CHECK_INT(store_migrate(s, 1, 0), STORE_SCHEMA);
	CHECK(strstr(store_errmsg(s), "receipts (1 rows)") != NULL &&
	    strstr(store_errmsg(s), "fiscal_days (1 rows)") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(version(s), (int)migrations_count);
	CHECK_INT(store_receipt_by_global(s, 42, 1, &got), STORE_OK);
	store_receipt_free(&got);
	CHECK_INT(store_migrate(s, 0, 0), STORE_SCHEMA);
	CHECK(strstr(store_errmsg(s), "devices (1 rows)") != NULL, "%s",
	    store_errmsg(s));

	/* Forced down to 1: the registration is still there. */
	CHECK_INT(store_migrate(s, 1, STORE_MIGRATE_FORCE), STORE_OK);
	CHECK_INT(version(s), 1);
	CHECK(!table_exists("data.db", "receipts") &&
	    !table_exists("data.db", "fiscal_days") &&
	    !table_exists("data.db", "day_counters"), "journal tables left");
	CHECK_INT(store_device_get(s, 42, &d), STORE_OK);
	CHECK(strcmp(d.serial_no, "SN-42") == 0 && d.has_key, "device kept");
	store_device_free(&d);
	CHECK_INT(store_key_get(s, 42, NULL, &pem, &len, &enc), STORE_OK);
	CHECK_STR(pem, "PEM");
	store_secret_free(pem, len);
	/* Empty tables go without force. */
	CHECK_INT(store_migrate(s, -1, 0), STORE_OK);
	CHECK_INT(store_migrate(s, 1, 0), STORE_OK);
	CHECK_INT(store_migrate(s, -1, 0), STORE_OK);
	CHECK_INT(store_day_open(s, 42, 1, "2026-03-01T08:00:00"), STORE_OK);
	CHECK_INT(store_device_get(s, 42, &d), STORE_OK);
	store_device_free(&d);

	/* A migration inside a group, or read-only: refused. */
	CHECK_INT(store_begin(s), STORE_OK);
	CHECK_INT(store_migrate(s, 1, 0), STORE_REFUSED);
	CHECK_INT(store_rollback(s), STORE_OK);
	CHECK_INT(store_migrate(s, 0, STORE_MIGRATE_FORCE), STORE_OK);
	CHECK_INT(version(s), 0);
	CHECK_INT(raw_int("data.db", "SELECT count(*) FROM sqlite_master WHERE "
	    "name <> 'schema_migrations' AND name NOT LIKE 'sqlite%'"), 0);
	store_close(s);
}

/* A step that fails is rolled back whole: the version stays. */
static void
failing_step(void)
{
	struct store *s;
	sqlite3 *db = NULL;

	if ((s = open_any("fail.db")) == NULL)
		return;
	CHECK_INT(store_migrate(s, 1, 0), STORE_OK);
	store_close(s);
	/* A table in the way of version 2's CREATE TABLE receipts. */
	CHECK_INT(sqlite3_open(tpath("fail.db"), &db), SQLITE_OK);
	CHECK_INT(sqlite3_exec(db, "CREATE TABLE receipts (x)", NULL, NULL,
	    NULL), SQLITE_OK);
	sqlite3_close(db);
	if ((s = open_any("fail.db")) == NULL)
		return;
	CHECK_INT(store_migrate(s, -1, 0), STORE_ERROR);
	CHECK(strstr(store_errmsg(s), "already exists") != NULL, "%s",
	    store_errmsg(s));
	CHECK_INT(version(s), 1);
	store_close(s);
	CHECK(!table_exists("fail.db", "fiscal_days"), "half a step left");
	check_record("fail.db", 1);
}

/* spoolctl migrate, when built (SPOOLD_BIN or ./bin). */
static int
spoolctl(const char *prog, const char *db, const char *a1, const char *a2)
{
	char *const argv[] = { (char *)prog, (char *)"migrate", (char *)a1,
	    (char *)a2, NULL };
	char env1[600], env2[600], env3[64];
	char *envp[] = { env1, env2, env3, NULL };
	pid_t pid;
	int st;

	snprintf(env1, sizeof(env1), "DATABASE_URL=%s", db);
	snprintf(env2, sizeof(env2), "SPOOLD_CONF=%s", tpath("empty.conf"));
	snprintf(env3, sizeof(env3), "FDMS_ENV=development");
	if (posix_spawn(&pid, prog, NULL, NULL, argv, envp) != 0 ||
	    waitpid(pid, &st, 0) == -1 || !WIFEXITED(st))
		return -1;
	return WEXITSTATUS(st);
}

static void
command(void)
{
	const char *bin = getenv("SPOOLD_BIN");
	char prog[512], db[512];
	int latest = (int)migrations_count;
	FILE *f;

	/* A copy: tpath's buffers are reused. */
	snprintf(db, sizeof(db), "%s", tpath("cmd.db"));
	snprintf(prog, sizeof(prog), "%s/spoolctl", bin ? bin : "bin");
	if ((f = fopen(tpath("empty.conf"), "w")) == NULL || fclose(f) != 0) {
		CHECK(0, "empty.conf");
		return;
	}
	if (access(prog, X_OK) == -1) {
		printf("# SKIP spoolctl migrate: %s not built\n", prog);
		return;
	}
	CHECK_INT(spoolctl(prog, db, "1", NULL), 0);
	CHECK_INT(raw_int("cmd.db", "SELECT count(*) FROM schema_migrations"),
	    1);
	CHECK_INT(spoolctl(prog, db, NULL, NULL), 0);
	CHECK_INT(raw_int("cmd.db", "SELECT count(*) FROM schema_migrations"),
	    latest);
	CHECK_INT(spoolctl(prog, db, NULL, NULL), 0);	/* nothing to do */
	CHECK_INT(spoolctl(prog, db, "99", NULL), 1);
	CHECK_INT(spoolctl(prog, db, "x", NULL), 2);
	CHECK_INT(spoolctl(prog, db, "-1", NULL), 2);
	CHECK_INT(spoolctl(prog, db, "1", "2"), 2);
	CHECK_INT(spoolctl(prog, db, "0", "--force"), 0);
	CHECK_INT(raw_int("cmd.db", "SELECT count(*) FROM schema_migrations"),
	    0);
	CHECK_INT(spoolctl(prog, "postgresql://h/db", NULL, NULL), 2);
}

static void
cleanup(void)
{
	struct dirent *e;
	DIR *d;

	if ((d = opendir(trash)) == NULL)
		return;
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] != '.')
			unlink(tpath(e->d_name));
	closedir(d);
	rmdir(trash);
}

int
main(void)
{
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	table_list();
	round_trips();
	data();
	failing_step();
	command();
	cleanup();
	return tap_done();
}

/*
 * test_admin_files.c - the pure parts of spoolctl backup and reprocess
 * (lib/spool/admin_files.c): which names are backups, which names may be
 * reprocessed, and which backups retention prunes (never the newest, never
 * the one just made).  The file operations are covered end to end by
 * tests/integration/spoolctl_files.sh.
 *
 * Restore (lib/spool/restore.c, store_restore_from): the name the current
 * journal is kept under; what an older backup lacks (restore_compare);
 * the copy INTO a live journal (the chain continues from the backup's
 * head, the WAL is folded in, a backup with another page size, refusals
 * that leave the journal as it was).  The command itself, with spoold and
 * FDMS, is tests/integration/spoolctl_restore.sh.  Databases live in a
 * mkdtemp trash directory, removed at the end.
 */
#include "spool/admin_files.h"

#include <sys/stat.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "spool/restore.h"
#include "store/store.h"
#include "tap.h"

static void
entry(struct admin_backup_entry *e, const char *name, time_t mtime)
{
	snprintf(e->name, sizeof(e->name), "%s", name);
	e->mtime = mtime;
	e->prune = true;
}

static void
test_names(void)
{
	CHECK_INT(admin_backup_name_ok("db_20260302_101501.sqlite3"), 1);
	CHECK_INT(admin_backup_name_ok("db_20261231_235959.sqlite3"), 1);
	CHECK_INT(admin_backup_name_ok("db_20260302_101501.sqlite3.1"), 0);
	CHECK_INT(admin_backup_name_ok("db_20260302_101501.1.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_2026030_1015011.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_20261302_101501.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_20260300_101501.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_20260302_241501.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_2026O302_101501.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("xb_20260302_101501.sqlite3"), 0);
	CHECK_INT(admin_backup_name_ok("db_20260302_101501.sqlite"), 0);
	CHECK_INT(admin_backup_name_ok(""), 0);
	CHECK_INT(admin_backup_name_ok(NULL), 0);

	CHECK(admin_reprocess_name_refused("sale-1.json") == NULL, "plain");
	CHECK(admin_reprocess_name_refused("sale.1.xml") == NULL, "suffixed");
	CHECK(admin_reprocess_name_refused("") != NULL, "empty");
	CHECK(admin_reprocess_name_refused(NULL) != NULL, "NULL");
	CHECK(admin_reprocess_name_refused("..") != NULL, "..");
	CHECK(admin_reprocess_name_refused("../x") != NULL, "../x");
	CHECK(admin_reprocess_name_refused("a/b") != NULL, "a/b");
	CHECK(admin_reprocess_name_refused("/etc") != NULL, "/etc");
	CHECK(admin_reprocess_name_refused(".hidden") != NULL, "dotfile");
	CHECK(admin_reprocess_name_refused("a.json.error.json") != NULL,
	    "error file");
}

static void
test_prune(void)
{
	struct admin_backup_entry e[5];
	time_t now = 1000000000;
	long day = 86400;

	/* Nothing. */
	CHECK_INT(admin_prune_select(e, 0, now, 7, NULL), 0);

	/* Old ones go, young ones stay. */
	entry(&e[0], "db_20200101_000000.sqlite3", now - 20 * day);
	entry(&e[1], "db_20200102_000000.sqlite3", now - 8 * day);
	entry(&e[2], "db_20200103_000000.sqlite3", now - 7 * day);
	entry(&e[3], "db_20200104_000000.sqlite3", now - 1 * day);
	entry(&e[4], "db_20200105_000000.sqlite3", now);
	CHECK_INT(admin_prune_select(e, 5, now, 7, e[4].name), 2);
	CHECK(e[0].prune && e[1].prune, "older than 7 days pruned");
	CHECK(!e[2].prune, "exactly 7 days old is kept");
	CHECK(!e[3].prune && !e[4].prune, "young kept");

	/* Every one old: the newest stays, even with no keep name. */
	entry(&e[0], "db_20200101_000000.sqlite3", now - 30 * day);
	entry(&e[1], "db_20200102_000000.sqlite3", now - 20 * day);
	entry(&e[2], "db_20200103_000000.sqlite3", now - 40 * day);
	CHECK_INT(admin_prune_select(e, 3, now, 1, NULL), 2);
	CHECK(!e[1].prune, "the newest kept");
	CHECK(e[0].prune && e[2].prune, "the others pruned");

	/* The one just made stays even when a newer mtime exists. */
	entry(&e[0], "db_20200101_000000.sqlite3", now - 30 * day);
	entry(&e[1], "db_20200102_000000.sqlite3", now - 20 * day);
	CHECK_INT(admin_prune_select(e, 2, now, 1, e[0].name), 0);

	/* Equal mtimes: the greater name is the newest. */
	entry(&e[0], "db_20200102_000000.sqlite3", now - 30 * day);
	entry(&e[1], "db_20200101_000000.sqlite3", now - 30 * day);
	CHECK_INT(admin_prune_select(e, 2, now, 1, NULL), 1);
	CHECK(!e[0].prune && e[1].prune, "tie broken by name");

	/* A file from the future (clock set back) is the newest. */
	entry(&e[0], "db_20990101_000000.sqlite3", now + 10 * day);
	entry(&e[1], "db_20200101_000000.sqlite3", now - 3 * day);
	CHECK_INT(admin_prune_select(e, 2, now, 1, NULL), 1);
	CHECK(!e[0].prune && e[1].prune, "future kept as newest");
}

/* -- restore ------------------------------------------------------------- */

static char trash[] = "/tmp/test_admin_files.XXXXXX";

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
open_db(const char *name, int flags)
{
	char err[STORE_ERRMSG_MAX];
	struct store *s;

	s = store_open(tpath(name), flags, NULL, err, sizeof(err));
	CHECK(s != NULL, "open %s: %s", name, err);
	return s;
}

/* Raw SQL behind the store's back: an integer answer, -1 on failure. */
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
raw_exec(const char *name, const char *sql)
{
	sqlite3 *db = NULL;
	int rc;

	if ((rc = sqlite3_open_v2(tpath(name), &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE, NULL)) == SQLITE_OK)
		rc = sqlite3_exec(db, sql, NULL, NULL, NULL);
	sqlite3_close(db);
	return rc;
}

static void
put_device(struct store *s, int64_t id)
{
	struct store_device d;

	memset(&d, 0, sizeof(d));
	d.device_id = id;
	d.serial_no = "SN-1";
	d.model_name = "Server";
	d.model_version = "v1";
	d.env = "development";
	d.base_url = "https://127.0.0.1:1";
	CHECK_INT(store_device_put(s, &d), STORE_OK);
}

/* The chain of one device in day 1, advanced by add_receipt. */
struct chain {
	int64_t	dev, global;
	char	prev[48];
};

static int
add_receipt(struct store *s, struct chain *c)
{
	struct store_receipt r;
	struct counters k;
	char inv[32], date[32], wire[128], hash[48], sha[65];
	int64_t g = c->global + 1;
	int rc;

	memset(&r, 0, sizeof(r));
	r.device_id = c->dev;
	r.global_no = g;
	r.day_no = 1;
	r.counter = g;
	snprintf(inv, sizeof(inv), "INV-%lld", (long long)g);
	r.invoice_no = inv;
	r.type = RECEIPT_FISCAL_INVOICE;
	r.currency = "USD";
	snprintf(date, sizeof(date), "2026-03-02T10:%02lld:00",
	    (long long)(g % 60));
	r.date = date;
	r.total = 100 * g;
	snprintf(wire, sizeof(wire), "{\"receiptGlobalNo\":%lld}",
	    (long long)g);
	r.wire_json = wire;
	r.wire_len = strlen(wire);
	snprintf(hash, sizeof(hash), "hash-%lld", (long long)g);
	r.hash = hash;
	r.signature = "sig";
	r.prev_hash = g > 1 ? c->prev : NULL;
	r.source_name = "sale.json";
	snprintf(sha, sizeof(sha), "%064llx", (unsigned long long)g);
	r.source_sha256 = sha;
	counters_init(&k);
	rc = store_receipt_insert(s, &r, &k);
	counters_free(&k);
	if (rc == STORE_OK) {
		c->global = g;
		snprintf(c->prev, sizeof(c->prev), "%s", hash);
	}
	return rc;
}

static int64_t
receipts_of(struct store *s, int64_t id)
{
	struct store_stats st;

	if (store_stats(s, id, NULL, &st) != STORE_OK)
		return -1;
	return st.receipts;
}

static long long
file_size(const char *name)
{
	struct stat sb;

	return stat(tpath(name), &sb) == 0 ? (long long)sb.st_size : -1;
}

static void
test_aside_name(void)
{
	char out[128];

	setenv("TZ", "UTC", 1);
	tzset();
	CHECK_INT(restore_aside_name("/var/lib/spoold/db.sqlite3", 1772446501,
	    1, out, sizeof(out)), 0);
	CHECK_STR(out, "/var/lib/spoold/db.sqlite3.pre-restore-20260302_101501");
	CHECK_INT(restore_aside_name("db.sqlite3", 1772446501, 2, out,
	    sizeof(out)), 0);
	CHECK_STR(out, "db.sqlite3.pre-restore-20260302_101501-2");
	CHECK_INT(restore_aside_name("/var/lib/spoold/db.sqlite3", 1772446501,
	    1, out, 40), -1);
}

static void
test_compare(void)
{
	struct restore_loss *v = NULL;
	struct store *live, *old, *empty;
	struct chain c = { 1, 0, "" };
	char err[256];
	size_t n = 99;
	int i;

	if ((live = open_db("cmp-live.db", STORE_OPEN_CREATE)) == NULL)
		return;
	put_device(live, 1);
	CHECK_INT(store_day_open(live, 1, 1, "2026-03-02T07:00:00"), STORE_OK);
	CHECK_INT(add_receipt(live, &c), STORE_OK);
	CHECK_INT(store_backup(live, tpath("cmp-old.db")), STORE_OK);
	for (i = 0; i < 2; i++)
		CHECK_INT(add_receipt(live, &c), STORE_OK);
	/* A high-water mark above its receipts (resync adopted FDMS's). */
	if ((old = open_db("cmp-old.db", 0)) != NULL) {
		CHECK_INT(store_device_raise_global_no(old, 1, 10), STORE_OK);
		store_close(old);
	}
	old = open_db("cmp-old.db", STORE_OPEN_READONLY);
	empty = open_db("cmp-empty.db", STORE_OPEN_CREATE);
	if (old == NULL || empty == NULL)
		goto out;

	CHECK_INT(restore_compare(live, old, &v, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK_INT(v[0].device_id, 1);
		CHECK(!v[0].device_missing, "device in the old backup");
		CHECK_INT(v[0].receipts, 2);
		CHECK_INT(v[0].first_global, 2);
		CHECK_INT(v[0].last_global, 3);
		CHECK_INT(v[0].day_cur, 1);
		CHECK_INT(v[0].day_bak, 1);
		CHECK(!v[0].close_lost, "no close lost");
	}
	free(v);

	/* The newer one restored over the older one loses nothing. */
	CHECK_INT(restore_compare(old, live, &v, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 0);
	CHECK(v == NULL, "nothing lost: no array");
	free(v);

	/* A backup without the device: the device and all its receipts. */
	CHECK_INT(restore_compare(live, empty, &v, &n, err, sizeof(err)), 0);
	CHECK_INT(n, 1);
	if (n == 1) {
		CHECK(v[0].device_missing, "device missing from the backup");
		CHECK_INT(v[0].receipts, 3);
		CHECK_INT(v[0].first_global, 1);
		CHECK_INT(v[0].last_global, 3);
		CHECK_INT(v[0].day_bak, 0);
	}
	free(v);

	/* The same receipts, but the day closed since the backup. */
	CHECK_INT(store_backup(live, tpath("cmp-open.db")), STORE_OK);
	{
		struct store_day_update u;

		memset(&u, 0, sizeof(u));
		u.status = STORE_DAY_CLOSED;
		u.closed = "2026-03-02T23:00:00";
		CHECK_INT(store_day_update(live, 1, 1, &u), STORE_OK);
	}
	store_close(old);
	old = open_db("cmp-open.db", STORE_OPEN_READONLY);
	if (old != NULL) {
		CHECK_INT(restore_compare(live, old, &v, &n, err, sizeof(err)),
		    0);
		CHECK_INT(n, 1);
		if (n == 1) {
			CHECK(v[0].close_lost, "the close is lost");
			CHECK_INT(v[0].receipts, 0);
		}
		free(v);
	}
out:
	store_close(empty);
	store_close(old);
	store_close(live);
}

static void
test_restore_from(void)
{
	struct store *live, *ro;
	struct chain c = { 1, 0, "" };
	sqlite3 *other = NULL;
	int i, cur = -1, latest = -1;

	if ((live = open_db("live.db", STORE_OPEN_CREATE)) == NULL)
		return;
	put_device(live, 1);
	CHECK_INT(store_day_open(live, 1, 1, "2026-03-02T07:00:00"), STORE_OK);
	CHECK_INT(add_receipt(live, &c), STORE_OK);
	CHECK_INT(store_backup(live, tpath("one.db")), STORE_OK);
	for (i = 0; i < 3; i++)
		CHECK_INT(add_receipt(live, &c), STORE_OK);
	CHECK_INT(receipts_of(live, 1), 4);

	/* Refusals and failures leave the journal as it was. */
	{
		FILE *f = fopen(tpath("notadb"), "w");

		CHECK(f != NULL && fputs("not a database at all\n", f) >= 0 &&
		    fclose(f) == 0, "write notadb");
	}
	CHECK_INT(store_restore_from(live, tpath("notadb")), STORE_ERROR);
	CHECK(strstr(store_errmsg(live), "notadb") != NULL, "names it: %s",
	    store_errmsg(live));
	CHECK_INT(store_restore_from(live, tpath("missing.db")), STORE_ERROR);
	CHECK_INT(store_restore_from(live, trash), STORE_REFUSED);
	CHECK_INT(store_restore_from(live, ""), STORE_REFUSED);
	CHECK_INT(store_begin(live), STORE_OK);
	CHECK_INT(store_restore_from(live, tpath("one.db")), STORE_REFUSED);
	CHECK_INT(store_rollback(live), STORE_OK);
	if ((ro = open_db("live.db", STORE_OPEN_READONLY)) != NULL) {
		CHECK_INT(store_restore_from(ro, tpath("one.db")),
		    STORE_REFUSED);
		store_close(ro);
	}
	CHECK_INT(receipts_of(live, 1), 4);
	CHECK_INT(store_integrity_check(live), STORE_OK);

	/* The backup INTO the journal: one receipt, the WAL folded in. */
	CHECK_INT(store_restore_from(live, tpath("one.db")), STORE_OK);
	CHECK_INT(receipts_of(live, 1), 1);
	CHECK_INT(store_integrity_check(live), STORE_OK);
	CHECK_INT(store_version(live, &cur, &latest), STORE_OK);
	CHECK_INT(cur, latest);
	CHECK_INT(file_size("live.db-wal"), 0);
	CHECK_INT(raw_int("live.db", "SELECT count(*) FROM pragma_journal_mode "
	    "WHERE journal_mode = 'wal'"), 1);
	CHECK_INT(raw_int("one.db", "SELECT count(*) FROM receipts"), 1);
	/* The chain goes on from the backup's head: global 2 again. */
	c.global = 1;
	snprintf(c.prev, sizeof(c.prev), "hash-1");
	CHECK_INT(add_receipt(live, &c), STORE_OK);
	CHECK_INT(receipts_of(live, 1), 2);

	/* A backup with another page size (VACUUM in rollback mode). */
	{
		char sql[700];

		snprintf(sql, sizeof(sql), "VACUUM INTO '%s'", tpath("big.db"));
		CHECK_INT(raw_exec("one.db", sql), SQLITE_OK);
	}
	CHECK_INT(raw_exec("big.db", "PRAGMA journal_mode = DELETE; "
	    "PRAGMA page_size = 8192; VACUUM;"), SQLITE_OK);
	CHECK_INT(raw_int("big.db", "PRAGMA page_size"), 8192);
	/* Refused while another connection has the journal open. */
	CHECK(sqlite3_open_v2(tpath("live.db"), &other, SQLITE_OPEN_READONLY,
	    NULL) == SQLITE_OK && sqlite3_exec(other, "SELECT count(*) FROM "
	    "receipts", NULL, NULL, NULL) == SQLITE_OK, "other connection");
	CHECK_INT(store_restore_from(live, tpath("big.db")), STORE_ERROR);
	CHECK(strstr(store_errmsg(live), "page size 8192") != NULL,
	    "says why: %s", store_errmsg(live));
	CHECK_INT(receipts_of(live, 1), 2);
	sqlite3_close(other);
	CHECK_INT(store_restore_from(live, tpath("big.db")), STORE_OK);
	CHECK_INT(receipts_of(live, 1), 1);
	CHECK_INT(raw_int("live.db", "PRAGMA page_size"), 8192);
	CHECK_INT(store_integrity_check(live), STORE_OK);
	store_close(live);
	/* Back in WAL mode after the copy through a rollback journal. */
	CHECK_INT(raw_int("live.db", "SELECT count(*) FROM pragma_journal_mode "
	    "WHERE journal_mode = 'wal'"), 1);
	if ((live = open_db("live.db", 0)) != NULL) {
		CHECK_INT(receipts_of(live, 1), 1);
		store_close(live);
	}
	CHECK(file_size("live.db-journal") == -1, "no rollback journal left");
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
	test_names();
	test_prune();
	test_aside_name();
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_compare();
	test_restore_from();
	cleanup();
	return tap_done();
}

/*
 * test_admin_files.c - the pure parts of spoolctl backup and reprocess
 * (lib/spool/admin_files.c): which names are backups, which names may be
 * reprocessed, and which backups retention prunes (never the newest, never
 * the one just made).  The file operations are covered end to end by
 * tests/integration/spoolctl_files.sh.
 */
#include "spool/admin_files.h"

#include <stdio.h>
#include <string.h>

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

int
main(void)
{
	test_names();
	test_prune();
	return tap_done();
}

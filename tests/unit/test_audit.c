/*
 * test_audit.c - the journal audit (lib/spool/audit.c, interface.md §7).
 *
 * A journal is built through the store API with real ECDSA signatures
 * (tests/bench/mkjournal.h: the daemon's own string, signature, wire and
 * journal steps), over three days of which two are closed (with the
 * CloseDay body close-day journals) and across a certificate renewal,
 * with each receipt's file and result in done/.  The audit must pass it,
 * single-threaded and on a pool, and must name each tampering an attacker
 * could do to a copy of the database (triggers dropped, rows edited
 * through SQLite itself) or to done/: the kind, and the first bad record
 * with its day, receiptCounter and receiptGlobalNo.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cJSON.h>
#include <sqlite3.h>

#include "../bench/mkjournal.h"
#include "daemon/config.h"
#include "spool/audit.h"
#include "tap.h"

#define DEV	77

static char trash[] = "/tmp/test_audit.XXXXXX";
static char clean_db[4200], done_dir[4200];

/* The clean journal: day 1 (6, closed), renewal, day 2 (5, closed), day 3
 * (5, open).  Global numbers 1..16. */
static int
build_clean(void)
{
	struct mkj m;
	int i, rc = -1;

	snprintf(clean_db, sizeof(clean_db), "%s/clean.sqlite3", trash);
	snprintf(done_dir, sizeof(done_dir), "%s/done", trash);
	if (mkdir(done_dir, 0700) == -1)
		return -1;
	if (mkj_create(&m, clean_db, DEV, SIGKEY_ECDSA, done_dir) == -1 ||
	    mkj_open_day(&m) == -1)
		goto out;
	for (i = 0; i < 6; i++)
		if (mkj_receipt(&m, i % 2 ? "ZWG" : "USD", i == 4 ?
		    RECEIPT_CREDIT_NOTE : RECEIPT_FISCAL_INVOICE, 500 + i,
		    1155 + 100 * i, i % 3 ? "Card" : "Cash", NULL) == -1)
			goto out;
	if (mkj_close_day(&m) == -1 || mkj_new_key(&m, SIGKEY_ECDSA) == -1 ||
	    mkj_open_day(&m) == -1)
		goto out;
	for (i = 0; i < 5; i++)
		if (mkj_receipt(&m, "USD", i == 3 ? RECEIPT_DEBIT_NOTE :
		    RECEIPT_FISCAL_INVOICE, 200, 2310 + i, "Cash", NULL) == -1)
			goto out;
	if (mkj_close_day(&m) == -1 || mkj_open_day(&m) == -1)
		goto out;
	for (i = 0; i < 5; i++)
		if (mkj_receipt(&m, i % 2 ? "USD" : "ZWG",
		    RECEIPT_FISCAL_INVOICE, 0, 1000 + i, "MobileWallet",
		    NULL) == -1)
			goto out;
	rc = 0;
out:
	if (rc == -1)
		fprintf(stderr, "building the journal: %s\n", m.err);
	mkj_free(&m);
	return rc;
}

static int
copy_file(const char *from, const char *to)
{
	char buf[65536];
	FILE *in, *out;
	size_t n;
	int ok = 1;

	if ((in = fopen(from, "rb")) == NULL)
		return -1;
	if ((out = fopen(to, "wb")) == NULL) {
		fclose(in);
		return -1;
	}
	while ((n = fread(buf, 1, sizeof(buf), in)) > 0)
		ok = ok && fwrite(buf, 1, n, out) == n;
	ok = ok && !ferror(in);
	fclose(in);
	return fclose(out) == 0 && ok ? 0 : -1;
}

/* A copy of the clean journal with the triggers gone, as an attacker's. */
static const char *
attacker_copy(const char *name, sqlite3 **db)
{
	static char path[4300];
	char p[4400];

	snprintf(path, sizeof(path), "%s/%s.sqlite3", trash, name);
	snprintf(p, sizeof(p), "%s-wal", path);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s-shm", path);
	(void)unlink(p);
	if (copy_file(clean_db, path) == -1 ||
	    sqlite3_open_v2(path, db, SQLITE_OPEN_READWRITE, NULL) !=
	    SQLITE_OK || sqlite3_exec(*db,
	    "DROP TRIGGER receipts_signed_fixed;"
	    "DROP TRIGGER receipts_no_delete;"
	    "DROP TRIGGER fiscal_days_closed_final;", NULL, NULL, NULL) !=
	    SQLITE_OK) {
		fprintf(stderr, "attacker copy %s: %s\n", path,
		    *db ? sqlite3_errmsg(*db) : "?");
		return NULL;
	}
	return path;
}

static int
sql(sqlite3 *db, const char *q)
{
	char *e = NULL;

	if (sqlite3_exec(db, q, NULL, NULL, &e) != SQLITE_OK) {
		fprintf(stderr, "SQL %s: %s\n", q, e ? e : "?");
		sqlite3_free(e);
		return -1;
	}
	return 0;
}

/* One text column of one row; malloc'd. */
static char *
sql_text(sqlite3 *db, const char *q)
{
	sqlite3_stmt *st;
	char *out = NULL;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		return NULL;
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_text(st, 0))
		out = strdup((const char *)sqlite3_column_text(st, 0));
	sqlite3_finalize(st);
	return out;
}

static int
sql_set(sqlite3 *db, const char *q, const char *a, const char *b)
{
	sqlite3_stmt *st;
	int rc;

	if (sqlite3_prepare_v2(db, q, -1, &st, NULL) != SQLITE_OK)
		return -1;
	sqlite3_bind_text(st, 1, a, -1, SQLITE_TRANSIENT);
	if (b != NULL)
		sqlite3_bind_text(st, 2, b, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st) == SQLITE_DONE ? 0 : -1;
	sqlite3_finalize(st);
	return rc;
}

static int
run_audit(const char *db, const char *done, int64_t day, int threads,
    struct audit_device_report *rep)
{
	struct audit_opts o;
	struct store *s;
	enum store_rc src;
	char err[512];
	int rc;

	memset(&o, 0, sizeof(o));
	o.threads = threads;
	if ((s = store_open(db, STORE_OPEN_READONLY, &src, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "open %s: %s\n", db, err);
		return -2;
	}
	rc = audit_device(s, DEV, done, day, &o, rep);
	store_close(s);
	return rc;
}

static void
dump(const struct audit_device_report *r)
{
	int k;

	for (k = 0; k < AUDIT_KIND_COUNT; k++)
		if (r->count[k] > 0)
			fprintf(stderr, "    %s x%lld: day %lld counter %lld "
			    "global %lld file %s: %s (expected %s found %s)\n",
			    audit_kind_name(k), (long long)r->count[k],
			    (long long)r->first[k].day_no,
			    (long long)r->first[k].counter,
			    (long long)r->first[k].global_no, r->first[k].file,
			    r->first[k].message, r->first[k].expected,
			    r->first[k].found);
	if (r->error[0])
		fprintf(stderr, "    error: %s\n", r->error);
}

/* The kind is reported, and its first bad record is this one. */
#define CHECK_FIRST(rep, kind, day, ctr, glob) do { \
	const struct audit_finding *f_ = &(rep)->first[kind]; \
	CHECK((rep)->count[kind] > 0 && f_->day_no == (day) && \
	    f_->counter == (ctr) && f_->global_no == (glob), \
	    "%s: count %lld first day %lld counter %lld global %lld, want " \
	    "day %d counter %d global %d", audit_kind_name(kind), \
	    (long long)(rep)->count[kind], (long long)f_->day_no, \
	    (long long)f_->counter, (long long)f_->global_no, (day), (ctr), \
	    (glob)); \
	} while (0)

static struct audit_device_report rep;	/* large: not on the stack */

static void
test_clean(void)
{
	int t;

	for (t = 1; t <= 4; t *= 4) {
		CHECK_INT(run_audit(clean_db, done_dir, 0, t, &rep), 0);
		if (!audit_device_passed(&rep))
			dump(&rep);
		CHECK(audit_device_passed(&rep), "clean journal, %d threads", t);
		CHECK_INT(rep.receipts, 16);
		CHECK_INT(rep.days, 3);
		CHECK_INT(rep.closed_days, 2);
		CHECK(rep.files_checked, "done/ paired");
		CHECK_INT(rep.files, 32);
	}
	/* Without done/ pairing, and a device the journal does not know. */
	CHECK_INT(run_audit(clean_db, NULL, 0, 2, &rep), 0);
	CHECK(!rep.files_checked && rep.receipts == 16, "no files");
	{
		struct store *s;
		enum store_rc src;
		char err[256];

		s = store_open(clean_db, STORE_OPEN_READONLY, &src, err,
		    sizeof(err));
		CHECK(s != NULL, "%s", err);
		if (s != NULL) {
			CHECK_INT(audit_device(s, 999, NULL, 0, NULL, &rep), 0);
			CHECK(!rep.in_journal, "unknown device");
			store_close(s);
		}
	}
}

/* receiptTotal changed in the stored wire JSON. */
static void
test_changed_amount(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("amount", &db);
	char *w;

	CHECK(p != NULL, "copy");
	w = sql_text(db, "SELECT wire_json FROM receipts WHERE global_no = 3");
	CHECK(w != NULL && strstr(w, "\"receiptTotal\":18.57") != NULL,
	    "receipt 3's total: %s", w ? w : "(none)");
	CHECK_INT(sql(db, "UPDATE receipts SET wire_json = replace(wire_json, "
	    "'\"receiptTotal\":18.57', '\"receiptTotal\":81.57') WHERE "
	    "global_no = 3"), 0);
	free(w);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_HASH, 1, 3, 3);
	CHECK_FIRST(&rep, AUDIT_SIGNATURE, 1, 3, 3);
	CHECK_FIRST(&rep, AUDIT_WIRE, 1, 3, 3);
	CHECK_STR(rep.first[AUDIT_WIRE].expected, "18.57");
	CHECK_STR(rep.first[AUDIT_WIRE].found, "81.57");
	CHECK_INT(rep.count[AUDIT_HASH], 1);
	CHECK_INT(rep.count[AUDIT_CHAIN], 0);
	/* A closed day: the close request no longer adds up either. */
	CHECK_INT(rep.count[AUDIT_CLOSE_SIGNATURE], 0);
}

/* The journaled hash changed: the recomputed one differs, the chain to
 * the next receipt breaks. */
static void
test_changed_hash(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("hash", &db);
	char *h;

	CHECK(p != NULL, "copy");
	h = sql_text(db, "SELECT hash FROM receipts WHERE global_no = 8");
	CHECK_INT(sql(db, "UPDATE receipts SET hash = "
	    "'AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=' WHERE "
	    "global_no = 8"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 3, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_HASH, 2, 2, 8);
	CHECK_STR(rep.first[AUDIT_HASH].expected, h ? h : "?");
	CHECK_STR(rep.first[AUDIT_HASH].found,
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
	CHECK_FIRST(&rep, AUDIT_CHAIN, 2, 3, 9);
	CHECK_INT(rep.count[AUDIT_SIGNATURE], 0);
	free(h);
}

/* A receipt deleted from the middle of day 2. */
static void
test_deleted(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("deleted", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "DELETE FROM receipts WHERE global_no = 9"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_COUNTER, 2, 4, 10);
	CHECK_STR(rep.first[AUDIT_COUNTER].expected, "3");
	CHECK_STR(rep.first[AUDIT_COUNTER].found, "4");
	CHECK_FIRST(&rep, AUDIT_GLOBAL_NO, 2, 4, 10);
	CHECK_STR(rep.first[AUDIT_GLOBAL_NO].expected, "9");
	CHECK_FIRST(&rep, AUDIT_CHAIN, 2, 4, 10);
	/* Its sums are gone from the day; its file is now unknown. */
	CHECK(rep.count[AUDIT_DAY_COUNTERS] == 1 &&
	    rep.first[AUDIT_DAY_COUNTERS].day_no == 2, "day counters");
	CHECK(rep.count[AUDIT_FILE_EXTRA] >= 1 &&
	    strcmp(rep.first[AUDIT_FILE_EXTRA].file, "r0000009.json") == 0,
	    "extra file %s", rep.first[AUDIT_FILE_EXTRA].file);
}

/* The last receipt of the journal deleted: the day head and the device's
 * high-water mark still name it. */
static void
test_deleted_last(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("deleted-last", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "DELETE FROM receipts WHERE global_no = 16"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, NULL, 0, 2, &rep), 1);
	CHECK(rep.count[AUDIT_GLOBAL_NO] == 1 &&
	    strcmp(rep.first[AUDIT_GLOBAL_NO].expected, "16") == 0,
	    "high-water mark: %s", rep.first[AUDIT_GLOBAL_NO].message);
	CHECK(rep.count[AUDIT_COUNTER] == 1 &&
	    rep.first[AUDIT_COUNTER].day_no == 3 &&
	    rep.first[AUDIT_COUNTER].counter == 5, "day head");
}

/* Receipts 12 and 13 (day 3, counters 1 and 2) swap places. */
static void
test_swapped(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("swapped", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "PRAGMA ignore_check_constraints = ON;"
	    "UPDATE receipts SET global_no = 1000, counter = 1000 WHERE "
	    "global_no = 12;"
	    "UPDATE receipts SET global_no = 12, counter = 1 WHERE "
	    "global_no = 13;"
	    "UPDATE receipts SET global_no = 13, counter = 2 WHERE "
	    "global_no = 1000;"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_CHAIN, 3, 1, 12);
	CHECK_FIRST(&rep, AUDIT_WIRE, 3, 1, 12);
	CHECK_INT(rep.count[AUDIT_WIRE], 2);
	CHECK_INT(rep.count[AUDIT_HASH], 0);
}

/* Receipt 5 re-signed (journal row and wire) with a key of the attacker. */
static void
test_other_key(void)
{
	struct findings *f = calloc(1, sizeof(*f));
	struct sigkey *k;
	struct receipt *r = NULL;
	struct buf b;
	sqlite3 *db = NULL;
	const char *p = attacker_copy("otherkey", &db), *stage;
	char *w, *prev, *old, sig[SIG_B64_MAX + 1], e[256];

	CHECK(p != NULL && f != NULL, "copy");
	buf_init(&b, 1 << 16);
	k = sigkey_generate(SIGKEY_ECDSA, e, sizeof(e));
	w = sql_text(db, "SELECT wire_json FROM receipts WHERE global_no = 5");
	prev = sql_text(db, "SELECT prev_hash FROM receipts WHERE "
	    "global_no = 5");
	old = sql_text(db, "SELECT signature FROM receipts WHERE "
	    "global_no = 5");
	if (w != NULL)
		r = doc_read(w, strlen(w), DOC_JSON, NULL, 0, f, &stage);
	CHECK(k != NULL && r != NULL && prev != NULL && old != NULL,
	    "receipt 5");
	if (k != NULL && r != NULL && prev != NULL && old != NULL &&
	    sigstr_receipt(r, DEV, prev, &b) == 0 &&
	    sign_b64(k, b.p, b.len, sig, sizeof(sig), e, sizeof(e)) == 0) {
		CHECK_INT(sql_set(db, "UPDATE receipts SET signature = ?1, "
		    "wire_json = replace(wire_json, ?2, ?1) WHERE global_no = 5",
		    sig, old), 0);
	} else
		CHECK(0, "re-signing");
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_SIGNATURE, 1, 5, 5);
	CHECK_INT(rep.count[AUDIT_SIGNATURE], 1);
	CHECK_INT(rep.count[AUDIT_HASH], 0);
	CHECK_INT(rep.count[AUDIT_WIRE], 0);
	receipt_free(r);
	sigkey_free(k);
	buf_free(&b);
	free(w);
	free(prev);
	free(old);
	free(f);
}

static void
test_files(void)
{
	char from[4400], to[4400], path[4400];
	FILE *fp;
	struct mkj m;
	struct buf in;

	/* A journaled file gone from done/ (its result stays). */
	snprintf(from, sizeof(from), "%s/r0000006.json", done_dir);
	snprintf(to, sizeof(to), "%s/r0000006.json.away", trash);
	CHECK_INT(rename(from, to), 0);
	CHECK_INT(run_audit(clean_db, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_FILE_MISSING, 1, 6, 6);
	CHECK_INT(rep.count[AUDIT_FILE_MISSING], 1);
	CHECK_INT(rep.count[AUDIT_FILE_EXTRA], 0);
	CHECK_INT(rename(to, from), 0);

	/* A receipt's file whose bytes changed. */
	snprintf(path, sizeof(path), "%s/r0000007.json", done_dir);
	CHECK_INT(copy_file(path, to), 0);
	if ((fp = fopen(path, "ab")) != NULL) {
		fputs(" ", fp);
		fclose(fp);
	}
	CHECK_INT(run_audit(clean_db, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_FILE_MISSING, 2, 1, 7);
	CHECK_INT(rep.count[AUDIT_FILE_EXTRA], 0);
	CHECK_INT(rename(to, path), 0);

	/* A file in done/ the journal does not know. */
	memset(&m, 0, sizeof(m));
	m.device_id = DEV;
	m.global_no = 500;
	buf_init(&in, 1 << 16);
	mkj_input(&m, &in, "USD", RECEIPT_FISCAL_INVOICE, 100, 200, "Cash");
	CHECK_INT(mkj_write(done_dir, "stray.json", in.p, in.len), 0);
	/* ... and copies of journaled receipts (re-drops) that are fine. */
	snprintf(path, sizeof(path), "%s/r0000002.json", done_dir);
	snprintf(to, sizeof(to), "%s/r0000002.1.json", done_dir);
	CHECK_INT(copy_file(path, to), 0);
	snprintf(to, sizeof(to), "%s/r0000003.1.json", done_dir);
	snprintf(path, sizeof(path), "%s/r0000003.json", done_dir);
	CHECK_INT(copy_file(path, to), 0);
	if ((fp = fopen(to, "ab")) != NULL) {	/* other bytes, same content */
		fputs("\n\n", fp);
		fclose(fp);
	}
	CHECK_INT(run_audit(clean_db, done_dir, 0, 2, &rep), 1);
	CHECK_INT(rep.count[AUDIT_FILE_EXTRA], 1);
	CHECK_STR(rep.first[AUDIT_FILE_EXTRA].file, "stray.json");
	CHECK_INT(rep.count[AUDIT_FILE_MISSING], 0);
	/* --day N does not look for unknown files (they have no day). */
	CHECK_INT(run_audit(clean_db, done_dir, 1, 2, &rep), 0);
	snprintf(path, sizeof(path), "%s/stray.json", done_dir);
	CHECK_INT(unlink(path), 0);
	CHECK_INT(unlink(to), 0);
	snprintf(to, sizeof(to), "%s/r0000002.1.json", done_dir);
	CHECK_INT(unlink(to), 0);
	CHECK_INT(run_audit(clean_db, done_dir, 0, 2, &rep), 0);
	buf_free(&in);
}

/* A counter of closed day 1's close request changed. */
static void
test_close_counter(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("closecounter", &db);
	char *q, *v, *out = NULL;

	CHECK(p != NULL, "copy");
	q = sql_text(db, "SELECT close_request FROM fiscal_days WHERE "
	    "day_no = 1");
	v = q ? strstr(q, "\"fiscalCounterValue\":") : NULL;
	CHECK(v != NULL, "a counter in %s", q ? q : "(none)");
	if (v != NULL && (out = malloc(strlen(q) + 16)) != NULL) {
		const char *end = v + strlen("\"fiscalCounterValue\":");

		while (*end == '-' || *end == '.' || (*end >= '0' && *end <= '9'))
			end++;
		snprintf(out, strlen(q) + 16, "%.*s\"fiscalCounterValue\":999.99%s",
		    (int)(v - q), q, end);
		CHECK_INT(sql_set(db, "UPDATE fiscal_days SET close_request = ?1 "
		    "WHERE day_no = 1", out, NULL), 0);
	}
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_CLOSE_COUNTERS, 1, 6, 0);
	CHECK(strstr(rep.first[AUDIT_CLOSE_COUNTERS].found, "999.99") != NULL,
	    "found %s", rep.first[AUDIT_CLOSE_COUNTERS].found);
	/* The signed hash was over the real counters. */
	CHECK_FIRST(&rep, AUDIT_CLOSE_SIGNATURE, 1, 6, 0);
	CHECK_INT(rep.count[AUDIT_DAY_COUNTERS], 0);
	free(q);
	free(out);
}

/* Day 1's close signature replaced by day 2's (a real signature, over
 * another string). */
static void
test_close_signature(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("closesig", &db);
	char *s1, *s2;

	CHECK(p != NULL, "copy");
	s1 = sql_text(db, "SELECT close_signature FROM fiscal_days WHERE "
	    "day_no = 1");
	s2 = sql_text(db, "SELECT close_signature FROM fiscal_days WHERE "
	    "day_no = 2");
	CHECK(s1 != NULL && s2 != NULL, "close signatures");
	if (s1 != NULL && s2 != NULL)
		CHECK_INT(sql_set(db, "UPDATE fiscal_days SET close_signature = "
		    "?1, close_request = replace(close_request, ?2, ?1) WHERE "
		    "day_no = 1", s2, s1), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_CLOSE_SIGNATURE, 1, 6, 0);
	CHECK_INT(rep.count[AUDIT_CLOSE_SIGNATURE], 1);
	CHECK_INT(rep.count[AUDIT_CLOSE_COUNTERS], 0);
	free(s1);
	free(s2);
}

/* A closed day without its close request: a finding, unless FDMS closed
 * it with reconciliation Manual (ZIMRA did; the device signed nothing). */
static void
test_close_missing(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("closemissing", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "UPDATE fiscal_days SET close_request = NULL, "
	    "close_hash = NULL, close_signature = NULL WHERE day_no = 2"), 0);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_CLOSE_COUNTERS, 2, 0, 0);
	CHECK_INT(rep.count[AUDIT_CLOSE_SIGNATURE], 0);
	CHECK_INT(sql(db, "UPDATE fiscal_days SET fdms_answer = "
	    "'{\"fiscalDayStatus\":\"FiscalDayClosed\","
	    "\"fiscalDayReconciliationMode\":\"Manual\"}' WHERE day_no = 2"),
	    0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 0);
	if (!audit_device_passed(&rep))
		dump(&rep);
}

/* A receipt journaled long before its certificate existed. */
static void
test_cert_validity(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("validity", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "UPDATE receipts SET created_at = "
	    "'2001-01-01T00:00:00Z' WHERE global_no = 10"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_SIGNATURE, 2, 4, 10);
	CHECK(strstr(rep.first[AUDIT_SIGNATURE].message, "outside the "
	    "validity of certificate 2") != NULL, "%s",
	    rep.first[AUDIT_SIGNATURE].message);
	CHECK_INT(rep.count[AUDIT_SIGNATURE], 1);
}

/* The journal's running counters of a day edited. */
static void
test_day_counters(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("daycounters", &db);

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "UPDATE day_counters SET value = value + 1 WHERE "
	    "day_no = 3 AND counter_type = 'BalanceByMoneyType'"), 0);
	sqlite3_close(db);
	CHECK_INT(run_audit(p, done_dir, 0, 2, &rep), 1);
	CHECK_FIRST(&rep, AUDIT_DAY_COUNTERS, 3, 0, 0);
	CHECK_INT(rep.count[AUDIT_DAY_COUNTERS], 1);
}

/* Several bad receipts: the first is the lowest global number, whatever
 * the threads; --day N looks at that day only. */
static void
test_first_and_day(void)
{
	sqlite3 *db = NULL;
	const char *p = attacker_copy("several", &db);
	int i, t;

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "UPDATE receipts SET wire_json = replace(wire_json, "
	    "'\"receiptDate\":\"2026', '\"receiptDate\":\"2027') WHERE "
	    "global_no IN (4, 9, 14, 15)"), 0);
	sqlite3_close(db);
	for (i = 0; i < 6; i++) {
		t = i % 3 == 0 ? 1 : i % 3 == 1 ? 2 : 8;
		CHECK_INT(run_audit(p, done_dir, 0, t, &rep), 1);
		CHECK_FIRST(&rep, AUDIT_HASH, 1, 4, 4);
		CHECK_INT(rep.count[AUDIT_HASH], 4);
		CHECK_FIRST(&rep, AUDIT_WIRE, 1, 4, 4);
	}
	CHECK_INT(run_audit(p, done_dir, 2, 2, &rep), 1);
	CHECK_INT(rep.receipts, 5);
	CHECK_INT(rep.days, 1);
	CHECK_FIRST(&rep, AUDIT_HASH, 2, 3, 9);
	CHECK_INT(rep.count[AUDIT_HASH], 1);
	CHECK_INT(rep.count[AUDIT_GLOBAL_NO], 0);	/* 6 is in day 1 */
	CHECK_INT(run_audit(clean_db, done_dir, 2, 2, &rep), 0);
	CHECK_INT(rep.receipts, 5);
	CHECK_INT(run_audit(clean_db, done_dir, 99, 2, &rep), 1);
	CHECK(rep.day_missing, "no day 99");
}

/* The text and JSON reports carry the same findings. */
static void
test_output(void)
{
	struct audit_report r;
	sqlite3 *db = NULL;
	const char *p = attacker_copy("output", &db);
	cJSON *root, *d, *fnd, *x;
	char *json, *text = NULL;
	size_t len;
	FILE *fp;

	CHECK(p != NULL, "copy");
	CHECK_INT(sql(db, "UPDATE receipts SET hash = "
	    "'BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=' WHERE "
	    "global_no = 11"), 0);
	sqlite3_close(db);
	memset(&r, 0, sizeof(r));
	r.ndevices = 1;
	r.threads = 2;
	r.devices = calloc(1, sizeof(*r.devices));
	CHECK(r.devices != NULL, "memory");
	if (r.devices == NULL)
		return;
	CHECK_INT(run_audit(p, done_dir, 0, 2, &r.devices[0]), 1);
	snprintf(r.devices[0].name, sizeof(r.devices[0].name), "shop");

	fp = open_memstream(&text, &len);
	audit_print_text(fp, &r);
	fclose(fp);
	CHECK(text != NULL && strstr(text, "audit: FAIL") != NULL &&
	    strstr(text, "hash") != NULL && strstr(text, "receiptGlobalNo 11")
	    != NULL && strstr(text, "BBBBBBBB") != NULL, "text: %s", text);
	free(text);

	json = audit_to_json(&r);
	root = json ? cJSON_Parse(json) : NULL;
	CHECK(root != NULL, "JSON parses: %s", json ? json : "(null)");
	x = cJSON_GetObjectItem(root, "result");
	CHECK(cJSON_IsString(x) && strcmp(x->valuestring, "fail") == 0,
	    "result");
	d = cJSON_GetArrayItem(cJSON_GetObjectItem(root, "devices"), 0);
	x = cJSON_GetObjectItem(cJSON_GetObjectItem(d, "counts"), "hash");
	CHECK(cJSON_IsNumber(x) && x->valueint == 1, "counts.hash");
	fnd = NULL;
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(d, "findings"))
		if (strcmp(cJSON_GetObjectItem(x, "kind")->valuestring,
		    "hash") == 0)
			fnd = cJSON_GetObjectItem(x, "first");
	CHECK(fnd != NULL && cJSON_GetObjectItem(fnd,
	    "receiptGlobalNo")->valueint == 11 && cJSON_GetObjectItem(fnd,
	    "fiscalDayNo")->valueint == 2 && cJSON_GetObjectItem(fnd,
	    "receiptCounter")->valueint == 5 && strcmp(cJSON_GetObjectItem(fnd,
	    "found")->valuestring, "BBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBBB=") ==
	    0, "JSON first hash record");
	cJSON_Delete(root);
	free(json);
	audit_report_free(&r);
}

/* An RSA device: PKCS#1 v1.5 signatures verify the same way. */
static void
test_rsa(void)
{
	char db[4300];
	struct mkj m;
	int ok;

	snprintf(db, sizeof(db), "%s/rsa.sqlite3", trash);
	ok = mkj_create(&m, db, DEV, SIGKEY_RSA, NULL) == 0 &&
	    mkj_open_day(&m) == 0 &&
	    mkj_receipt(&m, "USD", RECEIPT_FISCAL_INVOICE, 100, 1155, "Cash",
	    NULL) == 0 &&
	    mkj_receipt(&m, "USD", RECEIPT_FISCAL_INVOICE, 0, 2310, "Card",
	    NULL) == 0 && mkj_close_day(&m) == 0;
	CHECK(ok, "RSA journal: %s", m.err);
	mkj_free(&m);
	CHECK_INT(run_audit(db, NULL, 0, 2, &rep), 0);
	if (!audit_device_passed(&rep))
		dump(&rep);
	CHECK_INT(rep.receipts, 2);
	CHECK_INT(rep.closed_days, 1);
}

int
main(void)
{
	char cmd[4200];

	if (mkdtemp(trash) == NULL || build_clean() == -1) {
		CHECK(0, "setting up %s", trash);
		return tap_done();
	}
	test_clean();
	test_changed_amount();
	test_changed_hash();
	test_deleted();
	test_deleted_last();
	test_swapped();
	test_other_key();
	test_files();
	test_close_counter();
	test_close_signature();
	test_close_missing();
	test_cert_validity();
	test_day_counters();
	test_first_and_day();
	test_output();
	test_rsa();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", trash);
	if (system(cmd) != 0)
		fprintf(stderr, "could not remove %s\n", trash);
	return tap_done();
}

/*
 * bench_audit.c - how fast spoolctl audit verifies a journal (issue 5:
 * "benchmark it on 100,000 receipts in make bench").
 *
 *   bench_audit            small journal (make check: proves the program
 *                          still builds and the audit passes; no timing
 *                          is asserted)
 *   bench_audit --full     100,000 receipts (make bench)
 *   bench_audit [-n N] [--threads T] [--files] [--keep]
 *
 * Builds, in a temporary directory, a journal of N ECDSA P-256 signed and
 * chained receipts through the store API (tests/bench/mkjournal.h: the
 * daemon's own string, signature, wire and journal steps), over several
 * days of which all but the last are closed, in two currencies with
 * invoices and credit notes, then times audit_device single-threaded and
 * on every online CPU and prints receipts per second.  --files also
 * writes each receipt's file and result to done/ and pairs them (I/O
 * bound: off by default at full size).  Exit 0 and "# passed N failed 0"
 * when every audit passed with N receipts verified.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mkjournal.h"
#include "spool/audit.h"

#define SMALL_N		600
#define FULL_N		100000
#define PER_DAY		10000
#define TXN_ROWS	1000

static double
now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
build(struct mkj *m, const char *db, const char *done, int64_t n)
{
	static const char *const money[] = { "Cash", "Card", "MobileWallet" };
	int64_t days = n / PER_DAY, per_day, i, k = 0;

	if (days < 3)
		days = 3;
	per_day = (n + days - 1) / days;
	if (mkj_create(m, db, 4242, SIGKEY_ECDSA, done) == -1)
		return -1;
	for (i = 0; i < n; i++) {
		if (i % per_day == 0) {
			if (m->day_no != 0 && mkj_close_day(m) == -1)
				return -1;
			if (mkj_open_day(m) == -1)
				return -1;
		}
		if (i % TXN_ROWS == 0 && store_begin(m->s) != STORE_OK)
			return mkj_fail(m, "begin: %s", store_errmsg(m->s));
		if (mkj_receipt(m, i % 2 ? "ZWG" : "USD", i % 10 == 9 ?
		    RECEIPT_CREDIT_NOTE : RECEIPT_FISCAL_INVOICE,
		    100 + (i % 7) * 25, 1155 + (i % 13) * 10, money[k++ % 3],
		    NULL) == -1)
			return -1;
		if ((i % TXN_ROWS == TXN_ROWS - 1 || i == n - 1) &&
		    store_commit(m->s) != STORE_OK)
			return mkj_fail(m, "commit: %s", store_errmsg(m->s));
	}
	return 0;
}

static void
cleanup(const char *dir, const char *db, const char *done, int64_t n)
{
	char p[8192];
	int64_t g;

	for (g = 1; done != NULL && g <= n; g++) {
		snprintf(p, sizeof(p), "%s/r%07" PRId64 ".json", done, g);
		(void)unlink(p);
		snprintf(p, sizeof(p), "%s/r%07" PRId64 ".json.result.json",
		    done, g);
		(void)unlink(p);
	}
	if (done != NULL)
		(void)rmdir(done);
	(void)unlink(db);
	snprintf(p, sizeof(p), "%s-wal", db);
	(void)unlink(p);
	snprintf(p, sizeof(p), "%s-shm", db);
	(void)unlink(p);
	(void)rmdir(dir);
}

static int
run(struct store *s, const char *done, int threads, int64_t n, int *pass,
    int *failed)
{
	struct audit_device_report *rep;
	struct audit_opts o;
	double t0, dt;
	int rc;

	if ((rep = calloc(1, sizeof(*rep))) == NULL)
		return -1;
	memset(&o, 0, sizeof(o));
	o.threads = threads;
	t0 = now_s();
	rc = audit_device(s, 4242, done, 0, &o, rep);
	dt = now_s() - t0;
	printf("audit, %2d thread%s: %8.3f s  %9.0f receipts/s  (%s)\n",
	    threads, threads == 1 ? " " : "s", dt, (double)rep->receipts / dt,
	    rc == 0 ? "pass" : "FAIL");
	if (rc == 0 && rep->receipts == n)
		(*pass)++;
	else {
		(*failed)++;
		fprintf(stderr, "FAIL: audit with %d threads: rc %d, %" PRId64
		    " receipts, error \"%s\"\n", threads, rc, rep->receipts,
		    rep->error);
		for (int k = 0; k < AUDIT_KIND_COUNT; k++)
			if (rep->count[k] > 0)
				fprintf(stderr, "  %s %" PRId64 ": %s\n",
				    audit_kind_name(k), rep->count[k],
				    rep->first[k].message);
	}
	free(rep);
	return 0;
}

int
main(int argc, char **argv)
{
	struct mkj m;
	struct store *s;
	enum store_rc src;
	const char *tmp = getenv("TMPDIR");
	char dir[4096], db[4200], done[4200], err[512];
	int64_t n = SMALL_N;
	int i, threads = 0, pass = 0, failed = 0, keep = 0, files = -1;
	long cpus = sysconf(_SC_NPROCESSORS_ONLN);
	double t0, dt;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--full") == 0)
			n = FULL_N;
		else if (strcmp(argv[i], "-n") == 0 && i + 1 < argc)
			n = strtoll(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--threads") == 0 && i + 1 < argc)
			threads = (int)strtol(argv[++i], NULL, 10);
		else if (strcmp(argv[i], "--files") == 0)
			files = 1;
		else if (strcmp(argv[i], "--keep") == 0)
			keep = 1;
		else {
			fprintf(stderr, "usage: bench_audit [--full] [-n N] "
			    "[--threads T] [--files] [--keep]\n");
			return 2;
		}
	}
	if (n < 1)
		n = 1;
	if (files == -1)
		files = n <= SMALL_N;	/* small: exercise done/ too */
	if (threads <= 0)
		threads = cpus > 0 ? (int)cpus : 1;
	snprintf(dir, sizeof(dir), "%s/bench_audit.XXXXXX", tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "mkdtemp %s: %s\n", dir, strerror(errno));
		return 1;
	}
	snprintf(db, sizeof(db), "%s/db.sqlite3", dir);
	snprintf(done, sizeof(done), "%s/done", dir);
	if (files && mkdir(done, 0700) == -1) {
		fprintf(stderr, "mkdir %s: %s\n", done, strerror(errno));
		return 1;
	}

	t0 = now_s();
	if (build(&m, db, files ? done : NULL, n) == -1) {
		fprintf(stderr, "FAIL: building the journal: %s\n", m.err);
		mkj_free(&m);
		cleanup(dir, db, files ? done : NULL, n);
		printf("# passed 0 failed 1\n");
		return 1;
	}
	dt = now_s() - t0;
	printf("journal: %" PRId64 " receipts (ECDSA P-256, USD and ZWG, "
	    "invoices and credit notes) in %" PRId64 " days, %" PRId64
	    " closed%s; built in %.1f s\n", n, m.last_day, m.last_day - 1,
	    files ? ", files in done/" : "", dt);
	mkj_free(&m);

	if ((s = store_open(db, STORE_OPEN_READONLY, &src, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "FAIL: %s\n", err);
		failed++;
	} else {
		printf("online CPUs: %ld\n", cpus);
		run(s, files ? done : NULL, 1, n, &pass, &failed);
		if (threads > 1)
			run(s, files ? done : NULL, threads, n, &pass, &failed);
		store_close(s);
	}
	if (keep)
		printf("kept: %s\n", dir);
	else
		cleanup(dir, db, files ? done : NULL, n);
	printf("# passed %d failed %d\n", pass, failed);
	return failed ? 1 : 0;
}

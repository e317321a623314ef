/*
 * cmd_export.c - spoolctl export [--day N] [--format jsonl|fdms-file]
 *                [--output-dir D]
 *
 * The day's receipts exactly as journaled (and sent to FDMS), from the
 * journal alone: no FDMS access, the database opened read-only.
 *
 *   jsonl      one line per receipt in journal order:
 *              {"deviceID":N,"previousReceiptHash":"..." (not on the day's
 *              first),"receipt":<wire JSON byte for byte>}; `spoolctl
 *              inspect` on a line reproduces the journaled hash.
 *   fdms-file  the FDMS SubmitFile document(s) of the day (dayfile.c),
 *              with the footer when the day is closed or its close
 *              requested; byte for byte what close-day sends for an
 *              Offline device.  One document goes to stdout; a day that
 *              needs several (3 MB each at most) needs --output-dir D,
 *              where day<N>-<seq>.json are written (atomically, never
 *              half a file).
 *
 * Default day: the device's latest.  Exit: 0 written, 1 no such day or
 * an I/O problem, 2 usage or configuration error.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "daemon/config.h"
#include "spool/dayfile.h"
#include "spoolctl.h"
#include "store/store.h"
#include "util/buf.h"
#include "util/fsutil.h"

struct out_files {
	int		 dirfd;		/* -1: stdout */
	const char	*dir;
	int64_t		 day_no;
	bool		 failed;
	char		 err[512];
};

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl export: %s\nusage: spoolctl export [--day N] "
	    "[--format jsonl|fdms-file] [--output-dir D]\n", why);
	return EXIT_USAGE;
}

static int
count_cb(int64_t seq, const char *doc, size_t len, void *arg)
{
	(void)seq;
	(void)doc;
	(void)len;
	(void)arg;
	return 0;
}

static int
write_cb(int64_t seq, const char *doc, size_t len, void *arg)
{
	struct out_files *o = arg;
	char name[64];

	if (o->dirfd == -1) {
		if (fwrite(doc, 1, len, stdout) != len) {
			snprintf(o->err, sizeof(o->err), "cannot write the "
			    "output");
			o->failed = true;
			return 1;
		}
		return 0;
	}
	snprintf(name, sizeof(name), "day%" PRId64 "-%" PRId64 ".json",
	    o->day_no, seq);
	if (fsutil_write_atomic(o->dirfd, name, doc, len, 0640, o->err,
	    sizeof(o->err)) != FSUTIL_OK) {
		o->failed = true;
		return 1;
	}
	printf("%s/%s\n", o->dir, name);
	return 0;
}

static int
export_files(struct store *s, const struct store_day *day, const char *dir)
{
	struct out_files o;
	struct buf foot;
	char err[256];
	int n, has, rc = EXIT_FAIL;

	memset(&o, 0, sizeof(o));
	o.dirfd = -1;
	o.dir = dir;
	o.day_no = day->day_no;
	buf_init(&foot, 1024 * 1024);
	if ((has = dayfile_day_footer(day, &foot)) == -1) {
		fprintf(stderr, "spoolctl export: fiscal day %" PRId64 ": the "
		    "journaled close request is not one spoolctl wrote\n",
		    day->day_no);
		goto out;
	}
	if ((n = dayfile_build(s, day, has ? foot.p : NULL, 0, count_cb, NULL,
	    err, sizeof(err))) < 1) {
		fprintf(stderr, "spoolctl export: %s\n", err);
		goto out;
	}
	if (n > 1 && dir == NULL) {
		fprintf(stderr, "spoolctl export: fiscal day %" PRId64 " needs %d "
		    "SubmitFile documents (at most 3 MB each): give --output-dir "
		    "D to write them as D/day%" PRId64 "-1.json ...\n",
		    day->day_no, n, day->day_no);
		goto out;
	}
	if (dir != NULL && (o.dirfd = fsutil_open_dir(dir, 1)) == -1) {
		fprintf(stderr, "spoolctl export: %s: %s\n", dir,
		    strerror(errno));
		goto out;
	}
	if (dayfile_build(s, day, has ? foot.p : NULL, 0, write_cb, &o, err,
	    sizeof(err)) != n || o.failed) {
		fprintf(stderr, "spoolctl export: %s\n", o.failed ? o.err : err);
		goto out;
	}
	if (!has)
		fprintf(stderr, "spoolctl export: fiscal day %" PRId64 " has no "
		    "close request yet: the document%s ha%s no footer\n",
		    day->day_no, n > 1 ? "s" : "", n > 1 ? "ve" : "s");
	rc = EXIT_OK;
out:
	if (o.dirfd != -1)
		(void)close(o.dirfd);
	buf_free(&foot);
	return rc;
}

/* The configured device to export (as devadmin_open picks it). */
static const struct config_device *
pick_device(const struct config *cfg, const char *name)
{
	size_t i;

	if (name != NULL) {
		for (i = 0; i < cfg->ndevices; i++)
			if (strcmp(cfg->devices[i].name, name) == 0)
				return &cfg->devices[i];
		fprintf(stderr, "spoolctl: no device \"%s\" in the "
		    "configuration\n", name);
		return NULL;
	}
	if (cfg->ndevices == 1)
		return &cfg->devices[0];
	fprintf(stderr, "spoolctl: %zu devices are configured: name one with "
	    "--device NAME\n", cfg->ndevices);
	return NULL;
}

int
cmd_export(const struct spoolctl_globals *g, int argc, char **argv)
{
	static struct config_problems p;	/* large: not on the stack */
	const struct config_device *dev;
	struct config *cfg;
	struct store *s = NULL;
	struct store_day day;
	enum store_rc src;
	const char *format = "jsonl", *dir = NULL;
	char err[512], *end;
	long long day_no = 0;
	long n;
	int i, rc = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--day") == 0 && i + 1 < argc) {
			errno = 0;
			day_no = strtoll(argv[++i], &end, 10);
			if (argv[i][0] < '1' || argv[i][0] > '9' || errno != 0 ||
			    *end != '\0' || day_no > INT32_MAX)
				return usage("--day takes a fiscal day number");
		} else if (strcmp(argv[i], "--format") == 0 && i + 1 < argc) {
			format = argv[++i];
			if (strcmp(format, "jsonl") != 0 &&
			    strcmp(format, "fdms-file") != 0)
				return usage("--format is jsonl or fdms-file");
		} else if (strcmp(argv[i], "--output-dir") == 0 &&
		    i + 1 < argc) {
			dir = argv[++i];
			if (*dir == '\0')
				return usage("--output-dir needs a directory");
		} else
			return usage("unexpected argument");
	}
	if (dir != NULL && strcmp(format, "fdms-file") != 0)
		return usage("--output-dir goes with --format fdms-file");

	config_problems_clear(&p);
	cfg = config_load(g->config_path, &p);
	if (cfg != NULL)
		(void)config_check(cfg, &p);
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if ((dev = pick_device(cfg, g->device)) == NULL) {
		config_free(cfg);
		return EXIT_USAGE;
	}
	/* The journal only, and only read: export works beside a live spoold. */
	if ((s = store_open(cfg->database, STORE_OPEN_READONLY, &src, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "spoolctl: %s\n", err);
		config_free(cfg);
		return src == STORE_SCHEMA ? EXIT_USAGE : EXIT_FAIL;
	}
	if (store_day_get(s, dev->device_id, day_no, &day) != STORE_OK) {
		fprintf(stderr, "spoolctl export: device %s: %s\n", dev->name,
		    store_errmsg(s));
		goto out;
	}
	if (strcmp(format, "jsonl") == 0) {
		if ((n = dayfile_export_jsonl(s, dev->device_id, day.day_no,
		    stdout, err, sizeof(err))) < 0)
			fprintf(stderr, "spoolctl export: %s\n", err);
		else
			rc = EXIT_OK;
	} else
		rc = export_files(s, &day, dir);
	store_day_free(&day);
out:
	store_close(s);
	config_free(cfg);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

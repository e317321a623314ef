/*
 * cmd_pregolive.c - spoolctl pre-golive [--skip-close] [--min-receipts N]
 * [--timeout S]
 *
 * Parses the options, opens the device (configuration, journal, FDMS
 * client: devadmin_open) and the logs, and runs the checklist of
 * lib/spool/golive.c.  --timeout is close-day's, for the close the
 * checklist may run.
 *
 * Exit: 0 every item passes, 1 an item failed (each printed as a
 * PASS/FAIL line), 2 usage or configuration error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/dayclose.h"
#include "spool/devadmin.h"
#include "spool/golive.h"
#include "spoolctl.h"
#include "util/log.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl pre-golive: %s\nusage: spoolctl pre-golive "
	    "[--skip-close] [--min-receipts N] [--timeout S]\n", why);
	return EXIT_USAGE;
}

/* A decimal in [lo, hi], or -1. */
static long long
number(const char *s, long long lo, long long hi)
{
	char *end;
	long long v;

	if (s[0] < '0' || s[0] > '9')
		return -1;
	errno = 0;
	v = strtoll(s, &end, 10);
	if (errno != 0 || *end != '\0' || v < lo || v > hi)
		return -1;
	return v;
}

int
cmd_pre_golive(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct golive_opts o;
	struct devadmin a;
	long long v;
	int i, rc;

	memset(&o, 0, sizeof(o));
	o.min_receipts = GOLIVE_MIN_RECEIPTS;
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--skip-close") == 0)
			o.skip_close = true;
		else if (strcmp(argv[i], "--min-receipts") == 0 &&
		    i + 1 < argc) {
			if ((v = number(argv[++i], 0, 1000000000)) < 0)
				return usage("--min-receipts takes a number, "
				    "0 to 1000000000");
			o.min_receipts = v;
		} else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			if ((v = number(argv[++i], 1,
			    DAYCLOSE_TIMEOUT_MAX_S)) < 0)
				return usage("--timeout takes seconds, 1 to "
				    "86400");
			o.close_timeout_s = (int)v;
		} else
			return usage("unexpected argument");
	}
	if ((rc = devadmin_open(&a, g->config_path, g->device, false)) !=
	    EXIT_OK)
		return rc;
	if (log_init(a.cfg->logs_dir, 0, 0) == -1)
		fprintf(stderr, "spoolctl pre-golive: %s: cannot open every log "
		    "file\n", a.cfg->logs_dir);
	rc = golive_run(&a, &o, stdout);
	log_close();
	devadmin_close(&a);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

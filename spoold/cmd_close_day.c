/*
 * cmd_close_day.c - spoolctl close-day [--no-wait] [--timeout S]
 *
 * Parses the options, opens the device (configuration, journal, FDMS
 * client: devadmin_open) and the logs, and calls dayclose_run
 * (lib/spool/dayclose.c), which holds every decision.
 *
 * Exit: 0 closed (or already closed; with --no-wait: FDMS accepted the
 * close), 1 refused or FiscalDayCloseFailed (the reason printed), 75 FDMS
 * unreachable or the close still in progress after --timeout (run again),
 * 2 usage or configuration error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/dayclose.h"
#include "spool/devadmin.h"
#include "spoolctl.h"
#include "util/log.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl close-day: %s\nusage: spoolctl close-day "
	    "[--no-wait] [--timeout S]\n", why);
	return EXIT_USAGE;
}

int
cmd_close_day(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct dayclose_opts o;
	struct devadmin a;
	char *end;
	long v;
	int i, rc;

	memset(&o, 0, sizeof(o));
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--no-wait") == 0)
			o.no_wait = true;
		else if (strcmp(argv[i], "--timeout") == 0 && i + 1 < argc) {
			errno = 0;
			v = strtol(argv[++i], &end, 10);
			if (argv[i][0] < '0' || argv[i][0] > '9' || errno != 0 ||
			    *end != '\0' || v < 1 || v > DAYCLOSE_TIMEOUT_MAX_S)
				return usage("--timeout takes seconds, 1 to "
				    "86400");
			o.timeout_s = (int)v;
		} else
			return usage("unexpected argument");
	}
	if ((rc = devadmin_open(&a, g->config_path, g->device, false)) !=
	    EXIT_OK)
		return rc;
	if (log_init(a.cfg->logs_dir, 0, 0) == -1)
		fprintf(stderr, "spoolctl close-day: %s: cannot open every log "
		    "file\n", a.cfg->logs_dir);
	rc = dayclose_run(&a, &o, stdout);
	log_close();
	devadmin_close(&a);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

/*
 * cmd_backup.c - spoolctl backup [--output-dir D] [--retain DAYS]
 *
 * Parses the options, loads the configuration (only what concerns the
 * journal must be right, as for migrate: a backup must be possible on a
 * half-configured or broken installation), sets the time zone the
 * backup's name is written in, opens the logs and calls admin_backup
 * (lib/spool/admin_files.c), which holds every decision.
 *
 * Exit: 0 written and verified (and pruned), 1 failed or refused
 * (PostgreSQL), 2 usage or configuration error.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/admin_files.h"
#include "spoolctl.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timeutil.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl backup: %s\nusage: spoolctl backup "
	    "[--output-dir D] [--retain DAYS]\n", why);
	return EXIT_USAGE;
}

int
cmd_backup(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct config_problems p;
	struct config *cfg;
	const char *dir = NULL;
	char *end;
	long long retain = -1;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--output-dir") == 0 && i + 1 < argc) {
			dir = argv[++i];
			if (*dir == '\0')
				return usage("--output-dir needs a directory");
		} else if (strcmp(argv[i], "--retain") == 0 && i + 1 < argc) {
			errno = 0;
			retain = strtoll(argv[++i], &end, 10);
			if (argv[i][0] < '0' || argv[i][0] > '9' || errno != 0 ||
			    *end != '\0' || retain < ADMIN_RETAIN_MIN ||
			    retain > ADMIN_RETAIN_MAX)
				return usage("--retain takes a number of days, "
				    "1 to 36500");
		} else
			return usage("unexpected argument");
	}

	cfg = config_load(g->config_path, &p);
	if (cfg != NULL && p.n == 0) {
		if (cfg->env == CONFIG_ENV_INVALID)
			config_problem_add(&p, cfg->path ? cfg->path :
			    "environment FDMS_ENV", "env", "\"%s\" is not one "
			    "of development, staging, production", cfg->env_name);
		else if (timeutil_set_zone(cfg->timezone) == -1)
			config_problem_add(&p, cfg->path ? cfg->path :
			    "environment FDMS_TZ", "timezone", "unknown time "
			    "zone %s", cfg->timezone);
		else if (strncmp(cfg->database, "postgresql://", 13) != 0 &&
		    strncmp(cfg->database, "postgres://", 11) != 0)
			(void)store_config_check(cfg, &p);
		/* PostgreSQL: admin_backup says what it will do (exit 1). */
	}
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (log_init(cfg->logs_dir, 0, 0) == -1)
		fprintf(stderr, "spoolctl backup: %s: cannot open every log "
		    "file\n", cfg->logs_dir);
	rc = admin_backup(cfg, dir, retain, stdout);
	log_close();
	config_free(cfg);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

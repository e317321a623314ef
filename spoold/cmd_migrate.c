/*
 * cmd_migrate.c - spoolctl migrate [VERSION] [--force]
 *
 * Brings the configured journal's schema to the latest version this
 * program knows, or up or down to VERSION, one version per transaction
 * (lib/store/migrations.c).  A missing database is created.  A downgrade
 * that would drop tables holding rows (the fiscal journal!) is refused
 * unless --force; take a backup first.  Outside development, spoold and
 * the other commands refuse an older schema, so running this is the
 * upgrade step after installing a new spoold.
 *
 * Exit: 0 done (or already there), 1 refused or failed, 2 usage or
 * configuration error (only the settings that concern the journal).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "spoolctl.h"
#include "store/store.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl migrate: %s\nusage: spoolctl migrate "
	    "[VERSION] [--force]\n", why);
	return EXIT_USAGE;
}

/* A non-negative decimal version number; 0 or -1. */
static int
parse_version(const char *s, int *v)
{
	char *end;
	long n;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	n = strtol(s, &end, 10);
	if (errno != 0 || *end != '\0' || n < 0 || n > INT_MAX)
		return -1;
	*v = (int)n;
	return 0;
}

int
cmd_migrate(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct config_problems p;
	struct config *cfg;
	struct store *s;
	enum store_rc rc;
	char err[STORE_ERRMSG_MAX];
	int i, target = -1, have_target = 0, force = 0, from, to, latest;
	int ret = EXIT_FAIL;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = 1;
		else if (have_target)
			return usage("more than one VERSION");
		else if (parse_version(argv[i], &target) == -1)
			return usage("VERSION must be a schema version number");
		else
			have_target = 1;
	}

	/*
	 * Only what concerns the journal must be right: the file parses,
	 * the environment is known, and the store's checks pass (mode in
	 * production, devices registered in this environment).  Migrating
	 * is an install step, often done before the devices are set up, so
	 * a missing device ID or FDMS URL does not stop it.
	 */
	cfg = config_load(g->config_path, &p);
	if (cfg != NULL && p.n == 0) {
		if (cfg->env == CONFIG_ENV_INVALID)
			config_problem_add(&p, cfg->path ? cfg->path :
			    "environment FDMS_ENV", "env", "\"%s\" is not one "
			    "of development, staging, production", cfg->env_name);
		else
			(void)store_config_check(cfg, &p);
	}
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return EXIT_USAGE;
	}

	/* Any version: this command is how a mismatch gets fixed. */
	s = store_open(cfg->database, STORE_OPEN_CREATE |
	    STORE_OPEN_ANY_VERSION, &rc, err, sizeof(err));
	if (s == NULL) {
		fprintf(stderr, "spoolctl migrate: %s\n", err);
		config_free(cfg);
		return EXIT_FAIL;
	}
	if (store_version(s, &from, &latest) != STORE_OK) {
		fprintf(stderr, "spoolctl migrate: %s: %s\n", cfg->database,
		    store_errmsg(s));
		goto out;
	}
	if (store_migrate(s, target, force ? STORE_MIGRATE_FORCE : 0) !=
	    STORE_OK) {
		fprintf(stderr, "spoolctl migrate: %s: %s\n", cfg->database,
		    store_errmsg(s));
		/* Say how far it got: each step is committed on its own. */
		if (store_version(s, &to, &latest) == STORE_OK && to != from)
			fprintf(stderr, "spoolctl migrate: %s: stopped at "
			    "schema version %d (from %d)\n", cfg->database, to,
			    from);
		goto out;
	}
	if (store_version(s, &to, &latest) != STORE_OK) {
		fprintf(stderr, "spoolctl migrate: %s: %s\n", cfg->database,
		    store_errmsg(s));
		goto out;
	}
	if (to == from)
		printf("%s: schema version %d (latest %d), nothing to do\n",
		    cfg->database, to, latest);
	else
		printf("%s: schema version %d -> %d (latest %d)\n",
		    cfg->database, from, to, latest);
	ret = EXIT_OK;
out:
	store_close(s);
	config_free(cfg);
	return ret;
}

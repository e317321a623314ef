/*
 * cmd_audit.c - spoolctl [--device NAME] audit [--day N] [--json]
 *
 * Parses the options, loads the configuration (only what the journal and
 * the spool directories need must be right: an audit must be possible on
 * an installation whose FDMS settings are broken), opens the journal
 * READ-ONLY (never created, never migrated: an audit changes nothing) and
 * calls audit_run (lib/spool/audit.c), which holds every decision.
 *
 * Exit: 0 the audit passed, 1 a finding (or the audit could not run to
 * its end), 2 usage or configuration error (interface.md §1, §7).
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/audit.h"
#include "spoolctl.h"
#include "store/store.h"
#include "util/timeutil.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl audit: %s\nusage: spoolctl [--device NAME] "
	    "audit [--day N] [--json]\n", why);
	return EXIT_USAGE;
}

/* The configuration, checked as far as the audit depends on it. */
static struct config *
load_config(const struct spoolctl_globals *g)
{
	static struct config_problems p;	/* large: not on the stack */
	struct config *cfg;
	size_t i;

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
		for (i = 0; i < cfg->ndevices; i++)
			if ((g->device == NULL ||
			    strcmp(cfg->devices[i].name, g->device) == 0) &&
			    cfg->devices[i].device_id <= 0)
				config_problem_add(&p, cfg->path ? cfg->path :
				    "environment FDMS_DEVICE_ID", "device_id",
				    "device %s has no device_id",
				    cfg->devices[i].name);
	}
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return NULL;
	}
	return cfg;
}

int
cmd_audit(const struct spoolctl_globals *g, int argc, char **argv)
{
	struct audit_report rep;
	struct audit_opts opts;
	struct config *cfg;
	struct store *s;
	enum store_rc src;
	char err[512], *end, *json;
	long long day = 0;
	bool as_json = false, found = false;
	size_t i;
	int k, rc;

	for (k = 1; k < argc; k++) {
		if (strcmp(argv[k], "--day") == 0 && k + 1 < argc) {
			errno = 0;
			day = strtoll(argv[++k], &end, 10);
			if (argv[k][0] < '1' || argv[k][0] > '9' ||
			    errno != 0 || *end != '\0' || day > INT32_MAX)
				return usage("--day takes a fiscal day number "
				    "(1 or more)");
		} else if (strcmp(argv[k], "--json") == 0)
			as_json = true;
		else
			return usage("unexpected argument");
	}

	if ((cfg = load_config(g)) == NULL)
		return EXIT_USAGE;
	if (g->device != NULL) {
		for (i = 0; i < cfg->ndevices; i++)
			found = found || strcmp(cfg->devices[i].name,
			    g->device) == 0;
		if (!found) {
			fprintf(stderr, "spoolctl: no device \"%s\" in the "
			    "configuration\n", g->device);
			config_free(cfg);
			return EXIT_USAGE;
		}
	}
	/* Read-only: a missing journal is an error, never created here. */
	if ((s = store_open(cfg->database, STORE_OPEN_READONLY, &src, err,
	    sizeof(err))) == NULL) {
		fprintf(stderr, "spoolctl: %s\n", err);
		config_free(cfg);
		return src == STORE_SCHEMA ? EXIT_USAGE : EXIT_FAIL;
	}

	memset(&opts, 0, sizeof(opts));
	rc = audit_run(s, cfg, g->device, (int64_t)day, &opts, &rep);
	if (as_json) {
		if ((json = audit_to_json(&rep)) == NULL) {
			fprintf(stderr, "spoolctl: out of memory\n");
			rc = -1;
		} else {
			printf("%s\n", json);
			free(json);
		}
	} else
		audit_print_text(stdout, &rep);
	for (i = 0; i < rep.ndevices; i++)
		if (rep.devices[i].error[0] != '\0')
			fprintf(stderr, "spoolctl audit: device %s: %s\n",
			    rep.devices[i].name, rep.devices[i].error);
	audit_report_free(&rep);
	store_close(s);
	config_free(cfg);
	if (fflush(stdout) == EOF) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		return EXIT_FAIL;
	}
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

/*
 * cmd_restore.c - spoolctl restore FILE [--force]
 *
 * Parses the options, loads and checks the configuration, sets the time
 * zone (the name the current journal is kept under is in local time),
 * opens the logs and calls admin_restore (lib/spool/restore.c), which
 * holds every decision: spoold's locks, the checks of the backup and of
 * the current journal, keeping it aside, the copy, the signing block and
 * the resync.
 *
 * The configuration is checked without the journal's own checks: the
 * current journal may be exactly the broken thing being replaced, and a
 * broken journal must not stop its own restore.  The restored journal
 * gets those checks when resync opens it.  The whole journal is restored
 * (every device), so --device does not apply.
 *
 * Exit: 0 restored and every registered device consistent with FDMS;
 * 1 refused or failed (nothing changed), or restored but resync needs an
 * admin (signing blocked, the reason printed); 2 usage or configuration.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/restore.h"
#include "spoolctl.h"
#include "store/store.h"
#include "util/log.h"
#include "util/timeutil.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl restore: %s\nusage: spoolctl restore FILE "
	    "[--force]\n", why);
	return EXIT_USAGE;
}

int
cmd_restore(const struct spoolctl_globals *g, int argc, char **argv)
{
	static struct config_problems p;	/* large: not on the stack */
	struct config *cfg;
	const char *file = NULL;
	bool force = false;
	int i, rc;

	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--force") == 0)
			force = true;
		else if (argv[i][0] == '-' && argv[i][1] != '\0')
			return usage("unknown option");
		else if (file != NULL)
			return usage("one backup FILE only");
		else if (argv[i][0] == '\0')
			return usage("FILE is empty");
		else
			file = argv[i];
	}
	if (file == NULL)
		return usage("which backup? name its FILE");
	if (g->device != NULL)
		return usage("the whole journal (every device) is restored: "
		    "--device does not apply");

	config_problems_clear(&p);
	cfg = config_load(g->config_path, &p);
	if (cfg != NULL && p.n == 0) {
		config_set_store_check(NULL);
		(void)config_check(cfg, &p);
		config_set_store_check(store_config_check);
		if (p.n == 0 && timeutil_set_zone(cfg->timezone) == -1)
			config_problem_add(&p, cfg->path ? cfg->path :
			    "environment FDMS_TZ", "timezone", "unknown time "
			    "zone %s", cfg->timezone);
	}
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (log_init(cfg->logs_dir, 0, 0) == -1)
		fprintf(stderr, "spoolctl restore: %s: cannot open every log "
		    "file\n", cfg->logs_dir);
	rc = admin_restore(cfg, g->config_path, file, force, stdout);
	log_close();
	config_free(cfg);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

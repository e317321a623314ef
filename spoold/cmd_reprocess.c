/*
 * cmd_reprocess.c - spoolctl [--device NAME] reprocess NAME...|--all
 *
 * Parses the names, loads the configuration (only the spool layout must
 * be right: fixing rejected files must not wait for FDMS settings), picks
 * the device (--device, or the only one), opens the logs and calls
 * admin_reprocess (lib/spool/admin_files.c), which moves each file from
 * error/ back to inbox/ and removes its .error.json.
 *
 * Exit: 0 every file moved, 1 some name refused or failed (the others
 * are still done), 2 usage or configuration error.
 */
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "spool/admin_files.h"
#include "spoolctl.h"
#include "util/log.h"
#include "util/timeutil.h"

static int
usage(const char *why)
{
	fprintf(stderr, "spoolctl reprocess: %s\nusage: spoolctl [--device "
	    "NAME] reprocess NAME...|--all\n", why);
	return EXIT_USAGE;
}

int
cmd_reprocess(const struct spoolctl_globals *g, int argc, char **argv)
{
	static struct config_problems p;	/* large: not on the stack */
	const struct config_device *dev = NULL;
	struct config *cfg;
	bool all = false;
	int i, first = 1, rc;
	size_t k;

	if (argc > 1 && strcmp(argv[1], "--") == 0)
		first = 2;
	else if (argc > 1 && strcmp(argv[1], "--all") == 0) {
		if (argc > 2)
			return usage("--all takes no names");
		all = true;
	} else
		for (i = 1; i < argc; i++)
			if (argv[i][0] == '-')
				return usage("unknown option (use -- before a "
				    "name starting with '-')");
	if (!all && argc <= first)
		return usage("name the files, or --all");

	cfg = config_load(g->config_path, &p);
	if (cfg != NULL && p.n == 0 && timeutil_set_zone(cfg->timezone) == -1)
		config_problem_add(&p, cfg->path ? cfg->path :
		    "environment FDMS_TZ", "timezone", "unknown time zone %s",
		    cfg->timezone);
	if (cfg == NULL || p.n > 0 || p.dropped > 0) {
		config_problems_print(stderr, "spoolctl", &p);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (g->device != NULL) {
		for (k = 0; k < cfg->ndevices; k++)
			if (strcmp(cfg->devices[k].name, g->device) == 0)
				dev = &cfg->devices[k];
		if (dev == NULL) {
			fprintf(stderr, "spoolctl: no device \"%s\" in the "
			    "configuration\n", g->device);
			config_free(cfg);
			return EXIT_USAGE;
		}
	} else if (cfg->ndevices == 1)
		dev = &cfg->devices[0];
	else {
		fprintf(stderr, "spoolctl: %zu devices are configured: name one "
		    "with --device NAME\n", cfg->ndevices);
		config_free(cfg);
		return EXIT_USAGE;
	}
	if (log_init(cfg->logs_dir, 0, 0) == -1)
		fprintf(stderr, "spoolctl reprocess: %s: cannot open every log "
		    "file\n", cfg->logs_dir);
	rc = admin_reprocess(dev, all ? NULL : argv + first,
	    all ? 0 : (size_t)(argc - first), all, stdout);
	log_close();
	config_free(cfg);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

/*
 * spoold.c - the spool daemon's main: options, then lib/.
 *
 * spoold [-c FILE] [-f] [-n] [--once] [-v]		(interface.md §1)
 *
 * -n loads and checks the configuration, prints "configuration OK" (exit
 * 0) or every problem (exit 1).  Anything else runs the daemon
 * (daemon/loop): exit 0 after SIGTERM/SIGINT or a complete --once run,
 * 75 when --once leaves receipts not yet accepted by FDMS, 1 on a fatal
 * error of the environment (systemd restarts it), 2 on usage or
 * configuration problems (a restart would not help).
 */
#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "daemon/config.h"
#include "daemon/loop.h"
#include "store/store.h"

#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2

static void
usage(FILE *fp)
{
	fprintf(fp, "usage: spoold [-c FILE] [-f] [-n] [--once] [-v]\n"
	    "  -c FILE  configuration file (default: $SPOOLD_CONF, else "
	    "./spoold.conf if it\n"
	    "           exists, else /etc/spoold/spoold.conf)\n"
	    "  -f       stay in the foreground and also log to stderr\n"
	    "  -n       check the configuration and exit\n"
	    "  --once   process what is in the inboxes, submit, then exit\n"
	    "  -v       verbose (DEBUG) logging\n");
}

/* -n: 0 and "configuration OK", or 1 and every problem on stderr. */
static int
check_config(const char *path, int verbose)
{
	static struct config_problems p;	/* large: not on the stack */
	struct config *cfg;

	/* The journal's checks (production permissions, environment). */
	config_set_store_check(store_config_check);
	cfg = config_load(path, &p);
	if (cfg != NULL)
		(void)config_check(cfg, &p);
	if (p.n > 0 || p.dropped > 0 || cfg == NULL) {
		config_problems_print(stderr, "spoold", &p);
		config_free(cfg);
		return EXIT_FAIL;
	}
	if (verbose)
		fprintf(stderr, "spoold: %s: env %s, %zu device%s\n",
		    cfg->path ? cfg->path : "(no file, environment only)",
		    config_env_name(cfg->env), cfg->ndevices,
		    cfg->ndevices == 1 ? "" : "s");
	config_free(cfg);
	printf("configuration OK\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_FAIL;
}

int
main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "once", no_argument, NULL, 'o' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 }
	};
	struct loop_opts lo = { NULL, false, false, 0 };
	const char *path = NULL;
	int ch, check = 0, verbose = 0;

	while ((ch = getopt_long(argc, argv, "c:fnvh", longopts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			path = optarg;
			break;
		case 'f':
			lo.foreground = true;
			break;
		case 'o':
			lo.once = true;
			break;
		case 'n':
			check = 1;
			break;
		case 'v':
			verbose++;
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "spoold: unexpected argument %s\n",
		    argv[optind]);
		usage(stderr);
		return EXIT_USAGE;
	}
	if (check)
		return check_config(path, verbose);
	lo.config_path = path;
	lo.verbose = verbose;
	return loop_main(&lo);
}

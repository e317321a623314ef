/*
 * spoolctl.c - the admin and batch tool: global options, then one command.
 *
 * spoolctl [-c FILE] [--device NAME] COMMAND [ARGS]
 * Exit: 0 ok, 1 failed/refused, 2 usage or configuration error, 75 FDMS
 * unreachable (interface.md §1).
 */
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "daemon/config.h"
#include "spoolctl.h"
#include "store/store.h"
#include "util/nocore.h"

struct command {
	const char	*name;
	int		(*run)(const struct spoolctl_globals *, int, char **);
	const char	*usage;
	const char	*arrives;	/* not built yet: the issue that brings it */
};

static const struct command commands[] = {
	{ "inspect", cmd_inspect, "inspect FILE [--device-id N] [--prev-hash H] "
	    "[--key PEM] [--qr-url U] [--json]", NULL },
	{ "register", cmd_register, "register [--key-type ecdsa|rsa]", NULL },
	{ "config", cmd_config, "config", NULL },
	{ "status", cmd_status, "status [--json]", NULL },
	{ "open-day", cmd_open_day, "open-day [--opened-at DATETIME]", NULL },
	{ "close-day", cmd_close_day, "close-day [--no-wait] [--timeout S]", NULL },
	{ "resync", cmd_resync, "resync", NULL },
	{ "renew-cert", cmd_renew_cert, "renew-cert", NULL },
	{ "ping", cmd_ping, "ping", NULL },
	{ "backup", cmd_backup, "backup [--output-dir D] [--retain DAYS]", NULL },
	{ "restore", cmd_restore, "restore FILE [--force]", NULL },
	{ "audit", cmd_audit, "audit [--day N] [--json]", NULL },
	{ "pre-golive", cmd_pre_golive, "pre-golive [--skip-close] "
	    "[--min-receipts N]", NULL },
	{ "reprocess", cmd_reprocess, "reprocess NAME...|--all", NULL },
	{ "migrate", cmd_migrate, "migrate [VERSION] [--force]", NULL },
	{ "migrate-db", NULL, "migrate-db --to URL", "PostgreSQL support" },
	{ "export", cmd_export, "export [--day N] [--format jsonl|fdms-file]",
	    NULL },
	{ "cert", cmd_cert, "cert", NULL },
	{ "unblock", cmd_unblock, "unblock", NULL },
};

#define NCOMMANDS	(sizeof(commands) / sizeof(commands[0]))

static void
usage(FILE *fp)
{
	size_t i;

	fprintf(fp, "usage: spoolctl [-c FILE] [--device NAME] COMMAND [ARGS]\n"
	    "commands:\n");
	for (i = 0; i < NCOMMANDS; i++)
		fprintf(fp, "  %-60s%s%s%s\n", commands[i].usage,
		    commands[i].arrives ? "(not built yet: " : "",
		    commands[i].arrives ? commands[i].arrives : "",
		    commands[i].arrives ? ")" : "");
}

int
main(int argc, char **argv)
{
	struct spoolctl_globals g = { NULL, NULL };

	/* register, renew-cert... decrypt device keys: no core dumps. */
	if (nocore() == -1) {
		fprintf(stderr, "spoolctl: cannot disable core dumps\n");
		return EXIT_FAIL;
	}
	/* A peer closing a TLS connection must not kill us mid-write. */
	signal(SIGPIPE, SIG_IGN);
	/* The journal's configuration checks apply to every command. */
	config_set_store_check(store_config_check);
	int i = 1;
	size_t k;

	while (i < argc && argv[i][0] == '-') {
		if (strcmp(argv[i], "-c") == 0 && i + 1 < argc) {
			g.config_path = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
			g.device = argv[i + 1];
			i += 2;
		} else if (strcmp(argv[i], "-h") == 0 ||
		    strcmp(argv[i], "--help") == 0) {
			usage(stdout);
			return EXIT_OK;
		} else {
			fprintf(stderr, "spoolctl: unknown option %s\n", argv[i]);
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (i >= argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	for (k = 0; k < NCOMMANDS; k++) {
		if (strcmp(commands[k].name, argv[i]) != 0)
			continue;
		if (commands[k].run == NULL) {
			fprintf(stderr, "spoolctl: %s is not built yet (%s)\n",
			    argv[i], commands[k].arrives);
			return EXIT_USAGE;
		}
		return commands[k].run(&g, argc - i, argv + i);
	}
	fprintf(stderr, "spoolctl: unknown command %s\n", argv[i]);
	usage(stderr);
	return EXIT_USAGE;
}

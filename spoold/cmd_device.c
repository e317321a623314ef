/*
 * cmd_device.c - the device administration commands of spoolctl
 * (interface.md §1): register, config, status, open-day, ping, renew-cert,
 * resync, cert, unblock. Each parses its options and calls lib/spool/devadmin.
 */
#include <stdio.h>
#include <string.h>

#include "spool/devadmin.h"
#include "spoolctl.h"

struct devopts {
	bool		 json;
	const char	*key_type;
	const char	*opened_at;
};

/* Options every device command may take; anything else is a usage error. */
static int
parse(const char *cmd, int argc, char **argv, const char *allowed,
    struct devopts *o)
{
	int i;

	memset(o, 0, sizeof(*o));
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		if (strcmp(a, "--json") == 0 && strstr(allowed, "json"))
			o->json = true;
		else if (strcmp(a, "--key-type") == 0 && i + 1 < argc &&
		    strstr(allowed, "key-type"))
			o->key_type = argv[++i];
		else if (strcmp(a, "--opened-at") == 0 && i + 1 < argc &&
		    strstr(allowed, "opened-at"))
			o->opened_at = argv[++i];
		else {
			fprintf(stderr, "spoolctl %s: unexpected argument %s\n",
			    cmd, a);
			return -1;
		}
	}
	return 0;
}

static int
run(const struct spoolctl_globals *g, int argc, char **argv,
    const char *allowed, bool all_devices, int (*fn)(struct devadmin *,
    const struct devopts *))
{
	struct devadmin a;
	struct devopts o;
	int rc;

	if (parse(argv[0], argc, argv, allowed, &o) == -1)
		return EXIT_USAGE;
	if ((rc = devadmin_open(&a, g->config_path, g->device, all_devices)) !=
	    EXIT_OK)
		return rc;
	rc = fn(&a, &o);
	devadmin_close(&a);
	if (fflush(stdout) == EOF && rc == EXIT_OK) {
		fprintf(stderr, "spoolctl: cannot write output\n");
		rc = EXIT_FAIL;
	}
	return rc;
}

static int
do_register(struct devadmin *a, const struct devopts *o)
{
	enum sigkey_type t = SIGKEY_ECDSA;

	if (o->key_type != NULL && strcmp(o->key_type, "rsa") == 0)
		t = SIGKEY_RSA;
	else if (o->key_type != NULL && strcmp(o->key_type, "ecdsa") != 0) {
		fprintf(stderr, "spoolctl register: --key-type is ecdsa or rsa\n");
		return EXIT_USAGE;
	}
	return devadmin_register(a, t, stdout);
}

static int
do_config(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_config(a, stdout);
}

static int
do_status(struct devadmin *a, const struct devopts *o)
{
	return devadmin_status(a, o->json, stdout);
}

static int
do_open_day(struct devadmin *a, const struct devopts *o)
{
	return devadmin_open_day(a, o->opened_at, stdout);
}

static int
do_ping(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_ping(a, stdout);
}

static int
do_renew_cert(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_renew_cert(a, stdout);
}

static int
do_resync(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_resync(a, stdout);
}

static int
do_cert(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_cert(a, stdout);
}

static int
do_unblock(struct devadmin *a, const struct devopts *o)
{
	(void)o;
	return devadmin_unblock(a, stdout);
}

int
cmd_unblock(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_unblock);
}

int
cmd_register(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "key-type", false, do_register);
}

int
cmd_config(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_config);
}

int
cmd_status(const struct spoolctl_globals *g, int argc, char **argv)
{
	/* All devices unless --device names one. */
	return run(g, argc, argv, "json", g->device == NULL, do_status);
}

int
cmd_open_day(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "opened-at", false, do_open_day);
}

int
cmd_ping(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_ping);
}

int
cmd_renew_cert(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_renew_cert);
}

int
cmd_resync(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_resync);
}

int
cmd_cert(const struct spoolctl_globals *g, int argc, char **argv)
{
	return run(g, argc, argv, "", false, do_cert);
}

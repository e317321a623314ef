/*
 * spoolctl.h - the admin tool's commands: one file per command
 * (cmd_<name>.c), each a thin layer over lib/.
 */
#ifndef SPOOLCTL_H
#define SPOOLCTL_H

#include <stdbool.h>

/* Exit codes of interface.md §1. */
#define EXIT_OK		0
#define EXIT_FAIL	1
#define EXIT_USAGE	2
#define EXIT_TEMPFAIL	75

struct spoolctl_globals {
	const char	*config_path;	/* -c */
	const char	*device;	/* --device */
};

int	cmd_inspect(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_migrate(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_backup(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_reprocess(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_restore(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_audit(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_pre_golive(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_close_day(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_export(const struct spoolctl_globals *, int argc, char **argv);
/* cmd_device.c */
int	cmd_register(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_config(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_status(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_open_day(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_ping(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_renew_cert(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_resync(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_cert(const struct spoolctl_globals *, int argc, char **argv);
int	cmd_unblock(const struct spoolctl_globals *, int argc, char **argv);

#endif

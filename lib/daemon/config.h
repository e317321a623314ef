/*
 * config.h - spoold's configuration (interface.md §2).
 *
 * An INI file, [global] plus one [device NAME] section per fiscal device;
 * environment variables override the file; with no device section the
 * environment (FDMS_DEVICE_ID, ...) defines one device named "default".
 * Every key, its variable, its defaults per environment and its range are
 * in one table in config.c.
 *
 * Life cycle, also on SIGHUP:
 *
 *	struct config_problems p;
 *	struct config *new = config_load(path, &p);	 parse problems
 *	if (new != NULL)
 *		config_check(new, &p);			 semantic problems
 *	if (new == NULL || p.n > 0) {
 *		report p, config_free(new), keep the old one
 *	} else {
 *		old = cur; cur = new; config_free(old);
 *	}
 *
 * A struct config owns all of its memory and is never changed after
 * config_load returns, so replacing the pointer swaps the whole
 * configuration at once.
 *
 * Checked here in production: the mode of the configuration file itself
 * (not readable by others while it holds encryption_key, not writable by
 * group or others), as read, not as it may be later.  Not checked here,
 * because they need the database: its permissions (production), and the
 * environment a device is registered in.  The journal (store/) does
 * them through the hook config_set_store_check(); until it is
 * registered, config_check says nothing about them.
 */
#ifndef DAEMON_CONFIG_H
#define DAEMON_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define CONFIG_PROBLEMS_MAX	64

enum config_env {
	CONFIG_ENV_DEVELOPMENT,
	CONFIG_ENV_STAGING,
	CONFIG_ENV_PRODUCTION,
	CONFIG_ENV_INVALID	/* reported by config_check */
};

struct config_problem {
	char	where[256];	/* "FILE:LINE", "environment VAR" or "FILE" */
	char	key[64];	/* the key or section at fault */
	char	message[256];
};

struct config_problems {
	size_t			n, dropped;
	struct config_problem	v[CONFIG_PROBLEMS_MAX];
};

struct arena;
struct config_origins;		/* where each value came from: config.c */

struct config_device {
	const char	*name;		/* section NAME, or "default" */
	long long	 device_id;	/* 0: not set */
	const char	*serial_no;
	const char	*activation_key;
	const char	*model_name;
	const char	*model_version;
	const char	*inbox;
	const char	*work_dir;	/* siblings of inbox */
	const char	*done_dir;
	const char	*error_dir;
	int		 line;		/* of the section header; 0: none */
	struct config_origins *origins;
};

struct config {
	const char	*path;		/* file read, or NULL (none) */
	const char	*env_name;
	enum config_env	 env;
	const char	*spool_dir;
	const char	*database;	/* path, or a postgresql:// URL */
	const char	*fdms_base_url;	/* NULL only when not set (a problem) */
	const char	*fdms_ca_file;	/* NULL: system trust store */
	const char	*logs_dir;
	const char	*encryption_key;	/* NULL: none */
	const char	*timezone;
	const char	*backup_dir;
	long long	 backup_retain_days;
	long long	 rescan_interval;	/* seconds */
	long long	 settle_ms;
	long long	 max_file_size;		/* bytes */
	bool		 inotify;	/* false: find files by rescans only */
	const char	*admin_listen;	/* NULL: admin API off */
	const char	*admin_token;
	const char	*user;		/* drop root to it; NULL: stay */
	unsigned int	 path_mode;	/* st_mode of the file read; 0: none */
	size_t		 ndevices;	/* at least 1 */
	struct config_device *devices;
	struct config_origins *origins;
	struct arena	*arena;
};

/*
 * path NULL: $SPOOLD_CONF, else ./spoold.conf if it exists, else
 * /etc/spoold/spoold.conf, which may be missing (the environment alone
 * then configures).  An explicit or $SPOOLD_CONF file must exist.
 * Records parse problems in p (cleared first); NULL only if the file could
 * not be read or memory ran out, with the reason in p.
 */
struct config	*config_load(const char *path, struct config_problems *p);
void		 config_free(struct config *);
/* Appends every semantic problem to p; 0 if it found none, else -1. */
int		 config_check(const struct config *, struct config_problems *p);
/* The hook for store/ (see above); NULL removes it. */
typedef int	(*config_store_check_fn)(const struct config *,
		    struct config_problems *);
void		 config_set_store_check(config_store_check_fn);

void		 config_problems_clear(struct config_problems *);
void		 config_problem_add(struct config_problems *, const char *where,
		    const char *key, const char *fmt, ...)
		    __attribute__((format(printf, 4, 5)));
/* "prog: where: key: message" per line (no "key: " when there is none). */
int		 config_problems_print(FILE *, const char *prog,
		    const struct config_problems *);
/* url-safe base64 of exactly 32 bytes, '=' padded (44 characters). */
int		 config_fernet_key_valid(const char *);
const char	*config_env_name(enum config_env);

#endif

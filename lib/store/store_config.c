/*
 * store_config.c - where the configuration meets the journal: the open
 * policy and the configuration checks that need the database.
 *
 * This is the one file of lib/store that knows struct config; the rest of
 * the store takes plain values.  config.c calls back into here through
 * config_set_store_check() (so daemon/config does not depend on store/).
 *
 * Migration policy (documented in store.h and docs/architecture.md): a
 * missing database is created at the latest schema; an older schema is
 * migrated on open only in development (where databases are throwaway and
 * a forgotten migrate step only costs time), and everywhere else refused
 * with "run spoolctl migrate", so an upgrade of a fiscal journal is always
 * a deliberate, logged operator step that can be preceded by a backup.  A
 * newer schema is always refused.
 *
 * SECURITY: the checks refuse, in production, a journal that others can
 * read or write (it holds the device's private key, encrypted or not) or
 * that is a symbolic link; and, in every environment, a journal whose
 * devices were registered against another environment or serial number
 * (a staging certificate must never sign production receipts, nor the
 * reverse).  They never create, migrate or write the database.
 */
#include "store/store_impl.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "daemon/config.h"

struct store *
store_open_config(const struct config *cfg, enum store_rc *rc, char *err,
    size_t errlen)
{
	int flags = STORE_OPEN_CREATE;

	if (cfg->env == CONFIG_ENV_DEVELOPMENT)
		flags |= STORE_OPEN_MIGRATE;
	return store_open(cfg->database, flags, rc, err, errlen);
}

/* Production: no access for group or others, no symbolic link. */
static void
check_mode(const char *path, const char *suffix, struct config_problems *p)
{
	char f[4096];
	struct stat sb;

	snprintf(f, sizeof(f), "%s%s", path, suffix);
	if (lstat(f, &sb) == -1) {
		if (errno != ENOENT)
			config_problem_add(p, f, "database", "cannot stat: %s",
			    strerror(errno));
		return;
	}
	if (S_ISLNK(sb.st_mode))
		config_problem_add(p, f, "database", "is a symbolic link; "
		    "production needs the journal itself here");
	else if (sb.st_mode & 077)
		config_problem_add(p, f, "database", "mode %04o: readable or "
		    "writable by group or others (it holds the device key); "
		    "chmod 600 in production", (unsigned)(sb.st_mode & 07777));
}

/* Each configured device the journal knows: same environment and serial. */
static void
check_devices(const struct config *cfg, struct store *s, const char *path,
    struct config_problems *p)
{
	const char *env = config_env_name(cfg->env);
	struct store_device d;
	char where[512];
	size_t i;
	int rc;

	for (i = 0; i < cfg->ndevices; i++) {
		const struct config_device *c = &cfg->devices[i];

		if (c->device_id <= 0)
			continue;
		if (cfg->path != NULL && c->line > 0)
			snprintf(where, sizeof(where), "%s:%d", cfg->path,
			    c->line);
		else
			snprintf(where, sizeof(where), "%s", path);
		if ((rc = store_device_get(s, c->device_id, &d)) ==
		    STORE_NOTFOUND)
			continue;	/* not registered yet */
		if (rc != STORE_OK) {
			config_problem_add(p, path, "database", "%s",
			    store_errmsg(s));
			return;
		}
		if (strcmp(d.env, env) != 0)
			config_problem_add(p, where, "env", "device %lld (%s) "
			    "is registered in %s; this configuration is %s",
			    c->device_id, c->name, d.env, env);
		if (c->serial_no != NULL && strcmp(d.serial_no,
		    c->serial_no) != 0)
			config_problem_add(p, where, "serial_no", "device %lld "
			    "(%s) is registered with serial number %s, not %s",
			    c->device_id, c->name, d.serial_no, c->serial_no);
		store_device_free(&d);
	}
}

int
store_config_check(const struct config *cfg, struct config_problems *p)
{
	size_t before = p->n + p->dropped;
	enum store_kind kind;
	enum store_rc rc;
	struct store *s;
	struct stat sb;
	char err[STORE_ERRMSG_MAX], *path;
	int cur, latest;

	if (cfg->database == NULL || cfg->env == CONFIG_ENV_INVALID)
		return 0;	/* config_check reports those */
	if (store_url_parse(cfg->database, &kind, &path, err,
	    sizeof(err)) == -1) {
		config_problem_add(p, cfg->path ? cfg->path : "configuration",
		    "database", "%s", err);
		return -1;
	}
	if (kind != STORE_KIND_SQLITE) {
		config_problem_add(p, cfg->path ? cfg->path : "configuration",
		    "database", "%s: PostgreSQL databases are not built yet",
		    cfg->database);
		return -1;
	}
	if (cfg->env == CONFIG_ENV_PRODUCTION) {
		check_mode(path, "", p);
		check_mode(path, "-wal", p);
		check_mode(path, "-shm", p);
	}
	if (lstat(path, &sb) == -1 || S_ISLNK(sb.st_mode)) {
		free(path);	/* created on first use, or reported above */
		return p->n + p->dropped > before ? -1 : 0;
	}
	s = store_open(cfg->database, STORE_OPEN_READONLY |
	    STORE_OPEN_ANY_VERSION, &rc, err, sizeof(err));
	if (s == NULL)
		config_problem_add(p, path, "database", "%s", err);
	else {
		/*
		 * Only a schema this code reads: version problems are the
		 * open path's to report (and spoolctl migrate's to fix).
		 */
		if (store_version(s, &cur, &latest) == STORE_OK && cur >= 1 &&
		    cur <= latest)
			check_devices(cfg, s, path, p);
		store_close(s);
	}
	free(path);
	return p->n + p->dropped > before ? -1 : 0;
}

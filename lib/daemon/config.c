/*
 * config.c - load and check spoold's configuration (see config.h).
 *
 * Design.  Every setting is one row of keys[] (name, type, scope, offset
 * in struct config or struct config_device, environment variable, default
 * per environment, range), as Postfix's CONFIG_*_TABLE and redis's
 * static_configs[] do: parsing, environment overrides, defaults and the
 * "unknown key" check are loops over that table, and adding a setting is
 * adding a row.  Loading happens in layers, each only filling what the one
 * before left unset:
 *
 *	1. the file, through libinih (parse_file);
 *	2. environment variables, which override the file (apply_env);
 *	3. defaults for the environment now known (apply_defaults);
 *	4. derived values: inbox and its sibling folders (derive_folders).
 *
 * For every value we remember where it came from (file and line, variable,
 * default), so that config_check can name the place to fix.
 *
 * Invariants.
 *  1. All memory of a struct config, the struct included, comes from its
 *     own arena; config_free releases it in one call and nothing outside
 *     points into it, so a reload can swap the pointer and free the old.
 *  2. config_load and config_check never stop at the first problem; every
 *     problem is recorded (up to CONFIG_PROBLEMS_MAX, then counted).
 *  3. Loading does not depend on process state other than the environment
 *     and the file: libinih's global knobs are restored after use.
 *
 * Trust.  The file is written by the administrator but may be wrong: it is
 * read whole, at most CONFIG_FILE_MAX bytes, lines are bounded, values with
 * control characters are refused, and device names (used as directory
 * names under spool_dir) are restricted to a safe alphabet.  The
 * environment is trusted as much as the file.
 *
 * libinih (Debian r55) gives its handler no line number, so we hand it
 * lines through our own reader (reader()), which counts them, recognises
 * section headers and flags syntax errors on every line rather than only
 * the first, as ini_parse would report.
 */
#include "daemon/config.h"

#include <errno.h>
#include <fcntl.h>
#include <ini.h>
#include <pwd.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/arena.h"
#include "util/base64.h"
#include "util/timeutil.h"

#define CONFIG_FILE_MAX		(1024 * 1024)
#define CONFIG_ARENA_MAX	(8 * 1024 * 1024)
#define CONFIG_LINE_MAX		1024	/* bytes per line, newline included */
#define DEVICE_NAME_MAX		64
#define CONF_LOCAL		"./spoold.conf"
#define CONF_SYSTEM		"/etc/spoold/spoold.conf"
#define FERNET_KEY_LEN		44
#define PATH_MAX_NORM		4096	/* inbox paths compared */

enum scope { GLOBAL, DEVICE };
enum type { T_STR, T_INT, T_BOOL };

struct key {
	const char	*name;
	enum type	 type;
	enum scope	 scope;
	size_t		 off;
	const char	*env;		/* overriding variable, or NULL */
	const char	*dflt[3];	/* by enum config_env; NULL: none */
	long long	 min, max;	/* T_INT only */
};

#define G(field)	GLOBAL, offsetof(struct config, field)
#define D(field)	DEVICE, offsetof(struct config_device, field)
#define ALL(v)		{ v, v, v }
#define NONE		{ NULL, NULL, NULL }

/*
 * The table.  Defaults are written as they would be in the file and go
 * through the same conversion, so they cannot disagree with the ranges.
 */
static const struct key keys[] = {
	{ "env", T_STR, G(env_name), "FDMS_ENV", ALL("development"), 0, 0 },
	{ "spool_dir", T_STR, G(spool_dir), "SPOOL_DIR", ALL("./spool"),
	    0, 0 },
	{ "database", T_STR, G(database), "DATABASE_URL",
	    { "./db.sqlite3", "./db_staging.sqlite3",
	    "./db_production.sqlite3" }, 0, 0 },
	{ "fdms_base_url", T_STR, G(fdms_base_url), "FDMS_BASE_URL",
	    { NULL, "https://fdmsapitest.zimra.co.zw",
	    "https://fdmsapi.zimra.co.zw" }, 0, 0 },
	{ "fdms_ca_file", T_STR, G(fdms_ca_file), "FDMS_CA_FILE", NONE, 0, 0 },
	{ "logs_dir", T_STR, G(logs_dir), "LOGS_DIR", ALL("./logs"), 0, 0 },
	{ "encryption_key", T_STR, G(encryption_key), "FDMS_ENCRYPTION_KEY",
	    NONE, 0, 0 },
	{ "timezone", T_STR, G(timezone), "FDMS_TZ",
	    ALL(TIMEUTIL_DEFAULT_ZONE), 0, 0 },
	{ "backup_dir", T_STR, G(backup_dir), "BACKUP_DIR", ALL("./backups"),
	    0, 0 },
	{ "backup_retain_days", T_INT, G(backup_retain_days),
	    "BACKUP_RETAIN_DAYS", ALL("7"), 1, 36500 },
	{ "rescan_interval", T_INT, G(rescan_interval), NULL, ALL("5"),
	    1, 86400 },
	{ "settle_ms", T_INT, G(settle_ms), NULL, ALL("1000"), 0, 3600000 },
	{ "max_file_size", T_INT, G(max_file_size), NULL, ALL("1048576"),
	    1, 1073741824 },
	/* no: rescans only (SMB/NFS clients get no inotify events). */
	{ "inotify", T_BOOL, G(inotify), NULL, ALL("yes"), 0, 0 },
	{ "admin_listen", T_STR, G(admin_listen), NULL, NONE, 0, 0 },
	{ "admin_token", T_STR, G(admin_token), "SECRET_KEY", NONE, 0, 0 },
	/* Started as root: the account to drop to (daemon/privdrop.h). */
	{ "user", T_STR, G(user), "SPOOLD_USER", NONE, 0, 0 },

	/* deviceID is printed as 10 digits in the certificate CN. */
	{ "device_id", T_INT, D(device_id), "FDMS_DEVICE_ID", NONE,
	    1, 9999999999LL },
	{ "serial_no", T_STR, D(serial_no), "FDMS_DEVICE_SERIAL_NO", NONE,
	    0, 0 },
	{ "activation_key", T_STR, D(activation_key), "FDMS_ACTIVATION_KEY",
	    NONE, 0, 0 },
	{ "model_name", T_STR, D(model_name), "FDMS_DEVICE_MODEL_NAME",
	    ALL("Server"), 0, 0 },
	{ "model_version", T_STR, D(model_version),
	    "FDMS_DEVICE_MODEL_VERSION", ALL("v1"), 0, 0 },
	{ "inbox", T_STR, D(inbox), NULL, NONE, 0, 0 },	/* derive_folders */
};
#define NKEYS	(sizeof(keys) / sizeof(keys[0]))

enum src { SRC_NONE, SRC_FILE, SRC_ENV, SRC_DEFAULT };

struct origin {
	enum src	 src;
	int		 line;		/* SRC_FILE */
	const char	*env;		/* SRC_ENV */
};

/* Indexed like keys[]; a device's array uses only its DEVICE rows. */
struct config_origins {
	struct origin	 o[NKEYS];
};

struct devnode {
	struct config_device	 d;
	struct devnode		*next;
};

struct parse {
	struct config		*cfg;
	struct config_problems	*p;
	const char		*cur, *end;	/* file text not yet read */
	int			 line;
	int			 syntax;	/* syntax problems reported */
	enum { SEC_NONE, SEC_GLOBAL, SEC_DEVICE, SEC_IGNORE } sec;
	struct devnode		*dev;		/* SEC_DEVICE */
	struct devnode		*devs, **tail;
	size_t			 ndevs;
	int			 oom;
};

static config_store_check_fn store_check;

static const char *const env_names[] = {
	"development", "staging", "production"
};

const char *
config_env_name(enum config_env e)
{
	if ((unsigned)e >= sizeof(env_names) / sizeof(env_names[0]))
		return "invalid";
	return env_names[e];
}

void
config_set_store_check(config_store_check_fn fn)
{
	store_check = fn;
}

/* Problems. */

void
config_problems_clear(struct config_problems *p)
{
	p->n = 0;
	p->dropped = 0;
}

static void vproblem(struct config_problems *, const char *, const char *,
    const char *, va_list) __attribute__((format(printf, 4, 0)));

static void
vproblem(struct config_problems *p, const char *where, const char *key,
    const char *fmt, va_list ap)
{
	struct config_problem *x;

	if (p == NULL)
		return;
	if (p->n >= CONFIG_PROBLEMS_MAX) {
		p->dropped++;
		return;
	}
	x = &p->v[p->n++];
	snprintf(x->where, sizeof(x->where), "%s", where);
	snprintf(x->key, sizeof(x->key), "%s", key);
	vsnprintf(x->message, sizeof(x->message), fmt, ap);
}

void
config_problem_add(struct config_problems *p, const char *where,
    const char *key, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vproblem(p, where, key, fmt, ap);
	va_end(ap);
}

int
config_problems_print(FILE *f, const char *prog,
    const struct config_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(f, "%s: %s: %s%s%s\n", prog, p->v[i].where,
		    p->v[i].key, p->v[i].key[0] != '\0' ? ": " : "",
		    p->v[i].message);
	if (p->dropped > 0)
		fprintf(f, "%s: ... and %zu more problems\n", prog,
		    p->dropped);
	return (int)(p->n + p->dropped);
}

/* Where a value came from, for a problem report. */
static const char *
where_of(const struct config *cfg, const struct origin *o, char *buf,
    size_t size)
{
	switch (o->src) {
	case SRC_FILE:
		snprintf(buf, size, "%s:%d", cfg->path, o->line);
		break;
	case SRC_ENV:
		snprintf(buf, size, "environment %s", o->env);
		break;
	default:
		snprintf(buf, size, "%s", cfg->path ? cfg->path :
		    "(no configuration file: " CONF_SYSTEM " does not exist)");
		break;
	}
	return buf;
}

static void parse_problem(struct parse *, const char *, const char *, ...)
    __attribute__((format(printf, 3, 4)));

static void
parse_problem(struct parse *ps, const char *key, const char *fmt, ...)
{
	char where[256];
	va_list ap;

	snprintf(where, sizeof(where), "%s:%d", ps->cfg->path, ps->line);
	va_start(ap, fmt);
	vproblem(ps->p, where, key, fmt, ap);
	va_end(ap);
}

/* Values. */

static const struct key *
find_key(const char *name, enum scope scope, size_t *idx)
{
	size_t i;

	for (i = 0; i < NKEYS; i++)
		if (keys[i].scope == scope && strcmp(keys[i].name, name) == 0) {
			*idx = i;
			return &keys[i];
		}
	return NULL;
}

/* yes/no, true/false, on/off, 1/0, in any case. */
static int
parse_bool(const char *s, bool *v)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	size_t i;

	for (i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
		if (strcasecmp(s, yes[i]) == 0) {
			*v = true;
			return 0;
		}
		if (strcasecmp(s, no[i]) == 0) {
			*v = false;
			return 0;
		}
	}
	return -1;
}

static int
parse_ll(const char *s, long long *v)
{
	char *end;

	/* strtoll alone would take leading blanks and a '+'. */
	if (!(*s == '-' || (*s >= '0' && *s <= '9')))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno != 0 || end == s || *end != '\0')
		return -1;
	return 0;
}

/*
 * Store val for keys[ki] into base (a struct config or config_device).
 * An empty value counts as not set, so "key =" and VAR= fall back to the
 * default.  Returns -1 when the value was refused (problem recorded) or
 * memory ran out (*oom set).
 */
static int
assign(struct config *cfg, void *base, struct config_origins *org,
    size_t ki, const char *val, const struct origin *from,
    struct config_problems *p, int *oom)
{
	const struct key *k = &keys[ki];
	char where[256];
	const char *c;
	long long v;
	bool b;
	char *s;

	if (*val == '\0')
		return 0;
	for (c = val; *c != '\0'; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f) {
			config_problem_add(p, where_of(cfg, from, where,
			    sizeof(where)), k->name,
			    "control character in the value");
			return -1;
		}
	switch (k->type) {
	case T_INT:
		if (parse_ll(val, &v) == -1) {
			config_problem_add(p, where_of(cfg, from, where,
			    sizeof(where)), k->name, "\"%s\" is not an integer",
			    val);
			return -1;
		}
		if (v < k->min || v > k->max) {
			config_problem_add(p, where_of(cfg, from, where,
			    sizeof(where)), k->name, "%lld is out of range "
			    "%lld..%lld", v, k->min, k->max);
			return -1;
		}
		*(long long *)(void *)((char *)base + k->off) = v;
		break;
	case T_BOOL:
		if (parse_bool(val, &b) == -1) {
			config_problem_add(p, where_of(cfg, from, where,
			    sizeof(where)), k->name, "\"%s\" is not yes or no",
			    val);
			return -1;
		}
		*(bool *)(void *)((char *)base + k->off) = b;
		break;
	case T_STR:
		if ((s = arena_strdup(cfg->arena, val)) == NULL) {
			*oom = 1;
			return -1;
		}
		*(const char **)(void *)((char *)base + k->off) = s;
		break;
	}
	org->o[ki] = *from;
	return 0;
}

/* The file. */

static struct devnode *
find_device(struct parse *ps, const char *name, size_t len)
{
	struct devnode *n;

	for (n = ps->devs; n != NULL; n = n->next)
		if (strlen(n->d.name) == len && memcmp(n->d.name, name, len) == 0)
			return n;
	return NULL;
}

/* A device name becomes a directory under spool_dir: keep it plain. */
static int
device_name_ok(const char *s, size_t len)
{
	size_t i;

	if (len == 0 || len > DEVICE_NAME_MAX || s[0] == '.')
		return 0;
	for (i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') ||
		    (s[i] >= 'a' && s[i] <= 'z') ||
		    (s[i] >= '0' && s[i] <= '9') ||
		    s[i] == '_' || s[i] == '-' || s[i] == '.'))
			return 0;
	return 1;
}

static int
is_blank(char c)
{
	return c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' ||
	    c == '\v';
}

/* A "[...]" line: s..e is the text between the brackets. */
static void
section(struct parse *ps, const char *s, const char *e)
{
	struct devnode *n;
	const char *name;
	char shown[DEVICE_NAME_MAX + 16];

	while (s < e && is_blank(*s))
		s++;
	while (e > s && is_blank(e[-1]))
		e--;
	snprintf(shown, sizeof(shown), "[%.*s]", (int)(e - s) > 60 ? 60 :
	    (int)(e - s), s);
	ps->sec = SEC_IGNORE;	/* until proven good */
	if (e - s == 6 && memcmp(s, "global", 6) == 0) {
		ps->sec = SEC_GLOBAL;
		return;
	}
	if (e - s < 6 || memcmp(s, "device", 6) != 0 ||
	    (e - s > 6 && !is_blank(s[6]))) {
		parse_problem(ps, shown, "unknown section (expected [global] "
		    "or [device NAME])");
		return;
	}
	for (name = s + 6; name < e && is_blank(*name); name++)
		;
	if (!device_name_ok(name, (size_t)(e - name))) {
		parse_problem(ps, shown, "a device name is 1 to %d of "
		    "A-Z a-z 0-9 _ - . and does not start with '.'",
		    DEVICE_NAME_MAX);
		return;
	}
	if ((n = find_device(ps, name, (size_t)(e - name))) != NULL) {
		parse_problem(ps, shown, "duplicate device section (first at "
		    "line %d)", n->d.line);
		return;
	}
	if ((n = arena_alloc(ps->cfg->arena, sizeof(*n))) == NULL ||
	    (n->d.name = arena_strndup(ps->cfg->arena, name,
	    (size_t)(e - name))) == NULL ||
	    (n->d.origins = arena_alloc(ps->cfg->arena,
	    sizeof(*n->d.origins))) == NULL) {
		ps->oom = 1;
		return;
	}
	n->d.line = ps->line;
	*ps->tail = n;
	ps->tail = &n->next;
	ps->ndevs++;
	ps->dev = n;
	ps->sec = SEC_DEVICE;
}

/*
 * Look at a line before libinih does: count it, follow sections, and
 * report syntax errors (libinih only reports the first).
 */
static void
classify(struct parse *ps, const char *s)
{
	const char *e, *c;

	if (ps->line == 1 && strncmp(s, "\xef\xbb\xbf", 3) == 0)
		s += 3;		/* UTF-8 BOM, which libinih skips too */
	while (is_blank(*s))
		s++;
	if (*s == '\0' || *s == ';' || *s == '#')
		return;
	if (*s == '[') {
		if ((e = strchr(s, ']')) == NULL) {
			ps->syntax++;
			ps->sec = SEC_IGNORE;
			parse_problem(ps, "[", "section header without ']'");
			return;
		}
		section(ps, s + 1, e);
		return;
	}
	/* libinih cuts inline comments (" ;") before looking for = or :. */
	for (c = s; *c != '\0' && *c != '=' && *c != ':'; c++)
		if (*c == ';' && c > s && is_blank(c[-1]))
			break;
	if (*c != '=' && *c != ':') {
		ps->syntax++;
		parse_problem(ps, "", "expected \"key = value\" or a [section]");
	}
}

static char *
reader(char *str, int num, void *stream)
{
	struct parse *ps = stream;
	const char *line, *nl;
	size_t len;

	if (ps->cur >= ps->end)
		return NULL;
	line = ps->cur;
	nl = memchr(line, '\n', (size_t)(ps->end - line));
	len = nl != NULL ? (size_t)(nl - line) + 1 : (size_t)(ps->end - line);
	ps->cur += len;
	ps->line++;
	if (num < 2)
		return NULL;
	if (len > (size_t)num - 1 || memchr(line, '\0', len) != NULL) {
		/* Hand libinih an empty line; the real one is reported. */
		ps->syntax++;
		if (len > (size_t)num - 1)
			parse_problem(ps, "", "line longer than %d bytes",
			    num - 2);
		else
			parse_problem(ps, "", "NUL byte in line");
		memcpy(str, "\n", 2);
		return str;
	}
	memcpy(str, line, len);
	str[len] = '\0';
	classify(ps, str);
	return str;
}

static int
handler(void *user, const char *section_unused, const char *name,
    const char *value)
{
	struct parse *ps = user;
	struct origin from = { SRC_FILE, ps->line, NULL };
	const struct key *k;
	struct config_origins *org;
	enum scope scope;
	size_t ki = 0;
	void *base;

	/* libinih's section name is truncated at 50; ours is not. */
	switch (ps->sec) {
	case SEC_NONE:
		parse_problem(ps, name, "key before any section (put it "
		    "under [global] or [device NAME])");
		return 1;
	case SEC_IGNORE:
		return 1;	/* the section was reported */
	case SEC_GLOBAL:
		scope = GLOBAL;
		base = ps->cfg;
		org = ps->cfg->origins;
		break;
	default:
		scope = DEVICE;
		base = &ps->dev->d;
		org = ps->dev->d.origins;
		break;
	}
	if ((k = find_key(name, scope, &ki)) == NULL) {
		if (find_key(name, scope == GLOBAL ? DEVICE : GLOBAL, &ki))
			parse_problem(ps, name, "belongs in %s",
			    scope == GLOBAL ? "a [device NAME] section" :
			    "[global]");
		else
			parse_problem(ps, name, "unknown key");
		return 1;
	}
	if (org->o[ki].src == SRC_FILE)
		parse_problem(ps, name, "duplicate key (first at line %d)",
		    org->o[ki].line);
	(void)assign(ps->cfg, base, org, ki, value, &from, ps->p, &ps->oom);
	return 1;	/* keep going: every problem is wanted */
}

static int
read_file(const char *path, char **text, size_t *len, unsigned int *mode,
    struct config_problems *p)
{
	struct stat st;
	ssize_t n;
	size_t got = 0;
	char *buf;
	int fd;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) == -1) {
		config_problem_add(p, path, "", "cannot open: %s",
		    strerror(errno));
		return -1;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode) ||
	    st.st_size > CONFIG_FILE_MAX) {
		if (fstat(fd, &st) == -1)
			config_problem_add(p, path, "", "%s", strerror(errno));
		else
			config_problem_add(p, path, "", "%s",
			    !S_ISREG(st.st_mode) ? "not a regular file" :
			    "larger than 1 MiB");
		(void)close(fd);	/* read-only: nothing to lose */
		return -1;
	}
	if ((buf = malloc((size_t)st.st_size + 1)) == NULL) {
		config_problem_add(p, path, "", "out of memory");
		(void)close(fd);
		return -1;
	}
	/* Read to EOF; a file growing past the limit is refused. */
	for (;;) {
		n = read(fd, buf + got, (size_t)st.st_size + 1 - got);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		got += (size_t)n;
		if (got == (size_t)st.st_size + 1)
			break;
	}
	if (n == -1 || got > (size_t)st.st_size) {
		config_problem_add(p, path, "", "%s", n == -1 ?
		    strerror(errno) : "changed while being read");
		free(buf);
		(void)close(fd);
		return -1;
	}
	(void)close(fd);	/* read-only: nothing to lose */
	buf[got] = '\0';
	*mode = (unsigned int)st.st_mode;	/* of what we read: no race */
	*text = buf;
	*len = got;
	return 0;
}

static int
parse_file(struct parse *ps)
{
	char *text;
	size_t len;
	int rc, saved_max;
	bool saved_multi;

	if (read_file(ps->cfg->path, &text, &len, &ps->cfg->path_mode,
	    ps->p) == -1)
		return -1;
	ps->cur = text;
	ps->end = text + len;

	/*
	 * Debian's libinih has run-time knobs (globals): longer lines than
	 * its 200, and no continuation lines, so an indented "key = value"
	 * is a key of its own and not glued to the one before.
	 */
	saved_max = ini_max_line;
	saved_multi = ini_allow_multiline;
	ini_max_line = CONFIG_LINE_MAX + 2;	/* + '\n' and NUL */
	ini_allow_multiline = false;
	rc = ini_parse_stream(reader, ps, handler, ps);
	ini_max_line = saved_max;
	ini_allow_multiline = saved_multi;
	free(text);

	if (rc > 0 && ps->syntax == 0) {
		ps->line = rc;
		parse_problem(ps, "", "syntax error");
	} else if (rc < 0)
		ps->oom = 1;
	return 0;
}

/* Layers 2 to 4. */

static void
apply_env(struct config *cfg, struct config_problems *p, int *oom)
{
	struct origin from = { SRC_ENV, 0, NULL };
	char where[256];
	const char *v;
	size_t i;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].env == NULL || (v = getenv(keys[i].env)) == NULL ||
		    *v == '\0')
			continue;
		from.env = keys[i].env;
		if (keys[i].scope == GLOBAL) {
			(void)assign(cfg, cfg, cfg->origins, i, v, &from, p,
			    oom);
			continue;
		}
		/* One device: the variable is clearly meant for it. */
		if (cfg->ndevices == 1) {
			(void)assign(cfg, &cfg->devices[0],
			    cfg->devices[0].origins, i, v, &from, p, oom);
			continue;
		}
		config_problem_add(p, where_of(cfg, &from, where,
		    sizeof(where)), keys[i].name, "set, but %s defines %zu "
		    "devices and the variable cannot say which; set %s in "
		    "each [device NAME] section", cfg->path, cfg->ndevices,
		    keys[i].name);
	}
}

static void
apply_defaults(struct config *cfg, struct config_problems *p, int *oom)
{
	struct origin from = { SRC_DEFAULT, 0, NULL };
	enum config_env e;
	size_t i, d;

	cfg->env = CONFIG_ENV_INVALID;
	for (e = CONFIG_ENV_DEVELOPMENT; e <= CONFIG_ENV_PRODUCTION; e++)
		if (cfg->env_name != NULL &&
		    strcmp(cfg->env_name, env_names[e]) == 0)
			cfg->env = e;
	if (cfg->env_name == NULL)
		cfg->env = CONFIG_ENV_DEVELOPMENT;
	/* An unknown env is reported by config_check; default as development. */
	e = cfg->env == CONFIG_ENV_INVALID ? CONFIG_ENV_DEVELOPMENT : cfg->env;

	for (i = 0; i < NKEYS; i++) {
		if (keys[i].dflt[e] == NULL)
			continue;
		if (keys[i].scope == GLOBAL) {
			if (cfg->origins->o[i].src == SRC_NONE)
				(void)assign(cfg, cfg, cfg->origins, i,
				    keys[i].dflt[e], &from, p, oom);
			continue;
		}
		for (d = 0; d < cfg->ndevices; d++)
			if (cfg->devices[d].origins->o[i].src == SRC_NONE)
				(void)assign(cfg, &cfg->devices[d],
				    cfg->devices[d].origins, i, keys[i].dflt[e],
				    &from, p, oom);
	}
}

static char *
join(struct arena *a, const char *dir, const char *sub1, const char *sub2)
{
	size_t n = strlen(dir) + strlen(sub1) + (sub2 ? strlen(sub2) : 0) + 3;
	char *s;

	if ((s = arena_alloc(a, n)) == NULL)
		return NULL;
	snprintf(s, n, "%s%s%s%s%s", dir,
	    dir[0] != '\0' && dir[strlen(dir) - 1] == '/' ? "" : "/", sub1,
	    sub2 ? "/" : "", sub2 ? sub2 : "");
	return s;
}

/*
 * inbox: <spool_dir>/inbox for the implicit device, <spool_dir>/<NAME>/inbox
 * for named ones; work/, done/ and error/ are its siblings.  An inbox with
 * no parent ("/") leaves them NULL for config_check to report.
 */
static void
derive_folders(struct config *cfg, int implicit, int *oom)
{
	struct config_device *dv;
	struct origin from = { SRC_DEFAULT, 0, NULL };
	size_t d, ki = 0, len;
	char *parent;

	(void)find_key("inbox", DEVICE, &ki);
	for (d = 0; d < cfg->ndevices; d++) {
		dv = &cfg->devices[d];
		if (dv->inbox == NULL) {
			dv->inbox = implicit ?
			    join(cfg->arena, cfg->spool_dir, "inbox", NULL) :
			    join(cfg->arena, cfg->spool_dir, dv->name, "inbox");
			if (dv->inbox == NULL) {
				*oom = 1;
				return;
			}
			dv->origins->o[ki] = from;
		}
		len = strlen(dv->inbox);
		while (len > 1 && dv->inbox[len - 1] == '/')
			len--;		/* "spool/inbox/" is "spool/inbox" */
		if (len == 1 && dv->inbox[0] == '/')
			continue;	/* "/" has no parent */
		while (len > 0 && dv->inbox[len - 1] != '/')
			len--;		/* drop the last component */
		while (len > 1 && dv->inbox[len - 1] == '/')
			len--;		/* but keep "/" itself */
		parent = len == 0 ? arena_strdup(cfg->arena, ".") :
		    arena_strndup(cfg->arena, dv->inbox, len);
		if (parent == NULL ||
		    (dv->work_dir = join(cfg->arena, parent, "work", NULL)) ==
		    NULL ||
		    (dv->done_dir = join(cfg->arena, parent, "done", NULL)) ==
		    NULL ||
		    (dv->error_dir = join(cfg->arena, parent, "error", NULL)) ==
		    NULL) {
			*oom = 1;
			return;
		}
	}
}

static const char *
resolve_path(const char *path, int *must_exist)
{
	const char *env;

	*must_exist = 1;
	if (path != NULL)
		return path;
	if ((env = getenv("SPOOLD_CONF")) != NULL && *env != '\0')
		return env;
	if (access(CONF_LOCAL, F_OK) == 0)
		return CONF_LOCAL;
	*must_exist = 0;
	return CONF_SYSTEM;
}

struct config *
config_load(const char *path, struct config_problems *p)
{
	struct parse ps;
	struct config *cfg;
	struct arena *a;
	struct devnode *n;
	int must_exist, implicit;
	size_t d;

	config_problems_clear(p);
	path = resolve_path(path, &must_exist);
	if ((a = arena_new(CONFIG_ARENA_MAX)) == NULL ||
	    (cfg = arena_alloc(a, sizeof(*cfg))) == NULL ||
	    (cfg->origins = arena_alloc(a, sizeof(*cfg->origins))) == NULL) {
		arena_free(a);
		config_problem_add(p, path, "", "out of memory");
		return NULL;
	}
	cfg->arena = a;

	memset(&ps, 0, sizeof(ps));
	ps.cfg = cfg;
	ps.p = p;
	ps.sec = SEC_NONE;
	ps.tail = &ps.devs;
	/* Only a system file that is plainly absent may be missing. */
	if (must_exist || access(path, F_OK) == 0 || errno != ENOENT) {
		if ((cfg->path = arena_strdup(a, path)) == NULL ||
		    parse_file(&ps) == -1) {
			if (cfg->path == NULL)
				config_problem_add(p, path, "", "out of memory");
			arena_free(a);
			return NULL;
		}
	}

	/* No device section: the environment describes one device. */
	implicit = ps.ndevs == 0;
	cfg->ndevices = implicit ? 1 : ps.ndevs;
	if ((cfg->devices = arena_alloc(a, cfg->ndevices *
	    sizeof(*cfg->devices))) == NULL)
		ps.oom = 1;
	else if (implicit) {
		cfg->devices[0].name = "default";
		if ((cfg->devices[0].origins = arena_alloc(a,
		    sizeof(*cfg->devices[0].origins))) == NULL)
			ps.oom = 1;
	} else
		for (d = 0, n = ps.devs; n != NULL; n = n->next)
			cfg->devices[d++] = n->d;

	if (!ps.oom)
		apply_env(cfg, p, &ps.oom);
	if (!ps.oom)
		apply_defaults(cfg, p, &ps.oom);
	if (!ps.oom)
		derive_folders(cfg, implicit, &ps.oom);
	if (ps.oom) {
		config_problem_add(p, cfg->path ? cfg->path : "(configuration)",
		    "", "out of memory");
		arena_free(a);
		return NULL;
	}
	return cfg;
}

void
config_free(struct config *cfg)
{
	if (cfg != NULL)
		arena_free(cfg->arena);	/* invariant 1: cfg is in there too */
}

/* Checks. */

int
config_fernet_key_valid(const char *k)
{
	char std[FERNET_KEY_LEN + 1];
	unsigned char raw[33];
	size_t i;

	if (k == NULL || strlen(k) != FERNET_KEY_LEN ||
	    k[FERNET_KEY_LEN - 1] != '=')
		return 0;
	/* url-safe alphabet only; the strict decoder then checks the rest. */
	for (i = 0; i < FERNET_KEY_LEN - 1; i++) {
		if ((k[i] >= 'A' && k[i] <= 'Z') || (k[i] >= 'a' && k[i] <= 'z') ||
		    (k[i] >= '0' && k[i] <= '9'))
			std[i] = k[i];
		else if (k[i] == '-')
			std[i] = '+';
		else if (k[i] == '_')
			std[i] = '/';
		else
			return 0;
	}
	std[FERNET_KEY_LEN - 1] = '=';
	std[FERNET_KEY_LEN] = '\0';
	return base64_decode(std, FERNET_KEY_LEN, raw, sizeof(raw)) == 32;
}

static const char *
url_problem(const char *url, enum config_env env)
{
	const char *host, *c;

	for (c = url; *c != '\0'; c++)
		if ((unsigned char)*c <= ' ' || *c == 0x7f)
			return "contains white space";
	if (strncasecmp(url, "https://", 8) == 0)
		host = url + 8;
	else if (strncasecmp(url, "http://", 7) == 0) {
		if (env != CONFIG_ENV_DEVELOPMENT)
			return "must be https:// (http:// is allowed only in "
			    "development)";
		host = url + 7;
	} else
		return "must be an https:// URL (http:// only in development)";
	if (*host == '\0' || *host == '/' || *host == ':' || *host == '?')
		return "has no host";
	return NULL;
}

/* "HOST:PORT", with HOST possibly "[v6]". */
static int
listen_ok(const char *s)
{
	const char *colon = strrchr(s, ':');
	long long port;

	if (colon == NULL || colon == s || parse_ll(colon + 1, &port) == -1 ||
	    colon[1] == '-' || port < 1 || port > 65535)
		return 0;
	return 1;
}

/* Path for comparison: no "//", no "." components, no trailing '/'. */
static void
norm_path(const char *in, char *out, size_t size)
{
	const char *c, *e;
	size_t o = 0;

	if (size == 0)
		return;
	if (*in == '/')
		out[o++] = '/';
	for (c = in; *c != '\0'; c = e) {
		while (*c == '/')
			c++;
		for (e = c; *e != '\0' && *e != '/'; e++)
			;
		if (e == c || (e - c == 1 && *c == '.'))
			continue;
		if (o > 0 && out[o - 1] != '/' && o < size - 1)
			out[o++] = '/';
		while (c < e && o < size - 1)
			out[o++] = *c++;
	}
	if (o == 0)
		out[o++] = '.';
	out[o < size ? o : size - 1] = '\0';
}

static const struct origin *
origin_of(const struct config_origins *org, const char *name, enum scope sc)
{
	size_t ki = 0;

	if (find_key(name, sc, &ki) == NULL)
		return NULL;	/* cannot happen: names below are in keys[] */
	return &org->o[ki];
}

/* Where to point for a device key: its value, else the section. */
static const char *
device_where(const struct config *cfg, const struct config_device *dv,
    const char *name, char *buf, size_t size)
{
	const struct origin *o = origin_of(dv->origins, name, DEVICE);
	size_t ki = 0;

	if (o != NULL && o->src != SRC_NONE && o->src != SRC_DEFAULT)
		return where_of(cfg, o, buf, size);
	if (dv->line > 0)
		snprintf(buf, size, "%s:%d", cfg->path, dv->line);
	else if (find_key(name, DEVICE, &ki) != NULL && keys[ki].env != NULL)
		snprintf(buf, size, "environment %s", keys[ki].env);
	else
		snprintf(buf, size, "%s", cfg->path ? cfg->path :
		    "(no configuration file: " CONF_SYSTEM " does not exist)");
	return buf;
}

static void
check_devices(const struct config *cfg, struct config_problems *p)
{
	const struct config_device *a, *b;
	char w[256], na[PATH_MAX_NORM], nb[PATH_MAX_NORM];
	size_t i, j;

	for (i = 0; i < cfg->ndevices; i++) {
		a = &cfg->devices[i];
		if (a->device_id == 0)
			config_problem_add(p, device_where(cfg, a, "device_id",
			    w, sizeof(w)), "device_id", "device %s has no "
			    "device_id", a->name);
		if (a->serial_no == NULL)
			config_problem_add(p, device_where(cfg, a, "serial_no",
			    w, sizeof(w)), "serial_no", "device %s has no "
			    "serial_no", a->name);
		if (a->work_dir == NULL)
			config_problem_add(p, device_where(cfg, a, "inbox", w,
			    sizeof(w)), "inbox", "device %s: inbox \"%s\" has "
			    "no parent directory for work/, done/, error/",
			    a->name, a->inbox);
		for (j = 0; j < i; j++) {
			b = &cfg->devices[j];
			if (a->device_id != 0 && a->device_id == b->device_id)
				config_problem_add(p, device_where(cfg, a,
				    "device_id", w, sizeof(w)), "device_id",
				    "device %s: device_id %lld is already "
				    "device %s's", a->name, a->device_id,
				    b->name);
			norm_path(a->inbox, na, sizeof(na));
			norm_path(b->inbox, nb, sizeof(nb));
			if (strcmp(na, nb) == 0)
				config_problem_add(p, device_where(cfg, a,
				    "inbox", w, sizeof(w)), "inbox", "device "
				    "%s shares its inbox %s with device %s",
				    a->name, a->inbox, b->name);
		}
	}
}

int
config_check(const struct config *cfg, struct config_problems *p)
{
	const struct config_origins *org = cfg->origins;
	size_t before = p->n + p->dropped;
	const char *why;
	char w[256];

#define WHERE(name)	where_of(cfg, origin_of(org, name, GLOBAL), w, sizeof(w))

	if (cfg->env == CONFIG_ENV_INVALID)
		config_problem_add(p, WHERE("env"), "env", "\"%s\" is not one "
		    "of development, staging, production", cfg->env_name);

	if (cfg->fdms_base_url == NULL)
		config_problem_add(p, WHERE("fdms_base_url"), "fdms_base_url",
		    "not set; development needs it (e.g. the simulator's URL, "
		    "or $FDMS_BASE_URL)");
	else if ((why = url_problem(cfg->fdms_base_url, cfg->env)) != NULL)
		config_problem_add(p, WHERE("fdms_base_url"), "fdms_base_url",
		    "\"%s\" %s", cfg->fdms_base_url, why);

	if (cfg->encryption_key == NULL) {
		if (cfg->env == CONFIG_ENV_PRODUCTION)
			config_problem_add(p, WHERE("encryption_key"),
			    "encryption_key", "required in production (or "
			    "$FDMS_ENCRYPTION_KEY)");
	} else if (!config_fernet_key_valid(cfg->encryption_key))
		/* Never echo the key itself. */
		config_problem_add(p, WHERE("encryption_key"),
		    "encryption_key", "not a Fernet key (url-safe base64 of "
		    "32 bytes: 44 characters ending in '=')");

	/*
	 * Production: the file that holds the Fernet key is no one's to
	 * read but its owner and group (0640 root:spoold), and no one's to
	 * change but its owner (it names the journal, the URL and the user).
	 */
	if (cfg->env == CONFIG_ENV_PRODUCTION && cfg->path != NULL &&
	    cfg->path_mode != 0) {
		const struct origin *ko = origin_of(org, "encryption_key",
		    GLOBAL);

		if (cfg->encryption_key != NULL && ko != NULL &&
		    ko->src == SRC_FILE && (cfg->path_mode & S_IROTH))
			config_problem_add(p, cfg->path, "encryption_key",
			    "mode %04o: the file holds the encryption key and "
			    "others can read it; chmod o-rwx (0640 root:spoold "
			    "or 0600)", cfg->path_mode & 07777);
		if (cfg->path_mode & (S_IWGRP | S_IWOTH))
			config_problem_add(p, cfg->path, "", "mode %04o: "
			    "writable by group or others; chmod go-w",
			    cfg->path_mode & 07777);
	}

	if (cfg->user != NULL && getpwnam(cfg->user) == NULL)
		config_problem_add(p, WHERE("user"), "user", "no such user "
		    "\"%s\" (getpwnam)", cfg->user);

	if (!timeutil_zone_valid(cfg->timezone))
		config_problem_add(p, WHERE("timezone"), "timezone",
		    "unknown time zone \"%s\" (not in %s)", cfg->timezone,
		    TIMEUTIL_ZONEINFO);

	if (cfg->admin_listen != NULL) {
		if (!listen_ok(cfg->admin_listen))
			config_problem_add(p, WHERE("admin_listen"),
			    "admin_listen", "\"%s\" is not HOST:PORT",
			    cfg->admin_listen);
		if (cfg->admin_token == NULL)
			config_problem_add(p, WHERE("admin_listen"),
			    "admin_token", "the admin API needs admin_token "
			    "(or $SECRET_KEY)");
	}
#undef WHERE

	check_devices(cfg, p);

	/* The checks that need the journal (see config.h). */
	if (store_check != NULL)
		(void)store_check(cfg, p);

	return p->n + p->dropped > before ? -1 : 0;
}

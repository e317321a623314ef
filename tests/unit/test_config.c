/*
 * test_config.c - configuration of interface.md §2: defaults per
 * environment, several devices, environment overrides, every problem with
 * its place, production rules, Fernet keys.
 *
 * Files are written into a mkdtemp trash directory; every variable the
 * configuration reads is unset before each case.
 */
#include "daemon/config.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "tap.h"

#define GOOD_KEY	"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc="

static char trash[] = "/tmp/test_config.XXXXXX";
static char conf[512];
static struct config_problems P;

static const char *const vars[] = {
	"FDMS_ENV", "SPOOL_DIR", "DATABASE_URL", "FDMS_BASE_URL",
	"FDMS_CA_FILE", "LOGS_DIR", "FDMS_ENCRYPTION_KEY", "FDMS_TZ",
	"BACKUP_DIR", "BACKUP_RETAIN_DAYS", "FDMS_DEVICE_ID",
	"FDMS_DEVICE_SERIAL_NO", "FDMS_ACTIVATION_KEY",
	"FDMS_DEVICE_MODEL_NAME", "FDMS_DEVICE_MODEL_VERSION", "SECRET_KEY",
	"SPOOLD_CONF", "SPOOLD_USER",
};

static void
clean_env(void)
{
	size_t i;

	for (i = 0; i < sizeof(vars) / sizeof(vars[0]); i++)
		unsetenv(vars[i]);
}

/* Write text as the configuration file; returns its path. */
static const char *
write_conf(const char *text)
{
	static int n;
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/spoold%d.conf", trash, ++n);
	if ((f = fopen(conf, "w")) == NULL || fputs(text, f) < 0 ||
	    fclose(f) != 0)
		perror(conf);
	return conf;
}

static void
dump(const struct config_problems *p)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		fprintf(stderr, "#   %s: %s: %s\n", p->v[i].where, p->v[i].key,
		    p->v[i].message);
}

/* Is there a problem at where (full match) about key, message has text? */
static int
has(const struct config_problems *p, const char *where, const char *key,
    const char *text)
{
	size_t i;

	for (i = 0; i < p->n; i++)
		if (strcmp(p->v[i].where, where) == 0 &&
		    strcmp(p->v[i].key, key) == 0 &&
		    (text == NULL || strstr(p->v[i].message, text) != NULL))
			return 1;
	return 0;
}

#define HAS(where, key, text) do { \
	CHECK(has(&P, where, key, text), "no problem %s: %s: %s", where, key, \
	    text ? text : ""); \
	} while (0)

/* file:line of the current configuration file. */
static const char *
at(int line)
{
	static char buf[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s:%d", conf, line);
	return buf[i];
}

/* Load and check; the number of problems. */
static struct config *
load_check(const char *path)
{
	struct config *c = config_load(path, &P);

	if (c != NULL)
		(void)config_check(c, &P);
	return c;
}

static void
test_defaults(void)
{
	struct config *c;
	const struct config_device *d;

	/* development: no FDMS URL, and the device needs id and serial. */
	clean_env();
	c = load_check(write_conf("# nothing\n"));
	CHECK(c != NULL, "load failed");
	if (c == NULL)
		return;
	CHECK_STR(c->path, conf);
	CHECK_INT(c->env, CONFIG_ENV_DEVELOPMENT);
	CHECK_STR(c->env_name, "development");
	CHECK_STR(c->spool_dir, "./spool");
	CHECK_STR(c->database, "./db.sqlite3");
	CHECK(c->fdms_base_url == NULL, "development has a default URL");
	CHECK(c->fdms_ca_file == NULL, "CA file default");
	CHECK_STR(c->logs_dir, "./logs");
	CHECK(c->encryption_key == NULL, "key default");
	CHECK_STR(c->timezone, "Africa/Harare");
	CHECK_STR(c->backup_dir, "./backups");
	CHECK_INT(c->backup_retain_days, 7);
	CHECK_INT(c->rescan_interval, 5);
	CHECK_INT(c->settle_ms, 1000);
	CHECK_INT(c->max_file_size, 1048576);
	CHECK(c->inotify, "inotify on by default");
	CHECK(c->admin_listen == NULL && c->admin_token == NULL, "admin");
	CHECK_INT(c->ndevices, 1);
	d = &c->devices[0];
	CHECK_STR(d->name, "default");
	CHECK_INT(d->device_id, 0);
	CHECK_STR(d->model_name, "Server");
	CHECK_STR(d->model_version, "v1");
	CHECK_STR(d->inbox, "./spool/inbox");
	CHECK_STR(d->work_dir, "./spool/work");
	CHECK_STR(d->done_dir, "./spool/done");
	CHECK_STR(d->error_dir, "./spool/error");
	CHECK_INT(P.n, 3);
	HAS(conf, "fdms_base_url", "not set");
	HAS("environment FDMS_DEVICE_ID", "device_id", "no device_id");
	HAS("environment FDMS_DEVICE_SERIAL_NO", "serial_no", "no serial_no");
	config_free(c);

	/* staging: FDMS test URL; the environment completes the device. */
	setenv("FDMS_ENV", "staging", 1);
	setenv("FDMS_DEVICE_ID", "12345", 1);
	setenv("FDMS_DEVICE_SERIAL_NO", "SN-001", 1);
	c = load_check(conf);
	CHECK(c != NULL, "load failed");
	if (c == NULL)
		return;
	CHECK_INT(c->env, CONFIG_ENV_STAGING);
	CHECK_STR(c->database, "./db_staging.sqlite3");
	CHECK_STR(c->fdms_base_url, "https://fdmsapitest.zimra.co.zw");
	CHECK_INT(c->devices[0].device_id, 12345);
	CHECK_STR(c->devices[0].serial_no, "SN-001");
	CHECK_INT(P.n, 0);
	dump(&P);
	config_free(c);

	/* production: real FDMS, and an encryption key is required. */
	setenv("FDMS_ENV", "production", 1);
	c = load_check(conf);
	CHECK(c != NULL, "load failed");
	if (c == NULL)
		return;
	CHECK_INT(c->env, CONFIG_ENV_PRODUCTION);
	CHECK_STR(c->database, "./db_production.sqlite3");
	CHECK_STR(c->fdms_base_url, "https://fdmsapi.zimra.co.zw");
	CHECK_INT(P.n, 1);
	HAS(conf, "encryption_key", "required in production");
	config_free(c);

	setenv("FDMS_ENCRYPTION_KEY", GOOD_KEY, 1);
	c = load_check(conf);
	CHECK_INT(P.n, 0);
	dump(&P);
	CHECK(c != NULL && strcmp(c->encryption_key, GOOD_KEY) == 0, "key");
	config_free(c);
	clean_env();
}

static const char several[] =
    "; three tills\n"					/* 1 */
    "[global]\n"
    "env = staging\n"
    "spool_dir = /srv/spool/\n"
    "database = postgresql://spool@db/fiscal\n"		/* 5 */
    "logs_dir = /var/log/spoold\n"
    "timezone = UTC   ; inline comment\n"
    "rescan_interval = 30\n"
    "settle_ms = 0\n"
    "max_file_size = 65536\n"				/* 10 */
    "backup_retain_days = 30\n"
    "admin_listen = 127.0.0.1:8787\n"
    "admin_token = s3cret\n"
    "inotify = No\n"
    "[device till1]\n"					/* 15 */
    "device_id = 101\n"
    "serial_no = SN-101\n"
    "activation_key = 00112233\n"
    "\n"
    "[ device   till-2 ]\n"				/* 20 */
    "device_id: 102\n"
    "serial_no = SN-102\n"
    "model_name = Kiosk\n"
    "model_version = v2.1\n"
    "\n"							/* 25 */
    "[device back.office]\n"
    "device_id = 103\n"
    "serial_no = SN-103\n"
    "inbox = /mnt/share/pos/in/\n";

static void
test_several(void)
{
	struct config *c;
	const struct config_device *d;

	clean_env();
	c = load_check(write_conf(several));
	CHECK(c != NULL, "load failed");
	if (c == NULL)
		return;
	CHECK_INT(P.n, 0);
	dump(&P);
	CHECK_INT(c->env, CONFIG_ENV_STAGING);
	CHECK_STR(c->spool_dir, "/srv/spool/");
	CHECK_STR(c->database, "postgresql://spool@db/fiscal");
	CHECK_STR(c->fdms_base_url, "https://fdmsapitest.zimra.co.zw");
	CHECK_STR(c->logs_dir, "/var/log/spoold");
	CHECK_STR(c->timezone, "UTC");
	CHECK_INT(c->rescan_interval, 30);
	CHECK_INT(c->settle_ms, 0);
	CHECK_INT(c->max_file_size, 65536);
	CHECK(!c->inotify, "inotify = No");
	CHECK_INT(c->backup_retain_days, 30);
	CHECK_STR(c->admin_listen, "127.0.0.1:8787");
	CHECK_STR(c->admin_token, "s3cret");
	CHECK_INT(c->ndevices, 3);
	if (c->ndevices != 3) {
		config_free(c);
		return;
	}
	d = &c->devices[0];
	CHECK_STR(d->name, "till1");
	CHECK_INT(d->line, 15);
	CHECK_INT(d->device_id, 101);
	CHECK_STR(d->serial_no, "SN-101");
	CHECK_STR(d->activation_key, "00112233");
	CHECK_STR(d->model_name, "Server");
	CHECK_STR(d->inbox, "/srv/spool/till1/inbox");
	CHECK_STR(d->work_dir, "/srv/spool/till1/work");
	CHECK_STR(d->done_dir, "/srv/spool/till1/done");
	CHECK_STR(d->error_dir, "/srv/spool/till1/error");
	d = &c->devices[1];
	CHECK_STR(d->name, "till-2");
	CHECK_INT(d->device_id, 102);
	CHECK(d->activation_key == NULL, "activation_key");
	CHECK_STR(d->model_name, "Kiosk");
	CHECK_STR(d->model_version, "v2.1");
	CHECK_STR(d->inbox, "/srv/spool/till-2/inbox");
	d = &c->devices[2];
	CHECK_STR(d->name, "back.office");
	CHECK_STR(d->inbox, "/mnt/share/pos/in/");
	CHECK_STR(d->work_dir, "/mnt/share/pos/work");
	CHECK_STR(d->error_dir, "/mnt/share/pos/error");
	config_free(c);

	/* A relative inbox of one component: its siblings are in ".". */
	c = load_check(write_conf("[global]\nfdms_base_url = http://127.0.0.1:9"
	    "\n[device a]\ndevice_id = 1\nserial_no = A\ninbox = in\n"));
	CHECK(c != NULL && strcmp(c->devices[0].done_dir, "./done") == 0,
	    "done_dir %s", c ? c->devices[0].done_dir : "");
	CHECK_INT(P.n, 0);
	dump(&P);
	config_free(c);
}

static void
test_env_overrides(void)
{
	struct config *c;

	clean_env();
	write_conf("[global]\n"
	    "env = development\n"
	    "spool_dir = /file/spool\n"
	    "fdms_base_url = http://127.0.0.1:8443\n"
	    "backup_retain_days = 3\n"
	    "[device one]\n"
	    "device_id = 1\n"
	    "serial_no = FILE-SN\n");
	setenv("SPOOL_DIR", "/env/spool", 1);
	setenv("DATABASE_URL", "/env/db.sqlite3", 1);
	setenv("FDMS_BASE_URL", "https://sim.example:8443", 1);
	setenv("BACKUP_RETAIN_DAYS", "14", 1);
	setenv("LOGS_DIR", "", 1);		/* empty: not set */
	setenv("FDMS_DEVICE_ID", "77", 1);	/* one section: it is its */
	setenv("FDMS_DEVICE_MODEL_NAME", "Env", 1);
	setenv("SECRET_KEY", "tok", 1);
	c = load_check(conf);
	CHECK(c != NULL, "load failed");
	if (c == NULL)
		return;
	CHECK_INT(P.n, 0);
	dump(&P);
	CHECK_STR(c->spool_dir, "/env/spool");
	CHECK_STR(c->database, "/env/db.sqlite3");
	CHECK_STR(c->fdms_base_url, "https://sim.example:8443");
	CHECK_INT(c->backup_retain_days, 14);
	CHECK_STR(c->logs_dir, "./logs");
	CHECK_INT(c->devices[0].device_id, 77);
	CHECK_STR(c->devices[0].serial_no, "FILE-SN");
	CHECK_STR(c->devices[0].model_name, "Env");
	CHECK_STR(c->devices[0].inbox, "/env/spool/one/inbox");
	CHECK_STR(c->admin_token, "tok");
	config_free(c);

	/* The env decides the defaults even when the file says otherwise. */
	setenv("FDMS_ENV", "staging", 1);
	unsetenv("DATABASE_URL");
	unsetenv("FDMS_BASE_URL");
	c = load_check(conf);
	CHECK(c != NULL && c->env == CONFIG_ENV_STAGING &&
	    strcmp(c->database, "./db_staging.sqlite3") == 0, "staging env");
	/* The file's http URL now breaks the staging rule, at its line. */
	HAS(at(4), "fdms_base_url", "https");
	config_free(c);

	/* Bad values in the environment are reported under their name. */
	setenv("FDMS_ENV", "qa", 1);
	setenv("BACKUP_RETAIN_DAYS", "two", 1);
	setenv("FDMS_DEVICE_ID", "0", 1);
	c = load_check(conf);
	CHECK(c != NULL, "load failed");
	HAS("environment FDMS_ENV", "env", "\"qa\" is not one of");
	HAS("environment BACKUP_RETAIN_DAYS", "backup_retain_days",
	    "not an integer");
	HAS("environment FDMS_DEVICE_ID", "device_id", "out of range");
	config_free(c);

	/* Two devices: a device variable cannot say which one it is for. */
	clean_env();
	write_conf("[global]\nfdms_base_url = http://localhost:1\n"
	    "[device a]\ndevice_id = 1\nserial_no = A\n"
	    "[device b]\ndevice_id = 2\nserial_no = B\n");
	setenv("FDMS_DEVICE_SERIAL_NO", "X", 1);
	c = load_check(conf);
	CHECK(c != NULL, "load failed");
	CHECK_INT(P.n, 1);
	HAS("environment FDMS_DEVICE_SERIAL_NO", "serial_no", "2 devices");
	CHECK(c != NULL && strcmp(c->devices[0].serial_no, "A") == 0 &&
	    strcmp(c->devices[1].serial_no, "B") == 0, "serials changed");
	config_free(c);
	clean_env();
}

static const char bad[] =
    "stray = 1\n"					/* 1 */
    "[global]\n"
    "env = testing\n"
    "colour = blue\n"
    "rescan_interval = often\n"				/* 5 */
    "settle_ms = -5\n"
    "max_file_size = 99999999999999999999\n"
    "fdms_base_url = ftp://fdms.example\n"
    "encryption_key = not-a-key\n"
    "timezone = Mars/Olympus_Mons\n"			/* 10 */
    "device_id = 5\n"
    "admin_listen = localhost\n"
    "this line has no equals sign\n"
    "[cluster]\n"
    "ignored = yes\n"					/* 15 */
    "[device a]\n"
    "device_id = 7\n"
    "serial_no = A\n"
    "serial_no = A2\n"
    "inbox = /srv/in\n"					/* 20 */
    "[device b]\n"
    "device_id = 7\n"
    "inbox = /srv//in/\n"
    "spool_dir = /x\n"
    "[device a]\n"					/* 25 */
    "[device ../etc]\n"
    "[device]\n"
    "[global\n"
    "[device c]\n"
    "device_id = 9\n"					/* 30 */
    "serial_no = C\n"
    "activation_key = a\001b\n"
    "[global]\n"
    "inotify = sometimes\n";				/* 34 */

static void
test_problems(void)
{
	struct config *c;
	char *out = NULL;
	size_t outlen = 0;
	FILE *f;

	clean_env();
	c = load_check(write_conf(bad));
	CHECK(c != NULL, "load failed");
	HAS(at(1), "stray", "before any section");
	HAS(at(3), "env", "\"testing\" is not one of");
	HAS(at(4), "colour", "unknown key");
	HAS(at(5), "rescan_interval", "not an integer");
	HAS(at(6), "settle_ms", "out of range");
	HAS(at(7), "max_file_size", "not an integer");
	HAS(at(8), "fdms_base_url", "https");
	HAS(at(9), "encryption_key", "not a Fernet key");
	HAS(at(10), "timezone", "Mars/Olympus_Mons");
	HAS(at(11), "device_id", "belongs in a [device NAME] section");
	HAS(at(12), "admin_listen", "HOST:PORT");
	HAS(at(12), "admin_token", "needs admin_token");
	HAS(at(13), "", "expected");
	HAS(at(14), "[cluster]", "unknown section");
	HAS(at(19), "serial_no", "duplicate key (first at line 18)");
	HAS(at(22), "device_id", "already device a's");
	HAS(at(21), "serial_no", "device b has no serial_no");
	HAS(at(23), "inbox", "shares its inbox");
	HAS(at(24), "spool_dir", "belongs in [global]");
	HAS(at(25), "[device a]", "duplicate device section (first at line "
	    "16)");
	HAS(at(26), "[device ../etc]", "device name");
	HAS(at(27), "[device]", "device name");
	HAS(at(28), "[", "without ']'");
	HAS(at(32), "activation_key", "control character");
	HAS(at(34), "inotify", "\"sometimes\" is not yes or no");
	/* Nothing else: every problem once, nothing from [cluster]. */
	CHECK_INT(P.n, 25);
	CHECK_INT(P.dropped, 0);
	if (P.n != 25)
		dump(&P);

	f = open_memstream(&out, &outlen);
	CHECK_INT(config_problems_print(f, "spoold", &P), 25);
	fclose(f);
	CHECK(out != NULL && strstr(out, "spoold: ") == out &&
	    strstr(out, ":4: colour: unknown key\n") != NULL, "print: %s", out);
	free(out);
	config_free(c);

	/* A line too long, a NUL byte: both reported, the rest still read. */
	{
		char text[3000];
		FILE *g;

		snprintf(conf, sizeof(conf), "%s/long.conf", trash);
		memset(text, 'x', sizeof(text));
		g = fopen(conf, "w");
		fprintf(g, "[global]\nadmin_token = %.*s\n", 2000, text);
		fputs("logs_dir = a", g);
		fputc('\0', g);
		fputs("b\nbackup_dir = /b\n", g);
		fclose(g);
		c = config_load(conf, &P);
		CHECK(c != NULL, "load failed");
		HAS(at(2), "", "line longer than 1024 bytes");
		HAS(at(3), "", "NUL byte");
		CHECK_INT(P.n, 2);
		CHECK(c != NULL && strcmp(c->backup_dir, "/b") == 0 &&
		    c->admin_token == NULL, "rest of file");
		config_free(c);
	}

	/* Unreadable: NULL and the reason. */
	snprintf(conf, sizeof(conf), "%s/missing.conf", trash);
	c = config_load(conf, &P);
	CHECK(c == NULL, "loaded a missing file");
	HAS(conf, "", "cannot open");

	/* SPOOLD_CONF names the file when no -c is given; must exist. */
	setenv("SPOOLD_CONF", conf, 1);
	CHECK(config_load(NULL, &P) == NULL, "SPOOLD_CONF ignored");
	write_conf("[global]\nsettle_ms = 250\n");
	setenv("SPOOLD_CONF", conf, 1);
	c = config_load(NULL, &P);
	CHECK(c != NULL && c->settle_ms == 250, "SPOOLD_CONF not read");
	config_free(c);
	clean_env();
}

static void
test_production(void)
{
	struct config *c;
	static const char base[] = "[device a]\ndevice_id = 1\nserial_no = A\n"
	    "[global]\nenv = %s\nfdms_base_url = %s\n%s";
	char text[512];

	clean_env();
	/* http only in development */
	snprintf(text, sizeof(text), base, "development", "http://127.0.0.1:1",
	    "");
	c = load_check(write_conf(text));
	CHECK_INT(P.n, 0);
	dump(&P);
	config_free(c);
	snprintf(text, sizeof(text), base, "staging", "http://fdms.example",
	    "");
	c = load_check(write_conf(text));
	CHECK_INT(P.n, 1);
	HAS(at(6), "fdms_base_url", "allowed only in development");
	config_free(c);
	snprintf(text, sizeof(text), base, "production",
	    "HTTP://fdmsapi.zimra.co.zw", "encryption_key = " GOOD_KEY "\n");
	chmod(write_conf(text), 0640);	/* it holds the key */
	c = load_check(conf);
	CHECK_INT(P.n, 1);
	HAS(at(6), "fdms_base_url", "allowed only in development");
	config_free(c);
	snprintf(text, sizeof(text), base, "production", "https://",
	    "encryption_key = " GOOD_KEY "\n");
	c = load_check(write_conf(text));
	HAS(at(6), "fdms_base_url", "no host");
	config_free(c);
	snprintf(text, sizeof(text), base, "production",
	    "https://fdmsapi.zimra.co.zw", "");
	c = load_check(write_conf(text));
	CHECK_INT(P.n, 1);
	HAS(conf, "encryption_key", "required in production");
	config_free(c);
	snprintf(text, sizeof(text), base, "production",
	    "https://fdmsapi.zimra.co.zw", "encryption_key = " GOOD_KEY "\n");
	chmod(write_conf(text), 0640);
	c = load_check(conf);
	CHECK_INT(P.n, 0);
	dump(&P);
	config_free(c);
	/* The key from the environment; a bad one named there. */
	setenv("FDMS_ENCRYPTION_KEY", "short", 1);
	c = load_check(conf);
	CHECK_INT(P.n, 1);
	HAS("environment FDMS_ENCRYPTION_KEY", "encryption_key", "Fernet");
	CHECK(strstr(P.v[0].message, "short") == NULL, "key echoed");
	config_free(c);
	clean_env();
	/* The file that holds the key: others may not read it. */
	snprintf(text, sizeof(text), base, "production",
	    "https://fdmsapi.zimra.co.zw", "encryption_key = " GOOD_KEY "\n");
	chmod(write_conf(text), 0644);
	c = load_check(conf);
	CHECK_INT(P.n, 1);
	HAS(conf, "encryption_key", "others can read it");
	CHECK(P.n == 0 || strstr(P.v[0].message, GOOD_KEY) == NULL,
	    "key echoed");
	config_free(c);
	/* Nor may group or others change it, key or not. */
	chmod(conf, 0620);
	c = load_check(conf);
	CHECK_INT(P.n, 1);
	HAS(conf, "", "writable by group or others");
	config_free(c);
	/* The key in the environment: a readable file holds no secret. */
	setenv("FDMS_ENCRYPTION_KEY", GOOD_KEY, 1);
	snprintf(text, sizeof(text), base, "production",
	    "https://fdmsapi.zimra.co.zw", "user = no-such-user-spoold\n");
	chmod(write_conf(text), 0644);
	c = load_check(conf);
	CHECK_INT(P.n, 1);
	HAS(at(7), "user", "no such user");
	config_free(c);
	/* Development and staging do not look at the mode. */
	clean_env();
	snprintf(text, sizeof(text), base, "staging",
	    "https://fdmsapitest.zimra.co.zw", "encryption_key = " GOOD_KEY
	    "\nuser = root\n");
	chmod(write_conf(text), 0666);
	c = load_check(conf);
	CHECK_INT(P.n, 0);
	dump(&P);
	config_free(c);
	clean_env();
}

static void
test_fernet(void)
{
	static const char *bad_keys[] = {
		"",
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc",	/* no pad */
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5uc==",
		"yMnKy8zNzs/Q0dLT1NXW19jZ2tvc3d7f4OHi4+Tl5uc=",	/* std b64 */
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5ud=",	/* bits */
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5u=c",
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5u c=",
		"yMnKy8zNzs_Q0dLT1NXW19jZ2tvc3d7f4OHi4-Tl5=",	/* 31 bytes */
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=",
	};
	size_t i;

	CHECK_INT(config_fernet_key_valid(GOOD_KEY), 1);
	CHECK_INT(config_fernet_key_valid(
	    "-__7__v_-__7__v_-__7__v_-__7__v_-__7__v_-_8="), 1);
	CHECK_INT(config_fernet_key_valid(
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="), 1);
	CHECK_INT(config_fernet_key_valid(NULL), 0);
	for (i = 0; i < sizeof(bad_keys) / sizeof(bad_keys[0]); i++)
		CHECK(!config_fernet_key_valid(bad_keys[i]), "accepted %s",
		    bad_keys[i]);
}

static int hook_calls;

static int
fake_store_check(const struct config *c, struct config_problems *p)
{
	hook_calls++;
	config_problem_add(p, c->database, "database", "readable by others");
	return -1;
}

static void
test_hook(void)
{
	struct config *c;

	clean_env();
	c = load_check(write_conf("[global]\nfdms_base_url = http://a:1\n"
	    "[device a]\ndevice_id = 1\nserial_no = A\n"));
	CHECK_INT(P.n, 0);
	CHECK_INT(hook_calls, 0);
	config_set_store_check(fake_store_check);
	config_problems_clear(&P);
	CHECK_INT(config_check(c, &P), -1);
	CHECK_INT(hook_calls, 1);
	HAS("./db.sqlite3", "database", "readable by others");
	config_set_store_check(NULL);
	config_problems_clear(&P);
	CHECK_INT(config_check(c, &P), 0);
	config_free(c);
}

static void
rm_trash(void)
{
	struct dirent *de;
	char path[1024];
	DIR *d;

	if ((d = opendir(trash)) == NULL)
		return;
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "%s/%s", trash, de->d_name);
		unlink(path);
	}
	closedir(d);
	rmdir(trash);
}

int
main(void)
{
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	test_defaults();
	test_several();
	test_env_overrides();
	test_problems();
	test_production();
	test_fernet();
	test_hook();
	rm_trash();
	return tap_done();
}

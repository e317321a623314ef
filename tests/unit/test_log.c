/*
 * test_log.c - the log files of interface.md §5: levels to files, JSON
 * lines, escaping of hostile names, size rotation, reopen, failures.
 *
 * Every case works in its own directory under a mkdtemp trash directory,
 * removed at the end.
 */
#include "util/log.h"

#include <cJSON.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util/timeutil.h"
#include "tap.h"

static char trash[] = "/tmp/test_log.XXXXXX";
static int ncase;

static char *
case_dir(void)
{
	static char dir[256];

	snprintf(dir, sizeof(dir), "%s/case%d", trash, ++ncase);
	return dir;
}

static char *
path_in(const char *dir, const char *name)
{
	static char p[4][512];
	static int i;

	i = (i + 1) % 4;
	snprintf(p[i], sizeof(p[i]), "%s/%s", dir, name);
	return p[i];
}

/* Whole file, NUL-terminated; NULL if it does not exist. */
static char *
slurp(const char *path)
{
	FILE *f;
	char *s;
	long n;

	if ((f = fopen(path, "rb")) == NULL)
		return NULL;
	if (fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 ||
	    fseek(f, 0, SEEK_SET) != 0 || (s = malloc((size_t)n + 1)) == NULL) {
		fclose(f);
		return NULL;
	}
	if (fread(s, 1, (size_t)n, f) != (size_t)n) {
		fclose(f);
		free(s);
		return NULL;
	}
	s[n] = '\0';
	fclose(f);
	return s;
}

static int
count_lines(const char *s)
{
	int n = 0;

	for (; s != NULL && *s != '\0'; s++)
		if (*s == '\n')
			n++;
	return n;
}

static int
exists(const char *path)
{
	struct stat st;

	return lstat(path, &st) == 0;
}

static long long
file_size(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 ? (long long)st.st_size : -1;
}

/* Line number n (0-based) of s, copied into buf without its newline. */
static const char *
line_of(const char *s, int n, char *buf, size_t size)
{
	const char *e;
	size_t len;

	while (n-- > 0 && s != NULL && (s = strchr(s, '\n')) != NULL)
		s++;
	if (s == NULL || *s == '\0')
		return NULL;
	e = strchr(s, '\n');
	len = e ? (size_t)(e - s) : strlen(s);
	if (len >= size)
		len = size - 1;
	memcpy(buf, s, len);
	buf[len] = '\0';
	return buf;
}

static const char *
jstr(const cJSON *o, const char *key)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);

	return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* stderr into a file for the duration of a case. */
static int saved_stderr = -1;

static void
capture_stderr(const char *path)
{
	int fd;

	fflush(stderr);
	saved_stderr = dup(STDERR_FILENO);
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	if (fd == -1 || dup2(fd, STDERR_FILENO) == -1)
		perror("capture stderr");
	if (fd != -1)
		close(fd);
}

static void
restore_stderr(void)
{
	fflush(stderr);
	if (dup2(saved_stderr, STDERR_FILENO) == -1)
		perror("restore stderr");
	close(saved_stderr);
}

static void
test_levels(void)
{
	const struct log_ctx ctx = { "till1", "sale-1.json", "op-9" };
	const struct log_ctx noop = { "till1", "sale-2.json", NULL };
	char *dir = case_dir(), *s, line[1024];
	cJSON *o;
	int i;

	CHECK_INT(log_init(dir, 0, 0), 0);
	log_debug(&ctx, "debug", "not shown");
	log_info(&ctx, "submit", "accepted in %d ms", 12);
	log_warnx(&noop, "retry", "FDMS busy");
	log_error(NULL, NULL, "database locked");
	log_msg(LOGLV_CRITICAL, &ctx, "chain", "broken at %d", 7);
	errno = ENOENT;
	log_warn(NULL, "open", "cannot open %s", "x.json");
	CHECK_INT(errno, ENOENT);
	log_close();

	s = slurp(path_in(dir, "fdms.log"));
	CHECK_INT(count_lines(s), 5);
	CHECK(s != NULL && strstr(s, "not shown") == NULL, "DEBUG logged");
	CHECK(line_of(s, 0, line, sizeof(line)) != NULL, "no line");
	CHECK(strlen(line) > 19 && line[19] == ' ', "no time: %s", line);
	line[19] = '\0';
	CHECK(timeutil_parse_local(line, &(struct tm){ 0 }) == 0,
	    "bad time \"%s\"", line);
	CHECK_STR(line + 20, "INFO [till1] sale-1.json: submit: accepted in "
	    "12 ms (operationID=op-9)");
	CHECK_STR(line_of(s, 1, line, sizeof(line)) + 20,
	    "WARNING [till1] sale-2.json: retry: FDMS busy");
	CHECK_STR(line_of(s, 2, line, sizeof(line)) + 20,
	    "ERROR database locked");
	CHECK_STR(line_of(s, 3, line, sizeof(line)) + 20,
	    "CRITICAL [till1] sale-1.json: chain: broken at 7 "
	    "(operationID=op-9)");
	CHECK_STR(line_of(s, 4, line, sizeof(line)) + 20,
	    "WARNING open: cannot open x.json: No such file or directory");
	free(s);

	s = slurp(path_in(dir, "fdms_error.log"));
	CHECK_INT(count_lines(s), 2);
	CHECK(s != NULL && strstr(s, " ERROR database locked\n") != NULL &&
	    strstr(s, " CRITICAL [till1]") != NULL && strstr(s, "INFO") == NULL &&
	    strstr(s, "WARNING") == NULL, "error log: %s", s);
	free(s);

	s = slurp(path_in(dir, "fdms_json.log"));
	CHECK_INT(count_lines(s), 5);
	for (i = 0; i < 5; i++) {
		o = cJSON_Parse(line_of(s, i, line, sizeof(line)));
		CHECK(o != NULL, "JSON line %d does not parse: %s", i, line);
		if (o == NULL)
			continue;
		CHECK(jstr(o, "time") != NULL &&
		    timeutil_parse_local(jstr(o, "time"), &(struct tm){ 0 })
		    == 0, "time in %s", line);
		if (i == 0) {
			CHECK_STR(jstr(o, "level"), "INFO");
			CHECK_STR(jstr(o, "device"), "till1");
			CHECK_STR(jstr(o, "file"), "sale-1.json");
			CHECK_STR(jstr(o, "event"), "submit");
			CHECK_STR(jstr(o, "message"), "accepted in 12 ms");
			CHECK_STR(jstr(o, "operationID"), "op-9");
		} else if (i == 1) {
			CHECK_STR(jstr(o, "level"), "WARNING");
			CHECK(cJSON_GetObjectItem(o, "operationID") == NULL,
			    "operationID without one: %s", line);
		} else if (i == 2) {
			CHECK_STR(jstr(o, "level"), "ERROR");
			CHECK(cJSON_IsNull(cJSON_GetObjectItem(o, "device")) &&
			    cJSON_IsNull(cJSON_GetObjectItem(o, "file")) &&
			    cJSON_IsNull(cJSON_GetObjectItem(o, "event")),
			    "absent fields not null: %s", line);
			CHECK_STR(jstr(o, "message"), "database locked");
		}
		cJSON_Delete(o);
	}
	free(s);

	s = slurp(path_in(dir, "fdms_error_json.log"));
	CHECK_INT(count_lines(s), 2);
	o = cJSON_Parse(line_of(s, 1, line, sizeof(line)));
	CHECK(o != NULL, "error JSON does not parse: %s", line);
	CHECK_STR(jstr(o, "level"), "CRITICAL");
	CHECK_STR(jstr(o, "message"), "broken at 7");
	cJSON_Delete(o);
	free(s);

	/* Modes: 0640 at most. */
	CHECK_INT(file_size(path_in(dir, "fdms.log")) > 0, 1);
	{
		struct stat st;

		CHECK(stat(path_in(dir, "fdms.log"), &st) == 0 &&
		    (st.st_mode & 0137) == 0, "mode %o", st.st_mode & 0777);
	}
}

static void
test_verbose(void)
{
	char *dir = case_dir(), *s;

	CHECK_INT(log_init(dir, 0, 1), 0);
	log_debug(NULL, "scan", "rescan found %d files", 3);
	log_close();
	s = slurp(path_in(dir, "fdms.log"));
	CHECK(s != NULL && strstr(s, " DEBUG scan: rescan found 3 files\n"),
	    "verbose DEBUG missing: %s", s ? s : "(none)");
	free(s);
	s = slurp(path_in(dir, "fdms_error.log"));
	CHECK_INT(count_lines(s), 0);
	free(s);
}

static void
test_escaping(void)
{
	/* A name that tries to end the line and write one of its own. */
	static const char evil[] = "evil\n2026-03-02T10:15:01 ERROR [x] forged"
	    "\r\xff\xc0\xaf\x7f\\\"\xc3\xa9\xe2\x80\xa8\xc2\x85\xed\xa0\x80"
	    ".json";
	static const char safe[] = "evil\\x0a2026-03-02T10:15:01 ERROR [x] "
	    "forged\\x0d\\xff\\xc0\\xaf\\x7f\\x5c\"\xc3\xa9\\xe2\\x80\\xa8"
	    "\\xc2\\x85\\xed\\xa0\\x80.json";
	const struct log_ctx ctx = { "till\n1", evil, "op\"1" };
	char *dir = case_dir(), *s, line[2048], want[1024];
	cJSON *o;

	CHECK_INT(log_init(dir, 0, 0), 0);
	log_error(&ctx, "parse\t", "bad byte %s", "\x01\xfe");
	log_close();

	s = slurp(path_in(dir, "fdms.log"));
	CHECK_INT(count_lines(s), 1);
	snprintf(want, sizeof(want), "ERROR [till\\x0a1] %s: parse\\x09: bad "
	    "byte \\x01\\xfe (operationID=op\"1)", safe);
	CHECK_STR(line_of(s, 0, line, sizeof(line)) + 20, want);
	free(s);

	s = slurp(path_in(dir, "fdms_json.log"));
	CHECK_INT(count_lines(s), 1);
	o = cJSON_Parse(line_of(s, 0, line, sizeof(line)));
	CHECK(o != NULL, "JSON does not parse: %s", line);
	/* JSON carries the same safe text as the text log. */
	CHECK_STR(jstr(o, "file"), safe);
	CHECK_STR(jstr(o, "device"), "till\\x0a1");
	CHECK_STR(jstr(o, "event"), "parse\\x09");
	CHECK_STR(jstr(o, "message"), "bad byte \\x01\\xfe");
	CHECK_STR(jstr(o, "operationID"), "op\"1");
	cJSON_Delete(o);
	free(s);
}

static void
test_long_message(void)
{
	char *dir = case_dir(), *s, *big;
	size_t n = 10000;

	big = malloc(n + 1);
	memset(big, 'a', n);
	big[n] = '\0';
	CHECK_INT(log_init(dir, 0, 0), 0);
	log_info(NULL, NULL, "%s", big);
	log_close();
	s = slurp(path_in(dir, "fdms.log"));
	CHECK_INT(count_lines(s), 1);
	CHECK(s != NULL && strlen(s) < 5000 && strstr(s, "aaa...\n") != NULL,
	    "long message not cut: %zu bytes", s ? strlen(s) : 0);
	free(s);
	free(big);
}

/* The numbers of "err N" in s, in order, appended to seq. */
static void
collect(const char *s, int *seq, int *n)
{
	const char *p = s;

	while (p != NULL && (p = strstr(p, "err ")) != NULL && *n < 400) {
		seq[(*n)++] = (int)strtol(p + 4, NULL, 10);
		p += 4;
	}
}

static void
test_rotation(void)
{
	char *dir = case_dir(), *s, name[64];
	int seq[400], n = 0, i, ok;

	CHECK_INT(log_init(dir, 0, 0), 0);
	log_set_rotation(300, 3, 200, 2);
	for (i = 0; i < 100; i++)
		log_info(NULL, "t", "line %d", i);
	for (i = 0; i < 50; i++)
		log_error(NULL, "t", "err %d", i);
	log_close();
	CHECK_INT(log_failures(), 0);

	/* Exactly keep old files, each within the limit. */
	CHECK_INT(exists(path_in(dir, "fdms.log")), 1);
	CHECK_INT(exists(path_in(dir, "fdms.log.1")), 1);
	CHECK_INT(exists(path_in(dir, "fdms.log.2")), 1);
	CHECK_INT(exists(path_in(dir, "fdms.log.3")), 1);
	CHECK_INT(exists(path_in(dir, "fdms.log.4")), 0);
	CHECK_INT(exists(path_in(dir, "fdms_json.log.3")), 1);
	CHECK_INT(exists(path_in(dir, "fdms_json.log.4")), 0);
	CHECK_INT(exists(path_in(dir, "fdms_error.log.2")), 1);
	CHECK_INT(exists(path_in(dir, "fdms_error.log.3")), 0);
	CHECK_INT(exists(path_in(dir, "fdms_error_json.log.2")), 1);
	CHECK_INT(exists(path_in(dir, "fdms_error_json.log.3")), 0);
	for (i = 0; i <= 3; i++) {
		if (i == 0)
			snprintf(name, sizeof(name), "fdms.log");
		else
			snprintf(name, sizeof(name), "fdms.log.%d", i);
		CHECK(file_size(path_in(dir, name)) <= 300, "%s: %lld bytes",
		    name, file_size(path_in(dir, name)));
	}

	/*
	 * ERROR lines go to fdms.log too, so they are the last ones there:
	 * oldest to newest, the kept ones are consecutive and end at 49.
	 */
	for (i = 3; i >= 0; i--) {
		if (i == 0)
			snprintf(name, sizeof(name), "fdms.log");
		else
			snprintf(name, sizeof(name), "fdms.log.%d", i);
		s = slurp(path_in(dir, name));
		collect(s, seq, &n);
		free(s);
	}
	ok = n > 4;
	for (i = 1; i < n; i++)
		if (seq[i] != seq[i - 1] + 1)
			ok = 0;
	CHECK(ok && seq[n - 1] == 49, "kept lines not consecutive up to 49 "
	    "(%d lines)", n);

	/* No rotation with max 0, and keep 0 just starts afresh. */
	dir = case_dir();
	CHECK_INT(log_init(dir, 0, 0), 0);
	log_set_rotation(0, 3, 100, 0);
	for (i = 0; i < 20; i++)
		log_error(NULL, "t", "line %d", i);
	log_close();
	CHECK_INT(exists(path_in(dir, "fdms.log.1")), 0);
	CHECK_INT(count_lines(s = slurp(path_in(dir, "fdms.log"))), 20);
	free(s);
	CHECK_INT(exists(path_in(dir, "fdms_error.log.1")), 0);
	CHECK(file_size(path_in(dir, "fdms_error.log")) <= 100, "no cap");
	log_set_rotation(LOG_INFO_MAX, LOG_INFO_KEEP, LOG_ERROR_MAX,
	    LOG_ERROR_KEEP);
}

static void
test_reopen(void)
{
	char *dir = case_dir(), *s;

	CHECK_INT(log_init(dir, 0, 0), 0);
	log_info(NULL, "t", "before move");
	CHECK_INT(rename(path_in(dir, "fdms.log"), path_in(dir, "moved.log")),
	    0);
	log_info(NULL, "t", "after move");	/* still the open file */
	CHECK_INT(log_reopen(), 0);
	log_info(NULL, "t", "after reopen");
	log_close();

	s = slurp(path_in(dir, "moved.log"));
	CHECK(s != NULL && strstr(s, "before move") && strstr(s, "after move")
	    && !strstr(s, "after reopen"), "moved: %s", s ? s : "(none)");
	free(s);
	s = slurp(path_in(dir, "fdms.log"));
	CHECK_INT(count_lines(s), 1);
	CHECK(s != NULL && strstr(s, "after reopen"), "new: %s",
	    s ? s : "(none)");
	free(s);

	/* Someone else rotated the file: we follow, we do not rotate again. */
	dir = case_dir();
	CHECK_INT(log_init(dir, 0, 0), 0);
	log_set_rotation(200, 5, LOG_ERROR_MAX, LOG_ERROR_KEEP);
	log_info(NULL, "t", "line 0 padding padding padding padding");
	log_info(NULL, "t", "line 1 padding padding padding padding");
	CHECK_INT(rename(path_in(dir, "fdms.log"), path_in(dir, "fdms.log.1")),
	    0);
	s = slurp(path_in(dir, "fdms.log.1"));
	CHECK_INT(count_lines(s), 2);
	free(s);
	{
		/* The other writer starts the new file. */
		FILE *f = fopen(path_in(dir, "fdms.log"), "a");

		CHECK(f != NULL && fputs("other\n", f) >= 0 && fclose(f) == 0,
		    "other writer");
	}
	log_info(NULL, "t", "line 2 padding padding padding padding");
	log_info(NULL, "t", "line 3 padding padding padding padding");
	log_close();
	CHECK_INT(exists(path_in(dir, "fdms.log.2")), 0);
	s = slurp(path_in(dir, "fdms.log"));
	CHECK(s != NULL && strncmp(s, "other\n", 6) == 0 &&
	    strstr(s, "line 3"), "after outside rotation: %s", s ? s : "");
	free(s);
	log_set_rotation(LOG_INFO_MAX, LOG_INFO_KEEP, LOG_ERROR_MAX,
	    LOG_ERROR_KEEP);
}

static void
test_failures(void)
{
	char *dir = case_dir(), *s, err[512];
	int i;

	/* fdms.log.1 is a non-empty directory: rotation cannot rename. */
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(mkdir(path_in(dir, "fdms.log.1"), 0700), 0);
	CHECK_INT(mkdir(path_in(dir, "fdms.log.1/x"), 0700), 0);
	snprintf(err, sizeof(err), "%s/stderr.txt", trash);
	capture_stderr(err);
	CHECK_INT(log_init(dir, 0, 0), 0);
	log_set_rotation(100, 1, LOG_ERROR_MAX, LOG_ERROR_KEEP);
	for (i = 0; i < 20; i++)
		log_info(NULL, "t", "line %d", i);
	CHECK(log_failures() > 0, "no failure counted");
	log_close();
	restore_stderr();

	s = slurp(err);
	CHECK(s != NULL && count_lines(s) == 1 && strstr(s, "log: cannot "
	    "rotate") != NULL, "stderr: %s", s ? s : "(none)");
	free(s);
	/* Writing went on into the big file. */
	CHECK_INT(count_lines(s = slurp(path_in(dir, "fdms.log"))), 20);
	free(s);
	log_set_rotation(LOG_INFO_MAX, LOG_INFO_KEEP, LOG_ERROR_MAX,
	    LOG_ERROR_KEEP);

	/* A planted symlink is refused; the line still reaches stderr. */
	dir = case_dir();
	CHECK_INT(mkdir(dir, 0700), 0);
	CHECK_INT(symlink(path_in(trash, "target"), path_in(dir, "fdms.log")),
	    0);
	capture_stderr(err);
	CHECK_INT(log_init(dir, 0, 0), -1);
	log_info(NULL, "t", "still seen");
	CHECK(log_failures() >= 2, "lost lines not counted: %lu",
	    log_failures());
	/* Once the obstacle is gone the file is opened for the next line. */
	CHECK_INT(unlink(path_in(dir, "fdms.log")), 0);
	log_info(NULL, "t", "back in the file");
	log_close();
	restore_stderr();
	CHECK_INT(exists(path_in(trash, "target")), 0);
	s = slurp(path_in(dir, "fdms.log"));
	CHECK(s != NULL && count_lines(s) == 1 &&
	    strstr(s, "back in the file"), "fdms.log: %s", s ? s : "(none)");
	free(s);
	s = slurp(err);
	CHECK(s != NULL && strstr(s, "log: cannot open") &&
	    strstr(s, " INFO t: still seen\n"), "stderr: %s", s ? s : "");
	free(s);
	/* The other files did open. */
	CHECK_INT(count_lines(s = slurp(path_in(dir, "fdms_json.log"))), 2);
	free(s);
}

static void
test_stderr_only(void)
{
	char err[512], *s;

	snprintf(err, sizeof(err), "%s/stderr2.txt", trash);
	capture_stderr(err);
	CHECK_INT(log_init(NULL, 0, 0), 0);
	log_info(&(struct log_ctx){ "d", NULL, NULL }, "spoolctl", "hello");
	log_debug(NULL, NULL, "quiet");
	log_close();
	restore_stderr();
	s = slurp(err);
	CHECK(s != NULL && count_lines(s) == 1 &&
	    strstr(s, " INFO [d] spoolctl: hello\n"), "stderr: %s", s ? s : "");
	free(s);
}

static void
test_fatal(void)
{
	char *dir = case_dir(), *s;
	pid_t pid;
	int status = 0;

	fflush(NULL);
	if ((pid = fork()) == 0) {
		if (log_init(dir, 0, 0) == -1)
			_exit(9);
		errno = EACCES;
		fatal(NULL, "startup", "cannot open %s", "db.sqlite3");
	}
	CHECK(pid > 0 && waitpid(pid, &status, 0) == pid, "fork/wait");
	CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 1, "status %d",
	    status);
	s = slurp(path_in(dir, "fdms_error.log"));
	CHECK(s != NULL && strstr(s, " CRITICAL startup: cannot open "
	    "db.sqlite3: Permission denied\n"), "fatal: %s", s ? s : "");
	free(s);
}

static void
rm_rf(const char *path)
{
	struct dirent *de;
	struct stat st;
	char sub[1024];
	DIR *d;

	if (lstat(path, &st) == -1)
		return;
	if (S_ISDIR(st.st_mode) && (d = opendir(path)) != NULL) {
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 ||
			    strcmp(de->d_name, "..") == 0)
				continue;
			snprintf(sub, sizeof(sub), "%s/%s", path, de->d_name);
			rm_rf(sub);
		}
		closedir(d);
		rmdir(path);
	} else
		unlink(path);
}

int
main(void)
{
	if (mkdtemp(trash) == NULL) {
		perror("mkdtemp");
		return 1;
	}
	(void)timeutil_set_zone("Africa/Harare");
	test_levels();
	test_verbose();
	test_escaping();
	test_long_message();
	test_rotation();
	test_reopen();
	test_failures();
	test_stderr_only();
	test_fatal();
	if (tap_fail == 0)
		rm_rf(trash);
	else
		fprintf(stderr, "# kept %s\n", trash);
	return tap_done();
}
